//! `PipelineScheduler`: ingest -> decode submit -> decode reap -> transform pool -> encode
//! submit -> encode reap -> egress, each on its own thread, bounded queues in between.

use super::config::{PipelineConfig, StalePolicy};
use super::queue::{BoundedQueue, PopError, QueueReceiver, QueueSender};
use super::stages::{DecodeStage, EncodeStage, FrameTransform, IngestItem, Output, Unit};
use crate::api::error::{ErrorKind, Result, VideoError};
use crate::api::frame::DecodedFrame;
use crate::api::packet::DecodeInput;
use crate::metrics::{Metrics, Stage};
use crate::transform::{TransformPath, TransformPool, frame_to_encode_input};
use crossbeam_channel::{Receiver, Sender, TryRecvError, bounded, unbounded};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct PipelineSummary {
    /// Inputs read by ingest.
    pub inputs: u64,
    /// Frames decoded.
    pub frames_decoded: u64,
    /// Frames the sink received (decode-only runs).
    pub frames_delivered: u64,
    /// Chunks the sink received (transcode runs).
    pub chunks_delivered: u64,
    /// Errors the sink received.
    pub errors: u64,
    /// Stale units delivered (policy `Deliver`).
    pub stale_delivered: u64,
    /// Stale units dropped (policy `DropAndCount`).
    pub stale_dropped: u64,
}

/// An item in a queue between stages: a unit, or an error travelling in stream order.
enum Item<T> {
    Unit(Unit<T>),
    Error(Stage, VideoError),
}

/// Control from a submit worker to its reap worker.
enum Control {
    /// The session was flushed at a generation / request boundary: drain, then adopt these.
    Boundary { generation: u64, keep_native: bool },
    /// The session was flushed at the end: drain, then stop.
    End,
}

#[derive(Default)]
struct Counters {
    inputs: AtomicU64,
    frames_decoded: AtomicU64,
    frames_delivered: AtomicU64,
    chunks_delivered: AtomicU64,
    errors: AtomicU64,
    stale_delivered: AtomicU64,
    stale_dropped: AtomicU64,
}

/// State every worker sees.
struct Shared<'a> {
    config: PipelineConfig,
    metrics: &'a Metrics,
    /// The highest generation ingest has read; units below it are stale.
    current_generation: AtomicU64,
    abort: AtomicBool,
    counters: Counters,
    /// Frames handed to the transform pool and not yet forwarded by the collector.
    in_transform: AtomicUsize,
    failure: Mutex<Option<VideoError>>,
}

impl Shared<'_> {
    fn aborted(&self) -> bool {
        self.abort.load(Ordering::Acquire)
    }

    fn fail(&self, e: VideoError) {
        let mut f = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        f.get_or_insert(e);
        self.abort.store(true, Ordering::Release);
    }

    fn is_stale(&self, generation: u64) -> bool {
        generation < self.current_generation.load(Ordering::Acquire)
    }

    /// Applies the stale policy at an intermediate stage: `true` when the unit goes on.
    fn keep_going<T>(&self, unit: &Unit<T>) -> bool {
        if self.config.stale_policy == StalePolicy::DropAndCount && self.is_stale(unit.generation) {
            self.counters.stale_dropped.fetch_add(1, Ordering::Relaxed);
            self.metrics.record_stale(true);
            return false;
        }
        true
    }

    fn sleep(&self) {
        std::thread::sleep(self.config.poll_interval);
    }
}

/// Runs decode (and optionally transform and encode) sessions as a pipeline of worker threads
/// with bounded queues between them.
///
/// - Backpressure flows upstream: a full queue blocks its producer; a session out of credits
///   makes its submit worker wait, which fills the queue in front of it, and so on to ingest.
/// - Frames of inputs marked `keep_native` bypass the transform queue.
/// - Every unit carries the generation of its input; when ingest reads a higher generation,
///   units of lower ones still in flight are stale and handled by [`StalePolicy`] (delivered
///   or dropped, always counted). At a generation change the decoder is flushed, so every
///   frame is tagged with the generation of the input that produced it.
/// - Transforms run only on the pool's `video-hw-transform-N` threads, never on a submit or
///   reap worker.
///
/// Output order: frames in decode output order, chunks in encoder output order, within a
/// generation; errors travel in stream order where the stage that saw them is in line.
#[derive(Debug, Clone)]
pub struct PipelineScheduler {
    config: PipelineConfig,
    metrics: Metrics,
}

type Transform = Option<Arc<dyn FrameTransform>>;

impl PipelineScheduler {
    /// A scheduler with `config`, recording into `metrics`.
    pub fn new(config: PipelineConfig, metrics: Metrics) -> Self {
        Self {
            config: config.sanitized(),
            metrics,
        }
    }

    /// The recorder (clone it to read a report afterwards).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The configuration in force.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// Decodes everything `source` yields, transforms the frames (unless `keep_native`) and
    /// hands them to `sink` as [`Output::Frame`]. Returns when the source is exhausted and
    /// everything has been delivered, or with the first error of the source or the sink.
    /// Without a `transform`, the conversion the decoder's session chose for its output
    /// ([`DecodeStage::take_conversion`]: the CPU transform or the GPU transform) runs on the
    /// transform pool instead of the reaping worker.
    pub fn run_decode<S, D, K>(
        &self,
        source: S,
        decoder: D,
        transform: Option<Arc<dyn FrameTransform>>,
        sink: K,
    ) -> Result<PipelineSummary>
    where
        S: IntoIterator<Item = Result<IngestItem>>,
        S::IntoIter: Send,
        D: DecodeStage,
        K: FnMut(Output) -> Result<()> + Send,
    {
        self.run_inner::<S, D, NoEncoder, K>(source, decoder, transform, None, sink)
    }

    /// Decodes, transforms (unless `keep_native`), encodes, and hands the chunks to `sink` as
    /// [`Output::Chunk`]. The transform must produce what the encoder takes (format and size).
    pub fn run_transcode<S, D, E, K>(
        &self,
        source: S,
        decoder: D,
        transform: Option<Arc<dyn FrameTransform>>,
        encoder: E,
        sink: K,
    ) -> Result<PipelineSummary>
    where
        S: IntoIterator<Item = Result<IngestItem>>,
        S::IntoIter: Send,
        D: DecodeStage,
        E: EncodeStage,
        K: FnMut(Output) -> Result<()> + Send,
    {
        self.run_inner(source, decoder, transform, Some(encoder), sink)
    }

    fn run_inner<S, D, E, K>(
        &self,
        source: S,
        decoder: D,
        transform: Transform,
        encoder: Option<E>,
        sink: K,
    ) -> Result<PipelineSummary>
    where
        S: IntoIterator<Item = Result<IngestItem>>,
        S::IntoIter: Send,
        D: DecodeStage,
        E: EncodeStage,
        K: FnMut(Output) -> Result<()> + Send,
    {
        let cfg = self.config;
        let mut decoder = decoder;
        let transform = transform.or_else(|| decoder.take_conversion());
        let shared = Shared {
            config: cfg,
            metrics: &self.metrics,
            current_generation: AtomicU64::new(0),
            abort: AtomicBool::new(false),
            counters: Counters::default(),
            in_transform: AtomicUsize::new(0),
            failure: Mutex::new(None),
        };
        let decoder = Mutex::new(decoder);
        let encoder = encoder.map(Mutex::new);
        let (ingest_tx, ingest_rx) = BoundedQueue::<IngestItem>::new(cfg.queue_depth).split();
        let (frames_tx, frames_rx) =
            BoundedQueue::<Item<DecodedFrame>>::new(cfg.queue_depth).split();
        let (egress_tx, egress_rx) =
            BoundedQueue::<Item<OutputPayload>>::new(cfg.queue_depth).split();
        let (dec_ctl_tx, dec_ctl_rx) = unbounded::<Control>();
        let (dec_ack_tx, dec_ack_rx) = bounded::<()>(1);
        let (enc_ctl_tx, enc_ctl_rx) = unbounded::<Control>();
        let pool = match transform {
            Some(t) => Some(TransformPool::new(
                cfg.transform_threads,
                cfg.transform_queue,
                transform_job(t),
            )?),
            None => None,
        };
        // Where decoded frames go next: the encoder's queue, or egress.
        let enc_fifo = Mutex::new(VecDeque::<(u64, u64, bool)>::new());
        let ingest_stats = ingest_tx.stats_handle();
        let frames_stats = frames_tx.stats_handle();
        let egress_stats = egress_tx.stats_handle();
        let frames_next = if encoder.is_some() {
            Next::Encoder(frames_tx)
        } else {
            drop(frames_tx);
            Next::Egress(egress_tx.clone())
        };

        std::thread::scope(|s| -> Result<()> {
            let sh = &shared;
            let source = source.into_iter();
            let errors_to_egress = egress_tx.clone();
            spawn_worker(s, "ingest", move || {
                ingest(sh, source, ingest_tx, errors_to_egress)
            })?;
            let dec = &decoder;
            let errors_to_egress = egress_tx.clone();
            spawn_worker(s, "decode-submit", move || {
                decode_submit(sh, dec, ingest_rx, dec_ctl_tx, dec_ack_rx, errors_to_egress)
            })?;
            let pool_ref = pool.as_ref();
            let next = frames_next.clone();
            spawn_worker(s, "decode-reap", move || {
                decode_reap(sh, dec, dec_ctl_rx, dec_ack_tx, pool_ref, next)
            })?;
            if let Some(pool) = pool.as_ref() {
                let next = frames_next.clone();
                spawn_worker(s, "transform-collect", move || {
                    collect_transforms(sh, pool, next)
                })?;
            }
            drop(frames_next);
            if let Some(enc) = encoder.as_ref() {
                let (fifo, errors_to_egress) = (&enc_fifo, egress_tx.clone());
                spawn_worker(s, "encode-submit", move || {
                    encode_submit(sh, enc, frames_rx, fifo, enc_ctl_tx, errors_to_egress)
                })?;
                let (fifo, to_egress) = (&enc_fifo, egress_tx.clone());
                spawn_worker(s, "encode-reap", move || {
                    encode_reap(sh, enc, enc_ctl_rx, fifo, to_egress)
                })?;
            } else {
                drop((frames_rx, enc_ctl_tx, enc_ctl_rx));
            }
            drop(egress_tx);
            spawn_worker(s, "egress", move || egress(sh, egress_rx, sink))?;
            Ok(())
        })?;

        let m = &self.metrics;
        m.set_queue(Stage::DecodeSubmit, ingest_stats.report());
        if encoder_present(&encoder) {
            m.set_queue(Stage::EncodeSubmit, frames_stats.report());
        }
        m.set_queue(Stage::Egress, egress_stats.report());
        if let Some(e) = shared
            .failure
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
        {
            return Err(e);
        }
        let c = &shared.counters;
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
}

fn encoder_present<E>(e: &Option<Mutex<E>>) -> bool {
    e.is_some()
}

/// Placeholder encoder type for decode-only runs (never constructed).
enum NoEncoder {}

impl EncodeStage for NoEncoder {
    fn try_submit(
        &mut self,
        _: crate::api::raw::EncodeInput,
    ) -> std::result::Result<(), crate::api::error::Rejected<crate::api::raw::EncodeInput>> {
        match *self {}
    }
    fn reap_timeout(&mut self, _: Duration) -> Result<Option<crate::api::packet::EncodedChunk>> {
        match *self {}
    }
    fn flush(&mut self) -> Result<()> {
        match *self {}
    }
}

/// What reaches egress.
enum OutputPayload {
    Frame(DecodedFrame),
    Chunk(crate::api::packet::EncodedChunk),
}

/// Where decoded (and transformed) frames go.
#[derive(Clone)]
enum Next {
    Encoder(QueueSender<Item<DecodedFrame>>),
    Egress(QueueSender<Item<OutputPayload>>),
}

impl Next {
    /// Forwards `item`; `false` when downstream is gone.
    fn push(&self, item: Item<DecodedFrame>) -> bool {
        match self {
            Next::Encoder(q) => q.push(restamp(item)).is_ok(),
            Next::Egress(q) => q
                .push(match restamp(item) {
                    Item::Unit(u) => Item::Unit(u.map(OutputPayload::Frame)),
                    Item::Error(s, e) => Item::Error(s, e),
                })
                .is_ok(),
        }
    }
}

/// Restarts a unit's stage clock as it enters a queue.
fn restamp<T>(item: Item<T>) -> Item<T> {
    match item {
        Item::Unit(mut u) => {
            u.since = Instant::now();
            Item::Unit(u)
        }
        e => e,
    }
}

fn transform_job(
    t: Arc<dyn FrameTransform>,
) -> impl Fn(Unit<DecodedFrame>) -> Result<Unit<DecodedFrame>> + Send + Sync + 'static {
    move |unit: Unit<DecodedFrame>| {
        let (head, frame) = unit.split();
        let (frame, _path) = t.apply(frame)?;
        Ok(head.map(|()| frame))
    }
}

fn spawn_worker<'scope>(
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

fn ingest<I: Iterator<Item = Result<IngestItem>>>(
    sh: &Shared<'_>,
    mut source: I,
    out: QueueSender<IngestItem>,
    errors: QueueSender<Item<OutputPayload>>,
) {
    loop {
        if sh.aborted() {
            return;
        }
        let start = Instant::now();
        let Some(next) = source.next() else { return };
        match next {
            Ok(item) => {
                sh.metrics.record(Stage::Ingest, start.elapsed());
                sh.counters.inputs.fetch_add(1, Ordering::Relaxed);
                sh.current_generation
                    .fetch_max(item.generation, Ordering::AcqRel);
                if out.push(item).is_err() {
                    return;
                }
            }
            Err(e) => {
                sh.metrics.record_error(Stage::Ingest);
                let _ = errors.push(Item::Error(Stage::Ingest, e));
                return;
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn decode_submit<D: DecodeStage>(
    sh: &Shared<'_>,
    dec: &Mutex<D>,
    input: QueueReceiver<IngestItem>,
    ctl: Sender<Control>,
    ack: Receiver<()>,
    errors: QueueSender<Item<OutputPayload>>,
) {
    let mut current: Option<(u64, bool)> = None;
    let report = |stage: Stage, e: VideoError| {
        sh.metrics.record_error(stage);
        errors.push(Item::Error(stage, e)).is_ok()
    };
    let mut waiting_since = Instant::now();
    while let Some(item) = input.pop() {
        let queued_for = waiting_since.elapsed();
        let key = (item.generation, item.keep_native);
        if current != Some(key) {
            if current.is_some() {
                // A boundary: drain the decoder so every frame keeps its input's generation.
                let flushed = lock(dec).flush();
                if let Err(e) = flushed
                    && !report(Stage::DecodeSubmit, e)
                {
                    return;
                }
            }
            let boundary = Control::Boundary {
                generation: key.0,
                keep_native: key.1,
            };
            if ctl.send(boundary).is_err() || ack.recv().is_err() {
                return;
            }
        }
        current = Some(key);
        let start = Instant::now();
        let mut pending: DecodeInput = item.input;
        loop {
            if sh.aborted() {
                return;
            }
            let result = lock(dec).try_submit(pending);
            match result {
                Ok(()) => {
                    sh.metrics
                        .record(Stage::DecodeSubmit, queued_for + start.elapsed());
                    break;
                }
                Err(r) if r.kind() == ErrorKind::Backpressure => {
                    pending = r.input;
                    sh.sleep();
                }
                Err(r) => {
                    if !report(Stage::DecodeSubmit, r.error) {
                        return;
                    }
                    break;
                }
            }
        }
        waiting_since = Instant::now();
    }
    let flushed = lock(dec).flush();
    if let Err(e) = flushed {
        report(Stage::DecodeSubmit, e);
    }
    if let Some(counts) = lock(dec).picture_counts() {
        sh.metrics.record_pictures(counts);
    }
    let _ = ctl.send(Control::End);
}

fn decode_reap<D: DecodeStage>(
    sh: &Shared<'_>,
    dec: &Mutex<D>,
    ctl: Receiver<Control>,
    ack: Sender<()>,
    pool: Option<&TransformPool<Unit<DecodedFrame>, Unit<DecodedFrame>>>,
    next: Next,
) {
    let mut current = (0u64, false);
    let mut seq = 0u64;
    let mut waiting_since = Instant::now();
    // Routes one reaped result; `false` when the pipeline should stop.
    let mut route = |result: Result<Option<DecodedFrame>>,
                     current: (u64, bool),
                     waiting_since: &mut Instant|
     -> Option<bool> {
        match result {
            Ok(Some(frame)) => {
                sh.metrics
                    .record(Stage::DecodeReap, waiting_since.elapsed());
                *waiting_since = Instant::now();
                sh.counters.frames_decoded.fetch_add(1, Ordering::Relaxed);
                let unit = Unit::new(current.0, seq, current.1, frame);
                seq += 1;
                Some(forward_frame(sh, unit, pool, &next))
            }
            Ok(None) => None,
            Err(e) => {
                sh.metrics.record_error(Stage::DecodeReap);
                Some(next.push(Item::Error(Stage::DecodeReap, e)))
            }
        }
    };
    loop {
        if sh.aborted() {
            break;
        }
        let control = match ctl.try_recv() {
            Ok(c) => Some(c),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Control::End),
        };
        if let Some(c) = control {
            // The session has been flushed: everything left belongs to `current`.
            loop {
                let r = lock(dec).reap_timeout(Duration::ZERO);
                match route(r, current, &mut waiting_since) {
                    Some(true) => {}
                    Some(false) => return close_pool(pool),
                    None => break,
                }
            }
            match c {
                Control::Boundary {
                    generation,
                    keep_native,
                } => {
                    if keep_native != current.1 {
                        // Keep order across the switch: let the pool empty first.
                        while sh.in_transform.load(Ordering::Acquire) > 0 && !sh.aborted() {
                            sh.sleep();
                        }
                    }
                    current = (generation, keep_native);
                    if ack.send(()).is_err() {
                        break;
                    }
                    continue;
                }
                Control::End => break,
            }
        }
        let r = lock(dec).reap_timeout(Duration::ZERO);
        match route(r, current, &mut waiting_since) {
            Some(true) => {}
            Some(false) => break,
            None => sh.sleep(),
        }
    }
    close_pool(pool);
}

fn close_pool(pool: Option<&TransformPool<Unit<DecodedFrame>, Unit<DecodedFrame>>>) {
    if let Some(p) = pool {
        p.close();
    }
}

/// Sends a decoded frame to the transform pool, or past it (`keep_native`, no transform).
fn forward_frame(
    sh: &Shared<'_>,
    unit: Unit<DecodedFrame>,
    pool: Option<&TransformPool<Unit<DecodedFrame>, Unit<DecodedFrame>>>,
    next: &Next,
) -> bool {
    match pool {
        Some(pool) if !unit.keep_native => {
            if !sh.keep_going(&unit) {
                return true;
            }
            sh.in_transform.fetch_add(1, Ordering::AcqRel);
            let mut unit = unit;
            unit.since = Instant::now();
            if pool.submit(unit).is_err() {
                sh.in_transform.fetch_sub(1, Ordering::AcqRel);
                return false;
            }
            sh.metrics.record_queue_depth(
                Stage::Transform,
                pool.in_flight(),
                Some(sh.config.transform_queue),
            );
            true
        }
        _ => {
            if pool.is_some() {
                sh.metrics.record_transform_path(TransformPath::Skipped);
            }
            next.push(Item::Unit(unit))
        }
    }
}

fn collect_transforms(
    sh: &Shared<'_>,
    pool: &TransformPool<Unit<DecodedFrame>, Unit<DecodedFrame>>,
    next: Next,
) {
    let mut downstream = true;
    while let Some((_, result)) = pool.recv() {
        // After an abort, keep receiving so that the submitter never waits on a credit.
        if downstream && !sh.aborted() {
            let item = match result {
                Ok(unit) => Item::Unit(unit),
                Err(e) => Item::Error(Stage::Transform, e),
            };
            downstream = next.push(item);
        }
        sh.in_transform.fetch_sub(1, Ordering::AcqRel);
    }
}

fn encode_submit<E: EncodeStage>(
    sh: &Shared<'_>,
    enc: &Mutex<E>,
    input: QueueReceiver<Item<DecodedFrame>>,
    fifo: &Mutex<VecDeque<(u64, u64, bool)>>,
    ctl: Sender<Control>,
    errors: QueueSender<Item<OutputPayload>>,
) {
    let report = |stage: Stage, e: VideoError| {
        sh.metrics.record_error(stage);
        errors.push(Item::Error(stage, e)).is_ok()
    };
    while let Some(item) = input.pop() {
        let unit = match item {
            Item::Unit(u) => u,
            Item::Error(stage, e) => {
                if errors.push(Item::Error(stage, e)).is_err() {
                    return;
                }
                continue;
            }
        };
        if !sh.keep_going(&unit) {
            continue;
        }
        let (generation, seq, keep_native, since) =
            (unit.generation, unit.seq, unit.keep_native, unit.since);
        let mut pending = match frame_to_encode_input(unit.item) {
            Ok(i) => i,
            Err(e) => {
                if !report(Stage::EncodeSubmit, e) {
                    return;
                }
                continue;
            }
        };
        loop {
            if sh.aborted() {
                return;
            }
            let mut guard = lock(enc);
            match guard.try_submit(pending) {
                Ok(()) => {
                    lock(fifo).push_back((generation, seq, keep_native));
                    drop(guard);
                    sh.metrics.record(Stage::EncodeSubmit, since.elapsed());
                    break;
                }
                Err(r) if r.kind() == ErrorKind::Backpressure => {
                    drop(guard);
                    pending = r.input;
                    sh.sleep();
                }
                Err(r) => {
                    drop(guard);
                    if !report(Stage::EncodeSubmit, r.error) {
                        return;
                    }
                    break;
                }
            }
        }
    }
    let flushed = lock(enc).flush();
    if let Err(e) = flushed {
        report(Stage::EncodeSubmit, e);
    }
    let _ = ctl.send(Control::End);
}

fn encode_reap<E: EncodeStage>(
    sh: &Shared<'_>,
    enc: &Mutex<E>,
    ctl: Receiver<Control>,
    fifo: &Mutex<VecDeque<(u64, u64, bool)>>,
    out: QueueSender<Item<OutputPayload>>,
) {
    let mut last = (0u64, 0u64, false);
    let mut waiting_since = Instant::now();
    let mut ending = false;
    loop {
        if sh.aborted() {
            return;
        }
        if !ending {
            ending = !matches!(ctl.try_recv(), Err(TryRecvError::Empty));
        }
        let r = lock(enc).reap_timeout(Duration::ZERO);
        match r {
            Ok(Some(chunk)) => {
                sh.metrics
                    .record(Stage::EncodeReap, waiting_since.elapsed());
                waiting_since = Instant::now();
                // One chunk per picture: the oldest picture submitted is this chunk's source.
                if let Some(tag) = lock(fifo).pop_front() {
                    last = tag;
                }
                let (generation, seq, keep_native) = last;
                let unit = Unit::new(generation, seq, keep_native, OutputPayload::Chunk(chunk));
                if out.push(Item::Unit(unit)).is_err() {
                    return;
                }
            }
            Ok(None) if ending => return,
            Ok(None) => sh.sleep(),
            Err(e) => {
                sh.metrics.record_error(Stage::EncodeReap);
                if out.push(Item::Error(Stage::EncodeReap, e)).is_err() {
                    return;
                }
            }
        }
    }
}

fn egress<K: FnMut(Output) -> Result<()>>(
    sh: &Shared<'_>,
    input: QueueReceiver<Item<OutputPayload>>,
    mut sink: K,
) {
    loop {
        let item = match input.pop_timeout(Duration::from_millis(50)) {
            Ok(i) => i,
            Err(PopError::Timeout) if sh.aborted() => return,
            Err(PopError::Timeout) => continue,
            Err(PopError::Closed) => return,
        };
        let (out, since) = match item {
            Item::Unit(mut unit) => {
                if sh.is_stale(unit.generation) {
                    if sh.config.stale_policy == StalePolicy::DropAndCount {
                        sh.counters.stale_dropped.fetch_add(1, Ordering::Relaxed);
                        sh.metrics.record_stale(true);
                        continue;
                    }
                    unit.stale = true;
                    sh.counters.stale_delivered.fetch_add(1, Ordering::Relaxed);
                    sh.metrics.record_stale(false);
                }
                let since = unit.since;
                let (head, payload) = unit.split();
                let out = match payload {
                    OutputPayload::Frame(f) => {
                        sh.counters.frames_delivered.fetch_add(1, Ordering::Relaxed);
                        Output::Frame(head.map(|()| f))
                    }
                    OutputPayload::Chunk(c) => {
                        sh.counters.chunks_delivered.fetch_add(1, Ordering::Relaxed);
                        Output::Chunk(head.map(|()| c))
                    }
                };
                (out, Some(since))
            }
            Item::Error(stage, error) => {
                sh.counters.errors.fetch_add(1, Ordering::Relaxed);
                (Output::Error { stage, error }, None)
            }
        };
        if let Err(e) = sink(out) {
            sh.metrics.record_error(Stage::Egress);
            sh.fail(e);
            return;
        }
        if let Some(since) = since {
            sh.metrics.record(Stage::Egress, since.elapsed());
        }
    }
}
