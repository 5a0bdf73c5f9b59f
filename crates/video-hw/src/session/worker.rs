//! The worker thread behind every session: a bounded command queue in, a bounded event
//! queue out. `submit` only enqueues; the adapter runs on the worker; `reap` only dequeues.

use crate::api::error::{Rejected, Result, VideoError};
use crossbeam_channel::{
    Receiver, RecvTimeoutError, SendTimeoutError, Sender, TrySendError, bounded,
};
use std::collections::VecDeque;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A message to the worker.
pub(crate) enum Command<I> {
    /// Process one input.
    Work(I),
    /// Drain everything, then answer with [`Event::Flushed`].
    Flush,
}

/// A message from the worker.
pub(crate) enum Event<O> {
    /// One output, or an error the session survived.
    Item(Result<O>),
    /// Everything submitted before the flush has been emitted.
    Flushed,
}

/// The caller's side of a worker: bounded queues plus a local buffer used while flushing.
pub(crate) struct WorkerHandle<I, O> {
    commands: Option<Sender<Command<I>>>,
    events: Receiver<Event<O>>,
    buffered: VecDeque<Result<O>>,
    thread: Option<JoinHandle<()>>,
    submit_timeout: Duration,
    name: &'static str,
}

/// The worker's side: where it reads commands and writes events.
pub(crate) struct WorkerPorts<I, O> {
    /// Commands from the session.
    pub commands: Receiver<Command<I>>,
    /// Events to the session.
    pub events: Sender<Event<O>>,
}

impl<I: Send + 'static, O: Send + 'static> WorkerHandle<I, O> {
    /// Spawns `body` on a named thread. `body` first builds its adapter and reports the
    /// outcome through `ready`; `spawn` returns that outcome.
    pub fn spawn(
        name: &'static str,
        in_flight: usize,
        output_queue: usize,
        submit_timeout: Duration,
        body: impl FnOnce(WorkerPorts<I, O>, Sender<Result<()>>) + Send + 'static,
    ) -> Result<Self> {
        let (cmd_tx, cmd_rx) = bounded(in_flight);
        let (ev_tx, ev_rx) = bounded(output_queue);
        let (ready_tx, ready_rx) = bounded(1);
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                body(
                    WorkerPorts {
                        commands: cmd_rx,
                        events: ev_tx,
                    },
                    ready_tx,
                )
            })
            .map_err(|e| VideoError::backend(format!("cannot start {name} thread: {e}")))?;
        let ready = ready_rx.recv().unwrap_or_else(|_| {
            Err(VideoError::backend(format!(
                "{name} thread ended while starting"
            )))
        });
        let mut handle = Self {
            commands: Some(cmd_tx),
            events: ev_rx,
            buffered: VecDeque::new(),
            thread: Some(thread),
            submit_timeout,
            name,
        };
        match ready {
            Ok(()) => Ok(handle),
            Err(e) => {
                handle.shutdown();
                Err(e)
            }
        }
    }

    fn sender(&self) -> Result<&Sender<Command<I>>> {
        self.commands
            .as_ref()
            .ok_or_else(|| VideoError::backend(format!("{} is shut down", self.name)))
    }

    /// Enqueues `input`, waiting at most the submit timeout for a free credit.
    pub fn submit(&mut self, input: I) -> std::result::Result<(), Rejected<I>> {
        self.send(input, self.submit_timeout)
    }

    /// Enqueues `input` only if a credit is free now.
    pub fn try_submit(&mut self, input: I) -> std::result::Result<(), Rejected<I>> {
        self.send(input, Duration::ZERO)
    }

    fn send(&mut self, input: I, timeout: Duration) -> std::result::Result<(), Rejected<I>> {
        let name = self.name;
        let sender = match self.sender() {
            Ok(s) => s,
            Err(error) => return Err(Rejected { error, input }),
        };
        // Wait for a credit in short slices. While the output queue is full the worker cannot
        // take more input until the caller reaps, so waiting longer would only stall: report
        // backpressure at once instead.
        let deadline = Instant::now() + timeout;
        let mut cmd = Command::Work(input);
        let outcome = loop {
            match sender.try_send(cmd) {
                Ok(()) => break Ok(()),
                Err(TrySendError::Disconnected(c)) => break Err((c, true)),
                Err(TrySendError::Full(c)) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() || self.events.is_full() {
                        break Err((c, false));
                    }
                    match sender.send_timeout(c, left.min(Duration::from_millis(2))) {
                        Ok(()) => break Ok(()),
                        Err(SendTimeoutError::Timeout(c)) => cmd = c,
                        Err(SendTimeoutError::Disconnected(c)) => break Err((c, true)),
                    }
                }
            }
        };
        outcome.map_err(|(cmd, gone)| {
            let Command::Work(input) = cmd else {
                unreachable!("only Work commands are sent here")
            };
            let error = if gone {
                VideoError::backend(format!("{name} worker has stopped"))
            } else {
                VideoError::backpressure(format!(
                    "{name}: every in-flight credit is taken; reap output, then submit again"
                ))
            };
            Rejected { error, input }
        })
    }

    /// The next output if one is ready.
    pub fn try_reap(&mut self) -> Result<Option<O>> {
        if let Some(item) = self.buffered.pop_front() {
            return item.map(Some);
        }
        loop {
            match self.events.try_recv() {
                Ok(Event::Item(item)) => return item.map(Some),
                Ok(Event::Flushed) => continue,
                Err(_) => return Ok(None),
            }
        }
    }

    /// The next output, waiting at most `timeout`.
    pub fn reap_timeout(&mut self, timeout: Duration) -> Result<Option<O>> {
        if let Some(item) = self.buffered.pop_front() {
            return item.map(Some);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Event::Item(item)) => return item.map(Some),
                Ok(Event::Flushed) => continue,
                Err(RecvTimeoutError::Timeout) => return Ok(None),
                Err(RecvTimeoutError::Disconnected) => return Ok(None),
            }
        }
    }

    /// Drains the worker: every output of every input submitted so far ends up in the local
    /// buffer, ready for `try_reap`. Returns once the adapter has flushed.
    pub fn flush(&mut self) -> Result<()> {
        let mut pending = Some(Command::Flush);
        loop {
            if let Some(cmd) = pending.take() {
                match self.sender()?.try_send(cmd) {
                    Ok(()) => {}
                    Err(TrySendError::Full(cmd)) => pending = Some(cmd),
                    Err(TrySendError::Disconnected(_)) => {
                        return Err(VideoError::backend(format!(
                            "{} worker has stopped",
                            self.name
                        )));
                    }
                }
            }
            match self
                .events
                .recv_timeout(Duration::from_millis(if pending.is_some() {
                    1
                } else {
                    100
                })) {
                Ok(Event::Item(item)) => self.buffered.push_back(item),
                Ok(Event::Flushed) if pending.is_none() => return Ok(()),
                Ok(Event::Flushed) => {}
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(VideoError::backend(format!(
                        "{} worker stopped during flush",
                        self.name
                    )));
                }
            }
        }
    }
}

impl<I, O> WorkerHandle<I, O> {
    fn shutdown(&mut self) {
        self.commands = None;
        if let Some(t) = self.thread.take() {
            // Unblock a worker waiting to emit output, then wait for it to finish.
            while !t.is_finished() {
                while self.events.try_recv().is_ok() {}
                std::thread::sleep(Duration::from_millis(1));
            }
            let _ = t.join();
        }
    }
}

impl<I, O> Drop for WorkerHandle<I, O> {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl<I, O> WorkerPorts<I, O> {
    /// Sends an output; `false` when the session is gone and the worker should stop.
    pub fn emit(&self, item: Result<O>) -> bool {
        self.events.send(Event::Item(item)).is_ok()
    }

    /// Says the flush is complete; `false` when the session is gone.
    pub fn flushed(&self) -> bool {
        self.events.send(Event::Flushed).is_ok()
    }

    /// Hands every command to `handle` until it returns `false` (the session is gone) or the
    /// session hangs up: the loop of every worker.
    pub fn serve(&self, mut handle: impl FnMut(Command<I>) -> bool) {
        while let Ok(cmd) = self.commands.recv() {
            if !handle(cmd) {
                return;
            }
        }
    }
}

/// Builds a worker's adapter on the worker thread with `factory` and reports the outcome to
/// the caller waiting in [`WorkerHandle::spawn`] through `ready`; `opened` sees the adapter
/// first (sessions note its implementation name). `None`: the factory failed.
pub(crate) fn open_adapter<A: ?Sized>(
    factory: impl FnOnce() -> Result<Box<A>>,
    ready: &Sender<Result<()>>,
    opened: impl FnOnce(&A),
) -> Option<Box<A>> {
    match factory() {
        Ok(adapter) => {
            opened(&*adapter);
            let _ = ready.send(Ok(()));
            Some(adapter)
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            None
        }
    }
}
