//! The egress worker: applies the stale policy a last time and hands everything to the sink.

use super::config::StalePolicy;
use super::queue::{PopError, QueueReceiver};
use super::shared::{Item, OutputPayload, Shared};
use super::stages::Output;
use crate::api::error::Result;
use crate::metrics::Stage;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Hands every item to `sink` in arrival order; a sink error stops the lane.
pub(super) fn egress<K: FnMut(Output) -> Result<()>>(
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
