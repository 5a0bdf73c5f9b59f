//! A bounded queue (crossbeam-channel underneath) that keeps depth statistics.

use crate::metrics::{DepthStats, QueueDepthReport};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug)]
struct Shared {
    capacity: usize,
    stats: Mutex<DepthStats>,
}

impl Shared {
    fn sample(&self, depth: usize) {
        self.stats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .sample(depth);
    }

    fn report(&self) -> QueueDepthReport {
        self.stats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .report()
    }
}

/// A handle on a queue's depth statistics that keeps neither end open.
#[derive(Debug, Clone)]
pub struct QueueStats {
    shared: Arc<Shared>,
}

impl QueueStats {
    /// Depth statistics so far.
    pub fn report(&self) -> QueueDepthReport {
        self.shared.report()
    }
}

/// Why a pop returned nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopError {
    /// Nothing arrived in time; producers are still there.
    Timeout,
    /// Every producer is gone and the queue is empty.
    Closed,
}

/// A bounded FIFO with depth statistics (mean, p95, peak, sampled each time an item goes in).
/// `push` blocks while the queue is full: that is how backpressure reaches the producer.
///
/// Use it whole (both ends in one value), or [`BoundedQueue::split`] it into a sender and a
/// receiver so that the receiver sees [`PopError::Closed`] once every sender is dropped.
#[derive(Debug)]
pub struct BoundedQueue<T> {
    tx: QueueSender<T>,
    rx: QueueReceiver<T>,
}

/// The producing end; clones share the queue.
#[derive(Debug)]
pub struct QueueSender<T> {
    tx: Sender<T>,
    shared: Arc<Shared>,
}

/// The consuming end; clones share the queue.
#[derive(Debug)]
pub struct QueueReceiver<T> {
    rx: Receiver<T>,
    shared: Arc<Shared>,
}

impl<T> Clone for QueueSender<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<T> Clone for QueueReceiver<T> {
    fn clone(&self) -> Self {
        Self {
            rx: self.rx.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<T> BoundedQueue<T> {
    /// A queue holding at most `capacity` items (at least 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let (tx, rx) = bounded(capacity);
        let shared = Arc::new(Shared {
            capacity,
            stats: Mutex::new(DepthStats::new(Some(capacity))),
        });
        Self {
            tx: QueueSender {
                tx,
                shared: shared.clone(),
            },
            rx: QueueReceiver { rx, shared },
        }
    }

    /// The two ends.
    pub fn split(self) -> (QueueSender<T>, QueueReceiver<T>) {
        (self.tx, self.rx)
    }

    /// Appends `item`, waiting while the queue is full.
    pub fn push(&self, item: T) {
        // The receiver lives in `self`: the channel cannot be disconnected.
        let _ = self.tx.push(item);
    }

    /// Appends `item` if there is room now; gives it back otherwise.
    pub fn try_push(&self, item: T) -> Result<(), T> {
        self.tx.try_push(item)
    }

    /// The oldest item, if any.
    pub fn try_pop(&self) -> Option<T> {
        self.rx.try_pop()
    }

    /// The oldest item, waiting at most `timeout`.
    pub fn pop_timeout(&self, timeout: Duration) -> Option<T> {
        self.rx.pop_timeout(timeout).ok()
    }

    /// Items queued now.
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// Whether the queue is empty now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bound.
    pub fn capacity(&self) -> usize {
        self.tx.shared.capacity
    }

    /// Depth statistics so far.
    pub fn stats(&self) -> QueueDepthReport {
        self.tx.shared.report()
    }

    /// A handle on the statistics that outlives both ends.
    pub fn stats_handle(&self) -> QueueStats {
        QueueStats {
            shared: self.tx.shared.clone(),
        }
    }
}

impl<T> QueueSender<T> {
    /// Appends `item`, waiting while the queue is full. Gives the item back when every
    /// receiver is gone.
    pub fn push(&self, item: T) -> Result<(), T> {
        self.tx.send(item).map_err(|e| e.into_inner())?;
        self.shared.sample(self.tx.len());
        Ok(())
    }

    /// Appends `item` if there is room now; gives it back otherwise.
    pub fn try_push(&self, item: T) -> Result<(), T> {
        match self.tx.try_send(item) {
            Ok(()) => {
                self.shared.sample(self.tx.len());
                Ok(())
            }
            Err(TrySendError::Full(item) | TrySendError::Disconnected(item)) => Err(item),
        }
    }

    /// Items queued now.
    pub fn len(&self) -> usize {
        self.tx.len()
    }

    /// Whether the queue is empty now.
    pub fn is_empty(&self) -> bool {
        self.tx.is_empty()
    }

    /// The bound.
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// Depth statistics so far.
    pub fn stats(&self) -> QueueDepthReport {
        self.shared.report()
    }

    /// A handle on the statistics that keeps neither end open.
    pub fn stats_handle(&self) -> QueueStats {
        QueueStats {
            shared: self.shared.clone(),
        }
    }
}

impl<T> QueueReceiver<T> {
    /// The oldest item, waiting for one; `None` once every sender is gone and the queue is
    /// empty.
    pub fn pop(&self) -> Option<T> {
        self.rx.recv().ok()
    }

    /// The oldest item, waiting at most `timeout`.
    pub fn pop_timeout(&self, timeout: Duration) -> Result<T, PopError> {
        self.rx.recv_timeout(timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => PopError::Timeout,
            RecvTimeoutError::Disconnected => PopError::Closed,
        })
    }

    /// The oldest item, if any, now.
    pub fn try_pop(&self) -> Option<T> {
        self.rx.try_recv().ok()
    }

    /// Items queued now.
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// Whether the queue is empty now.
    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }

    /// Depth statistics so far.
    pub fn stats(&self) -> QueueDepthReport {
        self.shared.report()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn queue_statistics_track_mean_p95_and_peak() {
        let q = BoundedQueue::new(8);
        // Depths after each push: 1, 2, 3, 4, then pop everything, then 1.
        for i in 0..4 {
            q.push(i);
        }
        while q.try_pop().is_some() {}
        q.push(9);
        let s = q.stats();
        assert_eq!(s.samples, 5);
        assert_eq!(s.peak, 4);
        assert_eq!(s.capacity, Some(8));
        assert!((s.mean - 11.0 / 5.0).abs() < 1e-9, "{s:?}");
        assert_eq!(s.p95, 4);
    }

    #[test]
    fn full_queue_refuses_try_push_and_keeps_fifo_order() {
        let q = BoundedQueue::new(2);
        q.push('a');
        q.push('b');
        assert_eq!(q.try_push('c'), Err('c'));
        assert_eq!(q.try_pop(), Some('a'));
        assert!(q.try_push('c').is_ok());
        assert_eq!(q.try_pop(), Some('b'));
        assert_eq!(q.try_pop(), Some('c'));
        assert_eq!(q.pop_timeout(Duration::from_millis(1)), None);
    }

    #[test]
    fn receiver_sees_closed_after_the_last_sender_drops() {
        let (tx, rx) = BoundedQueue::new(4).split();
        let tx2 = tx.clone();
        tx.push(1).unwrap();
        drop(tx);
        assert_eq!(rx.pop_timeout(Duration::from_millis(1)), Ok(1));
        assert_eq!(
            rx.pop_timeout(Duration::from_millis(1)),
            Err(PopError::Timeout)
        );
        drop(tx2);
        assert_eq!(
            rx.pop_timeout(Duration::from_millis(1)),
            Err(PopError::Closed)
        );
        assert_eq!(rx.pop(), None);
    }

    #[test]
    fn bounded_memory_under_a_slow_consumer() {
        let (tx, rx) = BoundedQueue::new(3).split();
        let producer = std::thread::spawn(move || {
            let start = Instant::now();
            for i in 0..40u32 {
                tx.push(i).unwrap();
            }
            (start.elapsed(), tx.stats())
        });
        let mut got = Vec::new();
        while let Some(v) = rx.pop() {
            std::thread::sleep(Duration::from_millis(1));
            got.push(v);
        }
        let (_, stats) = producer.join().unwrap();
        assert_eq!(got, (0..40).collect::<Vec<_>>());
        assert!(stats.peak <= 3, "{stats:?}");
        // The fast producer was held back: it filled the queue more than once.
        assert_eq!(stats.peak, 3, "{stats:?}");
    }
}
