//! The workers of the encoder: encode submit and encode reap.

use super::queue::{QueueReceiver, QueueSender};
use super::shared::{
    Control, Item, Next, OutputPayload, Shared, Submitted, lock, submit_until_taken,
};
use super::stages::{EncodeStage, Unit};
use crate::api::error::{Rejected, Result};
use crate::api::frame::DecodedFrame;
use crate::api::packet::EncodedChunk;
use crate::api::raw::EncodeInput;
use crate::metrics::Stage;
use crate::transform::frame_to_encode_input;
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// The (generation, seq, keep_native) of every picture submitted and not yet reaped.
pub(super) type Tags = Mutex<VecDeque<(u64, u64, bool)>>;

/// Placeholder encoder type for decode-only runs (never constructed).
pub(super) enum NoEncoder {}

impl EncodeStage for NoEncoder {
    fn try_submit(&mut self, _: EncodeInput) -> std::result::Result<(), Rejected<EncodeInput>> {
        match *self {}
    }
    fn reap_timeout(&mut self, _: Duration) -> Result<Option<EncodedChunk>> {
        match *self {}
    }
    fn flush(&mut self) -> Result<()> {
        match *self {}
    }
}

/// What an encode submit worker takes: a decoded frame (transcode runs) or a picture made for
/// the encoder (encode runs).
pub(super) trait Picture: Send {
    /// The picture as the encoder takes it.
    fn into_encode_input(self) -> Result<EncodeInput>;
}

impl Picture for DecodedFrame {
    fn into_encode_input(self) -> Result<EncodeInput> {
        frame_to_encode_input(self)
    }
}

impl Picture for EncodeInput {
    fn into_encode_input(self) -> Result<EncodeInput> {
        Ok(self)
    }
}

/// Converts the pictures for the encoder and submits them, tagging each in `fifo`.
pub(super) fn encode_submit<E: EncodeStage, P: Picture>(
    sh: &Shared<'_>,
    enc: &Mutex<E>,
    input: QueueReceiver<Item<P>>,
    fifo: &Tags,
    ctl: Sender<Control>,
    errors: Next,
) {
    while let Some(item) = input.pop() {
        let unit = match item {
            Item::Unit(u) => u,
            Item::Error(stage, e) => {
                if !errors.push_error(0, stage, e) {
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
        let submitted = match unit.item.into_encode_input() {
            // The tag goes in while the encoder is locked, before its chunk can be reaped.
            Ok(picture) => submit_until_taken(sh, picture, |p| {
                let mut guard = lock(enc);
                guard
                    .try_submit(p)
                    .map(|()| lock(fifo).push_back((generation, seq, keep_native)))
            }),
            Err(e) => Submitted::Refused(e),
        };
        match submitted {
            Submitted::Taken => sh.metrics.record(Stage::EncodeSubmit, since.elapsed()),
            Submitted::Refused(e) => {
                if !sh.report(&errors, generation, Stage::EncodeSubmit, e) {
                    return;
                }
            }
            Submitted::Aborted => return,
        }
    }
    let flushed = lock(enc).flush();
    if let Err(e) = flushed {
        sh.report(&errors, 0, Stage::EncodeSubmit, e);
    }
    let _ = ctl.send(Control::End);
}

/// Reaps the encoder, giving every chunk the tag of the oldest picture submitted.
pub(super) fn encode_reap<E: EncodeStage>(
    sh: &Shared<'_>,
    enc: &Mutex<E>,
    ctl: Receiver<Control>,
    fifo: &Tags,
    out: QueueSender<Item<OutputPayload>>,
) {
    let mut last = (0u64, 0u64, false);
    let mut waiting_since = std::time::Instant::now();
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
                waiting_since = std::time::Instant::now();
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
