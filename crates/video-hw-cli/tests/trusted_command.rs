//! A command people can trust with their files (issue #16): existing outputs and inputs are
//! never overwritten by surprise, a signal leaves a finished file, stdout carries only what
//! was asked, and what is written is what was named. Each test runs the real binary.

mod common;

use common::*;
use md5::{Digest, Md5};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn md5_of(path: &Path) -> String {
    md5_hex(&std::fs::read(path).unwrap())
}

/// A short H.264 stream from the built-in pattern.
fn pattern_stream(name: &str, frames: u32) -> PathBuf {
    pattern_h264(name, frames, "64x48", 60)
}

/// Temporary files `video-hw` left beside `path` (`.NAME.video-hw-PID.EXT`).
fn leftovers(path: &Path) -> Vec<PathBuf> {
    let prefix = format!(".{}.video-hw-", path.file_name().unwrap().to_string_lossy());
    std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        })
        .collect()
}

/// The JSON document that starts at the first line that is `{` in `text`.
fn json_document(text: &str) -> serde_json::Value {
    let start = text
        .find("\n{\n")
        .map(|i| i + 1)
        .or_else(|| text.starts_with("{\n").then_some(0))
        .unwrap_or_else(|| panic!("no JSON document in {text:?}"));
    serde_json::from_str(&text[start..]).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn existing_output_is_left_unchanged_without_y_and_overwritten_with_y() {
    let out = temp("trust-existing.h264");
    std::fs::write(&out, b"precious bytes").unwrap();
    let before = md5_of(&out);
    let args = |extra: &[&str]| {
        let mut a = vec![
            "encode",
            "--pattern",
            "--frames",
            "3",
            "--size",
            "64x48",
            "-o",
            out.to_str().unwrap(),
            "-q",
        ];
        a.extend_from_slice(extra);
        video_hw(&a)
    };
    // stdin is not a terminal here: refused, naming the flag.
    let o = args(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("-y"), "{}", stderr(&o));
    assert_eq!(md5_of(&out), before);
    // -n never overwrites.
    let o = args(&["-n"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(md5_of(&out), before);
    // -y does.
    let o = args(&["-y"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(md5_of(&out), before);
    assert!(std::fs::read(&out).unwrap().starts_with(&[0, 0, 0, 1]));
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
    let _ = std::fs::remove_file(out);
}

#[test]
fn output_that_is_the_input_is_refused_even_with_y() {
    let input = pattern_stream("trust-same.h264", 5);
    let before = md5_of(&input);
    let o = video_hw(&[
        "transcode",
        input.to_str().unwrap(),
        "-o",
        input.to_str().unwrap(),
        "-y",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("also an input"), "{}", stderr(&o));
    assert_eq!(md5_of(&input), before);
    // The same file under another name (a hard link: same device and inode).
    let link = temp("trust-same-link.h264");
    let _ = std::fs::remove_file(&link);
    std::fs::hard_link(&input, &link).unwrap();
    let o = video_hw(&[
        "decode",
        input.to_str().unwrap(),
        "-o",
        link.to_str().unwrap(),
        "-y",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(md5_of(&input), before);
    let _ = std::fs::remove_file(link);
    let _ = std::fs::remove_file(input);
}

/// Runs `video-hw args`, sends `signal` once its progress (lines starting with `what`) passes
/// 60 frames, and returns its exit status and stderr.
#[cfg(unix)]
fn interrupt_after(
    args: &[&str],
    what: &str,
    signal: libc::c_int,
) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_video-hw"))
        .args(args)
        .env("VIDEO_HW_PROGRESS_SECS", "0.05")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = String::new();
    // Wait for progress past 60 frames, then send the signal.
    for line in lines.by_ref() {
        let line = line.unwrap();
        log.push_str(&line);
        log.push('\n');
        let frames = line
            .strip_prefix(what)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse::<u64>().ok());
        if frames.is_some_and(|n| n >= 60) {
            // SAFETY: kill(2) on our own child's pid, which has not been waited for yet.
            assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
            break;
        }
    }
    for line in lines {
        log.push_str(&line.unwrap());
        log.push('\n');
    }
    (child.wait().unwrap(), log)
}

/// The frames ffprobe counts in the first video stream of `path`.
fn probe_frames(path: &Path) -> String {
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "csv=p=0",
            path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(probe.status.success(), "{}", stderr(&probe));
    stdout(&probe).trim().to_owned()
}

#[cfg(unix)]
#[test]
fn sigterm_during_encode_to_mp4_finishes_the_file_and_exits_143() {
    if !have_ffmpeg() {
        return;
    }
    let out = temp("trust-sigterm.mp4");
    let _ = std::fs::remove_file(&out);
    let (status, log) = interrupt_after(
        &[
            "encode",
            "--pattern",
            "--frames",
            "100000",
            "--size",
            "320x240",
            "-o",
            out.to_str().unwrap(),
        ],
        "encode: ",
        libc::SIGTERM,
    );
    assert_eq!(status.code(), Some(143), "{log}");
    let written: u64 = log
        .lines()
        .find_map(|l| l.strip_prefix("video-hw: stopped by SIGTERM: "))
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no stop message: {log}"));
    assert!(written >= 60, "{log}");
    assert_eq!(probe_frames(&out), written.to_string(), "{log}");
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
    let _ = std::fs::remove_file(out);
}

#[cfg(unix)]
#[test]
fn sigint_during_transcode_to_mp4_finishes_a_playable_file_and_exits_130() {
    if !have_ffmpeg() {
        return;
    }
    let input = temp("trust-sigint.h264");
    let out = temp("trust-sigint.mp4");
    let _ = std::fs::remove_file(&out);
    ffmpeg_run(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=30",
        "-frames:v",
        "600",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "30",
        input.to_str().unwrap(),
    ]);
    let (status, log) = interrupt_after(
        &[
            "transcode",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        "transcode: ",
        libc::SIGINT,
    );
    assert_eq!(status.code(), Some(130), "{log}");
    let written: u64 = log
        .lines()
        .find_map(|l| l.strip_prefix("video-hw: stopped by SIGINT: "))
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no stop message: {log}"));
    assert!((60..600).contains(&written), "{written} frames: {log}");
    assert_eq!(probe_frames(&out), written.to_string(), "{log}");
    // FFmpeg decodes it without a word.
    let o = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-v",
            "error",
            "-i",
            out.to_str().unwrap(),
            "-f",
            "null",
            "-",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(stderr(&o), "", "ffmpeg complained");
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
    let _ = std::fs::remove_file(input);
    let _ = std::fs::remove_file(out);
}

#[test]
fn decode_to_stdout_with_json_keeps_the_media_on_stdout_and_the_json_on_stderr() {
    let input = pattern_stream("trust-stdout.h264", 6);
    let o = video_hw(&["decode", input.to_str().unwrap(), "-o", "-", "--json", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout.len(), 6 * 64 * 48 * 3 / 2);
    let doc = json_document(&stderr(&o));
    assert_eq!(doc["frames"], 6);
    let md5 = video_hw(&["decode", input.to_str().unwrap(), "--md5", "-q"]);
    assert!(md5.status.success(), "{}", stderr(&md5));
    assert_eq!(md5_hex(&o.stdout), stdout(&md5).trim());
    let _ = std::fs::remove_file(input);
}

#[test]
fn json_is_one_document_for_a_success_a_bad_input_and_a_missing_file() {
    let input = pattern_stream("trust-json.h264", 4);
    // Success, with --md5: the digest is in the document, not a line before it.
    let o = video_hw(&["decode", input.to_str().unwrap(), "--json", "--md5", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    assert_eq!(doc["frames"], 4);
    assert_eq!(doc["md5"].as_str().map(str::len), Some(32));
    // Bad input: the error as a document, the exit code as without --json.
    let bad = temp("trust-json-bad.bin");
    std::fs::write(&bad, vec![0x5au8; 4096]).unwrap();
    let plain = video_hw(&["decode", bad.to_str().unwrap(), "-q"]);
    let o = video_hw(&["decode", bad.to_str().unwrap(), "--json", "-q"]);
    assert!(!o.status.success());
    assert_eq!(o.status.code(), plain.status.code());
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    assert!(doc["error"]["class"].is_string(), "{doc}");
    assert!(doc["error"]["message"].is_string(), "{doc}");
    // Missing file.
    let missing = temp("trust-json-missing.h264");
    let o = video_hw(&["decode", missing.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    assert_eq!(doc["error"]["class"], "not_found", "{doc}");
    // --json-file: the document in the file, nothing on stdout.
    let file = temp("trust-json-file.json");
    let _ = std::fs::remove_file(&file);
    let o = video_hw(&[
        "decode",
        input.to_str().unwrap(),
        "--json-file",
        file.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).expect("one JSON document");
    assert_eq!(doc["frames"], 4);
    for p in [input, bad, file] {
        let _ = std::fs::remove_file(p);
    }
}

#[test]
fn decode_to_nv12_writes_what_ffmpeg_writes_for_pix_fmt_nv12() {
    if !have_ffmpeg() {
        return;
    }
    // 98x66: not a multiple of 16, so the picture is cropped.
    let input = temp("trust-nv12.h264");
    ffmpeg_run(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=98x66:rate=25",
        "-frames:v",
        "8",
        "-c:v",
        "libx264",
        "-profile:v",
        "baseline",
        "-pix_fmt",
        "yuv420p",
        input.to_str().unwrap(),
    ]);
    let ours = temp("trust-nv12.yuv");
    let o = video_hw(&[
        "decode",
        input.to_str().unwrap(),
        "--to",
        "nv12",
        "-o",
        ours.to_str().unwrap(),
        "-q",
        "-y",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let theirs = ffmpeg_run(&[
        "-i",
        input.to_str().unwrap(),
        "-pix_fmt",
        "nv12",
        "-f",
        "rawvideo",
        "-",
    ]);
    let ours_bytes = std::fs::read(&ours).unwrap();
    assert_eq!(ours_bytes.len(), theirs.len());
    assert!(ours_bytes == theirs, "NV12 output differs from FFmpeg's");
    let _ = std::fs::remove_file(input);
    let _ = std::fs::remove_file(ours);
}

/// `ffprobe`'s `width,height,r_frame_rate` of the first video stream.
fn probe_video(path: &Path) -> String {
    let o = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height,r_frame_rate",
            "-of",
            "csv=p=0",
            path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).trim().to_owned()
}

#[test]
fn y4m_goes_in_without_size_flags_and_comes_out_with_size_and_rate() {
    if !have_ffmpeg() {
        return;
    }
    let y4m_in = temp("trust-in.y4m");
    ffmpeg_run(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x120:rate=25",
        "-frames:v",
        "10",
        "-pix_fmt",
        "yuv420p",
        y4m_in.to_str().unwrap(),
    ]);
    let mp4 = temp("trust-y4m.mp4");
    let o = video_hw(&[
        "encode",
        y4m_in.to_str().unwrap(),
        "-o",
        mp4.to_str().unwrap(),
        "-q",
        "-y",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Size and rate from the Y4M header.
    assert_eq!(probe_video(&mp4), "160,120,25/1");
    let y4m_out = temp("trust-out.y4m");
    let o = video_hw(&[
        "decode",
        mp4.to_str().unwrap(),
        "-o",
        y4m_out.to_str().unwrap(),
        "-q",
        "-y",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(probe_video(&y4m_out), "160,120,25/1");
    // The pictures are the decoder's: FFmpeg reads back what `decode` writes raw.
    let raw = video_hw(&["decode", mp4.to_str().unwrap(), "-o", "-", "-q"]);
    assert!(raw.status.success(), "{}", stderr(&raw));
    let back = ffmpeg_run(&["-i", y4m_out.to_str().unwrap(), "-f", "rawvideo", "-"]);
    assert!(
        back == raw.stdout,
        "Y4M pictures differ from the raw output"
    );
    // Y4M on stdout with -f y4m.
    let o = video_hw(&[
        "decode",
        mp4.to_str().unwrap(),
        "-o",
        "-",
        "-f",
        "y4m",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.starts_with(b"YUV4MPEG2 W160 H120 F25:1"));
    for p in [y4m_in, mp4, y4m_out] {
        let _ = std::fs::remove_file(p);
    }
}

#[test]
fn raw_input_without_size_is_refused_naming_the_flag() {
    let raw = temp("trust-raw.yuv");
    std::fs::write(&raw, vec![128u8; 64 * 48 * 3 / 2 * 2]).unwrap();
    let out = temp("trust-raw.h264");
    let _ = std::fs::remove_file(&out);
    let o = video_hw(&["encode", raw.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--size"), "{}", stderr(&o));
    assert!(!out.exists());
    let o = video_hw(&[
        "encode",
        raw.to_str().unwrap(),
        "--size",
        "64x48",
        "-o",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let _ = std::fs::remove_file(raw);
    let _ = std::fs::remove_file(out);
}

#[test]
fn impossible_switch_rolls_back_and_the_encode_goes_on_with_a_warning() {
    let out = temp("trust-switch.h264");
    let o = video_hw(&[
        "encode",
        "--pattern",
        "--frames",
        "30",
        "--size",
        "640x360",
        "--switch",
        "10:size=641x361",
        "--switch",
        "100:bitrate=1M",
        "-o",
        out.to_str().unwrap(),
        "-y",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["frames_in"], 30, "{doc}");
    assert_eq!(doc["chunks"], 30, "{doc}");
    assert_eq!(doc["errors"].as_array().map(Vec::len), Some(0), "{doc}");
    let warnings = doc["warnings"].to_string();
    assert!(warnings.contains("rolled back"), "{doc}");
    // A switch past the end of the input is a warning too.
    assert!(warnings.contains("frame 100 not applied"), "{doc}");
    assert!(stderr(&o).contains("warning: switch at frame 10 rolled back"));
    let _ = std::fs::remove_file(out);
}

#[test]
fn an_encode_that_writes_nothing_is_an_error_shown_with_no_file_left() {
    let out = temp("trust-nothing.mp4");
    let _ = std::fs::remove_file(&out);
    // 2x2 pictures: every frame is refused; the errors are shown, then a count.
    let o = video_hw(&[
        "encode",
        "--pattern",
        "--size",
        "2x2",
        "--frames",
        "10",
        "-o",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("video-hw: error: "), "{err}");
    assert!(err.contains("no frame encoded"), "{err}");
    assert!(!out.exists());
    assert!(leftovers(&out).is_empty());
    // --frames 0: nothing to do is an error, not a 116-byte MP4.
    let o = video_hw(&[
        "encode",
        "--pattern",
        "--frames",
        "0",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn a_refused_run_leaves_an_existing_json_report_as_it_is() {
    let stream = pattern_stream("report-kept.h264", 10);
    let out = temp("report-kept.yuv");
    let report = temp("report-kept.json");
    std::fs::write(&out, b"earlier output").unwrap();
    std::fs::write(&report, b"{\"frames\": 10}\n").unwrap();
    for policy in [&["-n"][..], &[][..]] {
        let mut args = vec![
            "decode",
            stream.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--json-file",
            report.to_str().unwrap(),
        ];
        args.extend_from_slice(policy);
        let o = video_hw(&args);
        assert_eq!(o.status.code(), Some(2), "{policy:?}: {}", stderr(&o));
        assert_eq!(std::fs::read(&out).unwrap(), b"earlier output");
        assert_eq!(
            std::fs::read_to_string(&report).unwrap(),
            "{\"frames\": 10}\n",
            "{policy:?}: the report was replaced"
        );
    }
}

#[test]
fn a_command_line_refused_after_parsing_is_a_usage_error_in_json() {
    let stream = pattern_stream("usage.h264", 5);
    let o = video_hw(&[
        "decode",
        stream.to_str().unwrap(),
        "--sessions",
        "0",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(json_document(&stdout(&o))["error"]["class"], "usage");
    // One clap refuses, with the document in --json-file only.
    let report = temp("usage-report.json");
    let _ = std::fs::remove_file(&report);
    let o = video_hw(&[
        "decode",
        stream.to_str().unwrap(),
        "--parallel",
        "zero",
        "--json-file",
        report.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let doc = json_document(&std::fs::read_to_string(&report).unwrap());
    assert_eq!(doc["error"]["class"], "usage", "{doc}");
}
