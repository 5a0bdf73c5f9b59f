//! Choosing GPUs: `--gpu N` and `--gpus all|0,1` reach the decode, a GPU that does not exist
//! is a clean error (never a crash, never a silent fallback), and `probe` lists the GPUs.

mod common;

use common::{pattern_h264, stderr, stdout, video_hw};

/// An H.264 pattern of `frames` frames with an IDR picture every 30.
fn pattern(name: &str, frames: u32) -> std::path::PathBuf {
    pattern_h264(name, frames, "176x144", 30)
}

/// `decode` with `args` and `--md5 --json -q`: the exit status and the JSON document.
fn decode_json(args: &[&str]) -> (bool, serde_json::Value) {
    let mut all = vec!["decode"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--md5", "--json", "-q"]);
    let o = video_hw(&all);
    let doc = serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&o), stderr(&o)));
    (o.status.success(), doc)
}

/// Decodes a `frames`-picture pattern with one session, then with `spread` (and
/// `--gpus all`): the same MD5; returns the second report.
fn spread_against_one_session(name: &str, frames: u32, spread: &[&str]) -> serde_json::Value {
    let stream = pattern(name, frames);
    let path = stream.to_str().unwrap();
    let (ok, one) = decode_json(&[path, "--backend", "software", "--parallel", "1"]);
    assert!(ok, "{one}");
    let mut args = vec![path, "--backend", "software", "--gpus", "all"];
    args.extend_from_slice(spread);
    let (ok, spread) = decode_json(&args);
    assert!(ok, "{spread}");
    assert_eq!(spread["md5"], one["md5"]);
    spread
}

#[test]
fn sessions_spread_over_all_gpus_give_the_one_session_md5() {
    let many = spread_against_one_session("gpus-sessions.h264", 90, &["--sessions", "3"]);
    assert_eq!(many["sessions"], 3);
    assert_eq!(many["frames"], 3 * 90);
}

#[test]
fn parallel_pieces_over_all_gpus_give_the_one_session_md5() {
    let split = spread_against_one_session("gpus-parallel.h264", 120, &["--parallel", "3"]);
    assert_eq!(split["sessions"], 3, "{split}");
}

#[test]
fn a_gpu_that_does_not_exist_fails_cleanly_on_nvidia() {
    let stream = pattern("gpus-missing.h264", 30);
    let path = stream.to_str().unwrap();
    for args in [vec!["--gpu", "99"], vec!["--gpus", "0,99"]] {
        let mut all = vec![path, "--backend", "nvidia"];
        all.extend_from_slice(&args);
        let (ok, doc) = decode_json(&all);
        assert!(!ok, "{args:?}: {doc}");
        let message = doc["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(doc["error"]["class"], "unsupported", "{args:?}: {doc}");
        // With a driver: "GPU 99 does not exist: the driver reports N GPUs: 0 (...)";
        // without one: why the NVIDIA backend cannot run.
        assert!(
            message.contains("GPU 99 does not exist") || message.contains("CUDA"),
            "{args:?}: {message}"
        );
    }
}

#[test]
fn gpu_lists_are_checked_before_any_work() {
    let stream = pattern("gpus-usage.h264", 30);
    let path = stream.to_str().unwrap();
    for bad in ["0,x", "0,0", ""] {
        let o = video_hw(&["decode", path, "--gpus", bad, "-q"]);
        assert_eq!(o.status.code(), Some(2), "--gpus `{bad}`: {}", stderr(&o));
        assert!(stderr(&o).contains("--gpus"), "{}", stderr(&o));
    }
    let o = video_hw(&["decode", path, "--gpu", "1", "--gpus", "all", "-q"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
}

#[test]
fn probe_lists_every_gpu_in_its_json() {
    let o = video_hw(&["probe", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let reports: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let nvidia = reports
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["backend"] == "nvidia")
        .expect("an NVIDIA row");
    let gpus = nvidia["gpus"].as_array().cloned().unwrap_or_default();
    if nvidia["available"] == true {
        assert!(!gpus.is_empty(), "{nvidia}");
        for (i, g) in gpus.iter().enumerate() {
            assert_eq!(g["index"], i, "{g}");
            assert!(
                g["decoders"].as_array().is_some_and(|d| !d.is_empty()),
                "{g}"
            );
        }
    } else {
        assert!(gpus.is_empty(), "{nvidia}");
    }
}
