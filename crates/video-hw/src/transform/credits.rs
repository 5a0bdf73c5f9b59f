//! In-flight credits: at most `capacity` units out at once, each released by dropping its
//! guard.

use crossbeam_channel::{Receiver, Sender, bounded};
use std::time::Duration;

/// A pool of in-flight credits. Clones share the pool.
#[derive(Debug, Clone)]
pub struct Credits {
    give: Sender<()>,
    take: Receiver<()>,
    capacity: usize,
}

/// One credit; dropping it gives the credit back.
#[derive(Debug)]
#[must_use = "dropping the guard releases the credit at once"]
pub struct CreditGuard {
    give: Sender<()>,
}

impl Drop for CreditGuard {
    fn drop(&mut self) {
        // Cannot be full: only guards put tokens back, one each.
        let _ = self.give.try_send(());
    }
}

impl Credits {
    /// A pool of `capacity` credits (at least 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let (give, take) = bounded(capacity);
        for _ in 0..capacity {
            let _ = give.try_send(());
        }
        Self {
            give,
            take,
            capacity,
        }
    }

    fn guard(&self) -> CreditGuard {
        CreditGuard {
            give: self.give.clone(),
        }
    }

    /// Takes a credit, waiting as long as it takes.
    pub fn acquire(&self) -> CreditGuard {
        // Both ends live in `self`: recv cannot see a disconnected channel.
        let _ = self.take.recv();
        self.guard()
    }

    /// Takes a credit if one is free now.
    pub fn try_acquire(&self) -> Option<CreditGuard> {
        self.take.try_recv().ok().map(|()| self.guard())
    }

    /// Takes a credit, waiting at most `timeout`.
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<CreditGuard> {
        self.take.recv_timeout(timeout).ok().map(|()| self.guard())
    }

    /// Credits free now.
    pub fn available(&self) -> usize {
        self.take.len()
    }

    /// Credits taken now.
    pub fn in_use(&self) -> usize {
        self.capacity - self.available()
    }

    /// The size of the pool.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn credits_run_out_and_come_back_when_guards_drop() {
        let c = Credits::new(2);
        let a = c.try_acquire().expect("first credit");
        let b = c.acquire();
        assert_eq!((c.in_use(), c.available()), (2, 0));
        assert!(c.try_acquire().is_none());
        assert!(c.acquire_timeout(Duration::from_millis(5)).is_none());
        drop(a);
        assert_eq!(c.available(), 1);
        let again = c.try_acquire().expect("released credit is reusable");
        drop((b, again));
        assert_eq!((c.in_use(), c.capacity()), (0, 2));
    }

    #[test]
    fn acquire_waits_for_a_release_on_another_thread() {
        let c = Credits::new(1);
        let held = c.acquire();
        let start = Instant::now();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            drop(held);
        });
        let _g = c.acquire();
        assert!(start.elapsed() >= Duration::from_millis(20));
        releaser.join().unwrap();
    }
}
