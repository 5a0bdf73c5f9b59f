//! Frames out == pictures in. On every conformance stream, and on 10-bit streams made at test
//! time with libx264/libx265, every backend built here delivers exactly the pictures the
//! bitstream layer counts, or reports the difference (the session's counters and an error in
//! the output), never silently. A backend that refuses a stream says so when it opens.
//!
//! Also (sw-ffmpeg): streams that do not signal their reorder depth decode to every picture,
//! bit-exactly as the `ffmpeg` command decodes them.

mod common;

use common::*;
use std::process::Command;
use video_hw::bitstream::count_pictures;
use video_hw::{Backend, Codec, DecodeInput, DecodeOutput, DecodeSession, DecoderConfig};

/// One stream to account for.
struct Case {
    name: String,
    codec: Codec,
    data: Vec<u8>,
    /// The frame count of the manifest (FFmpeg's), for conformance rows.
    reference_frames: Option<u64>,
}

/// Runs ffmpeg with `args` (quiet); panics on failure.
fn ffmpeg(args: &[&str]) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// 10-bit H.264 (High 10, libx264) and HEVC (Main 10, libx265) with B-frames, made once
/// per test process (the tests run in parallel).
fn ten_bit_streams() -> Vec<Case> {
    static MADE: std::sync::OnceLock<Vec<(Codec, String, Vec<u8>)>> = std::sync::OnceLock::new();
    MADE.get_or_init(make_ten_bit_streams)
        .iter()
        .map(|(codec, name, data)| Case {
            name: name.clone(),
            codec: *codec,
            data: data.clone(),
            reference_frames: Some(24),
        })
        .collect()
}

fn make_ten_bit_streams() -> Vec<(Codec, String, Vec<u8>)> {
    if !have_ffmpeg() {
        return Vec::new();
    }
    let src = "testsrc2=size=128x96:rate=25";
    let made = [
        (
            Codec::H264,
            "ten.h264",
            vec![
                "-c:v",
                "libx264",
                "-profile:v",
                "high10",
                "-bf",
                "3",
                "-f",
                "h264",
            ],
        ),
        (
            Codec::Hevc,
            "ten.h265",
            vec![
                "-c:v",
                "libx265",
                "-x265-params",
                "log-level=error:bframes=3",
                "-f",
                "hevc",
            ],
        ),
    ];
    made.into_iter()
        .map(|(codec, name, enc)| {
            let path = temp_path(name);
            let p = path.to_str().expect("utf-8 temp path");
            let mut args = vec!["-f", "lavfi", "-i", src, "-frames:v", "24"];
            args.extend(["-pix_fmt", "yuv420p10le"]);
            args.extend(enc);
            args.push(p);
            ffmpeg(&args);
            let data = std::fs::read(&path).expect("stream written");
            let _ = std::fs::remove_file(&path);
            (codec, format!("{name} (10-bit, made now)"), data)
        })
        .collect()
}

fn cases() -> Vec<Case> {
    let mut cases: Vec<Case> = conformance_dir()
        .map(|dir| {
            manifest(&dir)
                .into_iter()
                .map(|row| Case {
                    data: std::fs::read(dir.join(&row.file)).expect("stream readable"),
                    name: row.file,
                    codec: row.codec,
                    reference_frames: Some(row.frames),
                })
                .collect()
        })
        .unwrap_or_default();
    cases.extend(ten_bit_streams());
    cases
}

#[test]
fn pictures_counted_equal_the_reference_frame_count_on_every_stream() {
    let mut wrong = Vec::new();
    for case in cases() {
        let counted = count_pictures(case.codec, &case.data);
        if Some(counted) != case.reference_frames {
            wrong.push(format!(
                "{}: counted {counted}, reference {:?}",
                case.name, case.reference_frames
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// How one backend did on one stream.
enum Outcome {
    Exact,
    /// Fewer or more frames than pictures, counted and reported.
    Reported(String),
    /// The backend refused the stream when it opened.
    Refused(String),
}

/// Decodes `case` on `backend`; `Err` when a difference went unreported.
fn account(backend: Backend, case: &Case, output: DecodeOutput) -> Result<Outcome, String> {
    let counted = count_pictures(case.codec, &case.data);
    let config = DecoderConfig::new(case.codec).with_output(output);
    let mut session = match DecodeSession::new(backend, config) {
        Ok(s) => s,
        Err(e) => return Ok(Outcome::Refused(e.to_string())),
    };
    let mut out = Decoded::default();
    submit_all(
        &mut session,
        case.data.chunks(1 << 16).map(DecodeInput::annexb),
        &mut out,
    );
    finish(&mut session, &mut out);
    let s = session.summary();
    let frames = out.frames.len() as u64;
    let name = &case.name;
    // A stream the backend refuses (capability check, no backend left): its pictures are
    // reported by the `Unsupported` error, not counted as lost.
    if let Some(refusal) = out
        .errors
        .iter()
        .find(|e| e.kind() == video_hw::ErrorKind::Unsupported)
        && s.frames == frames
        && frames <= counted
    {
        return Ok(Outcome::Refused(refusal.to_string()));
    }
    if s.pictures != counted {
        return Err(format!(
            "{name}: the session counted {} pictures, the bitstream layer {counted}",
            s.pictures
        ));
    }
    if s.frames != frames {
        return Err(format!(
            "{name}: summary says {} frames, {frames} reaped",
            s.frames
        ));
    }
    if frames == counted {
        return if s.pictures_lost == 0 && s.frames_extra == 0 {
            Ok(Outcome::Exact)
        } else {
            Err(format!(
                "{name}: exact, yet the summary counts a drop: {s:?}"
            ))
        };
    }
    let counts_right = s.pictures_lost == counted.saturating_sub(frames)
        && s.frames_extra == frames.saturating_sub(counted);
    if !counts_right || out.errors.is_empty() {
        return Err(format!(
            "{name}: {frames} frames for {counted} pictures, not reported: summary {s:?}, errors {:?}",
            out.errors
        ));
    }
    let errors: Vec<String> = out.errors.iter().map(ToString::to_string).collect();
    Ok(Outcome::Reported(format!(
        "{frames} frames for {counted} pictures; {}",
        errors.join(" | ")
    )))
}

/// Accounts for every case on `backend`; returns the names of the exact ones. Panics on a
/// silent difference, and on a difference or refusal of a stream `must_be_exact` names.
fn check_backend(backend: Backend, output: DecodeOutput, must_be_exact: impl Fn(&Case) -> bool) {
    let mut silent = Vec::new();
    let mut not_exact = Vec::new();
    let (mut exact, mut tried) = (0, 0);
    for case in cases() {
        if !video_hw::backend::probe_one(backend).decodes(case.codec) {
            eprintln!(
                "{:<45} skipped: {backend} has no {} decoder here",
                case.name, case.codec
            );
            continue;
        }
        tried += 1;
        let outcome = account(backend, &case, output);
        let line = match &outcome {
            Ok(Outcome::Exact) => "exact".to_owned(),
            Ok(Outcome::Reported(why)) => format!("reported: {why}"),
            Ok(Outcome::Refused(why)) => format!("refused: {why}"),
            Err(e) => format!("SILENT: {e}"),
        };
        eprintln!("{:<45} {line}", case.name);
        match outcome {
            Ok(Outcome::Exact) => exact += 1,
            Ok(_) if must_be_exact(&case) => not_exact.push(format!("{}: {line}", case.name)),
            Ok(_) => {}
            Err(e) => silent.push(e),
        }
    }
    eprintln!("{backend}: {exact}/{tried} streams delivered exactly the counted pictures");
    assert!(silent.is_empty(), "unreported differences: {silent:#?}");
    assert!(not_exact.is_empty(), "required to be exact: {not_exact:#?}");
}

/// OpenH264 (the default software decoder) handles Constrained Baseline; other streams
/// must be reported when they lose pictures.
#[cfg(not(feature = "sw-ffmpeg"))]
#[test]
fn frames_out_equal_pictures_in_software_openh264() {
    if !usable(Backend::Software, Codec::H264, true) {
        return;
    }
    let baseline: Vec<String> = conformance_dir()
        .map(|dir| {
            manifest(&dir)
                .into_iter()
                .filter(|r| r.codec == Codec::H264 && r.notes.contains("Baseline"))
                .map(|r| r.file)
                .collect()
        })
        .unwrap_or_default();
    check_backend(Backend::Software, DecodeOutput::MetadataOnly, |c| {
        baseline.contains(&c.name)
    });
}

/// FFmpeg's decoders deliver every counted picture of every stream.
#[cfg(feature = "sw-ffmpeg")]
#[test]
fn frames_out_equal_pictures_in_software_ffmpeg() {
    if !usable(Backend::Software, Codec::H264, true) {
        return;
    }
    check_backend(Backend::Software, DecodeOutput::MetadataOnly, |_| true);
}

/// NVDEC, where a GPU and its driver are present (required under `VIDEO_HW_REQUIRE_GPU=1`):
/// exact, or refused with a reason (4:0:0 on some GPUs), never a silent loss.
#[test]
fn frames_out_equal_pictures_in_nvidia() {
    if !usable(Backend::Nvidia, Codec::H264, true) {
        return;
    }
    check_backend(Backend::Nvidia, DecodeOutput::Native, |_| false);
}

/// The RBSP bits of `rbsp`, most significant first.
#[cfg(feature = "sw-ffmpeg")]
fn bits_of(rbsp: &[u8]) -> Vec<bool> {
    rbsp.iter()
        .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1 == 1))
        .collect()
}

/// Bits of `v` as Exp-Golomb `ue(v)`.
#[cfg(feature = "sw-ffmpeg")]
fn ue_len(v: u32) -> usize {
    let x = u64::from(v) + 1;
    2 * (63 - x.leading_zeros() as usize) + 1
}

/// Rebuilds an H.264 SPS NAL unit without the VUI `bitstream_restriction` (which holds
/// `max_num_reorder_frames`): the last syntax element of the SPS, so the bits before it stay
/// as they are. Emulation prevention is added back.
#[cfg(feature = "sw-ffmpeg")]
fn strip_bitstream_restriction(sps_nal: &[u8]) -> Vec<u8> {
    let rbsp = video_hw::bitstream::nal::rbsp(Codec::H264, sps_nal).expect("SPS RBSP");
    let sps = h264_reader::nal::sps::SeqParameterSet::from_bits(h264_reader::rbsp::BitReader::new(
        &rbsp[..],
    ))
    .expect("SPS parses");
    let r = sps
        .vui_parameters
        .as_ref()
        .and_then(|v| v.bitstream_restrictions.as_ref())
        .expect("x264 writes a bitstream restriction");
    // flag, motion_vectors_over_pic_boundaries_flag, then six ue(v).
    let tail = 2 + [
        r.max_bytes_per_pic_denom,
        r.max_bits_per_mb_denom,
        r.log2_max_mv_length_horizontal,
        r.log2_max_mv_length_vertical,
        r.max_num_reorder_frames,
        r.max_dec_frame_buffering,
    ]
    .into_iter()
    .map(ue_len)
    .sum::<usize>();
    let bits = bits_of(&rbsp);
    let stop = bits.iter().rposition(|&b| b).expect("rbsp stop bit");
    let flag = stop - tail;
    assert!(
        bits[flag],
        "bitstream_restriction_flag is where the parse says"
    );
    let mut out_bits = bits[..flag].to_vec();
    out_bits.extend([false, true]); // bitstream_restriction_flag = 0, stop bit
    while !out_bits.len().is_multiple_of(8) {
        out_bits.push(false);
    }
    let payload: Vec<u8> = out_bits
        .chunks(8)
        .map(|c| c.iter().fold(0u8, |a, &b| (a << 1) | u8::from(b)))
        .collect();
    let mut nal = vec![sps_nal[0]];
    let mut zeros = 0;
    for b in payload {
        if zeros >= 2 && b <= 3 {
            nal.push(3);
            zeros = 0;
        }
        nal.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    nal
}

/// An x264 stream with B-pyramids whose SPS no longer signals its reorder depth: FFmpeg's
/// decoder, fed packet by packet, must not drop the pictures it would only learn to reorder
/// late ("no picture ooo"); the output equals the `ffmpeg` command's, which probes first.
#[cfg(feature = "sw-ffmpeg")]
#[test]
fn stream_without_reorder_depth_decodes_every_picture_like_ffmpeg() {
    use md5::{Digest, Md5};
    use video_hw::bitstream::split_annexb;
    if !have_ffmpeg() {
        return;
    }
    let made = temp_path("pyramid.h264");
    let made_s = made.to_str().expect("utf-8 path").to_owned();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=176x144:rate=25",
        "-frames:v",
        "60",
        "-c:v",
        "libx264",
        "-bf",
        "3",
        "-b-pyramid",
        "normal",
        "-g",
        "30",
        "-f",
        "h264",
        &made_s,
    ]);
    let data = std::fs::read(&made).expect("stream written");
    let mut stripped = Vec::new();
    let mut rewritten = 0;
    for nal in split_annexb(&data) {
        stripped.extend_from_slice(&[0, 0, 0, 1]);
        if nal.data.first().is_some_and(|b| b & 0x1f == 7) {
            let sps = strip_bitstream_restriction(&nal.data);
            let before = video_hw::bitstream::parse_h264_sps(&nal.data).expect("SPS");
            let after = video_hw::bitstream::parse_h264_sps(&sps).expect("rewritten SPS");
            assert!(before.max_num_reorder_frames.is_some_and(|n| n > 0));
            assert_eq!(after.max_num_reorder_frames, None, "restriction removed");
            assert_eq!((after.coded, after.crop), (before.coded, before.crop));
            stripped.extend_from_slice(&sps);
            rewritten += 1;
        } else {
            stripped.extend_from_slice(&nal.data);
        }
    }
    assert!(rewritten > 0, "the stream has an SPS");
    std::fs::write(&made, &stripped).expect("write stripped stream");
    let reference = ffmpeg(&["-i", &made_s, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]);
    let _ = std::fs::remove_file(&made);
    let frame_bytes = 176 * 144 * 3 / 2;
    assert_eq!(reference.len(), 60 * frame_bytes, "ffmpeg gives all 60");
    assert_eq!(count_pictures(Codec::H264, &stripped), 60);
    let out = decode_annexb(Backend::Software, Codec::H264, &stripped, 4096);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.frames.len(), 60, "every picture comes out");
    assert_eq!(out.summary.pictures_lost, 0);
    let want = format!("{:x}", Md5::digest(&reference));
    assert_eq!(out.md5(), want, "bit-exact with the ffmpeg command");
}

/// Whether an H.264 stream holds a slice whose reference marking has MMCO 4
/// (`max_long_term_frame_idx_plus1`), read with h264-reader's slice-header parser.
#[cfg(feature = "sw-openh264")]
fn holds_mmco_4(data: &[u8]) -> bool {
    use h264_reader::nal::pps::PicParameterSet;
    use h264_reader::nal::slice::{
        DecRefPicMarking, MemoryManagementControlOperation, SliceHeader,
    };
    use h264_reader::nal::sps::SeqParameterSet;
    use h264_reader::nal::{Nal, RefNal, UnitType};
    let mut ctx = h264_reader::Context::new();
    let mut found = false;
    for unit in video_hw::bitstream::split_annexb(data) {
        let nal = RefNal::new(&unit.data, &[], true);
        let Ok(header) = nal.header() else { continue };
        match header.nal_unit_type() {
            UnitType::SeqParameterSet => {
                ctx.put_seq_param_set(SeqParameterSet::from_bits(nal.rbsp_bits()).expect("SPS"));
            }
            UnitType::PicParameterSet => {
                let pps = PicParameterSet::from_bits(&ctx, nal.rbsp_bits()).expect("PPS");
                ctx.put_pic_param_set(pps);
            }
            UnitType::SliceLayerWithoutPartitioningNonIdr => {
                let (slice, _, _) =
                    SliceHeader::from_bits(&ctx, &mut nal.rbsp_bits(), header, None)
                        .expect("slice header");
                if let Some(DecRefPicMarking::Adaptive(ops)) = slice.dec_ref_pic_marking {
                    found |= ops.iter().any(|op| {
                        matches!(
                            op,
                            MemoryManagementControlOperation::MaxUsedLongTermFrameRef { .. }
                        )
                    });
                }
            }
            _ => {}
        }
    }
    found
}

/// A stream that uses `memory_management_control_operation = 4` (issue #22: FFmpeg's path
/// once lost two pictures of such a conformance stream). OpenH264 with long-term references
/// on, for screen content, marks its reference pictures with MMCO 4 then MMCO 6; the stream is
/// made now, checked to hold MMCO 4, and must decode to every picture and the `ffmpeg`
/// command's MD5 on the software backend (FFmpeg in the `sw-ffmpeg` build, else OpenH264).
#[cfg(feature = "sw-openh264")]
#[test]
fn stream_with_mmco_4_decodes_every_picture_like_ffmpeg() {
    use md5::{Digest, Md5};
    use openh264::OpenH264API;
    use openh264::encoder::{Encoder, EncoderConfig, UsageType};
    use openh264::formats::YUVBuffer;
    if !have_ffmpeg() {
        return;
    }
    let (w, h, n) = (176usize, 144usize, 60usize);
    let config = EncoderConfig::new()
        .usage_type(UsageType::CameraVideoRealTime)
        .long_term_reference(true);
    let mut encoder =
        Encoder::with_api_config(OpenH264API::from_source(), config).expect("encoder");
    let mut data = Vec::new();
    for i in 0..n {
        // A diagonal ramp with a square that moves 3 pixels a frame.
        let mut yuv = vec![128u8; w * h * 3 / 2];
        for y in 0..h {
            for x in 0..w {
                let inside = (x + 200 - 3 * i) % 176 < 32 && (y + i) % 144 < 32;
                yuv[y * w + x] = if inside {
                    235
                } else {
                    ((x + y) % 200) as u8 + 16
                };
            }
        }
        let frame = YUVBuffer::from_vec(yuv, w, h);
        data.extend(encoder.encode(&frame).expect("encode").to_vec());
    }
    assert!(holds_mmco_4(&data), "the stream holds no MMCO 4");
    let made = temp_path("mmco4.h264");
    std::fs::write(&made, &data).expect("write stream");
    let made_s = made.to_str().expect("utf-8 path").to_owned();
    let reference = ffmpeg(&["-i", &made_s, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]);
    let _ = std::fs::remove_file(&made);
    assert_eq!(reference.len(), n * w * h * 3 / 2, "ffmpeg gives all {n}");
    let out = decode_annexb(Backend::Software, Codec::H264, &data, 4096);
    #[cfg(feature = "sw-ffmpeg")]
    assert!(
        out.implementation.starts_with("ffmpeg"),
        "decoded by {}, not FFmpeg",
        out.implementation
    );
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.frames.len(), n, "every picture comes out");
    assert_eq!(out.summary.pictures_lost, 0);
    let want = format!("{:x}", Md5::digest(&reference));
    assert_eq!(out.md5(), want, "bit-exact with the ffmpeg command");
}
