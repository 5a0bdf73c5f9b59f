//! One stream decoded by several sessions at once (`decode_segmented`): the frames of its
//! IDR-started segments, put back in order, are the frames one session makes of the whole
//! stream (same count, same MD5), on every backend that can run here; the sessions run on the
//! pipeline scheduler's lanes.

mod common;

use common::*;
use video_hw::bitstream::{assemble_annexb, split_at_idr};
use video_hw::metrics::{Metrics, Stage};
use video_hw::{
    Backend, Codec, DecodeOutput, DecoderConfig, PixelFormat, SegmentedConfig, decode_segmented,
    decode_segmented_with_metrics,
};

/// Conformance streams with several IDR pictures: Baseline (one SPS and PPS; several
/// parameter sets in MPS; multi-slice pictures and three SPS in BA1_FT; many reference
/// frames in MR1/MR2) and Main (test-25fps, four SPS).
const STREAMS: &[&str] = &[
    "h264/BA_MW_D.264",
    "h264/MIDR_MW_D.264",
    "h264/MPS_MW_A.264",
    "h264/BA1_FT_C.264",
    "h264/MR1_MW_A.264",
    "h264/MR2_MW_A.264",
    "h264/test-25fps.h264",
];

fn segmented(backend: Backend, codec: Codec, data: &[u8], sessions: usize) -> (Decoded, usize) {
    let units = assemble_annexb(codec, data);
    let segments = split_at_idr(codec, &units, 1);
    let config = DecoderConfig::new(codec).with_output(DecodeOutput::Cpu(PixelFormat::I420));
    let mut out = Decoded::default();
    let mut cfg = SegmentedConfig::new(sessions);
    // Small enough that workers ahead of the caller wait for it.
    cfg.frames_ahead = 2;
    cfg.chunk_size = 4096;
    let summary = decode_segmented(backend, &config, &segments, cfg, |frame| {
        match frame {
            Ok(f) => out.frames.push(f),
            Err(e) => out.errors.push(e),
        }
        Ok(())
    })
    .expect("segmented decode runs");
    out.implementation = summary.implementation;
    assert_eq!(summary.frames, out.frames.len() as u64);
    (out, segments.len())
}

fn check_backend(backend: Backend) {
    let Some(dir) = conformance_dir() else { return };
    let rows = manifest(&dir);
    let mut checked = 0;
    for file in STREAMS {
        let Some(row) = rows.iter().find(|r| r.file == *file) else {
            panic!("{file} is not in the manifest");
        };
        if !usable(backend, row.codec, true) {
            return;
        }
        let data = std::fs::read(dir.join(file)).expect("stream readable");
        let whole = decode_annexb(backend, row.codec, &data, 1 << 16);
        if !whole.errors.is_empty() {
            eprintln!(
                "{file:<28} {backend}: skipped, one session reports errors ({})",
                whole.errors[0]
            );
            continue;
        }
        let (parts, segments) = segmented(backend, row.codec, &data, 3);
        let manifest_ok = whole.md5() == row.md5;
        eprintln!(
            "SEGMENTED {file:<28} {backend} [{}]: {segments} segments, {} frames (one session {}), md5 {} one session's{}",
            parts.implementation,
            parts.frames.len(),
            whole.frames.len(),
            if parts.md5() == whole.md5() {
                "equals"
            } else {
                "DIFFERS from"
            },
            if manifest_ok {
                ", which is the manifest's"
            } else {
                ""
            }
        );
        assert!(segments > 1, "{file} has several IDR pictures");
        assert!(parts.errors.is_empty(), "{file}: {:?}", parts.errors);
        assert_eq!(
            parts.frames.len(),
            whole.frames.len(),
            "{file}: frame count"
        );
        assert_eq!(parts.md5(), whole.md5(), "{file}: frames differ");
        let times = |d: &Decoded| d.frames.iter().map(|f| f.pts).collect::<Vec<_>>();
        assert_eq!(times(&parts), times(&whole), "{file}: frame times differ");
        checked += 1;
    }
    assert!(checked > 0, "no stream could be checked on {backend}");
}

#[test]
fn software_segments_decode_to_the_frames_of_the_whole_stream() {
    check_backend(Backend::Software);
}

#[test]
fn nvidia_segments_decode_to_the_frames_of_the_whole_stream() {
    if !usable(Backend::Nvidia, Codec::H264, true) {
        return;
    }
    check_backend(Backend::Nvidia);
}

/// MR2_MW_A (several IDR pictures) and its pieces cut at them, when the conformance streams
/// and the software backend are here.
fn mr2_segments() -> Option<(Vec<u8>, Vec<video_hw::bitstream::Segment>)> {
    let dir = conformance_dir()?;
    if !usable(Backend::Software, Codec::H264, true) {
        return None;
    }
    let data = std::fs::read(dir.join("h264/MR2_MW_A.264")).expect("stream readable");
    let units = assemble_annexb(Codec::H264, &data);
    let segments = split_at_idr(Codec::H264, &units, 1);
    Some((data, segments))
}

#[test]
fn a_caller_error_stops_the_segmented_decode() {
    let Some((_, segments)) = mr2_segments() else {
        return;
    };
    let config = DecoderConfig::new(Codec::H264).with_output(DecodeOutput::Cpu(PixelFormat::I420));
    let mut seen = 0;
    let err = decode_segmented(
        Backend::Software,
        &config,
        &segments,
        SegmentedConfig::new(2),
        |_| {
            seen += 1;
            if seen == 5 {
                Err(video_hw::VideoError::backend("the sink is full"))
            } else {
                Ok(())
            }
        },
    )
    .expect_err("the caller's error comes back");
    assert_eq!(seen, 5, "no frame is handed out after the error");
    assert!(err.to_string().contains("the sink is full"));
}

#[test]
fn segmented_decode_runs_on_the_pipeline_scheduler_and_matches_one_session() {
    let Some((data, segments)) = mr2_segments() else {
        return;
    };
    let whole = decode_annexb(Backend::Software, Codec::H264, &data, 1 << 16);
    assert!(segments.len() > 2, "MR2_MW_A has several IDR pictures");
    let config = DecoderConfig::new(Codec::H264).with_output(DecodeOutput::Cpu(PixelFormat::I420));
    let mut cfg = SegmentedConfig::new(3);
    cfg.chunk_size = 4096;
    let metrics = Metrics::new();
    let mut parts = Decoded::default();
    let summary = decode_segmented_with_metrics(
        Backend::Software,
        &config,
        &segments,
        cfg.clone(),
        &metrics,
        |frame| {
            match frame {
                Ok(f) => parts.frames.push(f),
                Err(e) => parts.errors.push(e),
            }
            Ok(())
        },
    )
    .expect("segmented decode runs");
    assert!(parts.errors.is_empty(), "{:?}", parts.errors);
    assert_eq!(parts.frames.len(), whole.frames.len(), "frame count");
    assert_eq!(parts.md5(), whole.md5(), "frames and their order");
    assert_eq!(summary.frames, whole.frames.len() as u64);
    // The scheduler's workers timed every input and every frame, and the sessions' picture
    // counts add up to the frames handed out.
    let report = metrics.report();
    let inputs: u64 = segments
        .iter()
        .map(|s| s.data.len().div_ceil(cfg.chunk_size) as u64)
        .sum();
    let count = |stage| report.stage(stage).map_or(0, |s| s.count);
    assert_eq!(count(Stage::Ingest), inputs);
    assert_eq!(count(Stage::DecodeSubmit), inputs);
    assert_eq!(count(Stage::DecodeReap), summary.frames);
    assert_eq!(report.pictures.counted, summary.frames);
    assert_eq!((report.pictures.lost, report.pictures.extra), (0, 0));
}

/// Decodes `segments` of MR2_MW_A to RGB24 with 3 sessions, the first one `idle` when given.
fn rgb_parts(
    segments: &[video_hw::bitstream::Segment],
    idle: Option<video_hw::DecodeSession>,
) -> Vec<(Option<video_hw::Timestamp>, Vec<u8>)> {
    let config = DecoderConfig::new(Codec::H264).with_output(DecodeOutput::Cpu(PixelFormat::Rgb24));
    let mut cfg = SegmentedConfig::new(3);
    cfg.chunk_size = 4096;
    let mut frames = Vec::new();
    let mut keep = |frame: video_hw::Result<video_hw::DecodedFrame>| {
        let f = frame?;
        let video_hw::FrameData::Cpu(planes) = &f.data else {
            panic!("CPU frame");
        };
        let bytes = planes[0].data.to_vec();
        frames.push((f.pts, bytes));
        Ok(())
    };
    let metrics = Metrics::new();
    let summary = match idle {
        Some(s) => {
            video_hw::decode_segmented_from(s, &config, segments, cfg, &metrics, &mut keep, || {})
        }
        None => video_hw::decode_segmented_notified(
            Backend::Software,
            &config,
            segments,
            cfg,
            &metrics,
            &mut keep,
            || {},
        ),
    }
    .expect("segmented decode runs");
    assert_eq!(summary.frames, frames.len() as u64);
    frames
}

#[test]
fn an_idle_session_lent_to_a_segmented_decode_gives_the_same_frames() {
    let Some((_, segments)) = mr2_segments() else {
        return;
    };
    let plain = rgb_parts(&segments, None);
    assert!(!plain.is_empty());
    let open = |config: DecoderConfig| {
        video_hw::DecodeSession::new(Backend::Software, config).expect("software session")
    };
    // A session asked for the same frames decodes the first segment: its own conversions
    // (RGB24 on the CPU) are counted in its metrics.
    let rgb = DecoderConfig::new(Codec::H264).with_output(DecodeOutput::Cpu(PixelFormat::Rgb24));
    let idle = open(rgb);
    let idle_metrics = idle.metrics().clone();
    assert_eq!(
        rgb_parts(&segments, Some(idle)),
        plain,
        "lent: same frames and times"
    );
    let converted = idle_metrics
        .report()
        .stage(Stage::Transform)
        .map_or(0, |s| s.count);
    assert!(converted > 0, "the lent session decoded a segment");
    // A session that would give other frames (I420) is closed, and the plan's sessions
    // decode everything.
    let i420 = DecoderConfig::new(Codec::H264).with_output(DecodeOutput::Cpu(PixelFormat::I420));
    let other = open(i420);
    let other_metrics = other.metrics().clone();
    assert_eq!(
        rgb_parts(&segments, Some(other)),
        plain,
        "not lent: same frames"
    );
    assert_eq!(
        other_metrics
            .report()
            .stage(Stage::Transform)
            .map_or(0, |s| s.count),
        0
    );
}
