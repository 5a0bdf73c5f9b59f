//! How many decode sessions the process holds open on each backend: what an automatic
//! parallel plan ([`crate::ParallelPlan`]) shares the backend's engines with. A session
//! opened by [`crate::DecodeSession::new`] counts from its opening to its drop; the sessions
//! of a segmented decode do not (they are the plan's own).

use crate::backend::Backend;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Open sessions, indexed as [`Backend::CONCRETE`].
static OPEN: [AtomicUsize; Backend::CONCRETE.len()] =
    [const { AtomicUsize::new(0) }; Backend::CONCRETE.len()];

fn slot(backend: Backend) -> Option<&'static AtomicUsize> {
    Backend::CONCRETE
        .iter()
        .position(|b| *b == backend)
        .map(|i| &OPEN[i])
}

/// One open session on a backend, counted until dropped.
#[derive(Debug)]
pub(crate) struct Occupant(Backend);

impl Occupant {
    /// Counts a session on `backend` (a concrete one).
    pub fn enter(backend: Backend) -> Self {
        if let Some(n) = slot(backend) {
            n.fetch_add(1, Ordering::Relaxed);
        }
        Self(backend)
    }
}

impl Drop for Occupant {
    fn drop(&mut self) {
        if let Some(n) = slot(self.0) {
            n.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Sessions open on `backend` now ([`crate::DecodeSession`]s, not those of a segmented
/// decode).
pub fn open_decode_sessions(backend: Backend) -> usize {
    slot(backend).map_or(0, |n| n.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_occupant_counts_while_it_lives() {
        // Other tests of this process open and close sessions at the same time: only what
        // these two occupants add is certain.
        let b = Backend::VideoToolbox;
        let a = Occupant::enter(b);
        let c = Occupant::enter(b);
        assert!(open_decode_sessions(b) >= 2);
        drop((a, c));
    }
}
