//! Damaged input under [`OnError`]: what a decode session skips, conceals and counts.

use super::decode::DecodeSummary;
use crate::api::config::OnError;
use crate::api::error::{ErrorKind, VideoError};

/// Messages of damaged units kept in [`DecodeSummary::damage`] (the first ones).
pub(crate) const KEPT_MESSAGES: usize = 5;

/// A decode session's account of damaged input.
#[derive(Debug)]
pub(crate) struct DamageLedger {
    policy: OnError,
    /// Damaged units since the last flush (they explain pictures that did not come out).
    since_flush: u64,
    /// The current adapter's concealed pictures already added to the summary.
    concealed_seen: u64,
}

impl DamageLedger {
    pub(crate) fn new(policy: OnError) -> Self {
        Self {
            policy,
            since_flush: 0,
            concealed_seen: 0,
        }
    }

    /// Counts `error` as a damaged unit when the policy skips them and it is one (an
    /// `InvalidBitstream` error from decoding an access unit); gives it back otherwise, to be
    /// delivered.
    pub(crate) fn absorb(
        &mut self,
        error: VideoError,
        summary: &mut DecodeSummary,
    ) -> Option<VideoError> {
        if self.policy != OnError::Skip || error.kind() != ErrorKind::InvalidBitstream {
            return Some(error);
        }
        self.since_flush += 1;
        summary.damaged_units += 1;
        if summary.damage.len() < KEPT_MESSAGES {
            summary.damage.push(error.to_string());
        }
        None
    }

    /// Adds the adapter's newly concealed pictures (its running count is `now`).
    pub(crate) fn concealed(&mut self, now: u64, summary: &mut DecodeSummary) {
        summary.pictures_concealed += now.saturating_sub(self.concealed_seen);
        self.concealed_seen = now;
    }

    /// A new adapter (after a hop) starts its count at `now`.
    pub(crate) fn new_adapter(&mut self, now: u64) {
        self.concealed_seen = now;
    }

    /// Damaged units since the last flush.
    pub(crate) fn since_flush(&self) -> u64 {
        self.since_flush
    }

    /// Whether pictures missing at a flush are explained by skipped damage (and so are
    /// counted in the summary rather than delivered as an error).
    pub(crate) fn explains_lost_pictures(&self) -> bool {
        self.policy == OnError::Skip && self.since_flush > 0
    }

    /// A flush ends the stream.
    pub(crate) fn flushed(&mut self) {
        self.since_flush = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_counts_bitstream_damage_and_keeps_the_first_messages() {
        let mut ledger = DamageLedger::new(OnError::Skip);
        let mut summary = DecodeSummary::default();
        for i in 0..7 {
            let e = VideoError::invalid_bitstream(format!("unit {i}"));
            assert!(ledger.absorb(e, &mut summary).is_none());
        }
        assert_eq!(summary.damaged_units, 7);
        assert_eq!(summary.damage.len(), KEPT_MESSAGES);
        assert!(summary.damage[0].contains("unit 0"));
        assert!(ledger.explains_lost_pictures());
        ledger.flushed();
        assert!(!ledger.explains_lost_pictures());
    }

    #[test]
    fn skip_still_delivers_errors_that_are_not_damage() {
        let mut ledger = DamageLedger::new(OnError::Skip);
        let mut summary = DecodeSummary::default();
        let e = ledger.absorb(VideoError::backend("driver gone"), &mut summary);
        assert_eq!(e.map(|e| e.kind()), Some(ErrorKind::Backend));
        assert_eq!(summary.damaged_units, 0);
    }

    #[test]
    fn stop_delivers_every_damaged_unit() {
        let mut ledger = DamageLedger::new(OnError::Stop);
        let mut summary = DecodeSummary::default();
        let e = ledger.absorb(VideoError::invalid_bitstream("bad"), &mut summary);
        assert!(e.is_some());
        assert_eq!(summary.damaged_units, 0);
        assert!(!ledger.explains_lost_pictures());
    }

    #[test]
    fn concealed_pictures_are_added_once_and_restart_with_a_new_adapter() {
        let mut ledger = DamageLedger::new(OnError::Skip);
        let mut summary = DecodeSummary::default();
        ledger.concealed(3, &mut summary);
        ledger.concealed(3, &mut summary);
        ledger.concealed(5, &mut summary);
        assert_eq!(summary.pictures_concealed, 5);
        ledger.new_adapter(0);
        ledger.concealed(2, &mut summary);
        assert_eq!(summary.pictures_concealed, 7);
    }
}
