//! The CUDA room of the NVIDIA backend: the driver API through cudarc (opened at run time),
//! the kernels and what runs them.
//!
//! - [`context`]: the primary context shared by every session of the process, a stream per
//!   session, events, device and pinned buffers, PTX kernels, 2-D copies (its items are
//!   re-exported here).
//! - [`surface_pool`]: pooled device buffers behind GPU-resident frames.
//! - [`host_pool`]: recycled, page-locked host planes behind CPU frames.
//! - [`pitch_copy`]: the device-to-device copy kernel (an alternative to the copy engines).
//! - [`rgb`]: NV12/P016 -> RGB by the kernel in `kernels/` (PTX committed; regenerate with
//!   `scripts/build-ptx.py`): the one launch ([`rgb::launch`], [`rgb::copy_to_host`]) used by
//!   the NVDEC output and by [`transform`], and the CPU fallback.
//! - [`transform`]: the TransformLayer's GPU path (GPU frames -> host RGB by the kernel).

mod context;
pub(crate) mod host_pool;
#[cfg(test)]
mod kernel_bench;
pub(crate) mod pitch_copy;
pub(crate) mod rgb;
pub(crate) mod surface_pool;
pub(crate) mod transform;

pub(crate) use context::*;
