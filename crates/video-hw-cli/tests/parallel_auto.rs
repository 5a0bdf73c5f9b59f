//! `decode --parallel auto`, the default: one input shared by several sessions where the
//! backend has several engines, with exactly the output of one session.

mod common;

use common::{conformance, ffmpeg_md5_as, ffmpeg_run, have_ffmpeg, stderr, stdout, temp, video_hw};

/// `decode PATH --backend software --md5 --json -q` with `extra`: the JSON report, or `None`
/// when the decode failed.
fn decode_report(path: &str, extra: &[&str]) -> Option<serde_json::Value> {
    let mut args = vec![
        "decode",
        path,
        "--backend",
        "software",
        "--md5",
        "--json",
        "-q",
    ];
    args.extend_from_slice(extra);
    let o = video_hw(&args);
    if !o.status.success() {
        return None;
    }
    Some(serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{path}: {e}")))
}

#[test]
fn parallel_auto_gives_the_one_session_md5_on_every_conformance_stream() {
    let Some(dir) = conformance() else { return };
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
    let (mut compared, mut shared_by_auto, mut shared_by_three) = (0, 0, 0);
    for line in manifest.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let path = dir.join(f[0]);
        let path = path.to_str().unwrap();
        let one = decode_report(path, &["--parallel", "1"]);
        let auto = decode_report(path, &[]);
        let three = decode_report(path, &["--parallel", "3"]);
        let Some(one) = one else {
            // Refused by one session (not decodable exactly here): never a result otherwise.
            for (name, r) in [("auto", &auto), ("3", &three)] {
                assert!(
                    r.is_none(),
                    "{}: one session fails, --parallel {name} gives {r:?}",
                    f[0]
                );
            }
            continue;
        };
        let (auto, three) = (
            auto.unwrap_or_else(|| panic!("{}: --parallel auto failed", f[0])),
            three.unwrap_or_else(|| panic!("{}: --parallel 3 failed", f[0])),
        );
        assert_eq!(
            auto["md5"], one["md5"],
            "{}: auto against one session",
            f[0]
        );
        assert_eq!(three["md5"], one["md5"], "{}: 3 against one session", f[0]);
        assert_eq!(auto["frames"], one["frames"], "{}", f[0]);
        compared += 1;
        shared_by_auto += usize::from(auto["sessions"].as_u64() > Some(1));
        shared_by_three += usize::from(three["segments"].as_u64() > Some(1));
    }
    eprintln!(
        "PARALLEL-AUTO {compared} streams equal to one session; auto shared {shared_by_auto} \
         among several sessions, --parallel 3 cut {shared_by_three} into several pieces"
    );
    assert!(compared >= 25, "only {compared} streams decoded");
    assert!(shared_by_three >= 2, "too few streams were cut into pieces");
}

#[test]
fn parallel_auto_shares_a_users_mp4_among_the_engines_with_ffmpegs_md5() {
    if !have_ffmpeg() {
        return;
    }
    // 240 frames, an IDR picture every 30: four pieces of at least 60 frames.
    let mp4 = temp("auto.mp4");
    let mp4s = mp4.to_str().unwrap();
    ffmpeg_run(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=30",
        "-frames:v",
        "240",
        "-c:v",
        "libx264",
        "-profile:v",
        "baseline",
        "-g",
        "30",
        "-keyint_min",
        "30",
        "-pix_fmt",
        "yuv420p",
        mp4s,
    ]);
    let auto = decode_report(mp4s, &[]).expect("auto decodes");
    let one = decode_report(mp4s, &["--parallel", "1"]).expect("one session decodes");
    assert_eq!(auto["md5"], one["md5"]);
    assert_eq!(
        auto["md5"].as_str().unwrap(),
        ffmpeg_md5_as(&mp4, "yuv420p")
    );
    assert_eq!(auto["frames"], 240);
    // OpenH264 decodes on one thread: one session per core (at most 4 here: 240 frames of at
    // least 60 each). FFmpeg threads one decode itself: one session.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let want = if cfg!(feature = "sw-ffmpeg") {
        1
    } else {
        cores.min(4)
    };
    assert_eq!(auto["sessions"].as_u64(), Some(want as u64), "{auto}");
    assert_eq!(one["sessions"].as_u64(), Some(1));
    if want > 1 {
        assert!(
            auto["selection"]
                .as_str()
                .is_some_and(|s| s.contains("auto:")),
            "the report says why: {auto}"
        );
    }
    let _ = std::fs::remove_file(mp4);
}

#[test]
fn parallel_accepts_auto_or_a_count_and_refuses_zero() {
    let o = video_hw(&["decode", "x.h264", "--parallel", "0"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("auto"), "{}", stderr(&o));
    let o = video_hw(&["decode", "--help"]);
    assert!(stdout(&o).contains("--parallel <auto|N>"), "{}", stdout(&o));
}

#[test]
fn an_open_gop_hevc_stream_is_cut_at_its_cra_pictures_with_ffmpegs_md5() {
    if !have_ffmpeg() {
        return;
    }
    // x265's default GOPs are open: CRA pictures with RASL pictures, one IDR picture.
    let hevc = temp("open-gop.hevc");
    let path = hevc.to_str().unwrap();
    ffmpeg_run(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=30",
        "-frames:v",
        "150",
        "-c:v",
        "libx265",
        "-g",
        "30",
        "-bf",
        "3",
        "-x265-params",
        "log-level=error:open-gop=1",
        "-pix_fmt",
        "yuv420p",
        path,
    ]);
    let one = decode_report(path, &["--parallel", "1"]);
    if !cfg!(feature = "sw-ffmpeg") {
        // No HEVC decoder in this build (the default one has OpenH264 only): refused.
        assert!(one.is_none(), "{one:?}");
        eprintln!("SKIPPED: no software HEVC decoder in this build");
        return;
    }
    let one = one.expect("sw-ffmpeg decodes HEVC");
    let three = decode_report(path, &["--parallel", "3"]).expect("--parallel 3 decodes");
    assert!(three["segments"].as_u64() >= Some(3), "{three}");
    assert_eq!(three["md5"], one["md5"]);
    assert_eq!(three["frames"], 150);
    assert_eq!(
        one["md5"].as_str().unwrap(),
        ffmpeg_md5_as(&hevc, "yuv420p")
    );
    let _ = std::fs::remove_file(hevc);
}
