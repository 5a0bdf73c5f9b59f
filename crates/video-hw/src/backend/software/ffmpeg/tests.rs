//! The FFmpeg adapters against streams made by the encoders, conformance streams and
//! damaged input.

use super::*;
use crate::api::codec::{Dimensions, Timestamp};
use crate::api::config::{EncoderConfig, RateControl};
use crate::api::frame::{DecodedFrame, FrameData, PixelFormat};
use crate::backend::{DecoderBackend, EncoderBackend};
use crate::bitstream::AccessUnit;

use crate::api::error::ErrorKind;
use crate::backend::software::test_support::*;

fn config(codec: Codec, w: u32, h: u32, b_frames: u32) -> EncoderConfig {
    let mut c = EncoderConfig::new(codec, Dimensions::new(w, h).unwrap());
    c.rate_control = RateControl::Vbr {
        bitrate: 1_000_000,
        max_bitrate: 2_000_000,
    };
    c.b_frames = b_frames;
    c
}

fn round_trip(codec: Codec, b_frames: u32) {
    let mut enc = FfmpegEncoder::new(&config(codec, 320, 240, b_frames)).unwrap();
    let chunks = encode_pattern(&mut enc, 320, 240, 20);
    assert_eq!(chunks.len(), 20, "one chunk per picture");
    assert!(chunks[0].keyframe);
    if b_frames > 0 {
        assert!(
            chunks.iter().any(|c| c.dts != c.pts),
            "B-frames reorder: some dts differ from pts"
        );
    }
    for w in chunks.windows(2) {
        assert!(w[0].dts.unwrap() < w[1].dts.unwrap(), "decode order");
    }
    let mut dec = FfmpegDecoder::new(codec, false).unwrap();
    let frames = decode_chunks(&mut dec, codec, &chunks);
    assert_eq!(frames.len(), 20);
    for (t, f) in frames.iter().enumerate() {
        assert_eq!(f.pts, Some(Timestamp::mpeg(t as i64 * 3000)), "frame {t}");
        let db = psnr(&planar(f), &moving_i420(320, 240, t));
        assert!(db > 30.0, "{codec} frame {t}: PSNR {db:.1} dB");
    }
}

#[test]
fn ffmpeg_h264_with_b_frames_round_trips_in_presentation_order() {
    round_trip(Codec::H264, 2);
}

#[test]
fn ffmpeg_hevc_round_trips_above_30db() {
    round_trip(Codec::Hevc, 0);
}

#[test]
fn ffmpeg_decodes_high_profile_b_frame_conformance_stream() {
    let Some(dir) = conformance_dir() else { return };
    let file = "h264/64x64-I-P-B-P-high.h264";
    let (count, md5) = manifest_entry(&dir, file);
    assert_eq!(count, 3);
    let data = std::fs::read(dir.join(file)).unwrap();
    let mut dec = FfmpegDecoder::new(Codec::H264, false).unwrap();
    let mut frames = Vec::new();
    for au in access_units(Codec::H264, &data) {
        dec.decode(&au, &mut frames).unwrap();
    }
    dec.flush(&mut frames).unwrap();
    assert_eq!(frames.len(), 3);
    assert_eq!(frames_md5(&frames), md5);
}

#[test]
fn ffmpeg_decodes_hevc_conformance_stream_bit_exactly() {
    let Some(dir) = conformance_dir() else { return };
    let file = "hevc/test-25fps.h265";
    let (count, md5) = manifest_entry(&dir, file);
    let data = std::fs::read(dir.join(file)).unwrap();
    let mut dec = FfmpegDecoder::new(Codec::Hevc, false).unwrap();
    let mut frames = Vec::new();
    for au in access_units(Codec::Hevc, &data) {
        dec.decode(&au, &mut frames).unwrap();
    }
    dec.flush(&mut frames).unwrap();
    assert_eq!(frames.len(), count);
    assert_eq!(frames_md5(&frames), md5);
}

#[test]
fn ffmpeg_applies_unaligned_crop_exactly() {
    let Some(dir) = conformance_dir() else { return };
    let file = "h264/CVFC1_Sony_C.jsv";
    let (count, md5) = manifest_entry(&dir, file);
    let data = std::fs::read(dir.join(file)).unwrap();
    let mut dec = FfmpegDecoder::new(Codec::H264, false).unwrap();
    let mut frames = Vec::new();
    for au in access_units(Codec::H264, &data) {
        dec.decode(&au, &mut frames).unwrap();
    }
    dec.flush(&mut frames).unwrap();
    assert_eq!(frames.len(), count);
    assert_eq!(frames[0].dimensions(), Dimensions::new(300, 168).unwrap());
    assert_eq!(frames_md5(&frames), md5);
}

#[test]
fn ffmpeg_garbage_is_invalid_bitstream_and_a_valid_stream_decodes_after() {
    let mut dec = FfmpegDecoder::new(Codec::H264, false).unwrap();
    let mut frames = Vec::new();
    let au = AccessUnit {
        codec: Codec::H264,
        nals: vec![
            vec![0x65, 0xde, 0xad, 0xbe, 0xef, 0x13, 0x37],
            vec![0x67, 0xff, 0xff],
        ],
        keyframe: true,
        offset: 0,
        pts: None,
    };
    let empty = AccessUnit {
        nals: Vec::new(),
        ..au.clone()
    };
    let err = dec.decode(&empty, &mut frames).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidBitstream);
    let mut errors = Vec::new();
    errors.extend(dec.decode(&au, &mut frames).err());
    // Frame threads may report the error only when the decoder is drained.
    errors.extend(dec.flush(&mut frames).err());
    assert!(!errors.is_empty(), "garbage is reported");
    for e in &errors {
        assert_eq!(e.kind(), ErrorKind::InvalidBitstream, "{e}");
    }
    assert!(frames.is_empty(), "garbage produced no picture");
    let mut enc = FfmpegEncoder::new(&config(Codec::H264, 160, 96, 0)).unwrap();
    let chunks = encode_pattern(&mut enc, 160, 96, 5);
    assert_eq!(decode_chunks(&mut dec, Codec::H264, &chunks).len(), 5);
}

#[test]
fn ffmpeg_encoder_is_reusable_after_flush_and_forces_keyframes() {
    let mut c = config(Codec::H264, 160, 96, 0);
    c.gop_length = 0;
    let mut enc = FfmpegEncoder::new(&c).unwrap();
    let mut chunks = Vec::new();
    for t in 0..6 {
        let input = moving_input(160, 96, t).with_force_keyframe(t == 3);
        enc.encode(&input, &mut chunks).unwrap();
    }
    enc.flush(&mut chunks).unwrap();
    let keys: Vec<bool> = chunks.iter().map(|c| c.keyframe).collect();
    assert_eq!(keys, [true, false, false, true, false, false]);
    let again = encode_pattern(&mut enc, 160, 96, 2);
    assert_eq!(again.len(), 2);
    assert!(again[0].keyframe, "a fresh encoder starts with a keyframe");
    let stream: Vec<u8> = chunks.iter().flat_map(|c| c.data.iter().copied()).collect();
    if let Some(result) = ffmpeg_accepts(&stream, "h264") {
        result.expect("ffmpeg -v error reports nothing");
    }
}

#[test]
fn ffmpeg_rejects_odd_sizes_and_wrong_size_input() {
    let err = FfmpegEncoder::new(&config(Codec::H264, 17, 9, 0))
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    let mut enc = FfmpegEncoder::new(&config(Codec::H264, 64, 48, 0)).unwrap();
    let err = enc
        .encode(&moving_input(32, 32, 0), &mut Vec::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

/// Runs the ffmpeg command; `None` (skip) when it is absent.
fn ffmpeg_cli(args: &[&str]) -> Option<()> {
    if !ffmpeg_cli_available() {
        return None;
    }
    let out = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y"])
        .args(args)
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(())
}

#[test]
fn ffmpeg_decodes_10_bit_hevc_to_lsb_aligned_i010_and_to_p016_on_request() {
    let dir = std::env::temp_dir().join(format!("video-hw-sw-p016-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (stream, raw) = (dir.join("ten.h265"), dir.join("ten.yuv"));
    let (stream_s, raw_s) = (stream.to_str().unwrap(), raw.to_str().unwrap());
    let made = ffmpeg_cli(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=64x48:rate=25",
        "-frames:v",
        "3",
        "-pix_fmt",
        "yuv420p10le",
        "-c:v",
        "libx265",
        "-x265-params",
        "log-level=error",
        "-f",
        "hevc",
        stream_s,
    ])
    .and_then(|()| {
        ffmpeg_cli(&[
            "-i",
            stream_s,
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p10le",
            raw_s,
        ])
    });
    if made.is_none() {
        return;
    }
    let data = std::fs::read(&stream).unwrap();
    let reference = std::fs::read(&raw).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let mut dec = FfmpegDecoder::new(Codec::Hevc, false).unwrap();
    let mut frames = Vec::new();
    for au in access_units(Codec::Hevc, &data) {
        dec.decode(&au, &mut frames).unwrap();
    }
    dec.flush(&mut frames).unwrap();
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[0].format, PixelFormat::I010);
    let ours: Vec<u8> = frames.iter().flat_map(planar).collect();
    assert!(ours == reference, "planar output is FFmpeg's yuv420p10le");
    // P016 (MSB-aligned) for those who ask: the same samples in the high bits.
    let spec = crate::transform::TransformSpec::to(PixelFormat::P016);
    let p016: Vec<DecodedFrame> = frames
        .iter()
        .map(|f| crate::transform::transform_frame(f, &spec).unwrap())
        .collect();
    assert_eq!(p016[0].format, PixelFormat::P016);
    let ours: Vec<u8> = p016.iter().flat_map(planar).collect();
    assert_eq!(ours.len(), reference.len());
    for (o, r) in ours.chunks_exact(2).zip(reference.chunks_exact(2)) {
        let (o, r) = (
            u16::from_le_bytes([o[0], o[1]]),
            u16::from_le_bytes([r[0], r[1]]),
        );
        assert_eq!(o, r << 6);
    }
}

#[test]
fn ffmpeg_metadata_only_frames_carry_sizes_and_pts_but_no_pixels() {
    let mut enc = FfmpegEncoder::new(&config(Codec::Hevc, 160, 96, 0)).unwrap();
    let chunks = encode_pattern(&mut enc, 160, 96, 3);
    let mut dec = FfmpegDecoder::new(Codec::Hevc, false)
        .unwrap()
        .without_pixels();
    let frames = decode_chunks(&mut dec, Codec::Hevc, &chunks);
    assert_eq!(frames.len(), 3);
    for (t, f) in frames.iter().enumerate() {
        assert!(matches!(f.data, FrameData::MetadataOnly));
        assert_eq!(f.format, PixelFormat::I420);
        assert_eq!(f.dimensions(), Dimensions::new(160, 96).unwrap());
        assert_eq!(f.pts, Some(Timestamp::mpeg(t as i64 * 3000)));
    }
}

#[test]
fn ffmpeg_probe_lists_h264_and_hevc() {
    let report = probe();
    assert!(
        report.decode.iter().any(|c| c.codec == Codec::Hevc),
        "{}",
        report.detail
    );
    assert!(
        report.encode.iter().any(|c| c.codec == Codec::Hevc),
        "{}",
        report.detail
    );
    assert!(report.detail.contains("libavcodec"));
}

mod conformance {
    use super::*;

    /// Every stream of the conformance manifest, decoded access unit by access unit, matches
    /// its MD5 (the manifest's sums come from FFmpeg 5.1, the library this adapter wraps).
    #[test]
    fn ffmpeg_decodes_every_conformance_stream_bit_exactly() {
        let Some(dir) = conformance_dir() else { return };
        let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
        let mut failures = Vec::new();
        for line in manifest.lines().skip(1) {
            let cols: Vec<&str> = line.split('\t').collect();
            let codec: Codec = cols[1].parse().unwrap();
            let (count, md5) = (cols[3].parse::<usize>().unwrap(), cols[7]);
            let data = std::fs::read(dir.join(cols[0])).unwrap();
            let mut dec = FfmpegDecoder::new(codec, false).unwrap();
            let mut frames = Vec::new();
            let mut errors = 0;
            for au in access_units(codec, &data) {
                errors += usize::from(dec.decode(&au, &mut frames).is_err());
            }
            errors += usize::from(dec.flush(&mut frames).is_err());
            let got = frames_md5(&frames);
            if frames.len() != count || got != md5 || errors > 0 {
                failures.push(format!(
                    "{}: {} of {count} frames, {errors} errors, md5 {got}",
                    cols[0],
                    frames.len()
                ));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
