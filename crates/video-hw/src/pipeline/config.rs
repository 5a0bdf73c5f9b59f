//! Scheduler configuration: sized for the machine by default, every bound settable.

use crate::metrics::PipelineSwitch;
use std::time::Duration;

/// What happens to a unit of an older generation (e.g. frames still in flight after a seek
/// or an encoder switch) when it reaches a later stage. Either way it is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StalePolicy {
    /// Deliver it, counted as `stale.delivered`.
    #[default]
    Deliver,
    /// Drop it at the first stage that sees it is stale, counted as `stale.dropped`.
    DropAndCount,
}

/// Bounds and policies of a [`crate::pipeline::PipelineScheduler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineConfig {
    /// Capacity of each queue between stages (ingest -> decode, -> encode, -> egress).
    pub queue_depth: usize,
    /// Transform worker threads.
    pub transform_threads: usize,
    /// Frames in flight in the transform pool (queued, converting, or waiting to be collected).
    pub transform_queue: usize,
    /// What to do with stale units.
    pub stale_policy: StalePolicy,
    /// How long a reap worker sleeps when its session has nothing ready.
    pub poll_interval: Duration,
}

impl Default for PipelineConfig {
    /// Sized from `std::thread::available_parallelism`: one transform thread per core beyond
    /// the first (at least one), twice that many frames in the pool, queues of 4 + cores.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = cores.saturating_sub(1).max(1);
        Self {
            queue_depth: 4 + cores.min(12),
            transform_threads: threads,
            transform_queue: (2 * threads).max(2),
            stale_policy: StalePolicy::Deliver,
            poll_interval: Duration::from_micros(200),
        }
    }
}

impl PipelineConfig {
    /// Applies what the environment said (`VIDEO_HW_*_PIPELINE_QUEUE=N` sets `queue_depth`).
    pub fn with_switch(mut self, switch: PipelineSwitch) -> Self {
        if let Some(n) = switch.queue_depth {
            self.queue_depth = n;
        }
        self
    }

    /// Sets every queue bound (`queue_depth` and `transform_queue`) at once.
    pub fn with_queue_depth(mut self, depth: usize) -> Self {
        self.queue_depth = depth.max(1);
        self.transform_queue = depth.max(1);
        self
    }

    /// Sets the stale-generation policy.
    pub fn with_stale_policy(mut self, policy: StalePolicy) -> Self {
        self.stale_policy = policy;
        self
    }

    /// Sets the number of transform threads.
    pub fn with_transform_threads(mut self, threads: usize) -> Self {
        self.transform_threads = threads.max(1);
        self
    }

    /// Zero bounds raised to 1.
    pub(crate) fn sanitized(mut self) -> Self {
        self.queue_depth = self.queue_depth.max(1);
        self.transform_threads = self.transform_threads.max(1);
        self.transform_queue = self.transform_queue.max(1);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_positive_and_env_only_fills_the_queue_depth() {
        let d = PipelineConfig::default();
        assert!(d.queue_depth >= 1 && d.transform_threads >= 1 && d.transform_queue >= 1);
        let c = d.with_switch(PipelineSwitch {
            enabled: true,
            queue_depth: Some(3),
        });
        assert_eq!(c.queue_depth, 3);
        assert_eq!(c.transform_threads, d.transform_threads);
        let z = PipelineConfig {
            queue_depth: 0,
            transform_threads: 0,
            transform_queue: 0,
            ..d
        }
        .sanitized();
        assert_eq!(
            (z.queue_depth, z.transform_threads, z.transform_queue),
            (1, 1, 1)
        );
    }
}
