//! GPU first, CPU as fallback: the [`GpuTransform`] trait that GPU backends implement and the
//! [`Transformer`] that picks a path per frame and counts it.

use super::{TransformSpec, transform_frame};
use crate::api::error::Result;
use crate::api::frame::{DecodedFrame, FrameData};
use crate::metrics::{Metrics, Stage, TransformPath};
use std::sync::Arc;
use std::time::Instant;

/// A GPU implementation of the transform (CUDA kernels on NVIDIA, Metal on Apple: later).
///
/// It is shared by the transform workers, hence `Send + Sync` and `&self`; an implementation
/// that needs exclusive state keeps it behind its own lock or per-thread streams.
pub trait GpuTransform: Send + Sync {
    /// A short name for reports (`cuda`, `metal`).
    fn name(&self) -> &str;

    /// Transforms `frame` on the GPU. `Ok(None)`: this frame is not for the GPU path (e.g. its
    /// pixels are in CPU memory and uploading would not pay); the CPU path takes it and the
    /// transform counts as [`TransformPath::Cpu`]. `Err`: the GPU path failed; the CPU path
    /// takes it and it counts as [`TransformPath::Fallback`].
    fn transform(&self, frame: &DecodedFrame, spec: &TransformSpec)
    -> Result<Option<DecodedFrame>>;
}

/// Runs one [`TransformSpec`] on frames: the GPU path when one is installed and takes the
/// frame, the CPU path otherwise, every outcome counted in [`Metrics`] (path and latency
/// of [`Stage::Transform`]). Cheap to share between threads (`Arc` inside).
#[derive(Clone)]
pub struct Transformer {
    spec: TransformSpec,
    gpu: Option<Arc<dyn GpuTransform>>,
    metrics: Metrics,
}

impl std::fmt::Debug for Transformer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transformer")
            .field("spec", &self.spec)
            .field("gpu", &self.gpu.as_ref().map(|g| g.name().to_string()))
            .finish_non_exhaustive()
    }
}

impl Transformer {
    /// A CPU-only transformer for `spec`, recording into `metrics`.
    pub fn new(spec: TransformSpec, metrics: Metrics) -> Self {
        Self {
            spec,
            gpu: None,
            metrics,
        }
    }

    /// Tries `gpu` first for every frame.
    pub fn with_gpu(mut self, gpu: Arc<dyn GpuTransform>) -> Self {
        self.gpu = Some(gpu);
        self
    }

    /// The spec.
    pub fn spec(&self) -> &TransformSpec {
        &self.spec
    }

    /// Transforms `frame`, returning the result and the path taken. A frame that already is
    /// what the spec asks for comes back unchanged as [`TransformPath::Skipped`].
    pub fn apply(&self, frame: DecodedFrame) -> Result<(DecodedFrame, TransformPath)> {
        let start = Instant::now();
        let result = self.apply_inner(frame);
        match &result {
            Ok((_, path)) => {
                self.metrics.record_transform_path(*path);
                self.metrics.record(Stage::Transform, start.elapsed());
            }
            Err(_) => self.metrics.record_error(Stage::Transform),
        }
        result
    }

    fn apply_inner(&self, frame: DecodedFrame) -> Result<(DecodedFrame, TransformPath)> {
        let cpu_pixels = matches!(frame.data, FrameData::Cpu(_));
        if cpu_pixels && self.spec.is_noop_for(frame.format, frame.dimensions()) {
            return Ok((frame, TransformPath::Skipped));
        }
        let mut path = TransformPath::Cpu;
        if let Some(gpu) = &self.gpu {
            match gpu.transform(&frame, &self.spec) {
                Ok(Some(out)) => return Ok((out, TransformPath::Gpu)),
                Ok(None) => {}
                Err(_) => path = TransformPath::Fallback,
            }
        }
        Ok((transform_frame(&frame, &self.spec)?, path))
    }
}
