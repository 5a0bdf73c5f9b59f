//! Diagnostics of the hardware backends, for tools, tests and bug reports: process-wide
//! counters, device memory and the checks of our FFI declarations. Everything here exists
//! where the backend it describes is compiled in (the NVIDIA backend: feature
//! `backend-nvidia` on Linux or Windows).
//!
//! Per-session figures (frames, errors, the conversion path and how each frame took it) are
//! on the sessions themselves: [`crate::DecodeSession::summary`] and
//! [`crate::DecodeSession::metrics`].

/// NVDEC's counters summed over every decode session of the process since it started
/// (sessions, decoders, copies, host buffers, RGB conversions, decode errors); snapshot with
/// [`nvdec_counters`], subtract two snapshots for one run.
#[cfg(all(
    feature = "backend-nvidia",
    any(target_os = "linux", target_os = "windows")
))]
pub use crate::backend::nvidia::stats::NvdecCounters;

/// A snapshot of NVDEC's process-wide counters ([`NvdecCounters`]).
#[cfg(all(
    feature = "backend-nvidia",
    any(target_os = "linux", target_os = "windows")
))]
pub fn nvdec_counters() -> NvdecCounters {
    crate::backend::nvdec_counters()
}

/// NVDEC and GPU utilisation during a run, through NVML ([`utilization_monitor`]).
#[cfg(all(
    feature = "backend-nvidia",
    any(target_os = "linux", target_os = "windows")
))]
pub use crate::backend::utilization_monitor;

/// Free and total memory of CUDA device 0 in bytes (`cuMemGetInfo`), for leak checks.
/// `Unsupported` without the CUDA driver. Keeps device 0's primary context alive for the rest
/// of the process, so that readings are comparable.
#[cfg(all(
    feature = "backend-nvidia",
    any(target_os = "linux", target_os = "windows")
))]
pub fn gpu_memory_info() -> crate::api::error::Result<(usize, usize)> {
    crate::backend::gpu_memory_info()
}

/// Size and field offsets of every NVDEC struct this crate declares, for comparison with the
/// SDK headers (`tests/nvdec_abi.rs`).
#[cfg(all(
    feature = "backend-nvidia",
    any(target_os = "linux", target_os = "windows")
))]
pub fn nvdec_abi_layout() -> Vec<(&'static str, usize)> {
    crate::backend::nvdec_abi_layout()
}

/// Sizes, offsets and constants of every NVENC declaration this crate makes, for comparison
/// with the SDK header (`tests/nvenc_abi.rs`).
#[cfg(all(
    feature = "backend-nvidia",
    any(target_os = "linux", target_os = "windows")
))]
pub fn nvenc_abi_layout() -> Vec<(String, usize)> {
    crate::backend::nvenc_abi_layout()
}

/// Opens an NVENC session for `codec` on device 0 and closes it: `Ok` where NVENC can encode
/// it here, otherwise the error an encode session would get.
#[cfg(all(
    feature = "backend-nvidia",
    any(target_os = "linux", target_os = "windows")
))]
pub fn nvenc_open_check(codec: crate::api::codec::Codec) -> crate::api::error::Result<()> {
    crate::backend::nvenc_open_check(codec)
}
