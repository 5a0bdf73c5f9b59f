//! A CPU worker pool: N threads behind a bounded queue, results handed back in submission
//! order.

use super::credits::{CreditGuard, Credits};
use crate::api::error::{Result, VideoError};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded, unbounded};
use std::collections::{BTreeMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The submission number of a job; results come back in ticket order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ticket(pub u64);

type Job<I> = (u64, I);

struct Order<O> {
    next: u64,
    ready: BTreeMap<u64, Result<O>>,
    credits: VecDeque<CreditGuard>,
}

/// Runs a job function on `threads` worker threads named `video-hw-transform-N`.
///
/// At most `capacity` jobs are in flight (queued, running, or done but not yet received):
/// [`TransformPool::submit`] waits for a credit, which [`TransformPool::recv`] gives back, so
/// memory stays bounded. Submit from one thread and receive from another (or use
/// [`TransformPool::try_submit`] and `recv` alternately on one thread). A job that panics
/// yields a `Backend` error in its place.
pub struct TransformPool<I, O> {
    jobs: Mutex<Option<Sender<Job<I>>>>,
    results: Receiver<(u64, Result<O>)>,
    order: Mutex<Order<O>>,
    credits: Credits,
    submitted: AtomicU64,
    closed: AtomicBool,
    threads: Vec<JoinHandle<()>>,
}

impl<I: Send + 'static, O: Send + 'static> TransformPool<I, O> {
    /// A pool of `threads` workers with at most `capacity` jobs in flight, running `job`.
    /// `InvalidInput` when either is 0; `Backend` when a thread cannot be started.
    pub fn new(
        threads: usize,
        capacity: usize,
        job: impl Fn(I) -> Result<O> + Send + Sync + 'static,
    ) -> Result<Self> {
        if threads == 0 || capacity == 0 {
            return Err(VideoError::invalid_input(
                "a transform pool needs at least one thread and one slot",
            ));
        }
        let (jobs_tx, jobs_rx) = bounded::<Job<I>>(capacity);
        let (res_tx, res_rx) = unbounded();
        let job = Arc::new(job);
        let mut handles = Vec::with_capacity(threads);
        for n in 0..threads {
            let (rx, tx, job) = (jobs_rx.clone(), res_tx.clone(), job.clone());
            let handle = std::thread::Builder::new()
                .name(format!("video-hw-transform-{n}"))
                .spawn(move || {
                    while let Ok((seq, input)) = rx.recv() {
                        let out = catch_unwind(AssertUnwindSafe(|| job(input)))
                            .unwrap_or_else(|_| Err(VideoError::backend("transform job panicked")));
                        if tx.send((seq, out)).is_err() {
                            return;
                        }
                    }
                })
                .map_err(|e| VideoError::backend(format!("starting a transform thread: {e}")))?;
            handles.push(handle);
        }
        Ok(Self {
            jobs: Mutex::new(Some(jobs_tx)),
            results: res_rx,
            order: Mutex::new(Order {
                next: 0,
                ready: BTreeMap::new(),
                credits: VecDeque::new(),
            }),
            credits: Credits::new(capacity),
            submitted: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            threads: handles,
        })
    }
}

impl<I, O> TransformPool<I, O> {
    fn send(&self, input: I, credit: CreditGuard) -> std::result::Result<Ticket, I> {
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        let Some(tx) = jobs.as_ref() else {
            return Err(input);
        };
        let seq = self.submitted.load(Ordering::Acquire);
        // The credit goes in line before the job can finish, so that receiving the result
        // always finds it there.
        let order = || self.order.lock().unwrap_or_else(|p| p.into_inner());
        order().credits.push_back(credit);
        // A credit bounds the jobs in flight to the channel's capacity: never blocks here.
        if let Err(e) = tx.send((seq, input)) {
            order().credits.pop_back();
            return Err(e.into_inner().1);
        }
        self.submitted.store(seq + 1, Ordering::Release);
        Ok(Ticket(seq))
    }

    /// Queues `input`, waiting for a free slot. Gives the input back after [`close`](Self::close).
    pub fn submit(&self, input: I) -> std::result::Result<Ticket, I> {
        if self.closed.load(Ordering::Acquire) {
            return Err(input);
        }
        let credit = self.credits.acquire();
        self.send(input, credit)
    }

    /// Queues `input` if a slot is free now; gives it back otherwise.
    pub fn try_submit(&self, input: I) -> std::result::Result<Ticket, I> {
        match self.credits.try_acquire() {
            Some(credit) => self.send(input, credit),
            None => Err(input),
        }
    }

    /// No more jobs: `recv` returns `None` once every submitted job has been received.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// Jobs submitted and not yet received.
    pub fn in_flight(&self) -> usize {
        self.credits.in_use()
    }

    /// The next result in submission order, waiting for it. `None` once the pool is closed and
    /// every result has been received.
    pub fn recv(&self) -> Option<(Ticket, Result<O>)> {
        loop {
            if let Some(r) = self.recv_timeout(Duration::from_millis(20)) {
                return Some(r);
            }
            let order = self.order.lock().unwrap_or_else(|p| p.into_inner());
            if self.closed.load(Ordering::Acquire)
                && order.next >= self.submitted.load(Ordering::Acquire)
            {
                return None;
            }
        }
    }

    /// The next result in submission order, waiting at most `timeout`.
    ///
    /// The order book is locked only to look at it, never while waiting for a result: a
    /// submitter needs the same lock to queue the credit of its job, so waiting with it held
    /// would keep the very job being waited for from being queued (the collector re-taking the
    /// lock at once after each timeout could starve the submitter for good).
    pub fn recv_timeout(&self, timeout: Duration) -> Option<(Ticket, Result<O>)> {
        let order = || self.order.lock().unwrap_or_else(|p| p.into_inner());
        let deadline = std::time::Instant::now() + timeout;
        loop {
            {
                let mut order = order();
                let next = order.next;
                if let Some(out) = order.ready.remove(&next) {
                    order.next += 1;
                    order.credits.pop_front();
                    return Some((Ticket(next), out));
                }
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.results.recv_timeout(left) {
                Ok((seq, out)) => {
                    order().ready.insert(seq, out);
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}

impl<I, O> Drop for TransformPool<I, O> {
    fn drop(&mut self) {
        self.close();
        // Workers finish their current job and see the closed channel.
        while self.results.try_recv().is_ok() {}
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_submission_order() {
        // Earlier jobs sleep longer, so they finish last.
        let pool = Arc::new(
            TransformPool::new(4, 8, |i: u64| {
                std::thread::sleep(Duration::from_millis(8u64.saturating_sub(i)));
                Ok(i * 10)
            })
            .unwrap(),
        );
        let p = pool.clone();
        let producer = std::thread::spawn(move || {
            for i in 0..16u64 {
                p.submit(i).unwrap();
            }
            p.close();
        });
        let mut got = Vec::new();
        while let Some((ticket, out)) = pool.recv() {
            assert_eq!(ticket.0 * 10, *out.as_ref().unwrap());
            got.push(out.unwrap());
        }
        producer.join().unwrap();
        assert_eq!(got, (0..16).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(pool.in_flight(), 0);
    }

    #[test]
    fn in_flight_is_bounded_and_try_submit_reports_full() {
        let pool = TransformPool::new(1, 2, |i: u32| {
            std::thread::sleep(Duration::from_millis(5));
            Ok(i)
        })
        .unwrap();
        assert!(pool.try_submit(1).is_ok());
        assert!(pool.try_submit(2).is_ok());
        assert_eq!(pool.try_submit(3), Err(3));
        assert_eq!(pool.in_flight(), 2);
        assert_eq!(pool.recv().unwrap().1.unwrap(), 1);
        assert!(pool.try_submit(3).is_ok());
        pool.close();
        assert_eq!(pool.submit(4), Err(4));
        let rest: Vec<u32> = std::iter::from_fn(|| pool.recv())
            .map(|r| r.1.unwrap())
            .collect();
        assert_eq!(rest, vec![2, 3]);
    }

    #[test]
    fn a_job_submitted_while_the_collector_waits_is_received_in_that_wait() {
        // The collector waits first, on an empty pool; the job is submitted during the wait.
        // Its result must end that wait: a collector holding the pool's order lock while
        // waiting would block the submit until the wait had timed out empty-handed.
        let pool = Arc::new(TransformPool::new(1, 4, |i: u32| Ok(i + 1)).unwrap());
        let p = pool.clone();
        let collector = std::thread::spawn(move || p.recv_timeout(Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(100));
        pool.submit(41).unwrap();
        let got = collector.join().unwrap();
        assert_eq!(got.map(|(t, r)| (t.0, r.unwrap())), Some((0, 42)));
    }

    #[test]
    fn a_panicking_job_becomes_an_error_in_its_place() {
        let pool = TransformPool::new(2, 4, |i: u32| {
            if i == 1 {
                panic!("job {i} fails");
            }
            Ok(i)
        })
        .unwrap();
        for i in 0..3 {
            pool.submit(i).unwrap();
        }
        pool.close();
        let got: Vec<_> = std::iter::from_fn(|| pool.recv()).collect();
        assert_eq!(got.len(), 3);
        assert!(got[0].1.is_ok() && got[2].1.is_ok());
        assert_eq!(
            got[1].1.as_ref().unwrap_err().kind(),
            crate::ErrorKind::Backend
        );
    }
}
