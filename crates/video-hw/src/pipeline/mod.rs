//! The pipeline: bounded queues with depth statistics, in-flight credits, and the
//! [`PipelineScheduler`] that runs decode, transform and encode as separate workers, for one
//! session, several sessions, or one stream cut into segments ([`decode_segmented`]).

mod config;
mod decode_workers;
mod egress;
mod encode_lane;
mod encode_workers;
mod lane;
#[cfg(test)]
mod opening_tests;
mod parallel_plan;
mod queue;
mod scheduler;
mod segmented;
mod segments;
mod shared;
mod stages;
#[cfg(test)]
mod tests;

pub use config::{PipelineConfig, StalePolicy};
// The transform pool's in-flight credits, also the pipeline's (defined in `transform`).
pub use crate::transform::{CreditGuard, Credits};
pub use parallel_plan::{
    AUTO_MAX_STREAM_BYTES, AUTO_MEMORY_BUDGET, AUTO_MIN_FRAMES_PER_SESSION, ParallelPlan,
    Parallelism,
};
pub use queue::{BoundedQueue, PopError, QueueReceiver, QueueSender, QueueStats};
pub use scheduler::{PipelineScheduler, PipelineSummary, SegmentRun};
pub use segmented::{
    SegmentedConfig, SegmentedSummary, decode_segmented, decode_segmented_from,
    decode_segmented_notified, decode_segmented_with_metrics,
};
pub use segments::SegmentDecoder;
pub use stages::{DecodeStage, EncodeStage, FrameTransform, IngestItem, InputSource, Output, Unit};
