//! Where a mapped picture goes: the [`Output`] trait, between the decoder's control logic and
//! the CUDA copies. [`CudaOutput`] is the real one (device buffers, host planes, RGB by the
//! kernel; [`host`]: the host copies, overlapped with the next packet or not); the NVDEC
//! double brings its own, so that the control logic runs without CUDA.

mod cuda;
mod host;

pub(crate) use cuda::CudaOutput;

use super::ffi::CUvideodecoder;
use super::shelf::DecoderKey;
use crate::api::codec::Timestamp;
use crate::api::color::ColorDescription;
use crate::api::error::{Result, VideoError};
use crate::api::frame::{CropRect, DecodedFrame};
use cudarc::driver::sys::CUstream;

/// A displayed picture, mapped: where its pixels are and what they are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Picture {
    /// Device address of the luma plane (chroma follows at the coded height, rounded even).
    pub ptr: u64,
    pub pitch: usize,
    /// Coded size of the decoder now.
    pub coded_width: u32,
    pub coded_height: u32,
    /// The visible rectangle.
    pub display: CropRect,
    pub color: ColorDescription,
    pub bit_depth: u8,
    /// 4:0:0: no chroma in the surface worth reading; neutral chroma is handed out.
    pub monochrome: bool,
    pub keyframe: bool,
    pub pts: Option<Timestamp>,
}

/// The device side of a decoding session: the context, and the copy-out of mapped pictures
/// into frames, which are handed out in display order.
pub(crate) trait Output {
    /// Makes the session's context current on this thread.
    fn make_current(&self) -> Result<()>;
    /// The stream NVDEC maps pictures on (`CUVIDPROCPARAMS::output_stream`).
    fn map_stream(&self) -> CUstream;
    /// Copies `picture` out; its frame joins the pending ones. Returns once no read of the
    /// mapped surface is in flight, so it may be unmapped, on error paths too.
    fn copy_out(&mut self, picture: &Picture) -> Result<()>;
    /// Frames copied out and not yet handed out.
    fn pending(&self) -> usize;
    /// Hands out pending frames in display order into `out`: every one when `all`, else at
    /// least the first `due` (those pending before the packet), then those already complete.
    /// A frame whose copy failed is dropped and its error pushed to `errors`.
    fn release(
        &mut self,
        out: &mut Vec<DecodedFrame>,
        due: usize,
        all: bool,
        errors: &mut Vec<VideoError>,
    );
    /// Waits for every copy still in flight (before the decoder and the buffers go).
    fn finish(&mut self);
    /// Frames asked for in RGB that were converted on the CPU instead of the kernel.
    fn conversion_fallbacks(&self) -> u64;
    /// An idle decoder made for `key` in this context by a session that ended, if one is
    /// kept ([`super::shelf`]).
    fn take_idle_decoder(&mut self, key: &DecoderKey) -> Option<CUvideodecoder>;
    /// Leaves `handle`, made for `key` in this context and idle (no surface mapped, no
    /// picture in flight), to a later session. Hands it back when it is not kept: the caller
    /// destroys it.
    fn keep_idle_decoder(
        &mut self,
        key: DecoderKey,
        handle: CUvideodecoder,
    ) -> Option<CUvideodecoder>;
}
