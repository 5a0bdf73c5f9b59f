//! An encode-only lane: pictures from a source -> encode submit -> encode reap -> egress.

use super::config::PipelineConfig;
use super::egress::egress;
use super::encode_workers::{Tags, encode_reap, encode_submit};
use super::lane::RunLane;
use super::queue::{BoundedQueue, QueueSender, QueueStats};
use super::scheduler::PipelineSummary;
use super::shared::{Item, Next, OutputPayload, Shared, ingest, lock, spawn_worker};
use super::stages::{EncodeStage, OutputSink, Unit};
use crate::api::error::Result;
use crate::api::raw::EncodeInput;
use crate::metrics::{Metrics, Stage};
use std::sync::Mutex;
use std::thread::Scope;

/// An encoder and the state its workers share; the workers borrow it while they run.
pub(super) struct EncodeLane<'m, E> {
    shared: Shared<'m>,
    encoder: Mutex<E>,
    fifo: Tags,
    queues: Mutex<Vec<(Stage, QueueStats)>>,
}

impl<'m, E: EncodeStage> EncodeLane<'m, E> {
    /// A lane of `encoder`.
    pub fn new(config: PipelineConfig, metrics: &'m Metrics, encoder: E) -> Self {
        Self {
            shared: Shared::new(config, metrics, false),
            encoder: Mutex::new(encoder),
            fifo: Mutex::default(),
            queues: Mutex::default(),
        }
    }
}

impl<'m, E, S, K> RunLane<(S, K)> for EncodeLane<'m, E>
where
    E: EncodeStage,
    S: Iterator<Item = Result<EncodeInput>> + Send,
    K: OutputSink,
{
    /// Starts the lane's workers in `s`: the pictures of `source` in order to the encoder,
    /// its chunks (and errors) to `sink`.
    fn start<'s>(&'s self, s: &'s Scope<'s, '_>, (source, sink): (S, K)) -> Result<()>
    where
        (S, K): 's,
    {
        let sh = &self.shared;
        let depth = sh.config.queue_depth;
        let (pictures_tx, pictures_rx) = BoundedQueue::<Item<EncodeInput>>::new(depth).split();
        let (egress_tx, egress_rx) = BoundedQueue::<Item<OutputPayload>>::new(depth).split();
        *lock(&self.queues) = vec![
            (Stage::EncodeSubmit, pictures_tx.stats_handle()),
            (Stage::Egress, egress_tx.stats_handle()),
        ];
        let errors = Next::Egress(egress_tx.clone());
        spawn_worker(s, "ingest", move || {
            ingest_pictures(sh, source, pictures_tx, errors)
        })?;
        let (enc, fifo) = (&self.encoder, &self.fifo);
        let (ctl_tx, ctl_rx) = crossbeam_channel::unbounded();
        let errors = Next::Egress(egress_tx.clone());
        spawn_worker(s, "encode-submit", move || {
            encode_submit(sh, enc, pictures_rx, fifo, ctl_tx, errors)
        })?;
        spawn_worker(s, "encode-reap", move || {
            encode_reap(sh, enc, ctl_rx, fifo, egress_tx)
        })?;
        spawn_worker(s, "egress", move || egress(sh, egress_rx, sink))
    }

    fn end(self) -> Result<PipelineSummary> {
        self.shared.finish(&lock(&self.queues))
    }
}

/// Reads the pictures of `source` into the encoder's queue, numbered in order; a source error
/// goes to `errors` and ends the input.
fn ingest_pictures<I: Iterator<Item = Result<EncodeInput>>>(
    sh: &Shared<'_>,
    source: I,
    out: QueueSender<Item<EncodeInput>>,
    errors: Next,
) {
    let mut seq = 0u64;
    ingest(sh, source, errors, |picture| {
        seq += 1;
        out.push(Item::Unit(Unit::new(0, seq - 1, false, picture)))
            .is_ok()
    });
}
