//! Segmented runs ([`super::PipelineScheduler::run_segments`]): every lane claims the next
//! segment nobody has taken, feeds it to its decoder as one generation, and puts the frames in
//! that segment's bounded queue; the caller reads the queues in segment order.

use super::queue::QueueSender;
use super::shared::{Shared, lock};
use super::stages::{DecodeStage, IngestItem};
use crate::api::error::{Rejected, Result, VideoError};
use crate::api::frame::DecodedFrame;
use crate::api::packet::DecodeInput;
use crate::metrics::PictureCounts;
use crossbeam_channel::{Receiver, Sender, bounded};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The decoder of one lane of a segmented run
/// ([`super::PipelineScheduler::run_segments_opening`]).
pub enum SegmentDecoder<'a, D> {
    /// Open: the lane starts at once.
    Open(D),
    /// Opened on a thread of the run when it starts; the lane claims its first segment once
    /// it is open, so the lanes open meanwhile take the first segments and nobody waits for
    /// the slowest open (creating hardware decoders at once makes each slower: on the H200,
    /// seven NVDEC decoders took 100-170 ms each, one alone 40 ms). A lane whose decoder
    /// fails to open takes no segment; the run fails only when no lane could open.
    Opening(Box<dyn FnOnce() -> Result<D> + Send + 'a>),
}

/// A lane's decoder, empty until it is open.
pub(super) struct Slot<D>(pub Option<D>);

impl<D> Slot<D> {
    fn closed() -> VideoError {
        VideoError::backend("the lane's decoder is not open")
    }
}

impl<D: DecodeStage> DecodeStage for Slot<D> {
    fn try_submit(&mut self, input: DecodeInput) -> std::result::Result<(), Rejected<DecodeInput>> {
        match &mut self.0 {
            Some(d) => d.try_submit(input),
            None => Err(Rejected {
                error: Self::closed(),
                input,
            }),
        }
    }
    fn reap_timeout(&mut self, timeout: std::time::Duration) -> Result<Option<DecodedFrame>> {
        self.0
            .as_mut()
            .map_or_else(|| Err(Self::closed()), |d| d.reap_timeout(timeout))
    }
    fn flush(&mut self) -> Result<()> {
        self.0
            .as_mut()
            .map_or_else(|| Err(Self::closed()), D::flush)
    }
    fn picture_counts(&self) -> Option<PictureCounts> {
        self.0.as_ref().and_then(D::picture_counts)
    }
}

/// What a segment's queue carries: a frame, or an error in its place.
type SegmentItem = Result<DecodedFrame>;

/// The sending ends of the segments' queues, shared by the lanes. A segment's queue closes
/// when its lane has forwarded its last frame, or when every lane is gone.
pub(crate) struct SegmentQueues {
    senders: Vec<Mutex<Option<Sender<SegmentItem>>>>,
}

impl SegmentQueues {
    /// Queues for `segments` segments, each holding up to `frames_ahead` items, and their
    /// receiving ends in segment order.
    pub fn new(segments: usize, frames_ahead: usize) -> (Arc<Self>, Vec<Receiver<SegmentItem>>) {
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..segments)
            .map(|_| {
                let (tx, rx) = bounded(frames_ahead.max(1));
                (Mutex::new(Some(tx)), rx)
            })
            .unzip();
        (Arc::new(Self { senders }), receivers)
    }

    /// Puts `item` in the queue of `segment`, waiting while it is full; `false` when the
    /// caller has gone (or the segment is closed or unknown).
    pub fn push(&self, segment: u64, item: SegmentItem) -> bool {
        let slot = usize::try_from(segment)
            .ok()
            .and_then(|i| self.senders.get(i));
        // Send on a clone: the wait must not hold the slot's lock.
        match slot.and_then(|s| lock(s).clone()) {
            Some(tx) => tx.send(item).is_ok(),
            None => false,
        }
    }

    /// Closes the queue of `segment`: its reader moves on once the queue is empty.
    pub fn close(&self, segment: u64) {
        if let Some(slot) = usize::try_from(segment)
            .ok()
            .and_then(|i| self.senders.get(i))
        {
            lock(slot).take();
        }
    }
}

/// The segments of a run and the index of the next one nobody has claimed.
#[derive(Clone, Copy)]
pub(super) struct SegmentClaims<'a> {
    pub segments: &'a [&'a [u8]],
    pub next: &'a AtomicUsize,
    /// Bytes per input.
    pub chunk_size: usize,
}

impl<'a> SegmentClaims<'a> {
    /// The inputs of the segments one lane claims, each in the generation of its index. A
    /// lane claims its next segment once its decode queue (`gate`) is empty, that is once its
    /// decoder has been offered the whole segment before.
    pub fn inputs<'s>(
        self,
        gate: QueueSender<IngestItem>,
        sh: &'s Shared<'_>,
    ) -> impl Iterator<Item = Result<IngestItem>> + Send + 's
    where
        'a: 's,
    {
        let chunk_size = self.chunk_size.max(1);
        std::iter::from_fn(move || {
            while !gate.is_empty() && !sh.aborted() {
                sh.sleep();
            }
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            self.segments.get(i).map(|data| (i, *data))
        })
        .flat_map(move |(i, data)| {
            data.chunks(chunk_size)
                .map(move |piece| Ok(IngestItem::new(DecodeInput::annexb(piece), i as u64)))
        })
    }
}

/// Hands the items of every segment's queue to `on_item`, segment after segment, but the
/// last `drop_last[i]` frames of segment `i`, and counts the frames; stops at the first error
/// `on_item` returns.
pub(super) fn consume_in_order(
    receivers: Vec<Receiver<SegmentItem>>,
    drop_last: &[usize],
    on_item: &mut dyn FnMut(SegmentItem) -> Result<()>,
) -> Result<u64> {
    let mut frames = 0;
    for (i, rx) in receivers.into_iter().enumerate() {
        let hold = drop_last.get(i).copied().unwrap_or(0);
        let mut held = std::collections::VecDeque::with_capacity(hold + 1);
        // The queue closes when its lane has flushed the segment (or stopped).
        for item in rx {
            if item.is_err() {
                on_item(item)?;
                continue;
            }
            held.push_back(item);
            if held.len() > hold {
                frames += 1;
                on_item(held.pop_front().expect("longer than hold"))?;
            }
        }
    }
    Ok(frames)
}
