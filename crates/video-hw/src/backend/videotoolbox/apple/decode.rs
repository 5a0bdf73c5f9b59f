//! `VTDecompressionSession` decoder adapter.
//!
//! The session is created once the parameter sets are complete (input without them is held);
//! each access unit goes in as one 4-byte length-prefixed `CMSampleBuffer` with its pts. The
//! output callback only retains the image buffer and enqueues it; the worker thread turns
//! queued buffers into frames and releases them in presentation order.

use super::callback::{CallbackQueue, deliver};
use super::cf::{SendPixelBuffer, check, cm_time, created, string_attachment};
use super::metal::MetalConverter;
use crate::api::codec::{Codec, Dimensions, Timestamp};
use crate::api::color::{
    ColorDescription, ColorPrimaries, MatrixCoefficients, TransferCharacteristics,
};
use crate::api::config::{DecodeOutput, DecoderConfig};
use crate::api::error::{Result, VideoError};
use crate::api::frame::{
    CropRect, DecodedFrame, FrameData, GpuApi, GpuSurface, PixelFormat, Plane,
};
use crate::backend::DecoderBackend;
use crate::backend::videotoolbox::color::{from_attachments, nv12_pixel_format};
use crate::backend::videotoolbox::format_description::{
    FormatChange, FormatInputs, ParameterSetTracker,
};
use crate::backend::videotoolbox::reorder::{ReorderBuffer, reorder_depth};
use crate::backend::videotoolbox::sample::pack_for_decoder;
use crate::backend::videotoolbox::timing::from_cmtime;
use crate::bitstream::AccessUnit;
use objc2_core_foundation::{CFBoolean, CFDictionary, CFNumber, CFRetained, CFString, CFType};
use objc2_core_media::{
    CMBlockBuffer, CMFormatDescription, CMSampleBuffer, CMSampleTimingInfo, CMTime, CMTimeFlags,
    CMVideoFormatDescriptionCreateFromH264ParameterSets,
    CMVideoFormatDescriptionCreateFromHEVCParameterSets, kCMBlockBufferAssureMemoryNowFlag,
    kCMTimeInvalid,
};
use objc2_core_video::{
    CVImageBuffer, CVPixelBuffer, CVPixelBufferGetBaseAddressOfPlane,
    CVPixelBufferGetBytesPerRowOfPlane, CVPixelBufferGetHeight, CVPixelBufferGetHeightOfPlane,
    CVPixelBufferGetPixelFormatType, CVPixelBufferGetWidth, CVPixelBufferLockBaseAddress,
    CVPixelBufferLockFlags, CVPixelBufferUnlockBaseAddress, kCVImageBufferColorPrimariesKey,
    kCVImageBufferTransferFunctionKey, kCVImageBufferYCbCrMatrixKey,
    kCVPixelBufferMetalCompatibilityKey, kCVPixelBufferPixelFormatTypeKey,
};
use objc2_video_toolbox::{
    VTDecodeFrameFlags, VTDecodeInfoFlags, VTDecompressionOutputCallbackRecord,
    VTDecompressionSession,
};
use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::Arc;

/// Pictures held while parameter sets are missing before the input counts as undecodable.
const MAX_HELD: usize = 64;

/// One callback delivery.
struct Delivery {
    status: i32,
    flags: VTDecodeInfoFlags,
    image: Option<SendPixelBuffer>,
    pts: CMTime,
    keyframe: bool,
}

/// The decompression output callback: retains the image and enqueues; nothing else.
unsafe extern "C-unwind" fn on_decoded(
    refcon: *mut c_void,
    source_frame_refcon: *mut c_void,
    status: i32,
    flags: VTDecodeInfoFlags,
    image: *mut CVImageBuffer,
    pts: CMTime,
    _duration: CMTime,
) {
    let keyframe = !source_frame_refcon.is_null();
    // SAFETY: `refcon` is the `CallbackQueue<Delivery>` of the adapter's `Arc`, which outlives
    // the session (the session is invalidated, so no callback runs, before the `Arc` is
    // dropped); the image buffer is null or valid for the callback.
    unsafe {
        deliver(refcon, image, |image| Delivery {
            status,
            flags,
            image: image.map(SendPixelBuffer),
            pts,
            keyframe,
        })
    }
}

/// The VideoToolbox decoder of one decode session.
pub(crate) struct VtDecoder {
    codec: Codec,
    timebase: crate::api::codec::Timebase,
    output: DecodeOutput,
    tracker: ParameterSetTracker,
    format: Option<CFRetained<CMFormatDescription>>,
    session: Option<CFRetained<VTDecompressionSession>>,
    queue: Arc<CallbackQueue<Delivery>>,
    reorder: ReorderBuffer<DecodedFrame>,
    /// Access units waiting for parameter sets.
    held: Vec<AccessUnit>,
    /// Frames the decoder reported dropped since the last report.
    dropped: u64,
    metal: Option<MetalConverter>,
}

impl VtDecoder {
    /// A decoder that opens its session once parameter sets arrive.
    pub(crate) fn new(config: DecoderConfig) -> Result<Self> {
        config.validate()?;
        let metal = match config.output {
            DecodeOutput::Cpu(f) if !f.is_yuv() => MetalConverter::new(f).ok(),
            _ => None,
        };
        let mut decoder = Self {
            codec: config.codec,
            timebase: config.timebase,
            output: config.output,
            tracker: ParameterSetTracker::new(config.codec),
            format: None,
            session: None,
            queue: CallbackQueue::new(),
            reorder: ReorderBuffer::new(reorder_depth(None)),
            held: Vec::new(),
            dropped: 0,
            metal,
        };
        if !config.parameter_sets.is_empty() {
            let (mut out, mut bad) = (Vec::new(), None);
            decoder.update_format(&config.parameter_sets, &mut out, &mut bad)?;
            if let Some(e) = bad {
                return Err(e.while_doing("reading the configured parameter sets"));
            }
        }
        Ok(decoder)
    }

    /// Takes in the parameter sets of `nals`; opens or replaces the session when the format
    /// description changes. `Ok(false)` while parameter sets are still incomplete.
    ///
    /// A malformed parameter set is returned in `bad` (it is ignored; the pictures still go
    /// to the decoder with the parameter sets that did parse).
    fn update_format(
        &mut self,
        nals: &[Vec<u8>],
        out: &mut Vec<DecodedFrame>,
        bad: &mut Option<VideoError>,
    ) -> Result<bool> {
        let change = match self.tracker.observe(nals) {
            Ok(change) => change,
            Err(e) => {
                *bad = Some(e);
                // The sets that parsed are stored: see what they amount to.
                self.tracker.observe(&[])?
            }
        };
        let inputs = match change {
            FormatChange::Incomplete => return Ok(false),
            FormatChange::Unchanged => return Ok(true),
            FormatChange::New(inputs) => inputs,
        };
        let format = create_format_description(&inputs)?;
        let keep = self.session.as_ref().is_some_and(|s| {
            // SAFETY: both objects are live Core Media / VideoToolbox objects.
            unsafe { s.can_accept_format_description(&format) }
        });
        if !keep {
            self.close_session(out)?;
            // Pictures of the old session all precede the new one's.
            self.reorder.drain(out);
            self.session = Some(self.open_session(&format)?);
        }
        self.format = Some(format);
        let depth = reorder_depth(self.tracker.stream_info());
        self.reorder.set_depth(depth, out);
        Ok(true)
    }

    fn open_session(
        &self,
        format: &CMFormatDescription,
    ) -> Result<CFRetained<VTDecompressionSession>> {
        let range = self
            .tracker
            .stream_info()
            .map(|i| i.color.range)
            .unwrap_or_default();
        if let Some(info) = self.tracker.stream_info()
            && (info.bit_depth_luma > 8 || info.chroma_format_idc != 1)
        {
            return Err(VideoError::unsupported(format!(
                "VideoToolbox backend: {}-bit chroma format {} output is not wired (NV12 only)",
                info.bit_depth_luma, info.chroma_format_idc
            )));
        }
        let pixel_format = CFNumber::new_i64(i64::from(nv12_pixel_format(range)));
        let keys: [&CFString; 2] = [
            // SAFETY: Core Video's constant keys are valid for the life of the process.
            unsafe { kCVPixelBufferPixelFormatTypeKey },
            // SAFETY: as above.
            unsafe { kCVPixelBufferMetalCompatibilityKey },
        ];
        let values: [&CFType; 2] = [pixel_format.as_ref(), CFBoolean::new(true).as_ref()];
        let attributes = CFDictionary::<CFString, CFType>::from_slices(&keys, &values);
        let record = VTDecompressionOutputCallbackRecord {
            decompressionOutputCallback: Some(on_decoded),
            decompressionOutputRefCon: CallbackQueue::refcon(&self.queue),
        };
        let call = |out| {
            // SAFETY: every pointer is valid for the call; the callback's refcon outlives the
            // session (see `on_decoded`).
            unsafe {
                VTDecompressionSession::create(
                    None,
                    format,
                    None,
                    Some(attributes.as_opaque()),
                    &record,
                    out,
                )
            }
        };
        // SAFETY: on success the create call hands out a +1 reference.
        unsafe { created("VTDecompressionSessionCreate", call) }
    }

    /// Drains and invalidates the current session (frames go to `out`).
    fn close_session(&mut self, out: &mut Vec<DecodedFrame>) -> Result<()> {
        let Some(session) = self.session.take() else {
            return Ok(());
        };
        // SAFETY: live session; waiting emits every delayed frame through the callback.
        let status = unsafe { session.wait_for_asynchronous_frames() };
        // SAFETY: live session; no callback runs after invalidation returns.
        unsafe { session.invalidate() };
        let collected = self.collect(out);
        check("VTDecompressionSessionWaitForAsynchronousFrames", status)?;
        collected
    }

    fn decode_one(&mut self, au: &AccessUnit, out: &mut Vec<DecodedFrame>) -> Result<()> {
        let Some(sample) = pack_for_decoder(au)? else {
            return Ok(());
        };
        let (Some(session), Some(format)) = (&self.session, &self.format) else {
            return Err(VideoError::backend(
                "decoder session missing after parameter sets",
            ));
        };
        let buffer = sample_buffer(&sample, format, au.pts)?;
        let mut info = VTDecodeInfoFlags(0);
        let keyframe_ref = if au.keyframe {
            NonNull::<c_void>::dangling().as_ptr()
        } else {
            std::ptr::null_mut()
        };
        // SAFETY: live session and sample buffer; the refcon is only compared with null by
        // the callback; `info` is a valid out pointer.
        let status = unsafe {
            session.decode_frame(
                &buffer,
                VTDecodeFrameFlags::Frame_EnableTemporalProcessing,
                keyframe_ref,
                &mut info,
            )
        };
        let collected = self.collect(out);
        check("VTDecompressionSessionDecodeFrame", status)?;
        collected
    }

    /// Turns queued deliveries into frames, released in presentation order.
    fn collect(&mut self, out: &mut Vec<DecodedFrame>) -> Result<()> {
        let deliveries = self.queue.take("decoder")?;
        let mut first_error = None;
        for d in deliveries {
            if d.status != 0 {
                first_error.get_or_insert(super::cf::check("decoding a frame", d.status));
                continue;
            }
            let Some(image) = d.image else {
                if d.flags.0 & VTDecodeInfoFlags::FrameDropped.0 != 0 {
                    self.dropped += 1;
                }
                continue;
            };
            let valid = d.pts.flags.0 & CMTimeFlags::Valid.0 != 0;
            let pts = from_cmtime(d.pts.value, d.pts.timescale, valid, self.timebase);
            match self.frame(image, pts, d.keyframe) {
                Ok(frame) => self.reorder.push(pts, frame, out),
                Err(e) => {
                    first_error.get_or_insert(Err(e));
                }
            }
        }
        if self.dropped > 0 {
            let n = std::mem::take(&mut self.dropped);
            first_error.get_or_insert(Err(VideoError::backend(format!(
                "VideoToolbox dropped {n} frame(s)"
            ))));
        }
        first_error.unwrap_or(Ok(()))
    }

    fn frame(
        &self,
        image: SendPixelBuffer,
        pts: Option<Timestamp>,
        keyframe: bool,
    ) -> Result<DecodedFrame> {
        let pb: &CVPixelBuffer = &image.0;
        let width = CVPixelBufferGetWidth(pb);
        let height = CVPixelBufferGetHeight(pb);
        let coded = Dimensions::new(
            u32::try_from(width).unwrap_or(0),
            u32::try_from(height).unwrap_or(0),
        )?;
        let pixel_format = CVPixelBufferGetPixelFormatType(pb);
        // SAFETY: Core Video's constant keys are valid for the life of the process.
        let (mk, pk, tk) = unsafe {
            (
                kCVImageBufferYCbCrMatrixKey,
                kCVImageBufferColorPrimariesKey,
                kCVImageBufferTransferFunctionKey,
            )
        };
        let mut color = from_attachments(
            string_attachment(pb, mk).as_deref(),
            string_attachment(pb, pk).as_deref(),
            string_attachment(pb, tk).as_deref(),
            pixel_format,
        );
        // No attachments: the SPS's VUI (what the session would fill in too), with the
        // range the pixel format carries.
        if color.matrix == MatrixCoefficients::Unspecified
            && color.primaries == ColorPrimaries::Unspecified
            && color.transfer == TransferCharacteristics::Unspecified
            && let Some(info) = self.tracker.stream_info()
        {
            color = ColorDescription {
                range: color.range,
                ..info.color
            };
        }
        // The pixel buffer is the coded picture when it has the SPS's coded size; otherwise
        // VideoToolbox has already applied the crop.
        let crop = match self.tracker.stream_info() {
            Some(info) if info.coded == coded => info.crop,
            _ => CropRect::full(coded),
        };
        let mut frame = DecodedFrame {
            format: PixelFormat::Nv12,
            coded,
            crop,
            color,
            pts,
            keyframe,
            data: FrameData::MetadataOnly,
        };
        match self.output {
            DecodeOutput::MetadataOnly => {}
            DecodeOutput::Gpu => {
                frame.data = FrameData::Gpu(GpuSurface {
                    api: GpuApi::CoreVideo,
                    planes: vec![CFRetained::as_ptr(&image.0).as_ptr() as u64],
                    pitches: (0..2)
                        .map(|i| CVPixelBufferGetBytesPerRowOfPlane(pb, i))
                        .collect(),
                    stream: 0,
                    keepalive: Box::new(image),
                });
            }
            DecodeOutput::Cpu(target) if !target.is_yuv() => {
                if let Some(metal) = &self.metal {
                    return metal.convert(pb, frame);
                }
                // No Metal device: NV12 goes to the session, whose CPU transform converts.
                frame.data = FrameData::Cpu(copy_nv12(pb)?);
            }
            DecodeOutput::Native | DecodeOutput::Cpu(_) => {
                frame.data = FrameData::Cpu(copy_nv12(pb)?);
            }
        }
        Ok(frame)
    }
}

impl DecoderBackend for VtDecoder {
    fn decode(&mut self, au: &AccessUnit, out: &mut Vec<DecodedFrame>) -> Result<()> {
        let mut bad = None;
        if !self.update_format(&au.nals, out, &mut bad)? {
            if au.has_picture() {
                if self.held.len() >= MAX_HELD {
                    let n = self.held.len();
                    self.held.clear();
                    return Err(VideoError::invalid_bitstream(format!(
                        "{n} pictures arrived without complete parameter sets: not decodable"
                    )));
                }
                self.held.push(au.clone());
            }
            return bad.map_or(Ok(()), Err);
        }
        let mut first_error = None;
        for held in std::mem::take(&mut self.held).iter().chain([au]) {
            if let Err(e) = self.decode_one(held, out) {
                first_error.get_or_insert(e);
            }
        }
        match bad.or(first_error) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn flush(&mut self, out: &mut Vec<DecodedFrame>) -> Result<()> {
        let held = std::mem::take(&mut self.held);
        let mut result = Ok(());
        if let Some(session) = &self.session {
            // SAFETY: live session; returns once every delayed frame went to the callback.
            let status = unsafe { session.wait_for_asynchronous_frames() };
            result = check("VTDecompressionSessionWaitForAsynchronousFrames", status);
        }
        let collected = self.collect(out);
        self.reorder.drain(out);
        result?;
        collected?;
        if !held.is_empty() {
            return Err(VideoError::invalid_bitstream(format!(
                "{} picture(s) arrived without complete parameter sets and were not decoded",
                held.len()
            )));
        }
        Ok(())
    }

    fn implementation(&self) -> String {
        "videotoolbox".to_string()
    }

    fn capability(&self) -> crate::backend::DecodeCapability {
        crate::backend::videotoolbox::capability::decode_capability(self.codec)
    }
}

impl Drop for VtDecoder {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            // SAFETY: live session; after invalidation no callback touches `self.queue`.
            unsafe { session.invalidate() };
        }
    }
}

/// A format description from the parameter sets.
fn create_format_description(inputs: &FormatInputs) -> Result<CFRetained<CMFormatDescription>> {
    let pointers: Vec<NonNull<u8>> = inputs
        .parameter_sets
        .iter()
        .map(|p| NonNull::from(p.as_slice()).cast::<u8>())
        .collect();
    let sizes: Vec<usize> = inputs.parameter_sets.iter().map(Vec::len).collect();
    if pointers.is_empty() {
        return Err(VideoError::invalid_bitstream("no parameter sets"));
    }
    let mut format: *const CMFormatDescription = std::ptr::null();
    let ptrs = NonNull::from(pointers.as_slice()).cast::<NonNull<u8>>();
    let lens = NonNull::from(sizes.as_slice()).cast::<usize>();
    // SAFETY: `pointers` and `sizes` hold `len` valid entries that outlive the call; the
    // parameter sets are not written through; `format` receives a +1 reference.
    let status = unsafe {
        match inputs.codec {
            Codec::H264 => CMVideoFormatDescriptionCreateFromH264ParameterSets(
                None,
                pointers.len(),
                ptrs,
                lens,
                inputs.nal_unit_header_length,
                NonNull::from(&mut format),
            ),
            // HEVC: sessions exist for H.264 and HEVC only (`codec_type`).
            _ => CMVideoFormatDescriptionCreateFromHEVCParameterSets(
                None,
                pointers.len(),
                ptrs,
                lens,
                inputs.nal_unit_header_length,
                None,
                NonNull::from(&mut format),
            ),
        }
    };
    check("CMVideoFormatDescriptionCreateFromParameterSets", status)?;
    let format = NonNull::new(format.cast_mut())
        .ok_or_else(|| VideoError::backend("no format description returned"))?;
    // SAFETY: the create call returned a +1 reference that we now own.
    Ok(unsafe { CFRetained::from_raw(format) })
}

/// A ready `CMSampleBuffer` holding a copy of `sample`.
fn sample_buffer(
    sample: &[u8],
    format: &CMFormatDescription,
    pts: Option<Timestamp>,
) -> Result<CFRetained<CMSampleBuffer>> {
    let mut block: *mut CMBlockBuffer = std::ptr::null_mut();
    // SAFETY: a null memory block with the default allocator makes Core Media allocate
    // `sample.len()` bytes now (AssureMemoryNow); `block` receives a +1 reference.
    let status = unsafe {
        CMBlockBuffer::create_with_memory_block(
            None,
            std::ptr::null_mut(),
            sample.len(),
            None,
            std::ptr::null(),
            0,
            sample.len(),
            kCMBlockBufferAssureMemoryNowFlag,
            NonNull::from(&mut block),
        )
    };
    check("CMBlockBufferCreateWithMemoryBlock", status)?;
    let block = NonNull::new(block).ok_or_else(|| {
        VideoError::backend("CMBlockBufferCreateWithMemoryBlock returned nothing")
    })?;
    // SAFETY: +1 reference from the create call.
    let block = unsafe { CFRetained::from_raw(block) };
    // SAFETY: the block holds exactly `sample.len()` bytes; the source is valid for reads.
    let status = unsafe {
        CMBlockBuffer::replace_data_bytes(
            NonNull::from(sample).cast::<c_void>(),
            &block,
            0,
            sample.len(),
        )
    };
    check("CMBlockBufferReplaceDataBytes", status)?;
    let pts = match pts {
        Some(ts) => cm_time(ts),
        // SAFETY: a constant defined by Core Media.
        None => unsafe { kCMTimeInvalid },
    };
    let timing = CMSampleTimingInfo {
        // SAFETY: as above.
        duration: unsafe { kCMTimeInvalid },
        presentationTimeStamp: pts,
        // SAFETY: as above.
        decodeTimeStamp: unsafe { kCMTimeInvalid },
    };
    let size = sample.len();
    let mut buffer: *mut CMSampleBuffer = std::ptr::null_mut();
    // SAFETY: one sample with one timing entry and one size entry, all valid for the call;
    // `buffer` receives a +1 reference.
    let status = unsafe {
        CMSampleBuffer::create_ready(
            None,
            Some(&block),
            Some(format),
            1,
            1,
            &timing,
            1,
            &size,
            NonNull::from(&mut buffer),
        )
    };
    check("CMSampleBufferCreateReady", status)?;
    let buffer = NonNull::new(buffer)
        .ok_or_else(|| VideoError::backend("CMSampleBufferCreateReady returned nothing"))?;
    // SAFETY: +1 reference from the create call.
    Ok(unsafe { CFRetained::from_raw(buffer) })
}

/// Copies the two planes of an NV12 pixel buffer.
fn copy_nv12(pb: &CVPixelBuffer) -> Result<Vec<Plane>> {
    let lock = CVPixelBufferLockFlags::ReadOnly;
    // SAFETY: live pixel buffer; unlocked below with the same flags.
    check("CVPixelBufferLockBaseAddress", unsafe {
        CVPixelBufferLockBaseAddress(pb, lock)
    })?;
    let planes: Result<Vec<Plane>> = (0..2)
        .map(|i| {
            let base = CVPixelBufferGetBaseAddressOfPlane(pb, i);
            let stride = CVPixelBufferGetBytesPerRowOfPlane(pb, i);
            let rows = CVPixelBufferGetHeightOfPlane(pb, i);
            if base.is_null() {
                return Err(VideoError::backend(format!(
                    "pixel buffer plane {i} has no memory"
                )));
            }
            // SAFETY: while locked, plane `i` holds `rows * stride` readable bytes at `base`.
            let bytes = unsafe { std::slice::from_raw_parts(base.cast::<u8>(), rows * stride) };
            Ok(Plane {
                data: bytes.into(),
                stride,
            })
        })
        .collect();
    // SAFETY: unlocks the lock taken above.
    let status = unsafe { CVPixelBufferUnlockBaseAddress(pb, lock) };
    let planes = planes?;
    check("CVPixelBufferUnlockBaseAddress", status)?;
    Ok(planes)
}
