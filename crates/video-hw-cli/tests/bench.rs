//! End-to-end tests of `video-hw bench` and `video-hw soak` on the software backend.
//! Both need FFmpeg for the comparison; without it they say so and pass, unless
//! `VIDEO_HW_REQUIRE_FFMPEG=1`.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn video_hw(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_video-hw"))
        .args(args)
        .output()
        .expect("video-hw runs")
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("video-hw-bench-{}-{name}", std::process::id()))
}

fn have_ffmpeg() -> bool {
    let ok = ["ffmpeg", "ffprobe"].iter().all(|p| {
        Command::new(p)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        assert!(
            std::env::var("VIDEO_HW_REQUIRE_FFMPEG").as_deref() != Ok("1"),
            "ffmpeg/ffprobe not found"
        );
        eprintln!("SKIPPED: ffmpeg/ffprobe not found");
    }
    ok
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The value at `path` (`a.b.c`), which must exist and satisfy `check`.
fn key<'a>(v: &'a Value, path: &str, check: fn(&Value) -> bool, what: &str) -> &'a Value {
    let mut cur = v;
    for k in path.split('.') {
        cur = cur
            .get(k)
            .unwrap_or_else(|| panic!("missing key `{path}` in {v}"));
    }
    assert!(check(cur), "`{path}` should be {what}, is {cur}");
    cur
}

fn check_timing(side: &Value, where_: &str, repeat: u64) {
    for k in ["mean_s", "median_s", "p95_s", "cv", "fps"] {
        let v = key(side, k, Value::is_f64, "a number").as_f64().unwrap();
        assert!(v.is_finite() && v >= 0.0, "{where_}.{k} = {v}");
    }
    assert!(
        key(side, "fps", Value::is_f64, "a number")
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert_eq!(
        key(side, "runs", Value::is_u64, "a count").as_u64(),
        Some(repeat)
    );
    assert_eq!(
        key(side, "seconds", Value::is_array, "an array")
            .as_array()
            .unwrap()
            .len() as u64,
        repeat,
        "{where_}: one time per timed run"
    );
    assert!(
        key(side, "frames", Value::is_u64, "a count")
            .as_u64()
            .unwrap()
            > 0
    );
}

#[test]
fn software_h264_bench_writes_both_reports_in_the_documented_schema_and_every_check_passes() {
    if !have_ffmpeg() {
        return;
    }
    let out = temp("software-h264");
    let o = video_hw(&[
        "bench",
        "--backend",
        "software",
        "--codec",
        "h264",
        "--warmup",
        "1",
        "--repeat",
        "2",
        "--verify",
        "--equal-raw-input",
        "--frames",
        "30",
        "--size",
        "320x180",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "bench failed: {}", stderr(&o));
    let from_file: Value =
        serde_json::from_slice(&std::fs::read(out.join("bench.json")).expect("bench.json written"))
            .expect("bench.json is JSON");
    let from_stdout: Value = serde_json::from_slice(&o.stdout).expect("--json prints JSON");
    assert_eq!(
        from_file, from_stdout,
        "stdout and bench.json hold the same report"
    );
    let r = from_file;

    assert_eq!(key(&r, "schema_version", Value::is_u64, "a number"), 1);
    for k in [
        "date_utc",
        "command",
        "backend_requested",
        "implementation",
        "size",
        "fps",
    ] {
        key(&r, k, Value::is_string, "a string");
    }
    assert_eq!(r["backend"], "software");
    assert_eq!(r["codec"], "h264");
    assert_eq!(r["size"], "320x180");
    assert_eq!(r["equal_raw_input"], true);
    assert_eq!(r["verified"], true);
    assert_eq!(r["all_verify_passed"], true);
    key(&r, "machine.cpus", Value::is_u64, "a count");
    key(&r, "machine.os", Value::is_string, "a string");
    key(&r, "ffmpeg.version", Value::is_string, "a string");
    key(&r, "ffmpeg.threads", Value::is_u64, "a count");
    key(&r, "metrics.stages", Value::is_array, "an array");

    let workloads = key(&r, "workloads", Value::is_array, "an array")
        .as_array()
        .unwrap();
    let names: Vec<&str> = workloads
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["decode", "encode"]);
    for w in workloads {
        let name = w["name"].as_str().unwrap();
        key(w, "input", Value::is_string, "a string");
        key(w, "video_hw.command", Value::is_string, "a string");
        key(w, "ffmpeg.command", Value::is_string, "a string");
        check_timing(
            &w["video_hw"]["process"],
            &format!("{name}.video_hw.process"),
            2,
        );
        check_timing(
            &w["video_hw"]["steady_state"],
            &format!("{name}.video_hw.steady_state"),
            2,
        );
        check_timing(
            &w["ffmpeg"]["process"],
            &format!("{name}.ffmpeg.process"),
            2,
        );
        assert_eq!(w["video_hw"]["process"]["frames"], 30, "{name}");
        for k in ["ratio_process", "ratio_steady_state"] {
            assert!(key(w, k, Value::is_f64, "a number").as_f64().unwrap() > 0.0);
        }
        let verify = key(w, "verify", Value::is_array, "an array")
            .as_array()
            .unwrap();
        assert!(!verify.is_empty(), "{name}: --verify gives verify lines");
        for line in verify {
            for k in ["subject", "check", "detail"] {
                key(line, k, Value::is_string, "a string");
            }
            assert_eq!(line["passed"], true, "{name}: verify line failed: {line}");
        }
    }
    // Encodes are verified on both sides, PSNR included.
    let encode_checks: Vec<String> = workloads[1]["verify"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| format!("{} / {}", l["subject"], l["check"]))
        .collect();
    for want in ["video-hw output", "FFmpeg output"] {
        assert!(
            encode_checks
                .iter()
                .any(|c| c.contains(want) && c.contains("psnr")),
            "no PSNR line for {want}: {encode_checks:?}"
        );
    }
    let md = std::fs::read_to_string(out.join("bench.md")).expect("bench.md written");
    for want in [
        "## decode",
        "## encode",
        "| video-hw (process) |",
        "| FFmpeg (process) |",
        "## Internal metrics",
        "decode_submit",
    ] {
        assert!(md.contains(want), "bench.md lacks `{want}`:\n{md}");
    }
    assert!(!md.contains("FAIL"), "bench.md shows a failed check:\n{md}");
    assert!(
        out.join("input.yuv").is_file(),
        "equal raw input is written once"
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn bench_without_ffmpeg_fails_with_a_clear_message() {
    let o = video_hw(&[
        "bench",
        "--backend",
        "software",
        "--ffmpeg",
        "/nonexistent/ffmpeg",
        "--out",
        temp("no-ffmpeg").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--ffmpeg"), "{}", stderr(&o));
}

#[test]
fn five_second_soak_loses_no_frames_switches_and_reports_the_rss_slope() {
    // The soak needs no FFmpeg.
    let o = video_hw(&[
        "soak",
        "--duration",
        "5s",
        "--backend",
        "software",
        "--switch-every",
        "30",
        "--size",
        "320x180",
        "--json",
    ]);
    assert!(o.status.success(), "soak failed: {}", stderr(&o));
    let r: Value = serde_json::from_slice(&o.stdout).expect("--json prints JSON");
    assert_eq!(r["frames_lost"], 0, "{r}");
    assert_eq!(r["errors"], 0, "{r}");
    assert_eq!(r["passed"], true);
    let generated = key(&r, "frames_generated", Value::is_u64, "a count")
        .as_u64()
        .unwrap();
    assert!(generated > 30, "the loop ran: {generated} frames");
    assert_eq!(r["frames_out"].as_u64(), Some(generated));
    for stage in r["stages"].as_array().unwrap() {
        assert_eq!(stage["frames_in"], stage["frames_out"], "{stage}");
    }
    assert!(
        key(
            &r,
            "first_encoder_switches.activated",
            Value::is_u64,
            "a count"
        )
        .as_u64()
        .unwrap()
            >= 1,
        "switches happened: {r}"
    );
    if cfg!(target_os = "linux") {
        assert_eq!(r["rss"]["available"], true);
        key(&r, "rss.slope_mb_per_min", Value::is_f64, "a number");
        key(&r, "rss.growth_after_warmup_mb", Value::is_f64, "a number");
        assert!(
            key(&r, "rss.samples", Value::is_array, "an array")
                .as_array()
                .unwrap()
                .len()
                >= 3
        );
    }
    key(&r, "rss.bound_mb", Value::is_f64, "a number");
    assert_eq!(r["gpu_memory"], "not sampled (software backend)");
}
