//! `video_hw` for Python: the video-hw library's decoders and encoders as a Python
//! extension module (PyO3, stable ABI for Python >= 3.9), built into a wheel by maturin.
//!
//! - [`decoder::VideoDecoder`]: iteration, `len()`, metadata, random access through the MP4
//!   sample index, batches.
//! - [`frame::Frame`] / [`batch::FrameBatch`]: tensors shared through `__array_interface__`
//!   (host) and DLPack (host and CUDA) without a copy.
//! - [`encoder::VideoEncoder`]: frames from NumPy or DLPack to MP4 or Annex-B.
//! - [`errors`]: `video_hw.Error` and one subclass per library error class.
//! - `release_cached_gpu_memory()`: the library's function of that name.
//!
//! Everything is the library's public API; this crate only adapts it to Python's habits.

use pyo3::prelude::*;

mod batch;
mod decoder;
mod dlpack;
mod encoder;
mod errors;
mod frame;
mod parallel;
mod reader;
mod source;
mod tensor;

/// The extension module `video_hw`.
#[pymodule]
fn video_hw(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<decoder::VideoDecoder>()?;
    m.add_class::<decoder::Metadata>()?;
    m.add_class::<decoder::FrameIter>()?;
    m.add_class::<frame::Frame>()?;
    m.add_class::<batch::FrameBatch>()?;
    m.add_class::<encoder::VideoEncoder>()?;
    m.add_function(wrap_pyfunction!(release_cached_gpu_memory, m)?)?;
    errors::register(m)?;
    Ok(())
}

/// Frees the GPU memory the process keeps for later decoders: device buffers of frames
/// already dropped, and the NVDEC decoders of decoders that ended in the last two seconds
/// (kept so that the next decode of the same format creates none). Frames still held keep
/// their memory. Nothing to do without the NVIDIA backend.
#[pyfunction]
fn release_cached_gpu_memory(py: Python<'_>) {
    py.detach(::video_hw::backend::release_cached_gpu_memory);
}
