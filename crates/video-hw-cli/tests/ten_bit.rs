//! `decode --md5` / `-o` of 10-bit video: planar, LSB-aligned little-endian samples (FFmpeg's
//! `yuv420p10le`), so the MD5 equals `ffmpeg -i X -f rawvideo -pix_fmt yuv420p10le - | md5sum`;
//! and `--json` carries the account of frames out against pictures in.

mod common;

use common::*;
use std::path::Path;

/// A 10-bit stream made now: 30 frames of 176x144 with B-frames.
fn make(path: &Path, encoder: &[&str]) {
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=176x144:rate=25",
        "-frames:v",
        "30",
        "-pix_fmt",
        "yuv420p10le",
    ];
    args.extend_from_slice(encoder);
    args.push(path.to_str().expect("utf-8 path"));
    ffmpeg_run(&args);
}

#[cfg(feature = "sw-ffmpeg")]
fn md5_hex(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    format!("{:x}", Md5::digest(bytes))
}

/// `video-hw decode --md5 --json -o RAW` against ffmpeg's yuv420p10le decode of the same file.
#[cfg(feature = "sw-ffmpeg")]
fn md5_matches_ffmpeg(name: &str, encoder: &[&str]) {
    if !have_ffmpeg() {
        return;
    }
    let (stream, raw) = (temp(name), temp(&format!("{name}.yuv")));
    make(&stream, encoder);
    let s = stream.to_str().unwrap();
    let reference = ffmpeg_run(&["-i", s, "-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-"]);
    assert_eq!(
        reference.len(),
        30 * 176 * 144 * 3,
        "30 frames of 16-bit samples"
    );
    let o = video_hw(&[
        "decode",
        s,
        "--backend",
        "software",
        "--md5",
        "--json",
        "-q",
        "-o",
        raw.to_str().unwrap(),
    ]);
    let written = std::fs::read(&raw).unwrap_or_default();
    let _ = (std::fs::remove_file(&stream), std::fs::remove_file(&raw));
    assert!(o.status.success(), "{}", stderr(&o));
    // With --json the digest is the report's `md5` field: stdout is one JSON document.
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON report");
    assert_eq!(
        report["md5"].as_str(),
        Some(md5_hex(&reference).as_str()),
        "--md5 is ffmpeg's"
    );
    assert!(written == reference, "-o writes yuv420p10le");
    assert_eq!(report["frames"], 30);
    assert_eq!(report["pictures"]["counted"], 30, "{report}");
    assert_eq!(report["pictures"]["lost"], 0, "{report}");
}

#[cfg(feature = "sw-ffmpeg")]
#[test]
fn decode_md5_of_10_bit_h264_equals_ffmpeg_yuv420p10le() {
    md5_matches_ffmpeg(
        "high10.h264",
        &["-c:v", "libx264", "-profile:v", "high10", "-f", "h264"],
    );
}

#[cfg(feature = "sw-ffmpeg")]
#[test]
fn decode_md5_of_10_bit_hevc_equals_ffmpeg_yuv420p10le() {
    md5_matches_ffmpeg(
        "main10.h265",
        &[
            "-c:v",
            "libx265",
            "-x265-params",
            "log-level=error",
            "-f",
            "hevc",
        ],
    );
}

/// The default build's OpenH264 has no 10-bit decoding: the command fails with a message
/// instead of handing out wrong or missing frames in silence.
#[cfg(not(feature = "sw-ffmpeg"))]
#[test]
fn decode_of_10_bit_h264_without_ffmpeg_fails_with_a_message() {
    if !have_ffmpeg() {
        return;
    }
    let stream = temp("high10-openh264.h264");
    make(
        &stream,
        &["-c:v", "libx264", "-profile:v", "high10", "-f", "h264"],
    );
    let o = video_hw(&[
        "decode",
        stream.to_str().unwrap(),
        "--backend",
        "software",
        "--md5",
        "-q",
    ]);
    let _ = std::fs::remove_file(&stream);
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(!stderr(&o).trim().is_empty(), "a message says why");
}
