//! Tests of the OpenH264 adapters and of the software backend's selection.

use super::openh264::{OpenH264Decoder, OpenH264Encoder};
use super::test_support::*;
use super::*;
use crate::api::codec::{Dimensions, Timestamp};
use crate::api::config::RateControl;
use crate::api::encode_input::{EncodeInput, RawPlane};
use crate::api::error::ErrorKind;
use crate::api::frame::PixelFormat;
use crate::backend::{DecoderBackend, EncoderBackend};
use crate::bitstream::AccessUnit;

fn config(w: u32, h: u32) -> EncoderConfig {
    let mut c = EncoderConfig::new(Codec::H264, Dimensions::new(w, h).unwrap());
    c.rate_control = RateControl::Cbr { bitrate: 1_500_000 };
    c
}

fn h264_nal_types(data: &[u8]) -> Vec<u8> {
    split_nals(data).iter().map(|n| n[0] & 0x1f).collect()
}

#[test]
fn openh264_round_trip_keeps_pts_order_and_psnr_above_30db() {
    let mut enc = OpenH264Encoder::new(&config(320, 240)).unwrap();
    let chunks = encode_pattern(&mut enc, 320, 240, 30);
    assert_eq!(chunks.len(), 30, "one chunk per picture");
    let mut dec = OpenH264Decoder::new().unwrap();
    let frames = decode_chunks(&mut dec, Codec::H264, &chunks);
    assert_eq!(frames.len(), 30, "frames in == frames out");
    for (t, f) in frames.iter().enumerate() {
        assert_eq!(f.format, PixelFormat::I420);
        assert_eq!(f.dimensions(), Dimensions::new(320, 240).unwrap());
        assert_eq!(f.pts, Some(Timestamp::mpeg(t as i64 * 3000)), "frame {t}");
        let db = psnr(&planar(f), &moving_i420(320, 240, t));
        assert!(db > 30.0, "frame {t}: PSNR {db:.1} dB");
    }
    assert!(frames[0].keyframe, "first frame is an IDR");
}

#[test]
fn openh264_first_chunk_is_an_idr_with_sps_and_pps() {
    let mut enc = OpenH264Encoder::new(&config(320, 240)).unwrap();
    let chunks = encode_pattern(&mut enc, 320, 240, 3);
    let first = &chunks[0];
    assert!(first.keyframe);
    assert_eq!(first.layout, crate::api::packet::BitstreamLayout::AnnexB);
    assert_eq!(first.codec, Codec::H264);
    assert_eq!(first.generation, 0);
    assert_eq!(first.dts, first.pts);
    let types = h264_nal_types(&first.data);
    assert!(
        types.contains(&7) && types.contains(&8) && types.contains(&5),
        "{types:?}"
    );
    assert!(
        !chunks[1].keyframe,
        "GOP 60: the second picture is not a keyframe"
    );
    assert!(!h264_nal_types(&chunks[1].data).contains(&5));
}

#[test]
fn openh264_forced_keyframe_is_an_idr() {
    let mut c = config(320, 240);
    c.gop_length = 0;
    let mut enc = OpenH264Encoder::new(&c).unwrap();
    let mut chunks = Vec::new();
    for t in 0..8 {
        let input = moving_input(320, 240, t).with_force_keyframe(t == 5);
        enc.encode(&input, &mut chunks).unwrap();
    }
    let keys: Vec<bool> = chunks.iter().map(|c| c.keyframe).collect();
    assert_eq!(keys, [true, false, false, false, false, true, false, false]);
    assert!(
        h264_nal_types(&chunks[5].data).contains(&5),
        "forced picture has an IDR slice"
    );
}

#[test]
fn openh264_gop_length_sets_the_idr_period() {
    let mut c = config(320, 240);
    c.gop_length = 4;
    let mut enc = OpenH264Encoder::new(&c).unwrap();
    let chunks = encode_pattern(&mut enc, 320, 240, 9);
    let keys: Vec<usize> = (0..9).filter(|i| chunks[*i].keyframe).collect();
    assert_eq!(keys, [0, 4, 8]);
}

#[test]
fn openh264_rejects_b_frames_hevc_and_odd_sizes_as_unsupported() {
    let mut b = config(320, 240);
    b.b_frames = 2;
    assert_eq!(
        OpenH264Encoder::new(&b).err().unwrap().kind(),
        ErrorKind::Unsupported
    );
    let mut hevc = config(320, 240);
    hevc.codec = Codec::Hevc;
    assert_eq!(
        OpenH264Encoder::new(&hevc).err().unwrap().kind(),
        ErrorKind::Unsupported
    );
    let odd = OpenH264Encoder::new(&config(17, 9)).err().unwrap();
    assert_eq!(odd.kind(), ErrorKind::Unsupported);
    assert!(odd.to_string().contains("even"), "{odd}");
    let huge = OpenH264Encoder::new(&config(4096, 2304)).err().unwrap();
    assert_eq!(huge.kind(), ErrorKind::Unsupported);
}

#[test]
fn openh264_encodes_sizes_that_are_not_multiples_of_16() {
    // 2 rows/columns beyond a macroblock: OpenH264 pads and signals cropping.
    let mut enc = OpenH264Encoder::new(&config(34, 18)).unwrap();
    let chunks = encode_pattern(&mut enc, 34, 18, 3);
    let mut dec = OpenH264Decoder::new().unwrap();
    let frames = decode_chunks(&mut dec, Codec::H264, &chunks);
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[0].dimensions(), Dimensions::new(34, 18).unwrap());
}

#[test]
fn openh264_wrong_size_input_is_invalid_input() {
    let mut enc = OpenH264Encoder::new(&config(320, 240)).unwrap();
    let mut out = Vec::new();
    let err = enc
        .encode(&moving_input(160, 120, 0), &mut out)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(out.is_empty());
    enc.encode(&moving_input(320, 240, 0), &mut out).unwrap();
    assert_eq!(out.len(), 1, "the encoder stays usable");
}

#[test]
fn openh264_encodes_padded_nv12_and_rgba_like_i420() {
    let (w, h) = (64usize, 48usize);
    let d = Dimensions::new(w as u32, h as u32).unwrap();
    let i420 = moving_i420(w, h, 0);
    let (y, rest) = i420.split_at(w * h);
    let (u, v) = rest.split_at(w * h / 4);
    // NV12 with 8 bytes of padding per row.
    let mut yp = Vec::new();
    for r in y.chunks(w) {
        yp.extend_from_slice(r);
        yp.extend_from_slice(&[0; 8]);
    }
    let mut uvp = Vec::new();
    for (ur, vr) in u.chunks(w / 2).zip(v.chunks(w / 2)) {
        uvp.extend(ur.iter().zip(vr).flat_map(|(a, b)| [*a, *b]));
        uvp.extend_from_slice(&[0; 8]);
    }
    let nv12 = EncodeInput::new(
        PixelFormat::Nv12,
        d,
        vec![
            RawPlane {
                data: yp.into(),
                stride: w + 8,
            },
            RawPlane {
                data: uvp.into(),
                stride: w + 8,
            },
        ],
    )
    .unwrap();
    let mut cfg = config(w as u32, h as u32);
    cfg.rate_control = RateControl::Cqp { qp: 18 };
    let mut enc = OpenH264Encoder::new(&cfg).unwrap();
    let mut chunks = Vec::new();
    enc.encode(&nv12, &mut chunks).unwrap();
    // A flat grey RGBA picture: BT.601 limited maps (128,128,128) to Y 126, U = V = 128.
    let rgba = EncodeInput::packed(PixelFormat::Rgba, d, vec![128u8; w * h * 4]).unwrap();
    enc.encode(&rgba, &mut chunks).unwrap();
    let mut dec = OpenH264Decoder::new().unwrap();
    let frames = decode_chunks(&mut dec, Codec::H264, &chunks);
    assert_eq!(frames.len(), 2);
    let db = psnr(&planar(&frames[0]), &i420);
    assert!(db > 30.0, "NV12 input: PSNR {db:.1} dB");
    let grey = planar(&frames[1]);
    let luma_mean = grey[..w * h].iter().map(|p| f64::from(*p)).sum::<f64>() / (w * h) as f64;
    assert!(
        (luma_mean - 126.0).abs() < 2.0,
        "grey RGBA luma mean {luma_mean}"
    );
}

#[test]
fn openh264_garbage_is_invalid_bitstream_and_a_valid_stream_decodes_after() {
    let mut dec = OpenH264Decoder::new().unwrap();
    let mut frames = Vec::new();
    let garbage: Vec<Vec<u8>> = vec![
        vec![0x65, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x13, 0x37, 0xff, 0x42],
        vec![0x67, 0xff, 0xff, 0xff, 0xff, 0x01],
    ];
    let mut errors = 0;
    for nals in [
        garbage,
        vec![vec![0xff, 1, 2, 3]],
        vec![Vec::new()],
        Vec::new(),
    ] {
        let au = AccessUnit {
            codec: Codec::H264,
            nals,
            keyframe: true,
            offset: 0,
            pts: None,
        };
        if let Err(e) = dec.decode(&au, &mut frames) {
            assert_eq!(e.kind(), ErrorKind::InvalidBitstream, "{e}");
            errors += 1;
        }
    }
    assert_eq!(errors, 4, "every garbage access unit is reported");
    assert!(frames.is_empty(), "garbage produced no picture");
    let mut enc = OpenH264Encoder::new(&config(320, 240)).unwrap();
    let chunks = encode_pattern(&mut enc, 320, 240, 5);
    let frames = decode_chunks(&mut dec, Codec::H264, &chunks);
    assert_eq!(frames.len(), 5);
    let db = psnr(&planar(&frames[4]), &moving_i420(320, 240, 4));
    assert!(db > 30.0, "PSNR after recovery {db:.1} dB");
}

#[test]
fn openh264_flush_on_an_empty_decoder_yields_nothing_and_decoder_is_reusable() {
    let mut dec = OpenH264Decoder::new().unwrap();
    let mut frames = Vec::new();
    dec.flush(&mut frames).unwrap();
    assert!(frames.is_empty());
    let mut enc = OpenH264Encoder::new(&config(160, 96)).unwrap();
    let chunks = encode_pattern(&mut enc, 160, 96, 4);
    assert_eq!(decode_chunks(&mut dec, Codec::H264, &chunks).len(), 4);
    assert_eq!(
        decode_chunks(&mut dec, Codec::H264, &chunks).len(),
        4,
        "after a flush"
    );
}

#[test]
fn openh264_decoder_rejects_hevc_access_units() {
    let mut dec = OpenH264Decoder::new().unwrap();
    let au = AccessUnit {
        codec: Codec::Hevc,
        nals: vec![vec![0x40, 1]],
        keyframe: false,
        offset: 0,
        pts: None,
    };
    let err = dec.decode(&au, &mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

#[test]
fn openh264_output_is_accepted_by_ffmpeg() {
    let mut enc = OpenH264Encoder::new(&config(320, 240)).unwrap();
    let chunks = encode_pattern(&mut enc, 320, 240, 10);
    let stream: Vec<u8> = chunks.iter().flat_map(|c| c.data.iter().copied()).collect();
    if let Some(result) = ffmpeg_accepts(&stream, "h264") {
        result.expect("ffmpeg -v error reports nothing");
    }
}

/// OpenH264 crops to the SPS window itself: a 300x168 stream comes out as 300x168 pictures.
#[test]
fn openh264_decodes_cropped_conformance_stream_bit_exactly() {
    let Some(dir) = conformance_dir() else { return };
    let file = "h264/CVFC1_Sony_C.jsv";
    let (count, md5) = manifest_entry(&dir, file);
    let data = std::fs::read(dir.join(file)).unwrap();
    let mut dec = OpenH264Decoder::new().unwrap();
    let mut frames = Vec::new();
    for au in access_units(Codec::H264, &data) {
        dec.decode(&au, &mut frames).unwrap();
    }
    dec.flush(&mut frames).unwrap();
    assert_eq!(frames.len(), count);
    assert_eq!(frames[0].dimensions(), Dimensions::new(300, 168).unwrap());
    assert_eq!(
        frames[0].crop,
        crate::api::frame::CropRect::full(frames[0].coded)
    );
    assert_eq!(frames_md5(&frames), md5);
}

/// B-frames come out in presentation order with their own pts through OpenH264's reorder buffer.
#[test]
fn openh264_reorders_b_frames_with_their_pts() {
    let Some(dir) = conformance_dir() else { return };
    let file = "h264/64x64-I-P-B-P-high.h264";
    let (count, md5) = manifest_entry(&dir, file);
    let data = std::fs::read(dir.join(file)).unwrap();
    let mut dec = OpenH264Decoder::new().unwrap();
    let mut frames = Vec::new();
    // Decode order I P B P has presentation order 0 2 1 3 (pts in frames).
    let pts = [0i64, 2, 1, 3];
    for (i, mut au) in access_units(Codec::H264, &data).into_iter().enumerate() {
        au.pts = pts.get(i).map(|p| Timestamp::mpeg(*p));
        dec.decode(&au, &mut frames).unwrap();
    }
    dec.flush(&mut frames).unwrap();
    assert_eq!(frames.len(), count);
    let out: Vec<i64> = frames.iter().map(|f| f.pts.unwrap().ticks).collect();
    let mut sorted = out.clone();
    sorted.sort();
    assert_eq!(out, sorted, "presentation order");
    assert_eq!(frames_md5(&frames), md5);
}

#[test]
fn probe_reports_openh264_h264_decode_and_encode() {
    let report = probe();
    assert!(report.available, "{}", report.detail);
    assert!(report.decodes(Codec::H264));
    assert!(report.encodes(Codec::H264));
    assert!(report.encode[0].implementation.starts_with("openh264"));
}

#[test]
fn encoder_choice_follows_b_frames_and_codec() {
    let c = config(320, 240);
    assert_eq!(choose_encoder(&c).unwrap(), Implementation::OpenH264);
    let mut b = config(320, 240);
    b.b_frames = 2;
    let mut hevc = config(320, 240);
    hevc.codec = Codec::Hevc;
    if cfg!(feature = "sw-ffmpeg") {
        assert_eq!(choose_encoder(&b).unwrap(), Implementation::Ffmpeg);
        assert_eq!(choose_encoder(&hevc).unwrap(), Implementation::Ffmpeg);
    } else {
        // Only OpenH264 is built: its factory reports the typed reason.
        assert_eq!(
            encoder_factory(&b).err().unwrap().kind(),
            ErrorKind::Unsupported
        );
        assert_eq!(
            encoder_factory(&hevc).err().unwrap().kind(),
            ErrorKind::Unsupported
        );
        let dc = crate::api::config::DecoderConfig::new(Codec::Hevc);
        assert_eq!(
            decoder_factory(&dc).err().unwrap().kind(),
            ErrorKind::Unsupported
        );
    }
}

#[test]
fn implementation_names_parse_and_unknown_names_are_invalid_input() {
    assert_eq!(
        Implementation::parse("X", Some(" FFmpeg ")).unwrap(),
        Some(Implementation::Ffmpeg)
    );
    assert_eq!(
        Implementation::parse("X", Some("openh264")).unwrap(),
        Some(Implementation::OpenH264)
    );
    assert_eq!(Implementation::parse("X", None).unwrap(), None);
    assert_eq!(Implementation::parse("X", Some("")).unwrap(), None);
    let err = Implementation::parse("X", Some("x264")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[test]
fn encode_session_runs_openh264_end_to_end() {
    use crate::{Backend, EncodeSession};
    let mut s = EncodeSession::new(Backend::Software, config(160, 96)).unwrap();
    for t in 0..5 {
        s.submit(moving_input(160, 96, t)).unwrap();
    }
    let chunks = s.drain().unwrap();
    assert_eq!(chunks.len(), 5);
    assert!(chunks[0].keyframe);
    assert!(s.summary().origin.implementation.starts_with("openh264"));
    let mut b = config(160, 96);
    b.b_frames = 1;
    if !cfg!(feature = "sw-ffmpeg") {
        let err = EncodeSession::new(Backend::Software, b).err().unwrap();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    }
}

fn total_bytes(chunks: &[crate::api::packet::EncodedChunk]) -> usize {
    chunks.iter().map(|c| c.data.len()).sum()
}

#[test]
fn openh264_constant_qp_sets_the_quantiser() {
    let sizes: Vec<usize> = [12u8, 40]
        .iter()
        .map(|qp| {
            let mut c = config(320, 240);
            c.rate_control = RateControl::Cqp { qp: *qp };
            let mut enc = OpenH264Encoder::new(&c).unwrap();
            total_bytes(&encode_pattern(&mut enc, 320, 240, 10))
        })
        .collect();
    eprintln!("bytes at QP 12 / 40: {sizes:?}");
    assert!(
        sizes[0] > 4 * sizes[1],
        "QP 12 must cost far more than QP 40: {sizes:?}"
    );
}

#[test]
fn openh264_bitrate_mode_follows_the_target() {
    let sizes: Vec<usize> = [200_000u32, 2_000_000]
        .iter()
        .map(|bitrate| {
            let mut c = config(320, 240);
            c.rate_control = RateControl::Cbr { bitrate: *bitrate };
            let mut enc = OpenH264Encoder::new(&c).unwrap();
            total_bytes(&encode_pattern(&mut enc, 320, 240, 60))
        })
        .collect();
    // 60 pictures at 30 fps are 2 s: the targets are 50 kB and 500 kB.
    eprintln!("bytes for 2 s at 200 kbit/s / 2 Mbit/s: {sizes:?}");
    assert!(
        sizes[1] > 2 * sizes[0],
        "a 10x target must cost clearly more: {sizes:?}"
    );
    assert!(
        sizes[0] < 200_000 / 8 * 2 * 2,
        "200 kbit/s stays within twice its budget: {sizes:?}"
    );
}

/// Every Baseline and Main H.264 stream of the manifest decodes bit-exactly through OpenH264,
/// access unit by access unit (High-profile tools such as 8x8 transforms, scaling matrices and
/// temporal direct are beyond OpenH264; FFmpeg serves those).
#[test]
fn openh264_decodes_baseline_and_main_conformance_streams_bit_exactly() {
    let Some(dir) = conformance_dir() else { return };
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for line in manifest.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let notes = cols.get(9).copied().unwrap_or("");
        if cols[1] != "h264" || notes.contains("profile=High") {
            continue;
        }
        let (count, md5) = (cols[3].parse::<usize>().unwrap(), cols[7]);
        let data = std::fs::read(dir.join(cols[0])).unwrap();
        let mut dec = OpenH264Decoder::new().unwrap();
        let mut frames = Vec::new();
        let mut errors = 0;
        for au in access_units(Codec::H264, &data) {
            errors += usize::from(dec.decode(&au, &mut frames).is_err());
        }
        errors += usize::from(dec.flush(&mut frames).is_err());
        let got = frames_md5(&frames);
        checked += 1;
        if got != md5 || frames.len() != count || errors > 0 {
            failures.push(format!(
                "{}: {} of {count} frames, {errors} errors, md5 {got}",
                cols[0],
                frames.len()
            ));
        }
    }
    assert!(
        checked >= 20,
        "only {checked} Baseline/Main streams in the manifest"
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn openh264_recovers_at_the_next_idr_without_repeated_parameter_sets() {
    let mut enc = OpenH264Encoder::new(&config(160, 96)).unwrap();
    let mut chunks = Vec::new();
    for t in 0..6 {
        let input = moving_input(160, 96, t).with_force_keyframe(t == 4);
        enc.encode(&input, &mut chunks).unwrap();
    }
    let mut dec = OpenH264Decoder::new().unwrap();
    let mut frames = Vec::new();
    for c in &chunks[..2] {
        dec.decode(&chunk_unit(Codec::H264, c), &mut frames)
            .unwrap();
    }
    // A corrupt IDR, then a lost P picture's successor, then an IDR without SPS/PPS.
    let mut corrupt = chunk_unit(Codec::H264, &chunks[2]);
    corrupt.nals = vec![vec![0x65, 0x88, 0x84, 0x21, 0xff, 0xff, 0xff, 0x00, 0x10]];
    corrupt.keyframe = true;
    let err = dec.decode(&corrupt, &mut frames).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidBitstream, "{err}");
    let mut idr = chunk_unit(Codec::H264, &chunks[4]);
    idr.nals.retain(|n| !matches!(n[0] & 0x1f, 7 | 8));
    assert!(idr.nals.iter().any(|n| n[0] & 0x1f == 5));
    dec.decode(&idr, &mut frames).unwrap();
    dec.decode(&chunk_unit(Codec::H264, &chunks[5]), &mut frames)
        .unwrap();
    dec.flush(&mut frames).unwrap();
    let pts: Vec<i64> = frames.iter().map(|f| f.pts.unwrap().ticks / 3000).collect();
    assert_eq!(pts, [0, 1, 4, 5]);
    let db = psnr(&planar(&frames[3]), &moving_i420(160, 96, 5));
    assert!(db > 30.0, "PSNR after recovery {db:.1} dB");
}

#[test]
fn openh264_metadata_only_frames_carry_sizes_and_pts_but_no_pixels() {
    let mut enc = OpenH264Encoder::new(&config(160, 96)).unwrap();
    let chunks = encode_pattern(&mut enc, 160, 96, 3);
    let mut dec = OpenH264Decoder::new().unwrap().without_pixels();
    let frames = decode_chunks(&mut dec, Codec::H264, &chunks);
    assert_eq!(frames.len(), 3);
    for (t, f) in frames.iter().enumerate() {
        assert!(matches!(f.data, crate::api::frame::FrameData::MetadataOnly));
        assert_eq!(f.dimensions(), Dimensions::new(160, 96).unwrap());
        assert_eq!(f.pts, Some(Timestamp::mpeg(t as i64 * 3000)));
    }
}
