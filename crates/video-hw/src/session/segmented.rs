//! One stream decoded by several sessions at once ([`decode_segmented`]).
//!
//! The stream is cut into segments that start at IDR pictures
//! ([`split_at_idr`](crate::bitstream::split_at_idr)). Each worker thread owns a session and
//! takes the next segment not yet taken, decodes it to its end and flushes. The caller gets
//! the frames in stream order: all of segment 0, then all of segment 1, and so on. A worker
//! ahead of the caller holds at most `frames_ahead` frames of its segment before it waits,
//! so memory stays bounded whatever the stream length. On NVIDIA every session runs on an
//! NVDEC engine of its own, so one stream uses several engines.
//!
//! The output is placed as for one session ([`crate::FramePlacement`]), planned once for
//! all sessions: under the library's choice, a converted output (`DecodeOutput::Cpu`) on a
//! backend with a GPU transform (NVIDIA) keeps the frames in pooled device memory while they
//! wait for their turn and converts each one on the caller's thread, in stream order.

use super::placement;
use crate::api::config::{ConversionPath, DecoderConfig, FramePlacement};
use crate::api::error::{ErrorKind, Result, VideoError};
use crate::api::frame::DecodedFrame;
use crate::api::packet::DecodeInput;
use crate::backend::{self, Backend};
use crate::bitstream::Segment;
use crate::metrics::Metrics;
use crate::session::DecodeSession;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How [`decode_segmented`] shares the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentedConfig {
    /// Sessions decoding at once (threads; on NVIDIA, engines).
    pub sessions: usize,
    /// Frames a session may hold for the caller before it waits, per segment. Sessions
    /// only overlap while the ones ahead of the caller can hold their segment: give the
    /// longest segment's length for full overlap (memory: that many frames per session;
    /// keep frames on the GPU where the backend can, see `DecodeOutput::Gpu`).
    pub frames_ahead: usize,
    /// Bytes handed to a session per submit.
    pub chunk_size: usize,
}

impl SegmentedConfig {
    /// `sessions` sessions, 64 frames ahead each, 64 KiB submits.
    pub fn new(sessions: usize) -> Self {
        Self {
            sessions,
            frames_ahead: 64,
            chunk_size: 64 << 10,
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
    /// Time spent opening the sessions, before the first segment started.
    pub open_time: Duration,
    /// How frames became the output asked for.
    pub conversion: ConversionPath,
}

/// Decodes `segments` (in order, as [`split_at_idr`](crate::bitstream::split_at_idr) made
/// them) with `cfg.sessions` sessions of `backend` at once, and hands every frame to
/// `on_frame` in stream order, on the calling thread. A decode error reaches `on_frame` as
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
/// latency) in `metrics`.
pub fn decode_segmented_with_metrics(
    backend: Backend,
    config: &DecoderConfig,
    segments: &[Segment],
    cfg: SegmentedConfig,
    metrics: &Metrics,
    mut on_frame: impl FnMut(Result<DecodedFrame>) -> Result<()>,
) -> Result<SegmentedSummary> {
    if cfg.sessions == 0 || cfg.frames_ahead == 0 || cfg.chunk_size == 0 {
        return Err(VideoError::invalid_input(
            "segmented decode needs at least one session, one frame ahead and one byte per submit",
        ));
    }
    let opening = Instant::now();
    config.validate()?;
    let selection = backend::select_decoder(backend, config.codec)?;
    // One plan for all sessions: each session converts (its decoder or its CPU transform)
    // unless the frames wait in device memory for the GPU transform on this thread.
    let plan = placement::plan(selection.backend, config, true, metrics)?;
    let mut session_config = config.clone().with_placement(FramePlacement::Host);
    session_config.output = plan.adapter_output;
    let count = cfg.sessions.min(segments.len()).max(1);
    let mut sessions = Vec::with_capacity(count);
    for _ in 0..count {
        let session_plan = placement::plan(selection.backend, &session_config, false, metrics)?;
        let chain = backend::decoder_chain(backend, selection.backend, &session_config)?;
        sessions.push(DecodeSession::open(
            selection.clone(),
            session_config.clone(),
            session_plan,
            metrics.clone(),
            chain,
        )?);
    }
    let first = &sessions[0];
    let mut summary = SegmentedSummary {
        backend: first.backend(),
        selection: first.selection().reason.clone(),
        implementation: first.summary().implementation,
        sessions: count,
        segments: segments.len(),
        frames: 0,
        open_time: opening.elapsed(),
        conversion: plan.path,
    };
    let (senders, receivers): (Vec<_>, Vec<_>) = segments
        .iter()
        .map(|_| sync_channel::<Result<DecodedFrame>>(cfg.frames_ahead))
        .unzip();
    // Shared with the workers only: once they are all gone, the segments none took close.
    let senders: Arc<Vec<Slot>> =
        Arc::new(senders.into_iter().map(|s| Mutex::new(Some(s))).collect());
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| -> Result<()> {
        for session in sessions {
            let (senders, next) = (senders.clone(), &next);
            scope.spawn(move || worker(session, segments, &senders, next, cfg.chunk_size));
        }
        drop(senders);
        let mut finish_and_hand_over = |item: Result<DecodedFrame>| {
            if plan.path == ConversionPath::GpuTransform {
                on_frame(item.and_then(|f| plan.finish(f)))
            } else {
                on_frame(item)
            }
        };
        let result = consume(receivers, &mut finish_and_hand_over, &mut summary.frames);
        // On an early return the receivers are gone: the workers' sends fail and they stop.
        result
    })?;
    Ok(summary)
}

/// Where a segment's frames go, until a worker takes it.
type Slot = Mutex<Option<SyncSender<Result<DecodedFrame>>>>;

/// Hands the frames of every segment to `on_frame`, segment after segment.
fn consume(
    receivers: Vec<Receiver<Result<DecodedFrame>>>,
    on_frame: &mut impl FnMut(Result<DecodedFrame>) -> Result<()>,
    frames: &mut u64,
) -> Result<()> {
    for rx in receivers {
        // The channel closes when its worker has flushed the segment (or stopped).
        for item in rx {
            if item.is_ok() {
                *frames += 1;
            }
            on_frame(item)?;
        }
    }
    Ok(())
}

/// Decodes segments until none is left or the caller has gone.
fn worker(
    mut session: DecodeSession,
    segments: &[Segment],
    senders: &[Slot],
    next: &AtomicUsize,
    chunk_size: usize,
) {
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let (Some(segment), Some(slot)) = (segments.get(i), senders.get(i)) else {
            return;
        };
        let Some(tx) = slot.lock().ok().and_then(|mut s| s.take()) else {
            return;
        };
        if decode_one(&mut session, segment, &tx, chunk_size).is_err() {
            // The caller stopped listening.
            return;
        }
    }
}

/// The caller has gone.
struct Gone;

/// Decodes one segment to its end into `tx`.
fn decode_one(
    session: &mut DecodeSession,
    segment: &Segment,
    tx: &SyncSender<Result<DecodedFrame>>,
    chunk_size: usize,
) -> std::result::Result<(), Gone> {
    let send = |item: Result<DecodedFrame>| tx.send(item).map_err(|_| Gone);
    let reap_ready = |session: &mut DecodeSession| -> std::result::Result<(), Gone> {
        loop {
            match session.try_reap() {
                Ok(Some(frame)) => send(Ok(frame))?,
                Ok(None) => return Ok(()),
                Err(e) => send(Err(e))?,
            }
        }
    };
    for piece in segment.data.chunks(chunk_size) {
        let mut input = DecodeInput::annexb(piece);
        loop {
            match session.try_submit(input) {
                Ok(()) => break,
                Err(rejected) if rejected.kind() == ErrorKind::Backpressure => {
                    input = rejected.input;
                    match session.reap_timeout(Duration::from_millis(5)) {
                        Ok(Some(frame)) => send(Ok(frame))?,
                        Ok(None) => {}
                        Err(e) => send(Err(e))?,
                    }
                }
                Err(rejected) => {
                    send(Err(rejected.error))?;
                    break;
                }
            }
        }
        reap_ready(session)?;
    }
    if let Err(e) = session.flush() {
        send(Err(e))?;
    }
    reap_ready(session)
}
