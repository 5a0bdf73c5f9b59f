//! MP4/MOV files as ffmpeg writes them (see the parent test file): moov at the start and at
//! the end, fragmented with both base-offset conventions, MOV with AAC, HEVC 'hvc1' + AAC,
//! a second video track picked with `--track`, a file cut in half, and `transcode` keeping
//! the audio. Each decode is checked against FFmpeg's own MD5 of the video.

use super::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Video and a sine tone, 2 s at 25 fps.
const VIDEO: [&str; 4] = [
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=176x144:rate=25:duration=2",
];
const AUDIO: [&str; 4] = ["-f", "lavfi", "-i", "sine=frequency=440:duration=2"];
/// Baseline H.264, which the default (OpenH264) build decodes exactly.
const BASELINE: [&str; 6] = [
    "-c:v",
    "libx264",
    "-profile:v",
    "baseline",
    "-pix_fmt",
    "yuv420p",
];

/// A file made now by ffmpeg from `args` (inputs and codecs; the output path is added).
fn make(name: &str, args: &[&str]) -> PathBuf {
    let path = temp(name);
    let mut all: Vec<&str> = args.to_vec();
    all.push(path.to_str().expect("utf-8 path"));
    ffmpeg_run(&all);
    path
}

/// FFmpeg's MD5 of the decoded pictures of video stream `index` (audio left out).
fn ffmpeg_video_md5(path: &Path, index: usize) -> String {
    let map = format!("0:v:{index}");
    let out = ffmpeg_run(&[
        "-i",
        path.to_str().expect("utf-8 path"),
        "-map",
        &map,
        "-f",
        "md5",
        "-pix_fmt",
        "yuv420p",
        "-",
    ]);
    String::from_utf8_lossy(&out)
        .trim()
        .trim_start_matches("MD5=")
        .to_owned()
}

/// `video-hw decode --md5` of `path` (extra arguments after it): the digest and stderr.
fn decode_md5(path: &Path, extra: &[&str]) -> (String, String) {
    let mut args = vec!["decode", path.to_str().unwrap(), "--md5", "-q"];
    args.extend_from_slice(extra);
    let o = video_hw(&args);
    assert!(o.status.success(), "{}: {}", path.display(), stderr(&o));
    (stdout(&o).trim().to_owned(), stderr(&o))
}

/// Checks that `video-hw decode` gives FFmpeg's MD5 for each file, then removes them.
fn assert_decodes_like_ffmpeg(files: &[PathBuf]) {
    for path in files {
        let reference = ffmpeg_video_md5(path, 0);
        let (md5, _) = decode_md5(path, &[]);
        assert_eq!(md5, reference, "{}", path.display());
        let _ = std::fs::remove_file(path);
    }
}

/// Whether this build decodes HEVC (the sw-ffmpeg build, or a GPU); says why not.
fn decodes_hevc() -> bool {
    let ok = video_hw::probe()
        .iter()
        .any(|r| r.decodes(video_hw::Codec::Hevc));
    if !ok {
        eprintln!("SKIPPED: no HEVC decoder in this build (build with sw-ffmpeg or run on a GPU)");
    }
    ok
}

#[test]
fn mp4_with_moov_at_start_and_at_end_decodes_to_ffmpegs_md5() {
    if !have_ffmpeg() {
        return;
    }
    let start = make(
        "moov-start.mp4",
        &[
            &VIDEO[..],
            &AUDIO,
            &BASELINE,
            &["-c:a", "aac", "-movflags", "+faststart"],
        ]
        .concat(),
    );
    let end = make(
        "moov-end.mp4",
        &[&VIDEO[..], &AUDIO, &BASELINE, &["-c:a", "aac"]].concat(),
    );
    let avc3 = make(
        "avc3.mp4",
        &[&VIDEO[..], &BASELINE, &["-tag:v", "avc3"]].concat(),
    );
    assert_decodes_like_ffmpeg(&[start, end, avc3]);
}

#[test]
fn ffmpeg_fragmented_mp4_decodes_to_ffmpegs_md5_with_either_base_offset() {
    if !have_ffmpeg() {
        return;
    }
    // `frag_keyframe+empty_moov` writes absolute base data offsets in `tfhd`;
    // `+default_base_moof` makes every offset relative to its `moof`.
    let absolute = make(
        "frag-absolute.mp4",
        &[
            &VIDEO[..],
            &AUDIO,
            &BASELINE,
            &[
                "-g",
                "10",
                "-c:a",
                "aac",
                "-movflags",
                "frag_keyframe+empty_moov",
            ],
        ]
        .concat(),
    );
    let moof = make(
        "frag-moof.mp4",
        &[
            &VIDEO[..],
            &AUDIO,
            &BASELINE,
            &[
                "-g",
                "10",
                "-c:a",
                "aac",
                "-movflags",
                "frag_keyframe+empty_moov+default_base_moof",
            ],
        ]
        .concat(),
    );
    // With a segment index (`sidx`) in front of the fragments.
    let sidx = make(
        "frag-sidx.mp4",
        &[
            &VIDEO[..],
            &BASELINE,
            &[
                "-g",
                "10",
                "-movflags",
                "frag_keyframe+empty_moov+default_base_moof+global_sidx",
            ],
        ]
        .concat(),
    );
    // The first samples in the moov's sample table, the rest in fragments.
    let mixed = make(
        "frag-mixed.mp4",
        &[
            &VIDEO[..],
            &AUDIO,
            &BASELINE,
            &["-g", "10", "-c:a", "aac", "-movflags", "frag_keyframe"],
        ]
        .concat(),
    );
    assert_decodes_like_ffmpeg(&[absolute, moof, sidx, mixed]);
}

#[test]
fn mov_with_h264_and_aac_decodes_to_ffmpegs_md5_and_names_the_skipped_audio() {
    if !have_ffmpeg() {
        return;
    }
    let mov = make(
        "h264-aac.mov",
        &[&VIDEO[..], &AUDIO, &BASELINE, &["-c:a", "aac"]].concat(),
    );
    let reference = ffmpeg_video_md5(&mov, 0);
    let o = video_hw(&["decode", mov.to_str().unwrap(), "--md5"]);
    let _ = std::fs::remove_file(&mov);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), reference);
    assert!(
        stderr(&o).contains("1 audio track(s) skipped"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn mov_with_hevc_hvc1_and_aac_decodes_to_ffmpegs_md5() {
    if !have_ffmpeg() || !decodes_hevc() {
        return;
    }
    let mov = make(
        "hevc-aac.mov",
        &[
            &VIDEO[..],
            &AUDIO,
            &[
                "-c:v",
                "libx265",
                "-x265-params",
                "log-level=error",
                "-tag:v",
                "hvc1",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
            ],
        ]
        .concat(),
    );
    assert_decodes_like_ffmpeg(&[mov]);
}

/// High profile with B-frames: composition offsets (`ctts`) and the edit list that hides
/// the reordering delay, in a regular and a fragmented file.
#[test]
fn high_profile_with_b_frames_ctts_and_edit_list_decodes_to_ffmpegs_md5() {
    if !have_ffmpeg() {
        return;
    }
    if !cfg!(feature = "sw-ffmpeg") {
        eprintln!(
            "SKIPPED: High profile is checked in the sw-ffmpeg build (OpenH264 decodes Baseline)"
        );
        return;
    }
    let high = [
        "-c:v",
        "libx264",
        "-profile:v",
        "high",
        "-bf",
        "2",
        "-pix_fmt",
        "yuv420p",
    ];
    let plain = make(
        "high-bframes.mp4",
        &[&VIDEO[..], &AUDIO, &high, &["-c:a", "aac"]].concat(),
    );
    let frag = make(
        "high-bframes-frag.mp4",
        &[
            &VIDEO[..],
            &high,
            &["-g", "10", "-movflags", "frag_keyframe+empty_moov"],
        ]
        .concat(),
    );
    assert_decodes_like_ffmpeg(&[plain, frag]);
}

#[test]
fn track_flag_picks_the_second_video_track_and_a_missing_one_lists_the_tracks() {
    if !have_ffmpeg() {
        return;
    }
    let two = make(
        "two-video.mp4",
        &[
            &VIDEO[..],
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=128x96:rate=25:duration=1",
            ],
            &AUDIO,
            &["-map", "0:v", "-map", "1:v", "-map", "2:a"],
            &BASELINE,
            &["-c:a", "aac"],
        ]
        .concat(),
    );
    let (first, first_err) = decode_md5(&two, &[]);
    assert_eq!(first, ffmpeg_video_md5(&two, 0));
    assert!(first_err.is_empty(), "-q: {first_err}");
    let (second, _) = decode_md5(&two, &["--track", "2"]);
    assert_eq!(second, ffmpeg_video_md5(&two, 1));
    let o = video_hw(&["decode", two.to_str().unwrap(), "--track", "3"]);
    let _ = std::fs::remove_file(&two);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("no video track with id 3"), "{err}");
    assert!(err.contains("3 (soun mp4a)"), "{err}");
}

#[test]
fn mp4_cut_at_half_gives_its_complete_frames_exits_0_and_warns() {
    if !have_ffmpeg() {
        return;
    }
    let whole = make(
        "whole.mp4",
        &[
            &VIDEO[..],
            &AUDIO,
            &BASELINE,
            &["-c:a", "aac", "-movflags", "+faststart"],
        ]
        .concat(),
    );
    let bytes = std::fs::read(&whole).unwrap();
    let cut = temp("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let _ = std::fs::remove_file(&whole);
    // What FFmpeg recovers from the cut file.
    let o = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-i", cut.to_str().unwrap()])
        .args(["-map", "0:v:0", "-f", "framemd5", "-"])
        .output()
        .expect("ffmpeg runs");
    let ffmpeg_frames = stdout(&o)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .count();
    assert!(ffmpeg_frames > 10, "ffmpeg decoded {ffmpeg_frames} frames");
    let o = video_hw(&["decode", cut.to_str().unwrap(), "--json"]);
    let _ = std::fs::remove_file(&cut);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON report");
    let frames = report["frames"].as_u64().unwrap() as usize;
    assert!(
        frames * 10 >= ffmpeg_frames * 9,
        "{frames} frames, ffmpeg {ffmpeg_frames}"
    );
    let err = stderr(&o);
    assert!(err.contains("warning"), "{err}");
    assert!(err.contains("truncated"), "{err}");
    assert!(err.contains("missing"), "{err}");
}

/// Damaged MP4/MOV files: every error names what it could, never a dependency's source.
#[test]
fn damaged_mp4_files_give_errors_without_source_paths() {
    if !have_ffmpeg() {
        return;
    }
    let good = make(
        "damage-src.mov",
        &[
            &VIDEO[..],
            &AUDIO,
            &BASELINE,
            &["-c:a", "aac", "-movflags", "+faststart"],
        ]
        .concat(),
    );
    let bytes = std::fs::read(&good).unwrap();
    let _ = std::fs::remove_file(&good);
    let find = |what: &[u8]| bytes.windows(4).position(|w| w == what).unwrap();
    let mut damaged: Vec<(&str, Vec<u8>)> = Vec::new();
    let moov = find(b"moov");
    damaged.push(("cut inside moov", bytes[..moov + 200].to_vec()));
    for kind in [
        b"stsd", b"avcC", b"stsz", b"stco", b"mp4a", b"esds", b"hdlr", b"mvhd",
    ] {
        let at = find(kind);
        for (i, fill) in [(0usize, 0xffu8), (4, 0x00), (8, 0x7f)] {
            let mut d = bytes.clone();
            for b in d.iter_mut().skip(at + i).take(8) {
                *b = fill;
            }
            damaged.push(("overwritten box", d));
        }
    }
    for (i, (what, data)) in damaged.iter().enumerate() {
        let path = temp(&format!("damaged-{i}.mov"));
        std::fs::write(&path, data).unwrap();
        let o = video_hw(&["decode", path.to_str().unwrap(), "-o", "/dev/null"]);
        let out = path.with_extension("out.mp4");
        let t = video_hw(&[
            "transcode",
            path.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "-q",
        ]);
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(&out);
        for o in [&o, &t] {
            assert!(o.status.code().is_some(), "{what} #{i}: killed by a signal");
            let err = stderr(o);
            for needle in [".cargo", "registry", ".rs:"] {
                assert!(!err.contains(needle), "{what} #{i}: {err}");
            }
        }
    }
}

/// The streams of `path` as ffprobe counts them: (codec, frames read, duration in s).
fn probe_streams(path: &Path) -> Vec<(String, u64, f64)> {
    let o = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-show_entries"])
        .args([
            "stream=codec_type,codec_name,nb_read_frames,duration",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    stdout(&o)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let [name, kind, duration, frames] = f[..] else {
                return None;
            };
            Some((
                format!("{kind}:{name}"),
                frames.parse().ok()?,
                duration.parse().ok()?,
            ))
        })
        .collect()
}

#[test]
fn transcode_mov_to_mp4_copies_the_aac_track_aligned_with_the_video() {
    if !have_ffmpeg() {
        return;
    }
    let mov = make(
        "keep-audio.mov",
        &[&VIDEO[..], &AUDIO, &BASELINE, &["-c:a", "aac"]].concat(),
    );
    let out = temp("keep-audio.mp4");
    let o = video_hw(&[
        "transcode",
        mov.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("audio track 2 copied"),
        "{}",
        stderr(&o)
    );
    let input = probe_streams(&mov);
    let output = probe_streams(&out);
    let audio = |s: &[(String, u64, f64)]| {
        s.iter()
            .find(|(k, ..)| k.starts_with("audio"))
            .cloned()
            .expect("an audio stream")
    };
    let video = |s: &[(String, u64, f64)]| {
        s.iter()
            .find(|(k, ..)| k.starts_with("video"))
            .cloned()
            .expect("a video stream")
    };
    let (a_in, a_out, v_out) = (audio(&input), audio(&output), video(&output));
    assert_eq!(a_out.0, a_in.0, "codec: {output:?}");
    assert_eq!(a_out.1, a_in.1, "audio frames: {input:?} -> {output:?}");
    let frame = 1.0 / 25.0;
    assert!(
        (a_out.2 - v_out.2).abs() <= frame,
        "audio {} s, video {} s",
        a_out.2,
        v_out.2
    );
    let check = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
        .arg(&out)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(check.status.success());
    assert_eq!(stderr(&check), "", "ffmpeg finds errors in the output");

    // --no-audio drops it and says so.
    let o = video_hw(&[
        "transcode",
        mov.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--no-audio",
        "-y",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("audio track(s) dropped (--no-audio)"),
        "{}",
        stderr(&o)
    );
    assert!(
        probe_streams(&out)
            .iter()
            .all(|(k, ..)| !k.starts_with("audio"))
    );
    let _ = std::fs::remove_file(&mov);
    let _ = std::fs::remove_file(&out);
}

#[test]
fn transcode_refuses_audio_mp4_cannot_carry_before_writing_anything() {
    if !have_ffmpeg() {
        return;
    }
    let mov = make(
        "pcm.mov",
        &[&VIDEO[..], &AUDIO, &BASELINE, &["-c:a", "pcm_s16le"]].concat(),
    );
    let out = temp("pcm-out.mp4");
    let o = video_hw(&[
        "transcode",
        mov.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("cannot carry"), "{err}");
    assert!(err.contains("--no-audio"), "{err}");
    assert!(!out.exists(), "nothing is written before the refusal");
    let o = video_hw(&[
        "transcode",
        mov.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--no-audio",
        "-q",
    ]);
    let _ = std::fs::remove_file(&mov);
    let _ = std::fs::remove_file(&out);
    assert!(o.status.success(), "{}", stderr(&o));
}
