//! One lane of a run: a decoder (and optionally a transform pool and an encoder) with its
//! workers (ingest, decode submit and reap, transform collector, encode submit and reap,
//! egress) and the bounded queues between them. A run has one lane per decode session.

use super::config::PipelineConfig;
use super::decode_workers::{collect_transforms, decode_reap, decode_submit, ingest_inputs};
use super::egress::egress;
use super::encode_workers::{Tags, encode_reap, encode_submit};
use super::queue::{BoundedQueue, QueueStats};
use super::scheduler::PipelineSummary;
use super::segments::{SegmentClaims, SegmentQueues, Slot};
use super::shared::{FramePool, Item, Next, OutputPayload, Shared, lock, spawn_worker};
use super::stages::{DecodeStage, EncodeStage, FrameTransform, IngestItem, OutputSink, Unit};
use crate::api::error::Result;
use crate::api::frame::DecodedFrame;
use crate::metrics::{Metrics, Stage};
use crate::transform::TransformPool;
use crossbeam_channel::{bounded, unbounded};
use std::sync::{Arc, Mutex};
use std::thread::Scope;

/// A lane as a run starts and ends it; `X` is what its workers take over (source, sink).
pub(super) trait RunLane<X>: Sized {
    /// Starts the lane's workers in `s`.
    fn start<'s>(&'s self, s: &'s Scope<'s, '_>, ends: X) -> Result<()>
    where
        X: 's;
    /// What the lane did, once its workers have ended.
    fn end(self) -> Result<PipelineSummary>;
}

/// Runs the workers of every lane at once and returns the lanes' summaries, in order, once
/// all have ended, or the first lane's error.
pub(super) fn run_lanes<L: RunLane<X>, X>(lanes: Vec<(L, X)>) -> Result<Vec<PipelineSummary>> {
    let (lanes, ends): (Vec<L>, Vec<X>) = lanes.into_iter().unzip();
    std::thread::scope(|s| -> Result<()> {
        for (lane, x) in lanes.iter().zip(ends) {
            lane.start(s, x)?;
        }
        Ok(())
    })?;
    lanes.into_iter().map(L::end).collect()
}

impl<'m, D: DecodeStage, E: EncodeStage, S, K: OutputSink> RunLane<(S, K)> for Lane<'m, D, E>
where
    S: Iterator<Item = Result<IngestItem>> + Send,
{
    fn start<'s>(&'s self, s: &'s Scope<'s, '_>, (source, sink): (S, K)) -> Result<()>
    where
        (S, K): 's,
    {
        self.spawn(s, LaneInput::Items(source), LaneOutput::Sink(sink))
    }
    fn end(self) -> Result<PipelineSummary> {
        self.finish()
    }
}

/// What a lane reads.
pub(super) enum LaneInput<'a, S> {
    /// The inputs of a source, in order.
    Items(S),
    /// The segments it claims ([`SegmentClaims::inputs`]).
    Segments(SegmentClaims<'a>),
}

/// Where a lane's output goes.
pub(super) enum LaneOutput<K> {
    /// To a sink called by the lane's egress worker, in the lane's output order.
    Sink(K),
    /// To the queue of each frame's segment (its generation), read by the caller.
    Segments(Arc<SegmentQueues>),
}

/// A lane's stages and the state its workers share; the workers borrow it while they run.
pub(super) struct Lane<'m, D, E> {
    shared: Shared<'m>,
    decoder: Mutex<D>,
    encoder: Option<Mutex<E>>,
    pool: Option<FramePool>,
    fifo: Tags,
    queues: Mutex<Vec<(Stage, QueueStats)>>,
}

impl<'m, D: DecodeStage, E: EncodeStage> Lane<'m, D, E> {
    /// A lane of `decoder` (frames through `transform` on a pool, unless `keep_native`) and
    /// `encoder`. `track_stale`: a higher generation makes lower ones stale.
    pub fn new(
        config: PipelineConfig,
        metrics: &'m Metrics,
        decoder: D,
        transform: Option<Arc<dyn FrameTransform>>,
        encoder: Option<E>,
        track_stale: bool,
    ) -> Result<Self> {
        let pool = match transform {
            Some(t) => Some(TransformPool::new(
                config.transform_threads,
                config.transform_queue,
                transform_job(t),
            )?),
            None => None,
        };
        Ok(Self {
            shared: Shared::new(config, metrics, track_stale),
            decoder: Mutex::new(decoder),
            encoder: encoder.map(Mutex::new),
            pool,
            fifo: Mutex::default(),
            queues: Mutex::default(),
        })
    }

    /// Stops every worker of the lane.
    pub fn abort(&self) {
        self.shared.abort();
    }

    /// Whether the lane was stopped.
    pub fn aborted(&self) -> bool {
        self.shared.aborted()
    }

    /// Starts the lane's workers in `s`, reading `input`.
    pub fn spawn<'s, S, K>(
        &'s self,
        s: &'s Scope<'s, '_>,
        input: LaneInput<'s, S>,
        output: LaneOutput<K>,
    ) -> Result<()>
    where
        S: Iterator<Item = Result<IngestItem>> + Send + 's,
        K: OutputSink + 's,
    {
        let sh = &self.shared;
        let depth = sh.config.queue_depth;
        let (ingest_tx, ingest_rx) = BoundedQueue::<IngestItem>::new(depth).split();
        let mut queues = vec![(Stage::DecodeSubmit, ingest_tx.stats_handle())];
        let (frames_next, errors, sink) = match output {
            LaneOutput::Sink(sink) => {
                let (egress_tx, egress_rx) =
                    BoundedQueue::<Item<OutputPayload>>::new(depth).split();
                queues.push((Stage::Egress, egress_tx.stats_handle()));
                let frames_next = match &self.encoder {
                    Some(enc) => {
                        let (frames_tx, frames_rx) =
                            BoundedQueue::<Item<DecodedFrame>>::new(depth).split();
                        queues.push((Stage::EncodeSubmit, frames_tx.stats_handle()));
                        let (ctl_tx, ctl_rx) = unbounded();
                        let (fifo, errors) = (&self.fifo, Next::Egress(egress_tx.clone()));
                        spawn_worker(s, "encode-submit", move || {
                            encode_submit(sh, enc, frames_rx, fifo, ctl_tx, errors)
                        })?;
                        let to_egress = egress_tx.clone();
                        spawn_worker(s, "encode-reap", move || {
                            encode_reap(sh, enc, ctl_rx, fifo, to_egress)
                        })?;
                        Next::Encoder(frames_tx)
                    }
                    None => Next::Egress(egress_tx.clone()),
                };
                (
                    frames_next,
                    Next::Egress(egress_tx),
                    Some((sink, egress_rx)),
                )
            }
            LaneOutput::Segments(queues) => {
                let next = Next::Segments(queues);
                (next.clone(), next, None)
            }
        };
        *lock(&self.queues) = queues;
        let source: Box<dyn Iterator<Item = Result<IngestItem>> + Send + 's> = match input {
            LaneInput::Items(source) => Box::new(source),
            LaneInput::Segments(claims) => Box::new(claims.inputs(ingest_tx.clone(), sh)),
        };
        let to = errors.clone();
        spawn_worker(s, "ingest", move || {
            ingest_inputs(sh, source, ingest_tx, to)
        })?;
        let dec = &self.decoder;
        let (ctl_tx, ctl_rx) = unbounded();
        let (ack_tx, ack_rx) = bounded(1);
        spawn_worker(s, "decode-submit", move || {
            decode_submit(sh, dec, ingest_rx, ctl_tx, ack_rx, errors)
        })?;
        let pool = self.pool.as_ref();
        let next = frames_next.clone();
        spawn_worker(s, "decode-reap", move || {
            decode_reap(sh, dec, ctl_rx, ack_tx, pool, next)
        })?;
        if let Some(pool) = pool {
            spawn_worker(s, "transform-collect", move || {
                collect_transforms(sh, pool, frames_next)
            })?;
        } else {
            drop(frames_next);
        }
        if let Some((sink, egress_rx)) = sink {
            spawn_worker(s, "egress", move || egress(sh, egress_rx, sink))?;
        }
        Ok(())
    }

    /// What the lane did, once its workers have ended; the queue statistics go to the
    /// metrics. Fails with the sink's error if the sink failed.
    pub fn finish(self) -> Result<PipelineSummary> {
        self.shared.finish(&lock(&self.queues))
    }
}

impl<D, E> Lane<'_, Slot<D>, E> {
    /// Gives the lane its decoder, once it is open.
    pub fn install(&self, decoder: D) {
        lock(&self.decoder).0 = Some(decoder);
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
