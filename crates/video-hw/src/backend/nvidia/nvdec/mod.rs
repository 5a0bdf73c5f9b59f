//! The NVDEC room: decode through `libnvcuvid`, opened at run time.
//!
//! - [`ffi`]: our declarations of the NVDEC API (checked against the SDK headers by
//!   `tests/nvdec_abi.rs`).
//! - [`calls`]: every cuvid call behind the [`calls::NvdecCalls`] trait, and the real
//!   implementation over the library; `double.rs` (tests only) is the double that runs the
//!   control logic without a GPU (tests in `double_tests.rs`, named `nvdec_double_*`).
//! - [`codec`]: each codec as NVDEC sees it (`cudaVideoCodec`, field codings, the packet).
//! - [`capability`]: what NVDEC decodes here (`cuvidGetDecoderCaps`).
//! - [`options`]: the tuning ([`crate::NvidiaOptions`]) with the environment's overrides.
//! - the decoder's control logic: [`decoder`] (the adapter: parse, collect, flush,
//!   teardown), [`state`], [`callbacks`], [`sequence`] (sequence callback: create or
//!   reconfigure), [`display`] (status, map, unmap of displayed pictures).
//! - [`output`]: copy-out of mapped pictures on the GPU (device buffers, host planes, RGB).
//! - [`shelf`]: idle decoders of ended sessions, kept for the next session of the same format.

mod callbacks;
pub(crate) mod calls;
pub(crate) mod capability;
pub(crate) mod codec;
pub(crate) mod decoder;
mod display;
#[cfg(test)]
mod double;
#[cfg(test)]
mod double_tests;
pub(crate) mod ffi;
#[cfg(test)]
mod gpu_tests;
pub(crate) mod options;
pub(crate) mod output;
mod sequence;
pub(crate) mod shelf;
mod state;
