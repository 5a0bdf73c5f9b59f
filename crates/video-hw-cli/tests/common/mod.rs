//! Helpers shared by the command's end-to-end tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `video-hw` binary built for these tests.
pub fn video_hw(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_video-hw"))
        .args(args)
        .output()
        .expect("video-hw runs")
}

/// An H.264 stream of `frames` pictures of the built-in pattern at `size` (`WxH`), an IDR
/// picture every `gop`, encoded by our own software encoder into the temporary `name`.
pub fn pattern_h264(name: &str, frames: u32, size: &str, gop: u32) -> PathBuf {
    let path = temp(name);
    let (frames, gop) = (frames.to_string(), gop.to_string());
    let o = video_hw(&[
        "encode",
        "--pattern",
        "--frames",
        &frames,
        "--size",
        size,
        "--gop",
        &gop,
        "-o",
        path.to_str().unwrap(),
        "-q",
        "-y",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    path
}

/// A temporary path unique to this process and `name`.
pub fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("video-hw-cli-{}-{name}", std::process::id()))
}

/// The conformance folder, or `None` with a message (a panic under
/// `VIDEO_HW_REQUIRE_CONFORMANCE=1`).
pub fn conformance() -> Option<PathBuf> {
    let dir = std::env::var_os("VIDEO_HW_CONFORMANCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
        });
    if dir.join("manifest.tsv").is_file() {
        return Some(dir);
    }
    let msg = format!("conformance streams not found at {}", dir.display());
    assert!(
        std::env::var("VIDEO_HW_REQUIRE_CONFORMANCE").as_deref() != Ok("1"),
        "{msg}"
    );
    eprintln!("SKIPPED: {msg}");
    None
}

/// Whether ffmpeg is on PATH (a panic under `VIDEO_HW_REQUIRE_FFMPEG=1` when it is not).
pub fn have_ffmpeg() -> bool {
    let ok = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("VIDEO_HW_REQUIRE_FFMPEG").as_deref() != Ok("1"),
            "ffmpeg not found"
        );
        eprintln!("SKIPPED: ffmpeg not found");
    }
    ok
}

/// A command's stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A command's stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs ffmpeg quietly with `args` (after `-y`); panics when it fails.
pub fn ffmpeg_run(args: &[&str]) -> Vec<u8> {
    let o = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg runs");
    assert!(o.status.success(), "ffmpeg {args:?}: {}", stderr(&o));
    o.stdout
}

/// FFmpeg's MD5 of the decoded pictures of `path`, planar in `pix_fmt`.
pub fn ffmpeg_md5_as(path: &Path, pix_fmt: &str) -> String {
    let out = ffmpeg_run(&[
        "-i",
        path.to_str().expect("utf-8 path"),
        "-f",
        "md5",
        "-pix_fmt",
        pix_fmt,
        "-",
    ]);
    String::from_utf8_lossy(&out)
        .trim()
        .trim_start_matches("MD5=")
        .to_owned()
}
