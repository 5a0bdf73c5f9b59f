//! `video-hw decode` on the inputs that once broke a parser (fuzz/regressions/) exits with an
//! error, quickly and in little memory: within 2 s and under 100 MB of peak RSS (measured for
//! the child with `wait4`).
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TIME_LIMIT: Duration = Duration::from_secs(2);
const RSS_LIMIT_BYTES: u64 = 100 << 20;

fn regression(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions")
        .join(name)
}

/// Runs `video-hw ARGS`; returns its exit status, wall time, peak RSS and stderr. A child
/// that outlives the time limit is killed (and the test fails).
#[allow(
    clippy::zombie_processes,
    reason = "the child is reaped with wait4, which also gives its peak RSS"
)]
fn run_measured(args: &[&str]) -> (std::process::ExitStatus, Duration, u64, String) {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_video-hw"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("video-hw starts");
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits pid_t");
    let mut status = 0;
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, not yet reaped; both pointers are to live locals.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(r >= 0, "wait4 failed: {}", std::io::Error::last_os_error());
        if r == pid {
            break;
        }
        if start.elapsed() > TIME_LIMIT * 5 {
            let _ = child.kill();
            panic!("video-hw {args:?} still runs after {:?}", start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = start.elapsed();
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    // ru_maxrss is in KiB on Linux, in bytes on Apple platforms.
    let rss = u64::try_from(usage.ru_maxrss).unwrap_or(0);
    let rss = if cfg!(target_vendor = "apple") {
        rss
    } else {
        rss * 1024
    };
    let status = std::os::unix::process::ExitStatusExt::from_raw(status);
    (status, elapsed, rss, stderr)
}

fn assert_fails_quickly_and_small(args: &[&str]) -> String {
    let (status, elapsed, rss, stderr) = run_measured(args);
    assert!(!status.success(), "video-hw {args:?} succeeded: {stderr}");
    // 2: refused before decoding (no decoder, bad container); 1: decoded with errors (the
    // sw-ffmpeg build hands the stream to FFmpeg, which finds no picture). A crash is a
    // signal (no code) or Rust's panic exit 101.
    assert!(
        matches!(status.code(), Some(1 | 2)),
        "the error exit, not a crash: {status:?} {stderr}"
    );
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
    assert!(elapsed < TIME_LIMIT, "video-hw {args:?} took {elapsed:?}");
    assert!(
        rss < RSS_LIMIT_BYTES,
        "video-hw {args:?} peaked at {rss} bytes RSS"
    );
    eprintln!(
        "video-hw {args:?}: {elapsed:?}, {} KiB peak RSS: {}",
        rss / 1024,
        stderr.trim()
    );
    stderr
}

#[test]
fn decoding_the_trun_claiming_16m_samples_fails_within_2s_and_100mb() {
    let file = regression("mp4_demux/trun-claims-16m-samples.bin");
    let stderr = assert_fails_quickly_and_small(&["decode", file.to_str().unwrap()]);
    assert!(stderr.contains("sample_count"), "{stderr}");
}

#[test]
fn decoding_the_hevc_sps_with_out_of_range_poc_lsb_length_fails_within_2s_and_100mb() {
    // The finding as it is (a chunk-size byte, then the SPS NAL without a start code)...
    let file = regression("bitstream/hevc-sps-poc-lsb-overflow.bin");
    assert_fails_quickly_and_small(&["decode", file.to_str().unwrap()]);
    // ...and as an HEVC elementary stream, which reaches the SPS parser.
    let bytes = std::fs::read(&file).unwrap();
    let stream = std::env::temp_dir().join(format!("video-hw-cli-{}-sps.h265", std::process::id()));
    std::fs::write(&stream, [&[0, 0, 0, 1][..], &bytes[1..]].concat()).unwrap();
    assert_fails_quickly_and_small(&["decode", "--codec", "hevc", stream.to_str().unwrap()]);
    let _ = std::fs::remove_file(&stream);
}

#[test]
fn decoding_the_matroska_whose_segment_opens_with_a_crc32_fails_within_2s_and_100mb() {
    let file = regression("matroska_demux/crc32-first-in-segment-loops.bin");
    let stderr = assert_fails_quickly_and_small(&["decode", file.to_str().unwrap()]);
    assert!(stderr.contains("in circles"), "{stderr}");
}
