//! Damaged input from the command (`--on-error skip|stop`): one corrupted access unit in a
//! 300-frame stream costs at most that unit (and the pictures the decoder conceals are
//! counted), never the rest of the stream.

mod common;

use common::*;
use std::path::PathBuf;

/// A 300-frame Baseline H.264 stream (IDR every 60), and a copy with the payload of the
/// 151st slice scrambled.
fn streams() -> (PathBuf, PathBuf) {
    let good = temp("damage-good.h264");
    ffmpeg_run(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=30",
        "-frames:v",
        "300",
        "-c:v",
        "libx264",
        "-profile:v",
        "baseline",
        "-g",
        "60",
        good.to_str().expect("utf-8 path"),
    ]);
    let mut data = std::fs::read(&good).expect("stream");
    let starts: Vec<usize> = data
        .windows(3)
        .enumerate()
        .filter(|(_, w)| *w == [0, 0, 1])
        .map(|(i, _)| i)
        .collect();
    let slices: Vec<usize> = starts
        .iter()
        .copied()
        .filter(|&i| matches!(data[i + 3] & 0x1f, 1 | 5))
        .collect();
    let at = slices[150];
    let end = starts
        .iter()
        .copied()
        .find(|&i| i > at)
        .unwrap_or(data.len());
    for b in &mut data[at + 8..(at + 48).min(end - 2)] {
        *b ^= 0xA5;
    }
    let bad = temp("damage-bad.h264");
    std::fs::write(&bad, data).expect("write");
    (good, bad)
}

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("--json is not JSON ({e}): {}", stdout(o)))
}

#[test]
fn one_damaged_access_unit_is_skipped_and_counted_and_the_other_frames_decode() {
    if !have_ffmpeg() {
        return;
    }
    let (good, bad) = streams();
    let o = video_hw(&["decode", bad.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "exit {:?}: {}", o.status, stderr(&o));
    let v = json(&o);
    let frames = v["frames"].as_u64().unwrap();
    assert!(frames >= 290, "only {frames} frames of 300: {}", stderr(&o));
    let damaged = v["pictures"]["damaged"].as_u64().unwrap();
    let concealed = v["pictures"]["concealed"].as_u64().unwrap();
    // OpenH264 skips the damaged unit (and conceals what refers to it); FFmpeg conceals the
    // damaged picture itself. Either way the damage is reported, never silent.
    assert!(damaged + concealed >= 1, "damage not reported: {v}");
    assert!(damaged <= 1, "one damaged unit reported as {damaged}");
    assert_eq!(v["errors"].as_array().map(Vec::len), Some(0), "{v}");
    let warned = video_hw(&["decode", bad.to_str().unwrap()]);
    let text = stderr(&warned);
    assert!(
        text.contains("damaged access unit") || text.contains("concealed"),
        "no warning about the damage: {text}"
    );
    // The undamaged stream reports no damage at all.
    let clean = json(&video_hw(&["decode", good.to_str().unwrap(), "--json"]));
    assert_eq!(clean["frames"].as_u64(), Some(300));
    assert_eq!(clean["pictures"]["damaged"].as_u64(), Some(0));
    assert_eq!(clean["pictures"]["concealed"].as_u64(), Some(0));
}

#[test]
fn on_error_stop_reports_the_damaged_unit_as_an_error_and_exits_1() {
    if !have_ffmpeg() {
        return;
    }
    let (_, bad) = streams();
    let o = video_hw(&[
        "decode",
        bad.to_str().unwrap(),
        "--on-error",
        "stop",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json(&o);
    assert!(
        !v["errors"].as_array().unwrap().is_empty(),
        "no error under --on-error stop: {v}"
    );
    assert_eq!(v["pictures"]["damaged"].as_u64(), Some(0));
}

#[test]
fn on_error_takes_only_skip_or_stop() {
    let o = video_hw(&["decode", "x.h264", "--on-error", "ignore"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("skip or stop"), "{}", stderr(&o));
}
