//! One pass over the video by several sessions at once: the library plans it
//! (`ParallelPlan`: sessions from the backend's engines, pieces cut at random-access
//! pictures, bounded memory) and decodes it (`decode_segmented_notified`) on a thread of its
//! own; the iterator takes the frames in stream order from a bounded channel. Plain Rust, run
//! without the GIL.

use crate::reader::{Reader, Settings};
use crate::source::{Input, Source};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use video_hw::bitstream::{assemble_annexb, layout::input_to_annexb};
use video_hw::metrics::Metrics;
use video_hw::{
    DecodeSession, DecodedFrame, DecoderConfig, ParallelPlan, Parallelism, Result,
    SegmentedSummary, Timestamp, VideoError,
};

/// Frames decoded ahead of the iterator, beyond those the sessions hold for their turn.
const AHEAD: usize = 8;

/// A pass decoded by several sessions.
pub struct ParallelPass {
    frames: Receiver<Result<DecodedFrame>>,
    /// The container's times in presentation order: frame `k` gets `times[k]`, as a
    /// one-session pass gives it the container's time (raw Annex-B keeps the library's).
    times: Option<Vec<Timestamp>>,
    next: usize,
    /// The decoding thread; it closes the sessions after the last frame is sent, and ends
    /// on its own when the pass is dropped early (its next send fails).
    worker: Option<JoinHandle<Result<SegmentedSummary>>>,
    /// Sessions decoding.
    pub sessions: usize,
}

impl ParallelPass {
    /// Plans a pass over `input` and starts it, or `None` when one session is the better
    /// plan (a short or unseekable stream, one engine or its share of them, one piece, a
    /// codec the plan does not cut, a damaged sample under `auto`). A fresh reader in
    /// `spare` lends its session to the pass, which decodes the first piece with it while
    /// the others open; it stays in `spare` when the pass is not started.
    pub fn start(
        input: &Input,
        settings: Settings,
        spare: &mut Option<Reader>,
    ) -> Result<Option<Self>> {
        if settings.parallel == Parallelism::Sessions(1) {
            return Ok(None);
        }
        let mut source = Source::open(input)?;
        let codec = source.codec;
        if !ParallelPlan::worth_planning(settings.parallel, settings.backend, codec, input.len()) {
            return Ok(None);
        }
        let mut data = Vec::new();
        // The container's time of every sample, in decode order (none for raw Annex-B).
        let mut stamps = Vec::new();
        while let Some(i) = source.next_input()? {
            stamps.push(i.pts());
            match input_to_annexb(i) {
                Ok(bytes) => data.extend_from_slice(&bytes),
                // One session skips and counts a damaged sample.
                Err(_) if settings.parallel == Parallelism::Auto => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        // The frames come out in presentation order: the samples' times, sorted.
        let times = stamps
            .into_iter()
            .collect::<Option<Vec<Timestamp>>>()
            .filter(|t| !t.is_empty())
            .map(|mut t| {
                t.sort_by_key(|p| p.ticks);
                t
            });
        let units = assemble_annexb(codec, &data);
        drop(data);
        let mut config = DecoderConfig::new(codec).with_gpu(settings.gpu);
        config.output = settings.output;
        if let Some(tb) = source.timebase {
            config.timebase = tb;
        }
        let plan = ParallelPlan::new(settings.backend, config, &units, settings.parallel);
        drop(units);
        if plan.sessions() == 1 {
            return Ok(None);
        }
        let sessions = plan.sessions();
        let idle = match spare.take() {
            Some(r) if r.is_fresh() => Some(r.into_session()),
            other => {
                *spare = other;
                None
            }
        };
        let (tx, frames) = sync_channel(AHEAD);
        let worker = std::thread::Builder::new()
            .name("video-hw-parallel".into())
            .spawn(move || run(settings, plan, idle, tx))
            .map_err(|e| VideoError::backend(format!("cannot start a decoding thread: {e}")))?;
        Ok(Some(Self {
            frames,
            times,
            next: 0,
            worker: Some(worker),
            sessions,
        }))
    }

    /// The next frame in stream order, `None` at the end (a failed decode sends its error
    /// first).
    pub fn next_frame(&mut self) -> Result<Option<DecodedFrame>> {
        match self.frames.recv() {
            Ok(item) => {
                let mut frame = item?;
                if let Some(t) = self.times.as_ref().and_then(|t| t.get(self.next)) {
                    frame.pts = Some(*t);
                }
                self.next += 1;
                Ok(Some(frame))
            }
            Err(_) => {
                if self.worker.as_ref().is_some_and(JoinHandle::is_finished)
                    && let Some(w) = self.worker.take()
                {
                    let _ = w.join();
                }
                Ok(None)
            }
        }
    }
}

/// Decodes `plan` (its first piece by `idle` when given), sending every frame to `tx`; the
/// sender is dropped as soon as the last frame is sent, so the iterator ends while the
/// sessions close.
fn run(
    settings: Settings,
    plan: ParallelPlan,
    idle: Option<DecodeSession>,
    tx: SyncSender<Result<DecodedFrame>>,
) -> Result<SegmentedSummary> {
    let tx = std::cell::RefCell::new(Some(tx));
    let send = |item| {
        let sent = tx.borrow().as_ref().is_some_and(|t| t.send(item).is_ok());
        if sent {
            Ok(())
        } else {
            Err(VideoError::backend("the iteration was dropped"))
        }
    };
    let done = || drop(tx.borrow_mut().take());
    let (config, segments, metrics) = (&plan.config, &plan.segments, &Metrics::new());
    let cfg = plan.segmented.clone();
    let result = match idle {
        Some(s) => video_hw::decode_segmented_from(s, config, segments, cfg, metrics, send, done),
        None => video_hw::decode_segmented_notified(
            settings.backend,
            config,
            segments,
            cfg,
            metrics,
            send,
            done,
        ),
    };
    if let (Err(e), Some(t)) = (&result, tx.borrow_mut().take()) {
        let _ = t.send(Err(VideoError::new(e.kind(), e.context().to_string())));
    }
    result
}
