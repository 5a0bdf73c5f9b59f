//! What the parser callbacks and the decoder share: [`State`], reached by the callbacks
//! through `pUserData`, and [`ActiveDecoder`], the NVDEC decoder of the current sequence.

use super::calls::NvdecCalls;
use super::ffi::{
    CUVIDPARSERDISPINFO, CUvideodecoder, cudaVideoChromaFormat_420,
    cudaVideoChromaFormat_Monochrome,
};
use super::output::Output;
use super::shelf::DecoderKey;
use crate::api::codec::{Codec, Dimensions, Timebase};
use crate::api::color::ColorDescription;
use crate::api::config::NvidiaOptions;
use crate::api::error::VideoError;
use crate::api::frame::CropRect;
use std::collections::VecDeque;

/// NVDEC's ceiling on decode surfaces.
pub(super) const MAX_SURFACES: u32 = 32;

/// The decoder handle and the sequence it was set up for; destroyed on drop.
pub(super) struct ActiveDecoder<C: NvdecCalls> {
    pub calls: C,
    pub handle: CUvideodecoder,
    pub codec: Codec,
    pub bit_depth: u8,
    /// 4:0:0: the chroma planes handed out are filled with the neutral value.
    pub monochrome: bool,
    pub max_width: u32,
    pub max_height: u32,
    pub surfaces: u32,
    /// Coded size now (after any reconfigure).
    pub width: u32,
    pub height: u32,
    /// Visible rectangle inside the coded picture.
    pub display: CropRect,
    pub color: ColorDescription,
}

impl<C: NvdecCalls> ActiveDecoder<C> {
    /// What it was created for, on device `gpu`; `None` once reconfigured to another size
    /// (a session taking it would expect the size it was created for).
    pub fn key(&self, gpu: u32) -> Option<DecoderKey> {
        (self.width == self.max_width && self.height == self.max_height).then_some(DecoderKey {
            gpu,
            codec: self.codec,
            chroma_format: if self.monochrome {
                cudaVideoChromaFormat_Monochrome
            } else {
                cudaVideoChromaFormat_420
            },
            bit_depth: self.bit_depth,
            width: self.max_width,
            height: self.max_height,
            surfaces: self.surfaces,
        })
    }

    /// The handle, no longer destroyed on drop: the caller owns it now.
    pub fn into_handle(mut self) -> CUvideodecoder {
        std::mem::replace(&mut self.handle, std::ptr::null_mut())
    }
}

impl<C: NvdecCalls> Drop for ActiveDecoder<C> {
    fn drop(&mut self) {
        // No frame is mapped here: mapping is scoped to `State::emit`.
        if !self.handle.is_null() {
            self.calls.destroy_decoder(self.handle);
        }
    }
}

/// Everything the parser callbacks touch. Boxed by the decoder, so its address is stable for
/// `pUserData`. Fields drop in order: the decoder before the output's buffers and context.
pub(super) struct State<C: NvdecCalls, O: Output> {
    pub calls: C,
    pub codec: Codec,
    pub timebase: Timebase,
    pub gpu_name: String,
    /// The device it decodes on (`DecoderConfig::gpu`).
    pub gpu: u32,
    /// The tuning in effect (config plus environment overrides).
    pub options: NvidiaOptions,
    pub decoder: Option<ActiveDecoder<C>>,
    /// Pictures displayed by the parser and not yet copied out.
    pub queue: VecDeque<CUVIDPARSERDISPINFO>,
    /// Whether each surface index holds an intra picture.
    pub intra: [bool; MAX_SURFACES as usize],
    /// Errors raised inside callbacks or while copying, in order.
    pub errors: Vec<VideoError>,
    /// Whether any packet since the last flush carried a timestamp.
    pub pts_seen: bool,
    /// Bytes of the packet being parsed.
    pub packet: Vec<u8>,
    /// Coded size and crop of the latest sequence header seen in the input (see
    /// [`super::codec::Packet`]); used when the coded sizes agree.
    pub sps_crop: Option<(Dimensions, CropRect)>,
    /// Frames handed out by this session.
    pub frames: u64,
    pub errors_seen: u64,
    /// The last call was a flush that ended cleanly: every decoded picture was copied out and
    /// the decoder is idle, so it may be left to a later session.
    pub idle: bool,
    /// Pictures NVDEC reported as decoded with concealed errors (`cuvidDecodeStatus_Error_Concealed`).
    pub concealed: u64,
    /// Where mapped pictures are copied to (device buffers, host planes, RGB).
    pub output: O,
}
