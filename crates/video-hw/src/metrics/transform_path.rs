//! The path a transform took, the label under which [`super::Metrics`] counts it.

/// Which path a transform took (counted in the metrics report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransformPath {
    /// Done on the GPU.
    Gpu = 0,
    /// Done on the CPU, no GPU path being available for the frame.
    Cpu = 1,
    /// Done on the CPU after the GPU path failed.
    Fallback = 2,
    /// Nothing to do: the frame already is what was asked for, or the unit asked to keep
    /// its native form.
    Skipped = 3,
}
