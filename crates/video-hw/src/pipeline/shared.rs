//! What the workers of one lane share: the state every worker sees, the items that travel
//! between stages, where decoded frames go next, and the submit loop every submit worker runs.

use super::config::{PipelineConfig, StalePolicy};
use super::queue::{QueueSender, QueueStats};
use super::scheduler::PipelineSummary;
use super::segments::SegmentQueues;
use super::stages::Unit;
use crate::api::error::{ErrorKind, Rejected, Result, VideoError};
use crate::api::frame::DecodedFrame;
use crate::api::packet::EncodedChunk;
use crate::metrics::{Metrics, Stage};
use crate::transform::TransformPool;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// The transform pool of a lane.
pub(super) type FramePool = TransformPool<Unit<DecodedFrame>, Unit<DecodedFrame>>;

/// An item in a queue between stages: a unit, or an error travelling in stream order.
pub(super) enum Item<T> {
    Unit(Unit<T>),
    Error(Stage, VideoError),
}

/// Control from a submit worker to its reap worker.
pub(super) enum Control {
    /// The session was flushed at a generation / request boundary: drain, then adopt these.
    Boundary { generation: u64, keep_native: bool },
    /// The session was flushed at the end: drain, then stop.
    End,
}

/// What reaches egress.
pub(super) enum OutputPayload {
    Frame(DecodedFrame),
    Chunk(EncodedChunk),
}

/// What a lane counts.
#[derive(Default)]
pub(super) struct Counters {
    pub inputs: AtomicU64,
    pub frames_decoded: AtomicU64,
    pub frames_delivered: AtomicU64,
    pub chunks_delivered: AtomicU64,
    pub errors: AtomicU64,
    pub stale_delivered: AtomicU64,
    pub stale_dropped: AtomicU64,
}

/// State every worker of a lane sees.
pub(super) struct Shared<'a> {
    pub config: PipelineConfig,
    pub metrics: &'a Metrics,
    /// Whether a higher generation makes lower ones stale (not in segmented runs, where the
    /// generation is the segment's index).
    pub track_stale: bool,
    /// The highest generation ingest has read; units below it are stale.
    pub current_generation: AtomicU64,
    abort: AtomicBool,
    pub counters: Counters,
    /// Frames handed to the transform pool and not yet forwarded by the collector.
    pub in_transform: AtomicUsize,
    failure: Mutex<Option<VideoError>>,
}

impl<'a> Shared<'a> {
    pub fn new(config: PipelineConfig, metrics: &'a Metrics, track_stale: bool) -> Self {
        Self {
            config,
            metrics,
            track_stale,
            current_generation: AtomicU64::new(0),
            abort: AtomicBool::new(false),
            counters: Counters::default(),
            in_transform: AtomicUsize::new(0),
            failure: Mutex::new(None),
        }
    }

    pub fn aborted(&self) -> bool {
        self.abort.load(Ordering::Acquire)
    }

    /// Stops every worker of the lane.
    pub fn abort(&self) {
        self.abort.store(true, Ordering::Release);
    }

    /// Records the lane's first failure and stops it.
    pub fn fail(&self, e: VideoError) {
        lock(&self.failure).get_or_insert(e);
        self.abort();
    }

    /// The first failure, if any.
    pub fn take_failure(&self) -> Option<VideoError> {
        lock(&self.failure).take()
    }

    pub fn is_stale(&self, generation: u64) -> bool {
        generation < self.current_generation.load(Ordering::Acquire)
    }

    /// Applies the stale policy at an intermediate stage: `true` when the unit goes on.
    pub fn keep_going<T>(&self, unit: &Unit<T>) -> bool {
        if self.config.stale_policy == StalePolicy::DropAndCount && self.is_stale(unit.generation) {
            self.counters.stale_dropped.fetch_add(1, Ordering::Relaxed);
            self.metrics.record_stale(true);
            return false;
        }
        true
    }

    pub fn sleep(&self) {
        std::thread::sleep(self.config.poll_interval);
    }

    /// What the lane did, once its workers have ended; the statistics of its `queues` go to
    /// the metrics. Fails with the lane's failure (the sink's error) if it failed.
    pub fn finish(&self, queues: &[(Stage, QueueStats)]) -> Result<PipelineSummary> {
        for (stage, stats) in queues {
            self.metrics.set_queue(*stage, stats.report());
        }
        if let Some(e) = self.take_failure() {
            return Err(e);
        }
        let c = &self.counters;
        Ok(PipelineSummary {
            inputs: c.inputs.load(Ordering::Relaxed),
            frames_decoded: c.frames_decoded.load(Ordering::Relaxed),
            frames_delivered: c.frames_delivered.load(Ordering::Relaxed),
            chunks_delivered: c.chunks_delivered.load(Ordering::Relaxed),
            errors: c.errors.load(Ordering::Relaxed),
            stale_delivered: c.stale_delivered.load(Ordering::Relaxed),
            stale_dropped: c.stale_dropped.load(Ordering::Relaxed),
        })
    }

    /// Records `error` for `stage` and hands it to `to`; `false` when downstream is gone.
    pub fn report(&self, to: &Next, generation: u64, stage: Stage, error: VideoError) -> bool {
        self.metrics.record_error(stage);
        to.push_error(generation, stage, error)
    }
}

/// Reads `source` until it ends, handing every input to `put` (`false`: downstream is gone);
/// a source error goes to `errors` and ends the input.
pub(super) fn ingest<T>(
    sh: &Shared<'_>,
    mut source: impl Iterator<Item = Result<T>>,
    errors: Next,
    mut put: impl FnMut(T) -> bool,
) {
    while !sh.aborted() {
        let start = Instant::now();
        let Some(next) = source.next() else { return };
        match next {
            Ok(input) => {
                sh.metrics.record(Stage::Ingest, start.elapsed());
                sh.counters.inputs.fetch_add(1, Ordering::Relaxed);
                if !put(input) {
                    return;
                }
            }
            Err(e) => {
                let generation = sh.current_generation.load(Ordering::Acquire);
                sh.report(&errors, generation, Stage::Ingest, e);
                return;
            }
        }
    }
}

/// How an offer to a stage ended.
pub(super) enum Submitted {
    /// The stage took the input.
    Taken,
    /// The stage refused it for another reason than backpressure.
    Refused(VideoError),
    /// The run stopped while the stage was full.
    Aborted,
}

/// Offers `input` to a stage through `try_submit` until it is taken or refused, waiting out
/// backpressure, or the run aborts.
pub(super) fn submit_until_taken<I>(
    sh: &Shared<'_>,
    mut input: I,
    mut try_submit: impl FnMut(I) -> std::result::Result<(), Rejected<I>>,
) -> Submitted {
    loop {
        if sh.aborted() {
            return Submitted::Aborted;
        }
        match try_submit(input) {
            Ok(()) => return Submitted::Taken,
            Err(r) if r.kind() == ErrorKind::Backpressure => {
                input = r.input;
                sh.sleep();
            }
            Err(r) => return Submitted::Refused(r.error),
        }
    }
}

/// Where decoded (and transformed) frames, and the errors in line with them, go.
#[derive(Clone)]
pub(super) enum Next {
    /// To the encoder's queue (transcode runs).
    Encoder(QueueSender<Item<DecodedFrame>>),
    /// To egress (decode runs; also where errors of the submit workers go).
    Egress(QueueSender<Item<OutputPayload>>),
    /// To the queue of the segment the frame belongs to (its generation; segmented runs).
    Segments(Arc<SegmentQueues>),
}

impl Next {
    /// Forwards `unit`; `false` when downstream is gone.
    pub fn push(&self, unit: Unit<DecodedFrame>) -> bool {
        match self {
            Next::Encoder(q) => q.push(restamp(Item::Unit(unit))).is_ok(),
            Next::Egress(q) => q
                .push(restamp(Item::Unit(unit.map(OutputPayload::Frame))))
                .is_ok(),
            Next::Segments(s) => s.push(unit.generation, Ok(unit.item)),
        }
    }

    /// Forwards an error of `stage` met in `generation`; `false` when downstream is gone.
    pub fn push_error(&self, generation: u64, stage: Stage, error: VideoError) -> bool {
        match self {
            Next::Encoder(q) => q.push(Item::Error(stage, error)).is_ok(),
            Next::Egress(q) => q.push(Item::Error(stage, error)).is_ok(),
            Next::Segments(s) => s.push(generation, Err(error)),
        }
    }

    /// Everything of `generation` has been forwarded (a segment is complete).
    pub fn end_generation(&self, generation: u64) {
        if let Next::Segments(s) = self {
            s.close(generation);
        }
    }
}

/// Restarts a unit's stage clock as it enters a queue.
pub(super) fn restamp<T>(item: Item<T>) -> Item<T> {
    match item {
        Item::Unit(mut u) => {
            u.since = Instant::now();
            Item::Unit(u)
        }
        e => e,
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts a worker named `video-hw-{name}` in `s`.
pub(super) fn spawn_worker<'scope>(
    s: &'scope std::thread::Scope<'scope, '_>,
    name: &str,
    f: impl FnOnce() + Send + 'scope,
) -> Result<()> {
    std::thread::Builder::new()
        .name(format!("video-hw-{name}"))
        .spawn_scoped(s, f)
        .map(drop)
        .map_err(|e| VideoError::backend(format!("starting the {name} worker: {e}")))
}
