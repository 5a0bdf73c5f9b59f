//! `VTCompressionSession` encoder adapter.
//!
//! Pictures are copied into `CVPixelBuffer`s (NV12 or 32BGRA) and submitted with their pts;
//! the output callback only retains the sample buffer and enqueues it. On the worker thread
//! each sample becomes an [`EncodedChunk`]: decode order (the order VideoToolbox emits),
//! pts/dts from the sample, keyframes carrying the format description's parameter sets, in
//! the layout the config asks for.

use super::callback::{CallbackQueue, deliver};
use super::cf::{check, cm_time, created};
use super::codec_type;
use crate::api::codec::{Codec, Timestamp};
use crate::api::config::EncoderConfig;
use crate::api::encode_input::EncodeInput;
use crate::api::error::{Result, VideoError};
use crate::api::packet::{BitstreamLayout, EncodedChunk};
use crate::backend::EncoderBackend;
use crate::backend::InPlace;
use crate::backend::videotoolbox::color::{
    PIXEL_32BGRA, PIXEL_NV12_VIDEO_RANGE, encode_color, to_attachments,
};
use crate::backend::videotoolbox::pixel_upload::{
    UploadTarget, upload_target, write_bgra, write_nv12,
};
use crate::backend::videotoolbox::properties::{self, ProfileLevel, PropertyKey, PropertyValue};
use crate::backend::videotoolbox::sample::{
    encoded_chunk_bytes, is_keyframe_sample, output_layout,
};
use crate::backend::videotoolbox::timing::from_cmtime;
use objc2_core_foundation::{
    CFArray, CFBoolean, CFDictionary, CFNumber, CFRetained, CFString, CFType,
};
use objc2_core_media::{
    CMFormatDescription, CMSampleBuffer, CMTime, CMTimeFlags,
    CMVideoFormatDescriptionGetH264ParameterSetAtIndex,
    CMVideoFormatDescriptionGetHEVCParameterSetAtIndex, kCMTimeInvalid,
};
use objc2_core_video::{
    CVAttachmentMode, CVPixelBuffer, CVPixelBufferCreate, CVPixelBufferGetBaseAddress,
    CVPixelBufferGetBaseAddressOfPlane, CVPixelBufferGetBytesPerRow,
    CVPixelBufferGetBytesPerRowOfPlane, CVPixelBufferGetHeight, CVPixelBufferGetHeightOfPlane,
    CVPixelBufferLockBaseAddress, CVPixelBufferLockFlags, CVPixelBufferUnlockBaseAddress,
    kCVImageBufferColorPrimariesKey, kCVImageBufferTransferFunctionKey,
    kCVImageBufferYCbCrMatrixKey,
};
use objc2_video_toolbox::{
    VTCompressionSession, VTEncodeInfoFlags, VTSessionSetProperty,
    kVTCompressionPropertyKey_AllowFrameReordering, kVTCompressionPropertyKey_AverageBitRate,
    kVTCompressionPropertyKey_DataRateLimits, kVTCompressionPropertyKey_ExpectedFrameRate,
    kVTCompressionPropertyKey_MaxKeyFrameInterval, kVTCompressionPropertyKey_ProfileLevel,
    kVTCompressionPropertyKey_Quality, kVTCompressionPropertyKey_RealTime,
    kVTEncodeFrameOptionKey_ForceKeyFrame, kVTProfileLevel_H264_High_AutoLevel,
    kVTProfileLevel_H264_Main_AutoLevel, kVTProfileLevel_HEVC_Main_AutoLevel,
};
use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::Arc;

/// One callback delivery.
struct Delivery {
    status: i32,
    flags: VTEncodeInfoFlags,
    sample: Option<SendSampleBuffer>,
}

/// A retained sample buffer moved from the callback thread to the worker thread.
struct SendSampleBuffer(CFRetained<CMSampleBuffer>);

// SAFETY: Core Media sample buffers are reference counted atomically; the callback hands
// its retained reference over to the worker thread and keeps no copy.
unsafe impl Send for SendSampleBuffer {}

/// The compression output callback: retains the sample and enqueues; nothing else.
unsafe extern "C-unwind" fn on_encoded(
    refcon: *mut c_void,
    _source_frame_refcon: *mut c_void,
    status: i32,
    flags: VTEncodeInfoFlags,
    sample: *mut CMSampleBuffer,
) {
    // SAFETY: `refcon` is the adapter's `CallbackQueue<Delivery>`, kept alive until the session
    // is invalidated (after which no callback runs); the sample buffer is null or valid for the
    // callback.
    unsafe {
        deliver(refcon, sample, |sample| Delivery {
            sample: sample.map(SendSampleBuffer),
            status,
            flags,
        })
    }
}

/// The VideoToolbox encoder of one encode session (generation).
pub(crate) struct VtEncoder {
    config: EncoderConfig,
    layout: BitstreamLayout,
    session: CFRetained<VTCompressionSession>,
    queue: Arc<CallbackQueue<Delivery>>,
    /// Frames submitted (for made-up timestamps).
    frames: i64,
    ticks_per_frame: i64,
}

impl VtEncoder {
    /// Opens a compression session configured from `config`.
    pub(crate) fn new(config: EncoderConfig) -> Result<Self> {
        config.validate()?;
        let layout = output_layout(config.codec, config.layout)?;
        let queue = CallbackQueue::new();
        let width = i32::try_from(config.dimensions.width())
            .map_err(|_| VideoError::invalid_input("width too large"))?;
        let height = i32::try_from(config.dimensions.height())
            .map_err(|_| VideoError::invalid_input("height too large"))?;
        let codec = codec_type(config.codec)?;
        let refcon = CallbackQueue::refcon(&queue);
        let call = |out| {
            // SAFETY: valid arguments; the refcon outlives the session (see `on_encoded`).
            unsafe {
                VTCompressionSession::create(
                    None,
                    width,
                    height,
                    codec,
                    None,
                    None,
                    None,
                    Some(on_encoded),
                    refcon,
                    out,
                )
            }
        };
        // SAFETY: on success the create call hands out a +1 reference.
        let session = unsafe { created("VTCompressionSessionCreate", call) }?;
        let ticks_per_frame = config.timebase.ticks_per_frame(config.fps);
        let encoder = Self {
            config,
            layout,
            session,
            queue,
            frames: 0,
            ticks_per_frame,
        };
        for (key, value) in properties::session_properties(&encoder.config) {
            encoder.set_property(key, value)?;
        }
        // SAFETY: live session.
        check("VTCompressionSessionPrepareToEncodeFrames", unsafe {
            encoder.session.prepare_to_encode_frames()
        })?;
        Ok(encoder)
    }

    fn set_property(&self, key: PropertyKey, value: PropertyValue) -> Result<()> {
        // SAFETY: VideoToolbox's constant keys are valid for the life of the process.
        let cf_key: &CFString = unsafe {
            match key {
                PropertyKey::RealTime => kVTCompressionPropertyKey_RealTime,
                PropertyKey::ProfileLevel => kVTCompressionPropertyKey_ProfileLevel,
                PropertyKey::AllowFrameReordering => kVTCompressionPropertyKey_AllowFrameReordering,
                PropertyKey::MaxKeyFrameInterval => kVTCompressionPropertyKey_MaxKeyFrameInterval,
                PropertyKey::ExpectedFrameRate => kVTCompressionPropertyKey_ExpectedFrameRate,
                PropertyKey::AverageBitRate => kVTCompressionPropertyKey_AverageBitRate,
                PropertyKey::DataRateLimits => kVTCompressionPropertyKey_DataRateLimits,
                PropertyKey::Quality => kVTCompressionPropertyKey_Quality,
            }
        };
        let (number, array);
        let cf_value: &CFType = match value {
            PropertyValue::Bool(b) => CFBoolean::new(b),
            PropertyValue::Int(i) => {
                number = CFNumber::new_i64(i);
                &number
            }
            PropertyValue::Float(f) => {
                number = CFNumber::new_f64(f);
                &number
            }
            PropertyValue::DataRateLimit { bytes, seconds } => {
                let b = CFNumber::new_i64(bytes);
                let s = CFNumber::new_f64(seconds);
                array = CFArray::from_objects(&[&*b, &*s]);
                &array
            }
            // SAFETY: constant profile strings, valid for the life of the process.
            PropertyValue::Profile(p) => unsafe {
                match p {
                    ProfileLevel::H264High => kVTProfileLevel_H264_High_AutoLevel,
                    ProfileLevel::H264Main => kVTProfileLevel_H264_Main_AutoLevel,
                    ProfileLevel::HevcMain => kVTProfileLevel_HEVC_Main_AutoLevel,
                }
            },
        };
        // SAFETY: live session, valid key and value.
        let status = unsafe { VTSessionSetProperty(&self.session, cf_key, Some(cf_value)) };
        check(&format!("VTSessionSetProperty({key:?})"), status)
    }

    /// A pixel buffer holding a copy of `input`.
    fn pixel_buffer(&self, input: &EncodeInput) -> Result<CFRetained<CVPixelBuffer>> {
        let target = upload_target(input.format())?;
        let size = input.dimensions();
        let fourcc = match target {
            UploadTarget::Nv12 => PIXEL_NV12_VIDEO_RANGE,
            UploadTarget::Bgra => PIXEL_32BGRA,
        };
        let mut pb: *mut CVPixelBuffer = std::ptr::null_mut();
        // SAFETY: valid size and format; `pb` receives a +1 reference.
        let status = unsafe {
            CVPixelBufferCreate(
                None,
                size.width() as usize,
                size.height() as usize,
                fourcc,
                None,
                NonNull::from(&mut pb),
            )
        };
        check("CVPixelBufferCreate", status)?;
        let pb = NonNull::new(pb)
            .ok_or_else(|| VideoError::backend("CVPixelBufferCreate returned nothing"))?;
        // SAFETY: +1 reference from the create call.
        let pb = unsafe { CFRetained::from_raw(pb) };
        self.attach_color(&pb);
        let flags = CVPixelBufferLockFlags(0);
        // SAFETY: live pixel buffer, unlocked below.
        check("CVPixelBufferLockBaseAddress", unsafe {
            CVPixelBufferLockBaseAddress(&pb, flags)
        })?;
        let written = match target {
            UploadTarget::Nv12 => {
                let plane = |i| {
                    let base = CVPixelBufferGetBaseAddressOfPlane(&pb, i).cast::<u8>();
                    let stride = CVPixelBufferGetBytesPerRowOfPlane(&pb, i);
                    let len = stride * CVPixelBufferGetHeightOfPlane(&pb, i);
                    (base, stride, len)
                };
                let ((y, ys, yl), (uv, uvs, uvl)) = (plane(0), plane(1));
                if y.is_null() || uv.is_null() {
                    Err(VideoError::backend("pixel buffer planes without memory"))
                } else {
                    // SAFETY: while locked, each plane holds `len` writable bytes, and the
                    // two planes do not overlap.
                    let (y, uv) = unsafe {
                        (
                            std::slice::from_raw_parts_mut(y, yl),
                            std::slice::from_raw_parts_mut(uv, uvl),
                        )
                    };
                    write_nv12(input, y, ys, uv, uvs)
                }
            }
            UploadTarget::Bgra => {
                let base = CVPixelBufferGetBaseAddress(&pb).cast::<u8>();
                let stride = CVPixelBufferGetBytesPerRow(&pb);
                let len = stride * CVPixelBufferGetHeight(&pb);
                if base.is_null() {
                    Err(VideoError::backend("pixel buffer without memory"))
                } else {
                    // SAFETY: while locked, the buffer holds `len` writable bytes.
                    let dst = unsafe { std::slice::from_raw_parts_mut(base, len) };
                    write_bgra(input, dst, stride)
                }
            }
        };
        // SAFETY: unlocks the lock taken above.
        let status = unsafe { CVPixelBufferUnlockBaseAddress(&pb, flags) };
        written?;
        check("CVPixelBufferUnlockBaseAddress", status)?;
        Ok(pb)
    }

    /// Tags `pb` with the colour the encoder signals (propagated into the stream's VUI).
    fn attach_color(&self, pb: &CVPixelBuffer) {
        let a = to_attachments(encode_color(self.config.dimensions.height()));
        // SAFETY: Core Video's constant keys are valid for the life of the process.
        let keys = unsafe {
            [
                kCVImageBufferYCbCrMatrixKey,
                kCVImageBufferColorPrimariesKey,
                kCVImageBufferTransferFunctionKey,
            ]
        };
        for (key, value) in keys.into_iter().zip([a.matrix, a.primaries, a.transfer]) {
            if let Some(value) = value {
                let value = CFString::from_static_str(value);
                // SAFETY: live pixel buffer, valid key and value.
                unsafe { pb.set_attachment(key, &value, CVAttachmentMode::ShouldPropagate) };
            }
        }
    }

    /// Turns queued samples into chunks, in the order VideoToolbox emitted them.
    fn collect(&mut self, out: &mut Vec<EncodedChunk>) -> Result<()> {
        let deliveries = self.queue.take("encoder")?;
        let mut first_error = None;
        let mut dropped = 0u64;
        for d in deliveries {
            if d.status != 0 {
                first_error.get_or_insert(check("encoding a frame", d.status));
                continue;
            }
            let Some(sample) = d.sample else {
                if d.flags.0 & VTEncodeInfoFlags::FrameDropped.0 != 0 {
                    dropped += 1;
                }
                continue;
            };
            match self.chunk(&sample.0) {
                Ok(chunk) => out.push(chunk),
                Err(e) => {
                    first_error.get_or_insert(Err(e));
                }
            }
        }
        if dropped > 0 {
            first_error.get_or_insert(Err(VideoError::backend(format!(
                "VideoToolbox dropped {dropped} frame(s)"
            ))));
        }
        first_error.unwrap_or(Ok(()))
    }

    fn chunk(&self, sample: &CMSampleBuffer) -> Result<EncodedChunk> {
        // SAFETY: live sample buffer.
        let block = unsafe { sample.data_buffer() }
            .ok_or_else(|| VideoError::backend("encoded sample without data"))?;
        // SAFETY: live block buffer.
        let len = unsafe { block.data_length() };
        let mut data = vec![0u8; len];
        if len > 0 {
            // SAFETY: `data` has room for `len` bytes.
            check("CMBlockBufferCopyDataBytes", unsafe {
                block.copy_data_bytes(0, len, NonNull::from(data.as_mut_slice()).cast())
            })?;
        }
        // SAFETY: live sample buffer.
        let format = unsafe { sample.format_description() }
            .ok_or_else(|| VideoError::backend("encoded sample without format description"))?;
        let (parameter_sets, length_size) = parameter_sets(self.config.codec, &format)?;
        let keyframe = is_keyframe_sample(self.config.codec, &data, length_size)?;
        let bytes = encoded_chunk_bytes(
            self.config.codec,
            &data,
            length_size,
            keyframe,
            &parameter_sets,
            self.layout,
        )?;
        let tb = self.config.timebase;
        let time = |t: CMTime| {
            from_cmtime(
                t.value,
                t.timescale,
                t.flags.0 & CMTimeFlags::Valid.0 != 0,
                tb,
            )
        };
        // SAFETY: live sample buffer.
        let pts = time(unsafe { sample.presentation_time_stamp() });
        // SAFETY: live sample buffer.
        let dts = time(unsafe { sample.decode_time_stamp() }).or(pts);
        Ok(EncodedChunk {
            codec: self.config.codec,
            layout: self.layout,
            pts,
            dts,
            keyframe,
            generation: 0,
            data: bytes,
        })
    }
}

/// The parameter sets of an encoder's format description and its NAL length size.
fn parameter_sets(codec: Codec, format: &CMFormatDescription) -> Result<(Vec<Vec<u8>>, u8)> {
    let get = |index: usize,
               ptr: *mut *const u8,
               size: *mut usize,
               count: *mut usize,
               header: *mut i32| {
        // SAFETY: live format description; every out pointer is valid or null.
        unsafe {
            match codec {
                Codec::H264 => CMVideoFormatDescriptionGetH264ParameterSetAtIndex(
                    format, index, ptr, size, count, header,
                ),
                // HEVC: sessions exist for H.264 and HEVC only (`codec_type`).
                _ => CMVideoFormatDescriptionGetHEVCParameterSetAtIndex(
                    format, index, ptr, size, count, header,
                ),
            }
        }
    };
    let (mut count, mut header) = (0usize, 0i32);
    check(
        "CMVideoFormatDescriptionGetParameterSetAtIndex",
        get(
            0,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut count,
            &mut header,
        ),
    )?;
    let mut sets = Vec::with_capacity(count);
    for i in 0..count {
        let (mut ptr, mut size) = (std::ptr::null::<u8>(), 0usize);
        check(
            "CMVideoFormatDescriptionGetParameterSetAtIndex",
            get(
                i,
                &mut ptr,
                &mut size,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            ),
        )?;
        if ptr.is_null() {
            return Err(VideoError::backend(
                "format description parameter set without data",
            ));
        }
        // SAFETY: the pointer addresses `size` bytes inside `format`, which is alive here;
        // they are copied out at once.
        sets.push(unsafe { std::slice::from_raw_parts(ptr, size) }.to_vec());
    }
    let length_size = u8::try_from(header)
        .ok()
        .filter(|n| matches!(n, 1 | 2 | 4))
        .ok_or_else(|| {
            VideoError::backend(format!("NAL length size {header} from VideoToolbox"))
        })?;
    Ok((sets, length_size))
}

impl EncoderBackend for VtEncoder {
    fn encode(&mut self, input: &EncodeInput, out: &mut Vec<EncodedChunk>) -> Result<()> {
        if input.dimensions() != self.config.dimensions {
            return Err(VideoError::invalid_input(format!(
                "picture of {} for an encoder of {}",
                input.dimensions(),
                self.config.dimensions
            )));
        }
        let pb = self.pixel_buffer(input)?;
        let pts = input.pts.unwrap_or(Timestamp {
            ticks: self.frames * self.ticks_per_frame,
            timebase: self.config.timebase,
        });
        self.frames += 1;
        let duration = cm_time(Timestamp {
            ticks: self.ticks_per_frame,
            timebase: self.config.timebase,
        });
        let properties = input.force_keyframe.then(|| {
            // SAFETY: constant key, valid for the life of the process.
            let key: &CFString = unsafe { kVTEncodeFrameOptionKey_ForceKeyFrame };
            CFDictionary::<CFString, CFBoolean>::from_slices(&[key], &[CFBoolean::new(true)])
        });
        let mut info = VTEncodeInfoFlags(0);
        // SAFETY: live session and pixel buffer; the dictionary outlives the call; `info`
        // is a valid out pointer.
        let status = unsafe {
            self.session.encode_frame(
                &pb,
                cm_time(pts),
                duration,
                properties.as_deref().map(|d| d.as_opaque()),
                std::ptr::null_mut(),
                &mut info,
            )
        };
        let collected = self.collect(out);
        check("VTCompressionSessionEncodeFrame", status)?;
        collected
    }

    fn flush(&mut self, out: &mut Vec<EncodedChunk>) -> Result<()> {
        // SAFETY: live session; an invalid time completes every pending frame.
        let status = unsafe { self.session.complete_frames(kCMTimeInvalid) };
        let collected = self.collect(out);
        check("VTCompressionSessionCompleteFrames", status)?;
        collected
    }

    fn implementation(&self) -> String {
        "videotoolbox".to_string()
    }

    fn in_place(&self) -> InPlace {
        properties::in_place(&self.config)
    }

    fn reconfigure(&mut self, new: &EncoderConfig) -> Result<()> {
        for (key, value) in properties::reconfigure_changes(&self.config, new)? {
            self.set_property(key, value)?;
        }
        self.config = new.clone();
        self.ticks_per_frame = self.config.timebase.ticks_per_frame(self.config.fps);
        Ok(())
    }
}

impl Drop for VtEncoder {
    fn drop(&mut self) {
        // SAFETY: live session; after invalidation no callback touches `self.queue`.
        unsafe { self.session.invalidate() };
    }
}
