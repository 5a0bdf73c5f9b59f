//! Stream containers and content sniffing (issue #23): Matroska/WebM and MPEG-TS made now
//! with the system ffmpeg decode to FFmpeg's own MD5; the container and the codec are told
//! from the bytes, never from the name; containers that are not read are refused by name
//! with the fix; damaged files of every container end in a report, never a panic, a hang or
//! a dependency's source path.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Two seconds of 176x144 test pattern with a 440 Hz tone, as ffmpeg input arguments.
const SOURCE: [&str; 10] = [
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=176x144:rate=25",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=48000",
    "-t",
    "2",
];

/// Baseline H.264 (the default OpenH264 build decodes it exactly).
const H264: [&str; 6] = [
    "-c:v",
    "libx264",
    "-profile:v",
    "baseline",
    "-pix_fmt",
    "yuv420p",
];

/// A fixture made now: video (and audio) with `codec_args`, written to `name` (the
/// extension picks the container unless `codec_args` name a format).
fn make(name: &str, codec_args: &[&str]) -> PathBuf {
    let path = temp(name);
    let mut args: Vec<&str> = SOURCE.to_vec();
    args.extend_from_slice(codec_args);
    args.push(path.to_str().expect("utf-8 path"));
    ffmpeg_run(&args);
    path
}

/// FFmpeg's MD5 of the first video stream's decoded pictures (planar yuv420p, cropped).
fn ffmpeg_video_md5(path: &Path) -> String {
    let out = ffmpeg_run(&[
        "-i",
        path.to_str().expect("utf-8 path"),
        "-map",
        "0:v:0",
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

/// Decodes `path` with `--md5`: the digest and the whole stderr.
fn decode_md5(path: &Path, extra: &[&str]) -> (String, String) {
    let mut args = vec!["decode", path.to_str().expect("utf-8 path"), "--md5"];
    args.extend_from_slice(extra);
    let o = video_hw(&args);
    let err = stderr(&o);
    assert!(o.status.success(), "{}: {err}", path.display());
    (stdout(&o).trim().to_owned(), err)
}

/// Checks that `path` decodes to FFmpeg's MD5 and that stderr says `expect` (the container
/// found, the tracks skipped); removes the file.
fn assert_decodes_like_ffmpeg(path: &Path, expect: &[&str]) {
    let reference = ffmpeg_video_md5(path);
    let (md5, err) = decode_md5(path, &[]);
    let _ = std::fs::remove_file(path);
    assert_eq!(md5, reference, "{}: {err}", path.display());
    for e in expect {
        assert!(err.contains(e), "{}: `{e}` not in: {err}", path.display());
    }
}

#[test]
fn matroska_h264_with_opus_decodes_to_ffmpegs_md5_and_skips_the_audio() {
    if !have_ffmpeg() {
        return;
    }
    let mut args = H264.to_vec();
    args.extend(["-c:a", "libopus"]);
    let mkv = make("h264-opus.mkv", &args);
    assert_decodes_like_ffmpeg(&mkv, &["(matroska)", "1 audio track(s) skipped"]);
}

#[test]
fn mpegts_and_m2ts_h264_with_aac_decode_to_ffmpegs_md5_and_skip_the_audio() {
    if !have_ffmpeg() {
        return;
    }
    let mut args = H264.to_vec();
    args.extend(["-c:a", "aac"]);
    let ts = make("h264-aac.ts", &args);
    assert_decodes_like_ffmpeg(&ts, &["(mpegts)", "other stream(s) skipped: ADTS"]);
    // Blu-ray's 192-byte packets, under a name that says nothing.
    args.extend(["-f", "mpegts", "-mpegts_m2ts_mode", "1"]);
    let m2ts = make("h264-aac.bin", &args);
    assert_decodes_like_ffmpeg(&m2ts, &["(m2ts)"]);
}

#[test]
fn a_h265_named_h264_stream_decodes_as_h264_with_a_warning() {
    if !have_ffmpeg() {
        return;
    }
    let mut args = H264.to_vec();
    args.extend(["-an", "-f", "h264"]);
    let path = make("h264-named.h265", &args);
    let reference = ffmpeg_video_md5(&path);
    let (md5, err) = decode_md5(&path, &[]);
    assert_eq!(md5, reference, "{err}");
    assert!(
        err.contains("the file name says hevc") && err.contains("decoding it as h264"),
        "{err}"
    );
    // `--codec hevc` gives way to the stream too.
    let (md5, err) = decode_md5(&path, &["--codec", "hevc"]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(md5, reference, "{err}");
    assert!(err.contains("--codec says hevc"), "{err}");
}

/// x265 with the tone as `audio` (or none), into `name`.
#[cfg(feature = "sw-ffmpeg")]
fn make_hevc(name: &str, audio: &[&'static str]) -> PathBuf {
    let mut args = vec![
        "-c:v",
        "libx265",
        "-x265-params",
        "log-level=error",
        "-pix_fmt",
        "yuv420p",
    ];
    args.extend_from_slice(audio);
    make(name, &args)
}

#[cfg(feature = "sw-ffmpeg")]
#[test]
fn hevc_in_mpegts_and_matroska_decodes_to_ffmpegs_md5() {
    if !have_ffmpeg() {
        return;
    }
    let ts = make_hevc("hevc-aac.ts", &["-c:a", "aac"]);
    assert_decodes_like_ffmpeg(&ts, &["of hevc (mpegts)"]);
    let mkv = make_hevc("hevc-opus.mkv", &["-c:a", "libopus"]);
    assert_decodes_like_ffmpeg(&mkv, &["of hevc (matroska)", "V_MPEGH/ISO/HEVC"]);
}

#[cfg(feature = "sw-ffmpeg")]
#[test]
fn a_h264_named_hevc_stream_decodes_as_hevc_with_a_warning() {
    if !have_ffmpeg() {
        return;
    }
    let path = make_hevc("hevc-named.h264", &["-an", "-f", "hevc"]);
    let reference = ffmpeg_video_md5(&path);
    let (md5, err) = decode_md5(&path, &[]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(md5, reference, "{err}");
    assert!(
        err.contains("the file name says h264") && err.contains("decoding it as hevc"),
        "{err}"
    );
}

#[cfg(feature = "sw-ffmpeg")]
#[test]
fn webm_vp9_with_opus_decodes_to_ffmpegs_md5() {
    if !have_ffmpeg() {
        return;
    }
    let webm = make(
        "vp9-opus.webm",
        &["-c:v", "libvpx-vp9", "-b:v", "200k", "-c:a", "libopus"],
    );
    assert_decodes_like_ffmpeg(&webm, &["of vp9 (webm)"]);
}

#[test]
fn avi_is_refused_naming_the_container_and_the_remux() {
    if !have_ffmpeg() {
        return;
    }
    let mut args = H264.to_vec();
    args.extend(["-c:a", "pcm_s16le"]);
    let avi = make("clip.avi", &args);
    // Named .h264, still recognised by its content.
    let renamed = temp("avi-named.h264");
    std::fs::rename(&avi, &renamed).unwrap();
    let o = video_hw(&["decode", renamed.to_str().unwrap(), "--md5"]);
    let _ = std::fs::remove_file(&renamed);
    let err = stderr(&o);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("is AVI") && err.contains("ffmpeg -i") && err.contains("-c copy"),
        "{err}"
    );
}

/// Runs `video-hw args`, killing it after `limit` (a hang fails the test).
fn run_with_limit(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_video-hw"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("video-hw runs");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("video-hw {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// Damaged copies of `data`: cut at a quarter, a half and near the end; 64 bytes
/// overwritten at a third and at two thirds; every 97th byte flipped from the middle on.
fn damaged_copies(data: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let n = data.len();
    let mut out = vec![
        ("cut-25", data[..n / 4].to_vec()),
        ("cut-50", data[..n / 2].to_vec()),
        ("cut-end", data[..n.saturating_sub(7)].to_vec()),
    ];
    for (name, at) in [("smash-33", n / 3), ("smash-66", 2 * n / 3)] {
        let mut d = data.to_vec();
        for (i, b) in d[at..(at + 64).min(n)].iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37) ^ 0xA5;
        }
        out.push((name, d));
    }
    let mut flipped = data.to_vec();
    for b in flipped[n / 2..].iter_mut().step_by(97) {
        *b ^= 0xFF;
    }
    out.push(("flip", flipped));
    out
}

#[test]
fn damaged_files_of_every_container_end_in_a_report_without_a_panic_hang_or_dependency_path() {
    if !have_ffmpeg() {
        return;
    }
    fn with(extra: &[&'static str]) -> Vec<&'static str> {
        let mut a = H264.to_vec();
        a.extend_from_slice(extra);
        a
    }
    let fixtures = [
        make("dmg.mkv", &with(&["-c:a", "libopus"])),
        make("dmg.ts", &with(&["-c:a", "aac"])),
        make("dmg.mp4", &with(&["-c:a", "aac"])),
        make(
            "dmg-frag.mp4",
            &with(&[
                "-an",
                "-movflags",
                "frag_keyframe+empty_moov+default_base_moof",
            ]),
        ),
        make("dmg.h264", &with(&["-an"])),
        make("dmg.ivf", &["-an", "-c:v", "libvpx-vp9", "-b:v", "200k"]),
    ];
    let mut checked = 0;
    for fixture in &fixtures {
        let data = std::fs::read(fixture).unwrap();
        let _ = std::fs::remove_file(fixture);
        let ext = fixture.extension().unwrap().to_str().unwrap();
        let stem = fixture.file_stem().unwrap().to_str().unwrap();
        for (what, bytes) in damaged_copies(&data) {
            let path = temp(&format!("{what}-{stem}.{ext}"));
            std::fs::write(&path, &bytes).unwrap();
            let o = run_with_limit(
                &["decode", path.to_str().unwrap(), "--md5"],
                Duration::from_secs(120),
            );
            let _ = std::fs::remove_file(&path);
            let err = stderr(&o);
            let label = format!("{stem}.{ext} {what}");
            assert!(
                matches!(o.status.code(), Some(0..=2)),
                "{label}: exit {:?}: {err}",
                o.status
            );
            for bad in [".cargo", "registry", "panicked", ".rs:"] {
                assert!(!err.contains(bad), "{label}: `{bad}` in: {err}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 36);
}

#[test]
fn encode_output_container_follows_the_name_or_format_and_refuses_the_rest() {
    let run = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "encode",
            "--pattern",
            "--frames",
            "3",
            "--size",
            "64x64",
            "-q",
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        video_hw(&args)
    };
    // Matroska is refused before anything is written.
    let mkv = temp("out.mkv");
    let o = run(&mkv, &[]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("does not write Matroska"),
        "{}",
        stderr(&o)
    );
    assert!(!mkv.exists(), "nothing is written under a .mkv name");
    // A name that says nothing needs --format.
    let bin = temp("out.bin");
    let o = run(&bin, &[]);
    assert!(stderr(&o).contains("--format"), "{}", stderr(&o));
    assert!(!bin.exists());
    // An Annex-B name of the other codec is refused.
    let o = run(&temp("out.h265"), &[]);
    assert!(stderr(&o).contains("names hevc"), "{}", stderr(&o));
    // No encoder here (no OpenH264 build, no GPU): the naming checks above still ran.
    let mp4 = temp("named.mp4");
    let o = run(&mp4, &[]);
    if !o.status.success() {
        eprintln!("SKIPPED: no H.264 encoder here: {}", stderr(&o));
        return;
    }
    let head = std::fs::read(&mp4).unwrap();
    let _ = std::fs::remove_file(&mp4);
    assert_eq!(&head[4..8], b"ftyp", "a .mp4 name gets an MP4");
    let o = run(&bin, &["--format", "h264"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let raw = std::fs::read(&bin).unwrap();
    let _ = std::fs::remove_file(&bin);
    assert_eq!(
        video_hw::bitstream::annexb_codec(&raw),
        Some(video_hw::Codec::H264),
        "--format h264 writes Annex-B H.264"
    );
    let o = run(&bin, &["--format", "mp4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let head = std::fs::read(&bin).unwrap();
    let _ = std::fs::remove_file(&bin);
    assert_eq!(&head[4..8], b"ftyp", "--format mp4 writes an MP4");
}
