//! The capability guard of a decode session: checks the stream against the serving
//! implementation before the first picture of every sequence, and under `Backend::Auto`
//! hands the stream to the next capable backend, replaying from the last IDR/IRAP.
//!
//! # Replay without loss or duplicates
//! The guard keeps the access units since the last IRAP ([`ReplayBuffer`], bounded by
//! [`REPLAY_MAX_UNITS`] access units and [`REPLAY_MAX_BYTES`] bytes). It counts the pictures
//! fed to the adapter and the frames it produced; at an IRAP, `fed - produced` pictures of
//! the previous sequence are still inside the adapter. At a hop:
//! 1. the old adapter is flushed; of what comes out, the frames still owed from before the
//!    IRAP are delivered and the rest (pictures after the IRAP, to be decoded again) dropped;
//! 2. the new adapter gets every known parameter set, then the buffered access units;
//! 3. the first frames it produces that the old adapter had already delivered after the IRAP
//!    are dropped (both decode exactly, so both put the same pictures in the same order).
//!
//! When more than the bound arrived since the last IRAP, the buffer is dropped: a hop then
//! starts the new adapter at the next IRAP and reports the pictures in between as an error.

use crate::api::error::{ErrorKind, Result, VideoError};
use crate::backend::{Backend, Candidate, DecodeCapability, DecoderBackend, Hop};
use crate::bitstream::AccessUnit;
use crate::bitstream::syntax::{FeatureTrack, syntax};
use std::collections::VecDeque;

/// Most access units kept for a replay (a GOP of 10 s at 60 fps).
pub const REPLAY_MAX_UNITS: usize = 600;
/// Most bytes kept for a replay.
pub const REPLAY_MAX_BYTES: usize = 64 << 20;

/// The access units since the last IRAP.
#[derive(Default)]
pub(crate) struct ReplayBuffer {
    units: Vec<AccessUnit>,
    bytes: usize,
    /// Whether the bound was passed since the last IRAP (the buffer is then empty).
    overflowed: bool,
}

impl ReplayBuffer {
    fn push(&mut self, au: &AccessUnit) {
        if au.keyframe {
            self.units.clear();
            self.bytes = 0;
            self.overflowed = false;
        }
        if self.overflowed {
            return;
        }
        let len: usize = au.nals.iter().map(Vec::len).sum();
        if self.units.len() == REPLAY_MAX_UNITS || self.bytes + len > REPLAY_MAX_BYTES {
            self.units.clear();
            self.bytes = 0;
            self.overflowed = true;
            return;
        }
        self.bytes += len;
        self.units.push(au.clone());
    }
}

/// What the worker does with an access unit the guard admitted.
pub(crate) enum Verdict {
    /// Decode the access unit on the current adapter.
    Decode,
    /// Skip it: the stream is refused and no backend is left.
    Skip,
}

/// Counts that place the adapter's output relative to the last IRAP.
#[derive(Default, Clone, Copy)]
struct Counts {
    /// Pictures fed to the current adapter.
    fed: u64,
    /// Frames the current adapter produced.
    produced: u64,
    /// `produced` when the last IRAP was fed.
    produced_at_irap: u64,
    /// Pictures of the previous sequence inside the adapter when the last IRAP was fed.
    held_at_irap: u64,
}

/// The guard: stream features, the serving capability, the backends left, the replay buffer.
pub(crate) struct Guard {
    tracker: Box<dyn FeatureTrack>,
    capability: DecodeCapability,
    backend: Backend,
    chain: VecDeque<Candidate>,
    replay: ReplayBuffer,
    counts: Counts,
    /// Frames of the new adapter to drop (already delivered by the one before).
    skip: u64,
    /// The refusal in force when no backend was left (access units are skipped).
    refused: bool,
    /// Access units seen so far.
    units: u64,
}

/// The result of a hop: the new adapter, the frames to deliver, an error to report.
pub(crate) struct HopOutcome {
    /// The adapter that serves from now on.
    pub adapter: Box<dyn DecoderBackend>,
    /// The hop to record.
    pub hop: Hop,
}

impl Guard {
    /// A guard for `adapter` on `backend`, with `chain` the backends to try next.
    pub fn new(
        codec: crate::api::codec::Codec,
        backend: Backend,
        adapter: &dyn DecoderBackend,
        chain: Vec<Candidate>,
    ) -> Self {
        Self {
            tracker: syntax(codec).feature_track(),
            capability: adapter.capability(),
            backend,
            chain: chain.into(),
            replay: ReplayBuffer::default(),
            counts: Counts::default(),
            skip: 0,
            refused: false,
            units: 0,
        }
    }

    /// Records `au` before it is decoded; `Err` with the refusal when the current adapter
    /// cannot decode the stream from here on exactly.
    pub fn admit(&mut self, au: &AccessUnit) -> std::result::Result<Verdict, VideoError> {
        self.units += 1;
        if au.keyframe {
            self.counts.held_at_irap = self.counts.fed.saturating_sub(self.counts.produced);
            self.counts.produced_at_irap = self.counts.produced;
        }
        self.replay.push(au);
        if let Some(features) = self.tracker.observe(au) {
            match self.capability.check(features) {
                Ok(()) => self.refused = false,
                // Reported once, until a sequence is accepted again.
                Err(_) if self.refused => {}
                Err(e) => return Err(e),
            }
        }
        Ok(if self.refused {
            Verdict::Skip
        } else {
            Verdict::Decode
        })
    }

    /// Counts a picture fed to the adapter.
    pub fn fed(&mut self, au: &AccessUnit) {
        if au.has_picture() {
            self.counts.fed += 1;
        }
    }

    /// Filters the frames the adapter produced: drops those already delivered before a hop.
    pub fn produced<T>(&mut self, frames: &mut Vec<T>) {
        self.counts.produced += frames.len() as u64;
        let drop = (self.skip as usize).min(frames.len());
        frames.drain(..drop);
        self.skip -= drop as u64;
    }

    /// Whether `e`, from the adapter or the check, should move the stream on.
    pub fn can_hop(&self, e: &VideoError) -> bool {
        e.kind() == ErrorKind::Unsupported && !self.chain.is_empty()
    }

    /// Marks the stream refused (no backend left): access units are skipped until a sequence
    /// the adapter accepts.
    pub fn refuse(&mut self) {
        self.refused = true;
    }

    /// Whether the stream is refused (reported once; its pictures are not decoded).
    pub fn is_refused(&self) -> bool {
        self.refused
    }

    /// How many frames of the old adapter's flush are owed from before the last IRAP.
    pub fn owed_before_irap(&self) -> usize {
        let since = self.counts.produced - self.counts.produced_at_irap;
        self.counts.held_at_irap.saturating_sub(since) as usize
    }

    /// Opens the next backend that accepts the stream. `why` is the refusal that caused
    /// the hop. Returns `None` when no backend is left (the caller then reports `why`).
    pub fn next_adapter(&mut self, why: &VideoError) -> Option<HopOutcome> {
        let mut reason = why.to_string();
        while let Some(c) = self.chain.pop_front() {
            let adapter = match (c.factory)() {
                Ok(a) => a,
                Err(e) => {
                    reason = format!("{reason}; {} could not open: {e}", c.backend);
                    continue;
                }
            };
            let capability = adapter.capability();
            if let Some(f) = self.tracker.current()
                && let Err(e) = capability.check(f)
            {
                reason = format!("{reason}; {} refused too: {e}", c.backend);
                continue;
            }
            let hop = Hop {
                from: self.backend,
                to: c.backend,
                reason,
                at_access_unit: self.units.saturating_sub(1),
            };
            let since = self.counts.produced - self.counts.produced_at_irap;
            self.skip = since.saturating_sub(self.counts.held_at_irap);
            self.counts = Counts::default();
            self.capability = capability;
            self.backend = c.backend;
            self.refused = false;
            return Some(HopOutcome { adapter, hop });
        }
        None
    }

    /// The access units to replay on a new adapter (from the last IRAP, the current one
    /// included), or `Err` when the bound was passed since the last IRAP.
    pub fn replay(&mut self) -> Result<Vec<AccessUnit>> {
        if self.replay.overflowed {
            self.skip = 0;
            return Err(VideoError::invalid_bitstream(format!(
                "more than {REPLAY_MAX_UNITS} access units or {} MiB since the last IDR/IRAP: \
                 the pictures before the next one are lost in the backend change",
                REPLAY_MAX_BYTES >> 20
            )));
        }
        Ok(self.replay.units.clone())
    }
}
