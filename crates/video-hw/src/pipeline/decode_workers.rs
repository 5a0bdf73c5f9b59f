//! The workers in front of the encoder: ingest, decode submit, decode reap, and the collector
//! of the transform pool.

use super::queue::{QueueReceiver, QueueSender};
use super::shared::{
    Control, FramePool, Next, Shared, Submitted, ingest, lock, submit_until_taken,
};
use super::stages::{DecodeStage, IngestItem, Unit};
use crate::api::error::Result;
use crate::api::frame::DecodedFrame;
use crate::metrics::Stage;
use crate::transform::TransformPath;
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Reads `source` into the decode queue; a source error goes to `errors` and ends the input.
pub(super) fn ingest_inputs<I: Iterator<Item = Result<IngestItem>>>(
    sh: &Shared<'_>,
    source: I,
    out: QueueSender<IngestItem>,
    errors: Next,
) {
    ingest(sh, source, errors, |item: IngestItem| {
        if sh.track_stale {
            sh.current_generation
                .fetch_max(item.generation, Ordering::AcqRel);
        }
        out.push(item).is_ok()
    });
}

/// Submits the inputs to the decoder; at a change of generation (or of `keep_native`) it
/// flushes the decoder and lets the reap worker drain it before going on, so that every
/// frame keeps its input's generation.
pub(super) fn decode_submit<D: DecodeStage>(
    sh: &Shared<'_>,
    dec: &Mutex<D>,
    input: QueueReceiver<IngestItem>,
    ctl: Sender<Control>,
    ack: Receiver<()>,
    errors: Next,
) {
    let mut current: Option<(u64, bool)> = None;
    let mut waiting_since = Instant::now();
    while let Some(item) = input.pop() {
        let queued_for = waiting_since.elapsed();
        let key = (item.generation, item.keep_native);
        if current != Some(key) {
            if let Some((generation, _)) = current {
                // A boundary: drain the decoder so every frame keeps its input's generation.
                let flushed = lock(dec).flush();
                if let Err(e) = flushed
                    && !sh.report(&errors, generation, Stage::DecodeSubmit, e)
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
        match submit_until_taken(sh, item.input, |i| lock(dec).try_submit(i)) {
            Submitted::Taken => sh
                .metrics
                .record(Stage::DecodeSubmit, queued_for + start.elapsed()),
            Submitted::Refused(e) => {
                if !sh.report(&errors, key.0, Stage::DecodeSubmit, e) {
                    return;
                }
            }
            Submitted::Aborted => return,
        }
        waiting_since = Instant::now();
    }
    let flushed = lock(dec).flush();
    if let Err(e) = flushed {
        let generation = current.map_or(0, |(g, _)| g);
        sh.report(&errors, generation, Stage::DecodeSubmit, e);
    }
    if let Some(counts) = lock(dec).picture_counts() {
        sh.metrics.record_pictures(counts);
    }
    let _ = ctl.send(Control::End);
}

/// Reaps the decoder and forwards its frames (to the transform pool or past it), tagged with
/// the generation in force; at a boundary it drains the flushed decoder before adopting the
/// next generation.
pub(super) fn decode_reap<D: DecodeStage>(
    sh: &Shared<'_>,
    dec: &Mutex<D>,
    ctl: Receiver<Control>,
    ack: Sender<()>,
    pool: Option<&FramePool>,
    next: Next,
) {
    // The generation in force, once the first boundary has set one.
    let mut current: Option<(u64, bool)> = None;
    let mut seq = 0u64;
    let mut waiting_since = Instant::now();
    // Routes one reaped result; `Some(false)` when the pipeline should stop, `None` when
    // nothing was ready.
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
            Err(e) => Some(sh.report(&next, current.0, Stage::DecodeReap, e)),
        }
    };
    loop {
        if sh.aborted() {
            break;
        }
        let in_force = current.unwrap_or_default();
        let control = match ctl.try_recv() {
            Ok(c) => Some(c),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Control::End),
        };
        if let Some(c) = control {
            // The session has been flushed: everything left belongs to `current`.
            loop {
                let r = lock(dec).reap_timeout(Duration::ZERO);
                match route(r, in_force, &mut waiting_since) {
                    Some(true) => {}
                    Some(false) => return close_pool(pool),
                    None => break,
                }
            }
            if let Some((generation, _)) = current {
                next.end_generation(generation);
            }
            match c {
                Control::Boundary {
                    generation,
                    keep_native,
                } => {
                    if keep_native != in_force.1 {
                        // Keep order across the switch: let the pool empty first.
                        while sh.in_transform.load(Ordering::Acquire) > 0 && !sh.aborted() {
                            sh.sleep();
                        }
                    }
                    current = Some((generation, keep_native));
                    if ack.send(()).is_err() {
                        break;
                    }
                    continue;
                }
                Control::End => break,
            }
        }
        let r = lock(dec).reap_timeout(Duration::ZERO);
        match route(r, in_force, &mut waiting_since) {
            Some(true) => {}
            Some(false) => break,
            None => sh.sleep(),
        }
    }
    close_pool(pool);
}

fn close_pool(pool: Option<&FramePool>) {
    if let Some(p) = pool {
        p.close();
    }
}

/// Sends a decoded frame to the transform pool, or past it (`keep_native`, no transform).
fn forward_frame(
    sh: &Shared<'_>,
    unit: Unit<DecodedFrame>,
    pool: Option<&FramePool>,
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
            next.push(unit)
        }
    }
}

/// Forwards what the transform pool made, in order.
pub(super) fn collect_transforms(sh: &Shared<'_>, pool: &FramePool, next: Next) {
    let mut downstream = true;
    while let Some((_, result)) = pool.recv() {
        // After an abort, keep receiving so that the submitter never waits on a credit.
        if downstream && !sh.aborted() {
            downstream = match result {
                Ok(unit) => next.push(unit),
                Err(e) => next.push_error(0, Stage::Transform, e),
            };
        }
        sh.in_transform.fetch_sub(1, Ordering::AcqRel);
    }
}
