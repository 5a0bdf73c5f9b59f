//! The VideoToolbox, Core Media, Core Video and Metal calls the adapters make, behind traits,
//! so that the control logic ([`super::decoder`], [`super::encoder`]) compiles and runs on
//! every platform: against the real calls on Apple targets (`apple/`), against a double of
//! them in tests (`double/`). Only the calls go behind the traits; every decision stays in
//! the control logic.
//!
//! Callbacks: a session created here hands every output-callback delivery (made on
//! VideoToolbox's own thread) to the [`CallbackQueue`] it was given; the worker thread drains
//! it. The frame refcon of `VTDecompressionSessionDecodeFrame` is the submission number.

use super::callback_queue::CallbackQueue;
use super::format_description::FormatInputs;
use super::properties::{PropertyKey, PropertyValue};
use crate::api::codec::{Codec, Timestamp};
use crate::api::error::Result;
use crate::api::frame::{DecodedFrame, GpuSurface, PixelFormat};
use std::sync::Arc;

/// `noErr`.
pub(crate) const NO_ERR: i32 = 0;
/// `kVTInvalidSessionErr`: the session is gone (e.g. after an interruption).
pub(crate) const INVALID_SESSION: i32 = -12903;
/// `kVTPropertyNotSupportedErr`.
pub(crate) const PROPERTY_NOT_SUPPORTED: i32 = -12900;
/// `kVTVideoDecoderBadDataErr`.
pub(crate) const DECODER_BAD_DATA: i32 = -12909;
/// `kVTDecodeInfo_FrameDropped` / `kVTEncodeInfo_FrameDropped` (the same bit in both).
pub(crate) const INFO_FRAME_DROPPED: u32 = 1 << 1;

/// A `CMTime` as the adapters see it: `None` when `kCMTimeFlags_Valid` is clear.
pub(crate) type CmTime = Option<super::timing::CmTimeParts>;

/// One decompression-callback delivery.
pub(crate) struct DecodeDelivery<I> {
    /// The callback's status (`noErr` with an image, or why there is none).
    pub status: i32,
    /// `VTDecodeInfoFlags` bits.
    pub flags: u32,
    /// The decoded image (retained), if any.
    pub image: Option<I>,
    /// Its presentation time.
    pub pts: CmTime,
    /// The frame refcon it was submitted with (the adapter's submission number).
    pub submission: u64,
}

/// One compression-callback delivery.
pub(crate) struct EncodeDelivery<S> {
    /// The callback's status.
    pub status: i32,
    /// `VTEncodeInfoFlags` bits.
    pub flags: u32,
    /// The encoded sample (retained), if any.
    pub sample: Option<S>,
}

/// The queue a decompression session delivers to.
pub(crate) type DecodeQueue<I> = Arc<CallbackQueue<DecodeDelivery<I>>>;
/// The queue a compression session delivers to.
pub(crate) type EncodeQueue<S> = Arc<CallbackQueue<EncodeDelivery<S>>>;

/// What a decoded image says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ImageInfo {
    /// `CVPixelBufferGetWidth`.
    pub width: usize,
    /// `CVPixelBufferGetHeight`.
    pub height: usize,
    /// `CVPixelBufferGetPixelFormatType`.
    pub pixel_format: u32,
    /// The `kCVImageBufferYCbCrMatrixKey` attachment.
    pub matrix: Option<String>,
    /// The `kCVImageBufferColorPrimariesKey` attachment.
    pub primaries: Option<String>,
    /// The `kCVImageBufferTransferFunctionKey` attachment.
    pub transfer: Option<String>,
}

/// One plane of a pixel buffer while its base address is locked: `None` bytes when Core
/// Video gave a null base address.
pub(crate) struct LockedPlane<'a> {
    /// `rows * stride` bytes, or `None`.
    pub bytes: Option<&'a [u8]>,
    /// `CVPixelBufferGetBytesPerRowOfPlane` (row padding included).
    pub stride: usize,
    /// `CVPixelBufferGetHeightOfPlane`.
    pub rows: usize,
}

/// A writable plane of a locked pixel buffer (see [`LockedPlane`]).
pub(crate) struct LockedPlaneMut<'a> {
    /// `rows * stride` bytes, or `None`.
    pub bytes: Option<&'a mut [u8]>,
    /// Bytes per row.
    pub stride: usize,
}

/// Statuses of `CVPixelBufferLockBaseAddress` and `...UnlockBaseAddress` around an access
/// (the access ran only when `lock` is `noErr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LockStatus {
    /// The lock's status.
    pub lock: i32,
    /// The unlock's status (`noErr` when nothing was locked).
    pub unlock: i32,
}

/// The calls of one decoder adapter: format descriptions, decompression sessions, sample
/// buffers and the pixel buffers they emit.
pub(crate) trait DecodeCalls {
    /// `CMVideoFormatDescription`.
    type Format;
    /// `VTDecompressionSession`.
    type Session;
    /// A retained `CVPixelBuffer` that may travel between threads.
    type Image: Send + Sync + 'static;

    /// `CMVideoFormatDescriptionCreateFrom{H264,HEVC}ParameterSets`.
    fn create_format(&mut self, inputs: &FormatInputs) -> Result<Self::Format>;
    /// `VTDecompressionSessionCanAcceptFormatDescription`.
    fn can_accept(&mut self, session: &Self::Session, format: &Self::Format) -> bool;
    /// `VTDecompressionSessionCreate` asking for `pixel_format` (Metal compatible), its
    /// output callback delivering to `queue`.
    fn create_session(
        &mut self,
        format: &Self::Format,
        pixel_format: u32,
        queue: &DecodeQueue<Self::Image>,
    ) -> Result<Self::Session>;
    /// Wraps `sample` (length-prefixed NAL units) in a `CMSampleBuffer` with `pts` and calls
    /// `VTDecompressionSessionDecodeFrame` with temporal processing and `submission` as the
    /// frame refcon. `Ok` holds the call's status and info flags; `Err` a failure building
    /// the sample buffer.
    fn decode_frame(
        &mut self,
        session: &Self::Session,
        format: &Self::Format,
        sample: &[u8],
        pts: Option<Timestamp>,
        submission: u64,
    ) -> Result<(i32, u32)>;
    /// `VTDecompressionSessionWaitForAsynchronousFrames`.
    fn wait_for_asynchronous_frames(&mut self, session: &Self::Session) -> i32;
    /// `VTDecompressionSessionInvalidate`: no callback runs after it returns.
    fn invalidate(&mut self, session: &Self::Session);

    /// Size, pixel format and colour attachments of `image`.
    fn image_info(&self, image: &Self::Image) -> ImageInfo;
    /// Locks `image` read-only, hands its planes to `read`, unlocks.
    fn read_planes(
        &self,
        image: &Self::Image,
        read: &mut dyn FnMut(&[LockedPlane<'_>]),
    ) -> LockStatus;
    /// `image` as a Core Video surface (the surface keeps it retained).
    fn gpu_surface(&self, image: Self::Image) -> GpuSurface;
}

/// The Metal NV12 -> packed RGB conversion of decoded images.
pub(crate) trait MetalCalls<I> {
    /// Converts `image` into `frame`'s target (same size and crop), waiting for the GPU.
    fn convert(&self, image: &I, frame: DecodedFrame) -> Result<DecodedFrame>;
}

/// Opens the Metal converter of a decoder whose output is packed RGB `target`: `Err` when
/// there is no Metal device or the kernel does not build (the decoder then converts on the
/// CPU, counting every such frame).
pub(crate) type MetalOpener<I> = Box<dyn FnOnce(PixelFormat) -> Result<Box<dyn MetalCalls<I>>>>;

/// The calls of one encoder adapter: compression sessions, pixel buffers it fills and the
/// sample buffers it gets back.
pub(crate) trait EncodeCalls {
    /// `VTCompressionSession`.
    type Session;
    /// A `CVPixelBuffer` the encoder fills.
    type Image;
    /// A retained `CMSampleBuffer` that may travel between threads.
    type Sample: Send + 'static;

    /// `VTCompressionSessionCreate`, its output callback delivering to `queue`.
    fn create_session(
        &mut self,
        width: i32,
        height: i32,
        codec: Codec,
        queue: &EncodeQueue<Self::Sample>,
    ) -> Result<Self::Session>;
    /// `VTSessionSetProperty`; the status.
    fn set_property(
        &mut self,
        session: &Self::Session,
        key: PropertyKey,
        value: &PropertyValue,
    ) -> i32;
    /// `VTCompressionSessionPrepareToEncodeFrames`.
    fn prepare(&mut self, session: &Self::Session) -> i32;
    /// `CVPixelBufferCreate`.
    fn create_image(&mut self, width: usize, height: usize, fourcc: u32) -> Result<Self::Image>;
    /// Sets the colour attachments (`ShouldPropagate`) that are `Some`:
    /// matrix, primaries, transfer.
    fn attach_color(&mut self, image: &Self::Image, values: [Option<&'static str>; 3]);
    /// Locks `image` for writing, hands its planes (one for packed formats) to `write`,
    /// unlocks; `Ok` holds the lock statuses, `Err` what `write` returned.
    fn write_planes(
        &mut self,
        image: &Self::Image,
        write: &mut dyn FnMut(&mut [LockedPlaneMut<'_>]) -> Result<()>,
    ) -> (LockStatus, Result<()>);
    /// `VTCompressionSessionEncodeFrame` (with `kVTEncodeFrameOptionKey_ForceKeyFrame` when
    /// `force_keyframe`): status and info flags.
    fn encode_frame(
        &mut self,
        session: &Self::Session,
        image: &Self::Image,
        pts: Timestamp,
        duration: Timestamp,
        force_keyframe: bool,
    ) -> (i32, u32);
    /// `VTCompressionSessionCompleteFrames(kCMTimeInvalid)`.
    fn complete_frames(&mut self, session: &Self::Session) -> i32;
    /// `VTCompressionSessionInvalidate`.
    fn invalidate(&mut self, session: &Self::Session);

    /// The bytes of the sample's data buffer.
    fn sample_data(&self, sample: &Self::Sample) -> Result<Vec<u8>>;
    /// The parameter sets of the sample's format description and its NAL length size.
    fn sample_parameter_sets(
        &self,
        sample: &Self::Sample,
        codec: Codec,
    ) -> Result<(Vec<Vec<u8>>, i32)>;
    /// Presentation and decode time of the sample.
    fn sample_times(&self, sample: &Self::Sample) -> (CmTime, CmTime);
}
