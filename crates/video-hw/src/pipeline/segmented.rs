//! One stream decoded by several sessions at once ([`decode_segmented`]), driven by the
//! [`PipelineScheduler`] ([`PipelineScheduler::run_segments`]).
//!
//! The stream is cut into segments that start at IDR pictures
//! ([`split_at_idr`](crate::bitstream::split_at_idr)) or, in HEVC, also at CRA pictures
//! ([`split_at_random_access`](crate::bitstream::split_at_random_access): a segment then
//! decodes the next CRA picture's RASL pictures and drops that CRA picture, see
//! [`Segment::drop_last`](crate::bitstream::Segment::drop_last)). Each session runs in a lane of the
//! scheduler that takes the next segment not yet taken, decodes it to its end and flushes.
//! The caller gets the frames in stream order: all of segment 0, then all of segment 1, and
//! so on. A lane ahead of the caller holds at most `frames_ahead` frames of its segment before
//! it waits, so memory stays bounded whatever the stream length. On NVIDIA every session runs
//! on an NVDEC engine of its own, so one stream uses several engines.
//!
//! The output is placed as for one session ([`crate::FramePlacement`]), planned once for
//! all sessions: under the library's choice, a converted output (`DecodeOutput::Cpu`) on a
//! backend with a GPU transform (NVIDIA) keeps the frames in pooled device memory while they
//! wait for their turn and converts each one on the caller's thread, in stream order.

use super::scheduler::SegmentRun;
use super::segments::SegmentDecoder;
use super::{PipelineConfig, PipelineScheduler};
use crate::api::codec::Timestamp;
use crate::api::config::{ConversionPath, DecoderConfig};
use crate::api::error::{Result, VideoError};
use crate::api::frame::DecodedFrame;
use crate::backend::Backend;
use crate::bitstream::Segment;
use crate::metrics::Metrics;
use crate::session::{DecodeSession, open_group};
use std::time::{Duration, Instant};

/// How [`decode_segmented`] shares the work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentedConfig {
    /// Sessions decoding at once (scheduler lanes; on NVIDIA, engines).
    pub sessions: usize,
    /// Frames a session may hold for the caller before it waits, per segment. Sessions
    /// only overlap while the ones ahead of the caller can hold their segment: give the
    /// longest segment's length for full overlap (memory: that many frames per session;
    /// keep frames on the GPU where the backend can, see `DecodeOutput::Gpu`).
    pub frames_ahead: usize,
    /// Bytes handed to a session per submit.
    pub chunk_size: usize,
    /// The GPUs the sessions are spread over, by their decode engines (empty: the config's
    /// `gpu` alone). Each frame stays on the GPU that decoded it (`GpuSurface::device`),
    /// and a GPU-transform conversion runs on that GPU.
    pub gpus: Vec<u32>,
}

impl SegmentedConfig {
    /// `sessions` sessions, 64 frames ahead each, 64 KiB submits.
    pub fn new(sessions: usize) -> Self {
        Self {
            sessions,
            frames_ahead: 64,
            chunk_size: 64 << 10,
            gpus: Vec::new(),
        }
    }
}

/// What a segmented decode did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentedSummary {
    /// The backend every session ran on.
    pub backend: Backend,
    /// Why that backend was chosen.
    pub selection: String,
    /// The first session's implementation.
    pub implementation: String,
    /// Sessions opened.
    pub sessions: usize,
    /// Segments decoded.
    pub segments: usize,
    /// Frames handed to the caller.
    pub frames: u64,
    /// Time spent opening the first session (the others open while it decodes).
    pub open_time: Duration,
    /// How frames became the output asked for.
    pub conversion: ConversionPath,
    /// The GPU of each session, in the order they were opened.
    pub gpus: Vec<u32>,
}

/// Decodes `segments` (in order, as [`split_at_idr`](crate::bitstream::split_at_idr) made
/// them) with `cfg.sessions` sessions of `backend` at once, and hands every frame to
/// `on_frame` in stream order, on the calling thread. The stream's frame `n` carries the
/// time a one-session decode of the whole stream gives it: `n` frames of `config.fps_hint`
/// in `config.timebase` (the pieces carry no container times). A decode error reaches `on_frame` as
/// `Err` in its place and decoding goes on; an error returned by `on_frame` stops every
/// session and is returned.
pub fn decode_segmented(
    backend: Backend,
    config: &DecoderConfig,
    segments: &[Segment],
    cfg: SegmentedConfig,
    on_frame: impl FnMut(Result<DecodedFrame>) -> Result<()>,
) -> Result<SegmentedSummary> {
    decode_segmented_with_metrics(backend, config, segments, cfg, &Metrics::new(), on_frame)
}

/// As [`decode_segmented`], counting every frame's conversion path (and the transform
/// latency) in `metrics`, with the scheduler's stage latencies and picture counts.
pub fn decode_segmented_with_metrics(
    backend: Backend,
    config: &DecoderConfig,
    segments: &[Segment],
    cfg: SegmentedConfig,
    metrics: &Metrics,
    on_frame: impl FnMut(Result<DecodedFrame>) -> Result<()>,
) -> Result<SegmentedSummary> {
    decode_segmented_notified(backend, config, segments, cfg, metrics, on_frame, || {})
}

/// As [`decode_segmented_with_metrics`], calling `all_delivered` as soon as the last frame has
/// been handed to `on_frame`, before the sessions close: closing hardware decoders takes
/// tens to hundreds of milliseconds, which a consumer on another thread (an iterator fed
/// through a channel) need not wait for. Not called when the decode stops early.
pub fn decode_segmented_notified(
    backend: Backend,
    config: &DecoderConfig,
    segments: &[Segment],
    cfg: SegmentedConfig,
    metrics: &Metrics,
    on_frame: impl FnMut(Result<DecodedFrame>) -> Result<()>,
    all_delivered: impl FnOnce(),
) -> Result<SegmentedSummary> {
    let idle = None;
    run(
        backend,
        config,
        segments,
        cfg,
        metrics,
        idle,
        (on_frame, all_delivered),
    )
}

/// As [`decode_segmented_notified`] on the backend of `idle`, an open session that has
/// decoded nothing yet (or was flushed and drained), which decodes the first segment while
/// the others open (NVDEC still creates its decoder at the stream's first sequence header).
/// It is taken whatever happens, and closed
/// instead when its frames would differ from the plan's sessions' (another GPU, output or
/// error policy: see [`crate::FramePlacement`]).
pub fn decode_segmented_from(
    idle: DecodeSession,
    config: &DecoderConfig,
    segments: &[Segment],
    cfg: SegmentedConfig,
    metrics: &Metrics,
    on_frame: impl FnMut(Result<DecodedFrame>) -> Result<()>,
    all_delivered: impl FnOnce(),
) -> Result<SegmentedSummary> {
    let backend = idle.backend();
    let idle = Some(idle);
    run(
        backend,
        config,
        segments,
        cfg,
        metrics,
        idle,
        (on_frame, all_delivered),
    )
}

/// The segmented decode: the first session (`idle`, or opened here) on the first piece, the
/// others opened by the run.
fn run(
    backend: Backend,
    config: &DecoderConfig,
    segments: &[Segment],
    cfg: SegmentedConfig,
    metrics: &Metrics,
    idle: Option<DecodeSession>,
    (mut on_frame, all_delivered): (
        impl FnMut(Result<DecodedFrame>) -> Result<()>,
        impl FnOnce(),
    ),
) -> Result<SegmentedSummary> {
    if cfg.sessions == 0 || cfg.frames_ahead == 0 || cfg.chunk_size == 0 {
        return Err(VideoError::invalid_input(
            "segmented decode needs at least one session, one frame ahead and one byte per submit",
        ));
    }
    let opening = Instant::now();
    let count = cfg.sessions.min(segments.len()).max(1);
    let mut group = open_group(backend, config, count, &cfg.gpus, metrics, idle)?;
    let first = group
        .first
        .take()
        .ok_or_else(|| VideoError::backend("the segmented decode has no session"))?;
    let mut summary = SegmentedSummary {
        backend: first.backend(),
        selection: first.selection().reason.clone(),
        implementation: first.summary().origin.implementation,
        sessions: count,
        segments: segments.len(),
        frames: 0,
        open_time: opening.elapsed(),
        conversion: group.conversion(),
        gpus: group.gpus.clone(),
    };
    let group = &group;
    // The first session decodes while the others open, each on a thread of the run.
    let decoders = std::iter::once(SegmentDecoder::Open(first))
        .chain(
            group.gpus[1..]
                .iter()
                .map(|&gpu| SegmentDecoder::Opening(Box::new(move || group.open_session(gpu)))),
        )
        .collect();
    let data: Vec<&[u8]> = segments.iter().map(|s| s.data.as_slice()).collect();
    let drop_last: Vec<usize> = segments.iter().map(|s| s.drop_last).collect();
    let run = SegmentRun {
        segments: &data,
        drop_last: &drop_last,
        chunk_size: cfg.chunk_size,
        frames_ahead: cfg.frames_ahead,
    };
    let scheduler = PipelineScheduler::new(PipelineConfig::default(), metrics.clone());
    let ticks_per_frame = config.timebase.ticks_per_frame(config.fps_hint);
    let mut delivered = 0i64;
    let run = scheduler.run_segments_opening(
        run,
        decoders,
        |item| {
            on_frame(item.and_then(|mut f| {
                // The pieces carry no timestamps and each session counts its own frames:
                // the stream's frame `n` gets the time a one-session decode gives it.
                f.pts = Some(Timestamp {
                    ticks: delivered * ticks_per_frame,
                    timebase: config.timebase,
                });
                delivered += 1;
                group.finish(f)
            }))
        },
        all_delivered,
    )?;
    summary.frames = run.frames_delivered;
    Ok(summary)
}
