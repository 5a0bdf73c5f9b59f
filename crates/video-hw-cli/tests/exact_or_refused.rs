//! "Never a wrong frame in silence": every stream `video-hw decode --md5` takes either gives
//! the reference MD5 with exit 0, or exits non-zero with an `unsupported:` line naming the
//! feature. Never another MD5 with exit 0.
//!
//! Streams: every row of the conformance manifest, and streams made here with Debian's
//! ffmpeg (libx264 High `-bf 3`, Main with B-frames, 10-bit, 4:2:2, interlaced).

mod common;

use common::{conformance, have_ffmpeg, stderr, stdout, temp, video_hw};
use std::path::Path;
use std::process::Command;

/// What one decode came to.
#[derive(Debug, PartialEq)]
enum Outcome {
    Exact,
    Refused,
}

/// Decodes `path` with `--md5` and checks it against `want`; panics on a silent wrong
/// result (another MD5 with exit 0) or a failure that is not an `unsupported:` refusal.
fn exact_or_refused(path: &Path, codec: &str, want: &str) -> Outcome {
    let o = video_hw(&[
        "decode",
        path.to_str().unwrap(),
        "--codec",
        codec,
        "--md5",
        "-q",
    ]);
    let (out, err) = (stdout(&o), stderr(&o));
    let name = path.display();
    if o.status.success() {
        assert_eq!(
            out.lines().next().unwrap_or(""),
            want,
            "{name}: exit 0 with another MD5 (a wrong picture in silence); stderr: {err}"
        );
        return Outcome::Exact;
    }
    let line = err
        .lines()
        .find(|l| l.contains("unsupported: "))
        .unwrap_or_else(|| panic!("{name}: failed without an `unsupported:` line: {err}"));
    // The refusal names a feature and what to do about it.
    assert!(
        line.contains("does not decode") || line.contains("no backend can decode"),
        "{name}: the refusal names no feature: {line}"
    );
    assert!(
        line.contains("sw-ffmpeg") || line.contains("GPU backend") || line.contains("software"),
        "{name}: the refusal names no remedy: {line}"
    );
    Outcome::Refused
}

#[test]
fn every_conformance_row_is_exact_or_refused_with_the_feature() {
    let Some(dir) = conformance() else { return };
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
    let (mut exact, mut refused) = (Vec::new(), Vec::new());
    for line in manifest.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        match exact_or_refused(&dir.join(f[0]), f[1], f[7]) {
            Outcome::Exact => exact.push(f[0]),
            Outcome::Refused => refused.push(f[0]),
        }
    }
    eprintln!(
        "{} exact, {} refused: {refused:?}",
        exact.len(),
        refused.len()
    );
    assert!(exact.len() + refused.len() >= 48);
    if cfg!(feature = "sw-ffmpeg") {
        // FFmpeg's decoders take every row of the suite.
        assert!(refused.is_empty(), "refused with sw-ffmpeg: {refused:?}");
    } else {
        // OpenH264: the 30 rows without a refused feature (the rule is per header: three rows
        // with deblocked B-pictures that OpenH264 happens to get right are refused too).
        assert!(exact.len() >= 30, "only {} exact: {exact:?}", exact.len());
        assert!(
            refused.iter().any(|f| f.starts_with("hevc/")),
            "HEVC needs sw-ffmpeg or a GPU"
        );
    }
}

/// An H.264 stream of 48 moving-pattern pictures made by ffmpeg with `args`, and ffmpeg's
/// MD5 of its decoded pictures (planar, in the stream's own pixel format).
fn make(name: &str, args: &[&str]) -> (std::path::PathBuf, String) {
    let path = temp(&format!("{name}.h264"));
    let made = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=320x240:rate=25:duration=1.92")
        .args(args)
        .args(["-c:v", "libx264", "-f", "h264"])
        .arg(&path)
        .status()
        .expect("ffmpeg runs");
    assert!(made.success(), "ffmpeg could not make {name}");
    let md5 = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&path)
        .args(["-f", "md5", "-"])
        .output()
        .expect("ffmpeg runs");
    let text = String::from_utf8_lossy(&md5.stdout);
    let md5 = text.trim().trim_start_matches("MD5=").to_owned();
    assert_eq!(md5.len(), 32, "ffmpeg md5 of {name}: {text}");
    (path, md5)
}

#[test]
fn streams_made_by_libx264_are_exact_or_refused_with_the_feature() {
    if !have_ffmpeg() {
        return;
    }
    let eight_bit: [(&str, &[&str]); 4] = [
        (
            "high-bf3",
            &["-profile:v", "high", "-bf", "3", "-pix_fmt", "yuv420p"],
        ),
        (
            "main-bf2",
            &["-profile:v", "main", "-bf", "2", "-pix_fmt", "yuv420p"],
        ),
        (
            "high-no-b",
            &["-profile:v", "high", "-bf", "0", "-pix_fmt", "yuv420p"],
        ),
        (
            "interlaced",
            &["-flags", "+ildct+ilme", "-pix_fmt", "yuv420p"],
        ),
    ];
    for (name, args) in eight_bit {
        let (path, md5) = make(name, args);
        let outcome = exact_or_refused(&path, "h264", &md5);
        if cfg!(feature = "sw-ffmpeg") {
            assert_eq!(outcome, Outcome::Exact, "{name} with sw-ffmpeg");
        }
        if name == "high-no-b" {
            // OpenH264 decodes High without B-pictures exactly: no reason to refuse it.
            assert_eq!(outcome, Outcome::Exact, "{name}");
        }
        let _ = std::fs::remove_file(path);
    }
    // 10-bit and 4:2:2: the output layout of 10-bit frames is not compared here, only that
    // the stream is taken (sw-ffmpeg) or refused with the feature (default build).
    for (name, args) in [
        (
            "high10",
            &["-profile:v", "high10", "-pix_fmt", "yuv420p10le"][..],
        ),
        (
            "high422",
            &["-profile:v", "high422", "-pix_fmt", "yuv422p"][..],
        ),
    ] {
        let (path, _) = make(name, args);
        let o = video_hw(&["decode", path.to_str().unwrap(), "--md5", "-q"]);
        let err = stderr(&o);
        if cfg!(feature = "sw-ffmpeg") && name == "high10" {
            assert!(o.status.success(), "{name} with sw-ffmpeg: {err}");
        } else {
            assert!(!o.status.success(), "{name} decoded without a refusal");
            let line = err
                .lines()
                .find(|l| l.contains("unsupported: "))
                .unwrap_or_else(|| panic!("{name}: no `unsupported:` line: {err}"));
            let feature = if name == "high10" { "10-bit" } else { "4:2:2" };
            assert!(line.contains(feature), "{name}: {line}");
            assert_eq!(
                err.matches("video-hw: error:").count(),
                1,
                "{name}: one refusal, not an error per access unit: {err}"
            );
        }
        let _ = std::fs::remove_file(path);
    }
}
