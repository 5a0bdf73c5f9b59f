//! The pipeline: bounded queues with depth statistics, in-flight credits, and the
//! [`PipelineScheduler`] that runs decode, transform and encode as separate workers.

mod config;
mod queue;
mod scheduler;
mod stages;
#[cfg(test)]
mod tests;

pub use config::{PipelineConfig, StalePolicy};
// The transform pool's in-flight credits, also the pipeline's (defined in `transform`).
pub use crate::transform::{CreditGuard, Credits};
pub use queue::{BoundedQueue, PopError, QueueReceiver, QueueSender, QueueStats};
pub use scheduler::{PipelineScheduler, PipelineSummary};
pub use stages::{DecodeStage, EncodeStage, FrameTransform, IngestItem, Output, Unit};
