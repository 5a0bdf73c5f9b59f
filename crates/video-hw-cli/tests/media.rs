//! End-to-end tests of MP4 input/output, the pipeline metrics report and session switches
//! through the `video-hw` command, checked with FFmpeg.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

fn ffmpeg(args: &[&str]) {
    let o = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-y"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn ffmpeg_clean(path: &Path) {
    let o = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(
        o.status.success() && o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn ffprobe(path: &Path, entries: &str) -> String {
    let o = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_frames",
            "-show_entries",
            entries,
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// FFmpeg's MD5 of the decoded frames of `path` (planar yuv420p, output order).
fn ffmpeg_md5(path: &Path) -> String {
    let o = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "rawvideo", "-pix_fmt", "yuv420p", "-f", "md5", "-"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .trim()
        .trim_start_matches("MD5=")
        .to_string()
}

fn frame_sizes(path: &Path) -> Vec<(String, usize)> {
    let text = ffprobe(path, "frame=width,height");
    let mut runs: Vec<(String, usize)> = Vec::new();
    for line in text.lines() {
        match runs.last_mut() {
            Some((s, n)) if s == line => *n += 1,
            _ => runs.push((line.to_string(), 1)),
        }
    }
    runs
}

#[test]
fn mp4_with_b_frames_transcodes_to_a_clean_mp4() {
    if !have_ffmpeg() {
        return;
    }
    let src = temp("bframes.mp4");
    let dst = temp("bframes-out.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-frames:v",
        "50",
        "-c:v",
        "libx264",
        "-bf",
        "2",
        "-g",
        "12",
        // Without the deblocking filter OpenH264 decodes B-pictures exactly (with it, the
        // default build refuses the stream: see exact_or_refused.rs).
        "-x264-params",
        "no-deblock=1",
        "-pix_fmt",
        "yuv420p",
        src.to_str().unwrap(),
    ]);
    let o = video_hw(&[
        "transcode",
        src.to_str().unwrap(),
        "-o",
        dst.to_str().unwrap(),
        "--gop",
        "25",
        "--json",
        "-q",
    ]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["container_in"], "mp4");
    assert_eq!(v["container_out"], "mp4");
    assert_eq!(v["frames_decoded"], 50);
    assert_eq!(
        ffprobe(&dst, "stream=codec_name,nb_read_frames,duration"),
        "h264,2.000000,50"
    );
    let keys = ffprobe(&dst, "frame=key_frame");
    assert_eq!(
        keys.lines().filter(|l| *l == "1").count(),
        2,
        "keyframes at 0 and 25"
    );
    ffmpeg_clean(&dst);
    // Our decoder's MD5 of the input MP4 equals FFmpeg's raw-video MD5 of it. OpenH264 cannot
    // decode x264's B-frames bit-exactly, so this part needs the FFmpeg decoder.
    if cfg!(feature = "sw-ffmpeg") {
        let ours = video_hw(&["decode", src.to_str().unwrap(), "--md5", "-q"]);
        assert!(ours.status.success(), "{}", stderr(&ours));
        assert_eq!(stdout(&ours).trim(), ffmpeg_md5(&src));
    } else {
        eprintln!("note: MD5 comparison of a B-frame MP4 runs in the sw-ffmpeg build");
    }
    let _ = std::fs::remove_file(src);
    let _ = std::fs::remove_file(dst);
}

#[test]
fn baseline_mp4_decodes_to_ffmpegs_md5() {
    if !have_ffmpeg() {
        return;
    }
    let src = temp("baseline.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=176x144:rate=25",
        "-frames:v",
        "30",
        "-c:v",
        "libx264",
        "-profile:v",
        "baseline",
        "-pix_fmt",
        "yuv420p",
        src.to_str().unwrap(),
    ]);
    let ours = video_hw(&["decode", src.to_str().unwrap(), "--md5", "-q"]);
    assert!(ours.status.success(), "{}", stderr(&ours));
    assert_eq!(stdout(&ours).trim(), ffmpeg_md5(&src));
    let _ = std::fs::remove_file(src);
}

#[test]
fn transcode_metrics_json_carries_the_full_report() {
    let src = temp("metrics.h264");
    let dst = temp("metrics-out.h264");
    let o = video_hw(&[
        "encode",
        "--pattern",
        "--frames",
        "24",
        "--size",
        "160x96",
        "-o",
        src.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = video_hw(&[
        "transcode",
        src.to_str().unwrap(),
        "-o",
        dst.to_str().unwrap(),
        "--metrics",
        "--json",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let m = &v["metrics"];
    assert_eq!(m["backend"], "software");
    let stages = m["stages"].as_array().expect("stages array");
    for stage in [
        "ingest",
        "decode_submit",
        "decode_reap",
        "transform",
        "encode_submit",
        "encode_reap",
        "egress",
    ] {
        let s = stages
            .iter()
            .find(|s| s["stage"] == stage)
            .unwrap_or_else(|| panic!("no {stage} stage"));
        assert!(s["count"].as_u64().unwrap() > 0, "{stage}: {s}");
        for key in ["p50_us", "p95_us", "p99_us", "max_us"] {
            assert!(
                s["latency"][key].is_number(),
                "{stage}.latency.{key} missing: {s}"
            );
        }
        for key in ["p50_us", "p95_us", "p99_us"] {
            assert!(
                s["jitter"][key].is_number(),
                "{stage}.jitter.{key} missing: {s}"
            );
        }
    }
    assert_eq!(
        m["transform_paths"]["cpu"].as_u64().unwrap()
            + m["transform_paths"]["skipped"].as_u64().unwrap(),
        24
    );
    assert!(m["copies"].is_object());
    assert!(m["sessions"]["created"].as_u64().unwrap() >= 2);
    // The table goes to stderr.
    assert!(stderr(&o).contains("video-hw metrics"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("video-hw: error"), "{}", stderr(&o));
    let _ = std::fs::remove_file(src);
    let _ = std::fs::remove_file(dst);
}

#[test]
fn decode_to_rgb24_writes_packed_rgb() {
    let src = temp("rgb.h264");
    let raw = temp("rgb.raw");
    let o = video_hw(&[
        "encode",
        "--pattern",
        "--frames",
        "5",
        "--size",
        "64x48",
        "-o",
        src.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = video_hw(&[
        "decode",
        src.to_str().unwrap(),
        "--to",
        "rgb24",
        "-o",
        raw.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::metadata(&raw).unwrap().len(), 5 * 64 * 48 * 3);
    let _ = std::fs::remove_file(src);
    let _ = std::fs::remove_file(raw);
}

#[test]
fn resolution_switch_writes_streams_that_play_at_both_sizes() {
    if !have_ffmpeg() {
        return;
    }
    // Annex-B from `encode --switch`, and MP4 from `transcode --switch`.
    let annexb = temp("switch.h264");
    let o = video_hw(&[
        "encode",
        "--pattern",
        "--frames",
        "40",
        "--size",
        "320x240",
        "--gop",
        "10",
        "--switch",
        "15:size=160x120,mode=drain",
        "--switch",
        "30:bitrate=500k,mode=keyframe",
        "-o",
        annexb.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    ffmpeg_clean(&annexb);
    assert_eq!(
        frame_sizes(&annexb),
        [("320,240".to_string(), 15), ("160,120".to_string(), 25)]
    );
    let mp4 = temp("switch.mp4");
    let o = video_hw(&[
        "transcode",
        annexb.to_str().unwrap(),
        "-o",
        mp4.to_str().unwrap(),
        "--switch",
        "20:size=176x144",
        "--json",
        "-q",
    ]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["chunks"], 40);
    ffmpeg_clean(&mp4);
    let sizes = frame_sizes(&mp4);
    assert_eq!(
        sizes.first().map(|s| s.0.as_str()),
        Some("320,240"),
        "{sizes:?}"
    );
    assert_eq!(
        sizes.last(),
        Some(&("176,144".to_string(), 20)),
        "{sizes:?}"
    );
    // Our own decoder returns the right number of frames at each size.
    let o = video_hw(&["decode", mp4.to_str().unwrap(), "--json", "-q"]);
    let d: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(d["frames"], 40);
    assert_eq!(d["sizes"].as_array().unwrap().last().unwrap(), "176x144");
    for p in [annexb, mp4] {
        let _ = std::fs::remove_file(p);
    }
}
