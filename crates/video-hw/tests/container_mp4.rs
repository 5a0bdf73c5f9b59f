//! MP4 demux/mux against FFmpeg: files made by Debian's ffmpeg at test time, our output
//! checked by ffprobe and `ffmpeg -v error`.
//!
//! Without ffmpeg the tests say so and return; `VIDEO_HW_REQUIRE_FFMPEG=1` makes that a
//! failure.

mod common;

use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use video_hw::container::{ContainerKind, Mp4Demuxer, Mp4Muxer, Mp4Sample, sniff};
use video_hw::{
    Backend, BitstreamLayout, Codec, DecodeOutput, DecodeSession, DecoderConfig, EncodedChunk,
    ErrorKind, PixelFormat, Timestamp,
};

fn ffmpeg_available() -> bool {
    let ok = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
        && Command::new("ffprobe")
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("VIDEO_HW_REQUIRE_FFMPEG").as_deref() != Ok("1"),
            "ffmpeg/ffprobe not found but VIDEO_HW_REQUIRE_FFMPEG=1"
        );
        eprintln!("SKIPPED: ffmpeg/ffprobe not found (set VIDEO_HW_REQUIRE_FFMPEG=1 to fail)");
    }
    ok
}

fn work_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("video-hw-mp4-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("command runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Makes a test clip with ffmpeg: `codec` is libx264 or libx265.
fn make_clip(path: &Path, encoder: &str, size: &str, frames: u32, extra: &[&str]) {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={size}:rate=25"))
        .args(["-frames:v", &frames.to_string(), "-c:v", encoder])
        .args(["-bf", "2", "-g", "12", "-pix_fmt", "yuv420p"]);
    if encoder == "libx265" {
        cmd.args([
            "-x265-params",
            "log-level=error:bframes=2:keyint=12:min-keyint=12",
        ]);
    }
    cmd.args(extra).arg(path);
    run(&mut cmd);
}

/// `key=value` lines of ffprobe for the first video stream and the format.
fn probe(path: &Path) -> std::collections::HashMap<String, String> {
    let out = run(Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-count_frames"])
        .args([
            "-show_entries",
            "stream=codec_name,nb_read_frames,width,height:format=duration",
            "-of",
            "default=nw=1",
        ])
        .arg(path));
    out.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Keyframe flags of the packets, in decode order.
fn probe_keyframes(path: &Path) -> Vec<bool> {
    run(Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0"])
        .args(["-show_entries", "packet=flags", "-of", "csv=p=0"])
        .arg(path))
    .lines()
    .map(|l| l.contains('K'))
    .collect()
}

/// Decodes with `ffmpeg -v error`; returns what it printed (nothing for a clean file).
fn ffmpeg_errors(path: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// MD5 of the decoded pictures (rawvideo) as FFmpeg computes it.
fn ffmpeg_md5(path: &Path) -> String {
    run(Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "md5", "-"]))
}

fn demux_all(
    path: &Path,
) -> (
    Mp4Demuxer<std::io::BufReader<std::fs::File>>,
    Vec<Mp4Sample>,
) {
    let file = std::fs::File::open(path).unwrap();
    let mut demux = Mp4Demuxer::new(std::io::BufReader::new(file)).unwrap();
    let mut samples = Vec::new();
    while let Some(s) = demux.next_sample().unwrap() {
        samples.push(s);
    }
    (demux, samples)
}

fn mux_file(path: &Path, chunks: &[EncodedChunk]) {
    let file = std::fs::File::create(path).unwrap();
    let mut mux = Mp4Muxer::new(std::io::BufWriter::new(file)).unwrap();
    for c in chunks {
        mux.write_chunk(c).unwrap();
    }
    let (_, summary) = mux.finish().unwrap();
    assert_eq!(summary.samples, chunks.len() as u64);
}

fn mux_fragmented(path: &Path, chunks: &[EncodedChunk]) -> u64 {
    let file = std::fs::File::create(path).unwrap();
    let mut mux = Mp4Muxer::fragmented(std::io::BufWriter::new(file)).unwrap();
    for c in chunks {
        mux.write_chunk(c).unwrap();
    }
    mux.finish().unwrap().1.fragments
}

/// Demux checks shared by H.264 and HEVC: counts, keyframes, dts order, B-frame pts.
fn check_demux(path: &Path, codec: Codec, frames: u32) -> Vec<Mp4Sample> {
    let head = std::fs::read(path).unwrap();
    assert_eq!(sniff(&head[..16]), Some(ContainerKind::Mp4));
    let (demux, samples) = demux_all(path);
    let track = demux.track().clone();
    assert_eq!(track.codec, codec);
    assert_eq!(track.frame_count, frames);
    assert_eq!(samples.len(), frames as usize);
    assert_eq!(
        track.dimensions.map(|d| (d.width(), d.height())),
        Some((320, 240))
    );
    let kinds: Vec<u8> = track
        .parameter_sets
        .iter()
        .map(|n| match codec {
            Codec::H264 => n[0] & 0x1F,
            _ => (n[0] >> 1) & 0x3F,
        })
        .collect();
    match codec {
        Codec::H264 => assert_eq!(kinds, vec![7, 8]),
        _ => assert_eq!(kinds, vec![32, 33, 34]),
    }
    let keyframes: Vec<bool> = samples.iter().map(|s| s.keyframe).collect();
    assert_eq!(keyframes, probe_keyframes(path));
    assert!(keyframes[0]);
    assert!(samples.windows(2).all(|w| w[1].dts.ticks > w[0].dts.ticks));
    assert!(
        samples.windows(2).any(|w| w[1].pts.ticks < w[0].pts.ticks),
        "B-frames must reorder pts"
    );
    // Sorted pts: one frame apart, first at 0 (the edit list removes the B-frame delay).
    let mut pts: Vec<i64> = samples.iter().map(|s| s.pts.ticks).collect();
    pts.sort_unstable();
    let frame = i64::from(track.timescale) / 25;
    assert_eq!(pts[0], 0, "edit list honoured");
    assert!(pts.windows(2).all(|w| w[1] - w[0] == frame), "{pts:?}");
    assert!(samples.iter().all(|s| s.dts.ticks <= s.pts.ticks));
    assert_eq!(
        track.duration.ticks,
        i64::from(frames) * frame,
        "presented duration"
    );
    samples
}

fn remux_and_check(dir: &Path, input: &Path, codec: Codec, frames: u32, samples: &[Mp4Sample]) {
    let chunks: Vec<EncodedChunk> = samples.iter().map(|s| s.to_encoded_chunk(codec)).collect();
    let out = dir.join("out.mp4");
    mux_file(&out, &chunks);
    let info = probe(&out);
    let name = if codec == Codec::H264 { "h264" } else { "hevc" };
    assert_eq!(info["codec_name"], name);
    assert_eq!(info["nb_read_frames"], frames.to_string());
    let duration: f64 = info["duration"].parse().unwrap();
    assert!(
        (duration - f64::from(frames) / 25.0).abs() < 0.01,
        "duration {duration}"
    );
    assert_eq!(probe_keyframes(&out), probe_keyframes(input));
    assert_eq!(ffmpeg_errors(&out), "");
    assert_eq!(ffmpeg_md5(&out), ffmpeg_md5(input));
    // Our demuxer reads our file back with the same timestamps.
    let (_, back) = demux_all(&out);
    let times = |v: &[Mp4Sample]| {
        v.iter()
            .map(|s| (s.pts.seconds(), s.dts.seconds(), s.keyframe))
            .collect::<Vec<_>>()
    };
    assert_eq!(times(&back), times(samples));

    let frag = dir.join("frag.mp4");
    let fragments = mux_fragmented(&frag, &chunks);
    let keyframes = samples.iter().filter(|s| s.keyframe).count() as u64;
    assert_eq!(fragments, keyframes, "one fragment per GOP");
    let info = probe(&frag);
    assert_eq!(info["nb_read_frames"], frames.to_string());
    assert_eq!(ffmpeg_errors(&frag), "");
    assert_eq!(ffmpeg_md5(&frag), ffmpeg_md5(input));
    // Our demuxer indexes the fragments: same presentation times and keyframes (decode
    // times start at 0 there, negative composition offsets make up for it).
    let (demux, back) = demux_all(&frag);
    assert_eq!(demux.track().frame_count, frames);
    // (The first sample there also carries the parameter sets in band.)
    let shown = |v: &[Mp4Sample]| {
        v.iter()
            .map(|s| (s.pts.seconds(), s.keyframe))
            .collect::<Vec<_>>()
    };
    assert_eq!(shown(&back), shown(samples));
}

#[test]
fn h264_with_bframes_demuxes_and_remuxes_cleanly() {
    if !ffmpeg_available() {
        return;
    }
    let dir = work_dir("h264");
    let input = dir.join("in.mp4");
    make_clip(&input, "libx264", "320x240", 50, &[]);
    let samples = check_demux(&input, Codec::H264, 50);
    remux_and_check(&dir, &input, Codec::H264, 50, &samples);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn hevc_with_bframes_demuxes_and_remuxes_cleanly() {
    if !ffmpeg_available() {
        return;
    }
    let dir = work_dir("hevc");
    let input = dir.join("in.mp4");
    make_clip(&input, "libx265", "320x240", 50, &["-tag:v", "hvc1"]);
    let samples = check_demux(&input, Codec::Hevc, 50);
    remux_and_check(&dir, &input, Codec::Hevc, 50, &samples);
    std::fs::remove_dir_all(dir).ok();
}

/// Our software decoder fed from the demuxer (length-prefixed samples with pts) gives the same pictures as FFmpeg's `-f rawvideo` of the same file.
#[test]
fn demuxed_samples_decode_to_ffmpeg_md5() {
    if !ffmpeg_available() {
        return;
    }
    for (encoder, codec) in [("libx264", Codec::H264), ("libx265", Codec::Hevc)] {
        let report = video_hw::backend::probe_one(Backend::Software);
        if !report.decodes(codec) {
            eprintln!("SKIPPED {codec}: no software {codec} decoder in this build");
            continue;
        }
        let config = DecoderConfig::new(codec).with_output(DecodeOutput::Cpu(PixelFormat::I420));
        let probe = DecodeSession::new(Backend::Software, config.clone()).expect("decoder opens");
        let implementation = probe.summary().origin.implementation;
        drop(probe);
        // OpenH264 has no B-frame support: give it a Baseline clip.
        let extra: &[&str] = if implementation.contains("openh264") {
            &["-profile:v", "baseline", "-bf", "0"]
        } else {
            &[]
        };
        let dir = work_dir(&format!("md5-{encoder}"));
        let input = dir.join("in.mp4");
        make_clip(&input, encoder, "320x240", 30, extra);
        let (demux, samples) = demux_all(&input);
        // The first sample carries its description's parameter sets, so no out-of-band
        // `DecoderConfig::parameter_sets` are needed.
        let mut config = config;
        config.timebase = demux.track().timebase;
        let mut session = DecodeSession::new(Backend::Software, config).expect("decoder opens");
        let mut out = common::Decoded {
            implementation: implementation.clone(),
            ..Default::default()
        };
        common::submit_all(
            &mut session,
            samples.into_iter().map(Mp4Sample::into_decode_input),
            &mut out,
        );
        common::finish(&mut session, &mut out);
        assert!(out.errors.is_empty(), "{codec}: {:?}", out.errors);
        assert_eq!(out.frames.len(), 30, "{codec} via {implementation}");
        let pts: Vec<i64> = out
            .frames
            .iter()
            .filter_map(|f| f.pts)
            .map(|t| t.ticks)
            .collect();
        assert!(
            pts.windows(2).all(|w| w[0] < w[1]),
            "presentation order: {pts:?}"
        );
        let want = ffmpeg_md5(&input);
        assert_eq!(
            format!("MD5={}\n", out.md5()),
            want,
            "{codec} via {implementation}"
        );
        std::fs::remove_dir_all(dir).ok();
    }
}

/// Length-prefixed (4-byte) to Annex-B, as an encoder would hand chunks over.
fn to_annexb(chunk: &EncodedChunk) -> EncodedChunk {
    let mut out = Vec::new();
    let mut rest = &chunk.data[..];
    while rest.len() >= 4 {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(&rest[4..4 + len]);
        rest = &rest[4 + len..];
    }
    EncodedChunk {
        layout: BitstreamLayout::AnnexB,
        data: out,
        ..chunk.clone()
    }
}

fn frame_sizes(path: &Path) -> Vec<String> {
    run(Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0"])
        .args(["-show_entries", "frame=width,height", "-of", "csv=p=0"])
        .arg(path))
    .lines()
    // Frames with side data print an extra empty field and line.
    .map(|l| l.trim_end_matches(',').to_string())
    .filter(|l| !l.is_empty())
    .collect()
}

#[test]
fn resolution_switch_plays_through_and_shows_both_sizes() {
    if !ffmpeg_available() {
        return;
    }
    for (encoder, codec) in [("libx264", Codec::H264), ("libx265", Codec::Hevc)] {
        let dir = work_dir(&format!("switch-{encoder}"));
        let (a, b) = (dir.join("a.mp4"), dir.join("b.mp4"));
        make_clip(&a, encoder, "320x240", 24, &[]);
        make_clip(&b, encoder, "176x144", 24, &[]);
        let (_, first) = demux_all(&a);
        let (_, second) = demux_all(&b);
        let end = first.iter().map(|s| s.pts).max().unwrap();
        let step = first[1].dts.ticks - first[0].dts.ticks;
        let mut chunks: Vec<EncodedChunk> = first
            .iter()
            .map(|s| to_annexb(&s.to_encoded_chunk(codec)))
            .collect();
        // The second stream follows the first one; its in-band parameter sets switch size.
        let base = end.ticks + step - second[0].dts.ticks.min(second[0].pts.ticks);
        chunks.extend(second.iter().map(|s| {
            let mut c = to_annexb(&s.to_encoded_chunk(codec));
            let shift = |t: Option<Timestamp>| {
                t.map(|t| Timestamp {
                    ticks: t.ticks + base,
                    ..t
                })
            };
            c.pts = shift(c.pts);
            c.dts = shift(c.dts);
            c.generation = 1;
            c
        }));
        for fragmented in [false, true] {
            let out = dir.join(if fragmented { "frag.mp4" } else { "out.mp4" });
            if fragmented {
                mux_fragmented(&out, &chunks);
            } else {
                mux_file(&out, &chunks);
                let (demux, _) = demux_all(&out);
                assert_eq!(demux.track().sample_descriptions, 2, "{encoder}");
            }
            assert_eq!(ffmpeg_errors(&out), "", "{encoder} fragmented={fragmented}");
            let sizes = frame_sizes(&out);
            assert_eq!(sizes.len(), 48, "{encoder} fragmented={fragmented}");
            assert_eq!(sizes.iter().filter(|s| *s == "320,240").count(), 24);
            assert_eq!(sizes.iter().filter(|s| *s == "176,144").count(), 24);
        }
        std::fs::remove_dir_all(dir).ok();
    }
}

#[test]
fn audio_is_skipped_and_counted_and_vp9_is_unsupported() {
    if !ffmpeg_available() {
        return;
    }
    let dir = work_dir("tracks");
    let av = dir.join("av.mp4");
    run(Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=1",
        ])
        .args(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25"])
        .args([
            "-frames:v",
            "25",
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
            "-shortest",
        ])
        .arg(&av));
    let (demux, samples) = demux_all(&av);
    assert_eq!(demux.summary().audio_tracks_skipped, 1);
    assert_eq!(demux.summary().video_tracks, 1);
    assert_eq!(samples.len(), 25);

    let vp9 = dir.join("vp9.mp4");
    run(Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=25",
        ])
        .args(["-frames:v", "5", "-c:v", "libvpx-vp9"])
        .arg(&vp9));
    let err = Mp4Demuxer::new(std::fs::File::open(&vp9).unwrap()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.to_string().contains("vp09"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn ffmpeg_fragmented_mp4_demuxes_like_the_regular_file() {
    if !ffmpeg_available() {
        return;
    }
    let dir = work_dir("ffmpeg-frag");
    let regular = dir.join("regular.mp4");
    make_clip(&regular, "libx264", "160x120", 36, &[]);
    let (_, want) = demux_all(&regular);
    let frag = dir.join("frag.mp4");
    let fragment = |flags: &str| {
        run(Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(&regular)
            .args(["-c", "copy", "-movflags", flags])
            .arg(&frag));
    };
    // Absolute data offsets in `tfhd` (ffmpeg's default) are followed too.
    for flags in [
        "+frag_keyframe+empty_moov",
        "+frag_keyframe+empty_moov+default_base_moof",
        "+frag_keyframe+default_base_moof",
    ] {
        fragment(flags);
        let (demux, got) = demux_all(&frag);
        assert_eq!(demux.track().frame_count, 36, "{flags}");
        // ffmpeg writes no edit list with an empty moov: compare times from the first
        // picture on.
        let key = |v: &[Mp4Sample]| {
            let start = v.iter().map(|s| s.pts.ticks).min().unwrap_or(0);
            v.iter()
                .map(|s| {
                    let t = (s.pts.ticks - start, s.pts.ticks - s.dts.ticks);
                    (t, s.keyframe, s.data.clone())
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(key(&got), key(&want), "{flags}");
    }
    std::fs::remove_dir_all(dir).ok();
}

/// Reads everything a demuxer gives; Ok(samples) or the first error.
fn demux_bytes(bytes: &[u8]) -> Result<usize, video_hw::VideoError> {
    let mut demux = Mp4Demuxer::from_bytes(bytes)?;
    let mut n = 0;
    while demux.next_sample()?.is_some() {
        n += 1;
    }
    Ok(n)
}

fn assert_typed(result: Result<usize, video_hw::VideoError>, what: &str) {
    if let Err(e) = result {
        assert!(
            matches!(
                e.kind(),
                ErrorKind::InvalidBitstream | ErrorKind::Unsupported
            ),
            "{what}: {e}"
        );
    }
}

fn make_small(name: &str, extra: &[&str]) -> Option<Vec<u8>> {
    if !ffmpeg_available() {
        return None;
    }
    let dir = work_dir(name);
    let path = dir.join("small.mp4");
    make_clip(&path, "libx264", "64x64", 10, extra);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_dir_all(dir).ok();
    Some(bytes)
}

/// A small faststart clip (moov before mdat), made once.
fn small_clip() -> Option<&'static Vec<u8>> {
    static CLIP: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    CLIP.get_or_init(|| make_small("small", &["-movflags", "+faststart"]))
        .as_ref()
}

/// A small fragmented clip (empty moov, one fragment per 3 frames), made once.
fn small_fragmented_clip() -> Option<&'static Vec<u8>> {
    static CLIP: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    CLIP.get_or_init(|| {
        make_small(
            "small-frag",
            &[
                "-g",
                "3",
                "-movflags",
                "+frag_keyframe+empty_moov+default_base_moof",
            ],
        )
    })
    .as_ref()
}

/// Where the file's last `mdat` box ends: a cut at or after it loses no sample data.
fn last_mdat_end(file: &[u8]) -> usize {
    let mut at = 0usize;
    let mut end = 0;
    while let Some(head) = file.get(at..at + 8) {
        let size = u32::from_be_bytes(head[..4].try_into().unwrap()) as usize;
        if size < 8 {
            break;
        }
        if &head[4..8] == b"mdat" {
            end = at + size;
        }
        at += size;
    }
    end
}

/// A cut file gives a typed error, or (issue #23: complete samples are kept, as FFmpeg does)
/// the samples that lie wholly before the cut, with the truncation reported.
#[test]
fn truncated_files_give_typed_errors_or_their_complete_samples() {
    let Some(clip) = small_clip() else { return };
    assert_eq!(demux_bytes(clip).unwrap(), 10);
    for cut in (0..clip.len()).step_by(7).chain([clip.len() - 1]) {
        match Mp4Demuxer::from_bytes(&clip[..cut]) {
            Ok(mut demux) => {
                let mut n = 0;
                while let Ok(Some(_)) = demux.next_sample() {
                    n += 1;
                }
                assert!(n <= 10, "cut at {cut}: {n} samples");
                if n < 10 {
                    assert!(
                        demux.summary().truncated.is_some(),
                        "cut at {cut}: {n} of 10 samples and no truncation reported"
                    );
                }
            }
            result => assert_typed(result.map(|_| 0), &format!("cut at {cut}")),
        }
    }
}

#[test]
fn truncated_fragmented_files_give_typed_errors_or_fewer_samples() {
    let Some(clip) = small_fragmented_clip() else {
        return;
    };
    assert_eq!(demux_bytes(clip).unwrap(), 10);
    for cut in (0..clip.len()).step_by(5) {
        // A cut between fragments leaves a shorter, valid file.
        match demux_bytes(&clip[..cut]) {
            Ok(n) => assert!(
                n < 10 || cut >= last_mdat_end(clip),
                "cut at {cut} (sample data ends at {}) still gave {n} samples",
                last_mdat_end(clip)
            ),
            result => assert_typed(result, &format!("cut at {cut}")),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn corrupted_files_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
        in_header in any::<bool>(),
        cut in any::<Option<prop::sample::Index>>(),
        fragmented in any::<bool>(),
    ) {
        let clip = if fragmented { small_fragmented_clip() } else { small_clip() };
        let Some(clip) = clip else { return Ok(()) };
        let mut bytes = clip.clone();
        // Half the cases aim at the first boxes (ftyp, moov, the first moof).
        let span = if in_header { bytes.len().min(1500) } else { bytes.len() };
        for (at, value) in &flips {
            let i = at.index(span);
            bytes[i] ^= value | 1;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        assert_typed(demux_bytes(&bytes), "corrupted clip");
    }
}
