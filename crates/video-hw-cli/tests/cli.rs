//! End-to-end tests of the `video-hw` command on the default (software) backend.

mod common;

use common::*;
use std::process::Command;

#[test]
fn probe_lists_every_backend_as_json() {
    let o = video_hw(&["probe", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["backend"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["nvidia", "videotoolbox", "software"]);
    let sw = &v[2];
    assert_eq!(sw["available"], true, "{sw}");
}

#[test]
fn encoded_pattern_decodes_back_with_a_stable_md5() {
    let stream = temp("pattern.h264");
    let raw = temp("pattern.yuv");
    let o = video_hw(&[
        "encode",
        "--pattern",
        "--frames",
        "30",
        "--size",
        "176x144",
        "-o",
        stream.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = video_hw(&[
        "decode",
        stream.to_str().unwrap(),
        "--md5",
        "-o",
        raw.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let md5 = stdout(&o).trim().to_string();
    assert_eq!(md5.len(), 32, "one MD5 line, got `{md5}`");
    let bytes = std::fs::read(&raw).unwrap();
    assert_eq!(bytes.len(), 30 * 176 * 144 * 3 / 2);
    // The MD5 printed is the MD5 of the raw output.
    let o2 = video_hw(&[
        "decode",
        stream.to_str().unwrap(),
        "--md5",
        "--sessions",
        "2",
        "-q",
    ]);
    assert!(o2.status.success(), "{}", stderr(&o2));
    assert_eq!(stdout(&o2).trim(), md5, "two sessions agree with one");
    let _ = std::fs::remove_file(stream);
    let _ = std::fs::remove_file(raw);
}

#[test]
fn decode_md5_matches_the_manifest_for_baseline_h264_streams() {
    let Some(dir) = conformance() else { return };
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
    let mut checked = 0;
    for line in manifest.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        if f[1] != "h264" || !f[9].contains("Baseline") {
            continue;
        }
        let path = dir.join(f[0]);
        let o = video_hw(&[
            "decode",
            "--backend",
            "software",
            path.to_str().unwrap(),
            "--md5",
            "-q",
        ]);
        assert!(o.status.success(), "{}: {}", f[0], stderr(&o));
        assert_eq!(stdout(&o).trim(), f[7], "{}", f[0]);
        checked += 1;
    }
    assert!(checked >= 25, "only {checked} Baseline streams found");
}

#[test]
fn parallel_decode_of_one_stream_gives_the_manifest_md5_in_stream_order() {
    let Some(dir) = conformance() else { return };
    // Baseline streams with 7 and 10 IDR pictures: pieces decoded by 3 sessions at once.
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
    for file in ["h264/MR1_MW_A.264", "h264/MR2_MW_A.264"] {
        let path = dir.join(file);
        let want = manifest
            .lines()
            .find(|l| l.starts_with(file))
            .and_then(|l| l.split('\t').nth(7))
            .expect("in the manifest");
        let o = video_hw(&[
            "decode",
            "--backend",
            "software",
            path.to_str().unwrap(),
            "--parallel",
            "3",
            "--md5",
            "--json",
            "-q",
        ]);
        assert!(o.status.success(), "{file}: {}", stderr(&o));
        // With --json the digest is the report's `md5` field: stdout is one JSON document.
        let report: serde_json::Value =
            serde_json::from_str(&stdout(&o)).expect("one JSON document");
        assert_eq!(report["md5"].as_str(), Some(want), "{file}");
        assert_eq!(report["sessions"], 3, "{file}");
        assert!(
            report["segments"].as_u64().unwrap() >= 2,
            "{file}: {report}"
        );
    }
    let o = video_hw(&["decode", "--parallel", "2", "--sessions", "2", "x.h264"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("exclude each other"), "{}", stderr(&o));
}

#[test]
fn decode_of_garbage_fails_with_a_message() {
    let path = temp("garbage.h264");
    let garbage: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
        .collect();
    std::fs::write(&path, garbage).unwrap();
    let o = video_hw(&["decode", path.to_str().unwrap(), "--md5"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("error"), "{}", stderr(&o));
    let empty = temp("empty.h264");
    std::fs::write(&empty, b"").unwrap();
    let o = video_hw(&["decode", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("empty"), "{}", stderr(&o));
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(empty);
}

#[test]
fn roundtrip_passes_on_the_default_backend_and_reports_json() {
    let o = video_hw(&[
        "roundtrip",
        "--frames",
        "20",
        "--size",
        "320x180",
        "--json",
        "-q",
    ]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["frames_decoded"], 20);
    assert_eq!(v["passed"], true);
    assert!(v["mean_psnr_db"].as_f64().unwrap() > 30.0);
}

#[test]
fn encode_reads_raw_frames_and_rejects_a_partial_frame() {
    let raw = temp("in.yuv");
    let out = temp("raw.h264");
    let (w, h) = (64usize, 48usize);
    let frame = w * h * 3 / 2;
    let data: Vec<u8> = (0..frame * 5).map(|i| (i % 251) as u8).collect();
    std::fs::write(&raw, &data).unwrap();
    let o = video_hw(&[
        "encode",
        raw.to_str().unwrap(),
        "--size",
        "64x48",
        "-o",
        out.to_str().unwrap(),
        "--json",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["frames_in"], 5);
    assert_eq!(v["chunks"], 5);
    std::fs::write(&raw, &data[..frame * 2 + 10]).unwrap();
    let o = video_hw(&[
        "encode",
        raw.to_str().unwrap(),
        "--size",
        "64x48",
        "-o",
        out.to_str().unwrap(),
        "-y",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("inside frame 2"), "{}", stderr(&o));
    let _ = std::fs::remove_file(raw);
    let _ = std::fs::remove_file(out);
}

#[test]
fn transcode_output_is_accepted_by_ffmpeg() {
    if !have_ffmpeg() {
        return;
    }
    let src = temp("src.h264");
    let dst = temp("dst.h264");
    let o = video_hw(&[
        "encode",
        "--pattern",
        "--frames",
        "40",
        "--size",
        "128x96",
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
        "--bitrate",
        "300k",
        "--gop",
        "10",
        "--json",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["frames_decoded"], 40);
    assert_eq!(v["chunks"], 40);
    let f = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
        .arg(&dst)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(
        f.status.success() && f.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&f.stderr)
    );
    let p = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "csv=p=0",
        ])
        .arg(&dst)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&p.stdout).trim(), "40");
    let _ = std::fs::remove_file(src);
    let _ = std::fs::remove_file(dst);
}
