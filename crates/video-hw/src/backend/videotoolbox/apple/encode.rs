//! The encode calls on Apple platforms: `VTCompressionSession`, `CVPixelBuffer` and the
//! `CMSampleBuffer`s it emits, through the objc2 bindings ([`EncodeCalls`]). The control logic
//! that drives them is `videotoolbox::encoder`.
//!
//! The output callback only retains the sample buffer and enqueues it.

use super::callback::deliver;
use super::cf::{check, cm_time, created};
use super::codec_type;
use crate::api::codec::{Codec, Timestamp};
use crate::api::error::{Result, VideoError};
use crate::backend::videotoolbox::calls::{
    CmTime, EncodeCalls, EncodeDelivery, EncodeQueue, LockStatus, LockedPlaneMut,
};
use crate::backend::videotoolbox::properties::{ProfileLevel, PropertyKey, PropertyValue};
use crate::backend::videotoolbox::timing::CmTimeParts;
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
    CVPixelBufferGetPlaneCount, CVPixelBufferLockBaseAddress, CVPixelBufferLockFlags,
    CVPixelBufferUnlockBaseAddress, kCVImageBufferColorPrimariesKey,
    kCVImageBufferTransferFunctionKey, kCVImageBufferYCbCrMatrixKey,
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

/// A retained sample buffer moved from the callback thread to the worker thread.
pub(crate) struct SendSampleBuffer(CFRetained<CMSampleBuffer>);

// SAFETY: Core Media sample buffers are reference counted atomically; the callback hands
// its retained reference over to the worker thread and keeps no copy.
unsafe impl Send for SendSampleBuffer {}

/// The queue the callback fills.
type Queue =
    crate::backend::videotoolbox::callback_queue::CallbackQueue<EncodeDelivery<SendSampleBuffer>>;

/// The compression output callback: retains the sample and enqueues; nothing else.
unsafe extern "C-unwind" fn on_encoded(
    refcon: *mut c_void,
    _source_frame_refcon: *mut c_void,
    status: i32,
    flags: VTEncodeInfoFlags,
    sample: *mut CMSampleBuffer,
) {
    // SAFETY: `refcon` is the adapter's `Queue`, kept alive until the session is invalidated
    // (after which no callback runs); the sample buffer is null or valid for the callback.
    unsafe {
        deliver(refcon, sample, |sample| EncodeDelivery {
            sample: sample.map(SendSampleBuffer),
            status,
            flags: flags.0,
        })
    }
}

/// A `CMTime` as the adapter sees it.
fn cm_time_parts(t: CMTime) -> CmTime {
    (t.flags.0 & CMTimeFlags::Valid.0 != 0).then_some(CmTimeParts {
        value: t.value,
        timescale: t.timescale,
    })
}

/// The real encode calls (stateless: every object they make is handed to the caller).
pub(crate) struct AppleEncodeCalls;

impl EncodeCalls for AppleEncodeCalls {
    type Session = CFRetained<VTCompressionSession>;
    type Image = CFRetained<CVPixelBuffer>;
    type Sample = SendSampleBuffer;

    fn create_session(
        &mut self,
        width: i32,
        height: i32,
        codec: Codec,
        queue: &EncodeQueue<SendSampleBuffer>,
    ) -> Result<Self::Session> {
        let codec = codec_type(codec)?;
        let refcon = Arc::as_ptr(queue) as *const Queue as *mut c_void;
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
        unsafe { created("VTCompressionSessionCreate", call) }
    }

    fn set_property(
        &mut self,
        session: &Self::Session,
        key: PropertyKey,
        value: &PropertyValue,
    ) -> i32 {
        set_property(session, key, value)
    }

    fn prepare(&mut self, session: &Self::Session) -> i32 {
        // SAFETY: live session.
        unsafe { session.prepare_to_encode_frames() }
    }

    fn create_image(&mut self, width: usize, height: usize, fourcc: u32) -> Result<Self::Image> {
        let mut pb: *mut CVPixelBuffer = std::ptr::null_mut();
        // SAFETY: valid size and format; `pb` receives a +1 reference.
        let status = unsafe {
            CVPixelBufferCreate(None, width, height, fourcc, None, NonNull::from(&mut pb))
        };
        check("CVPixelBufferCreate", status)?;
        let pb = NonNull::new(pb)
            .ok_or_else(|| VideoError::backend("CVPixelBufferCreate returned nothing"))?;
        // SAFETY: +1 reference from the create call.
        Ok(unsafe { CFRetained::from_raw(pb) })
    }

    fn attach_color(&mut self, image: &Self::Image, values: [Option<&'static str>; 3]) {
        // SAFETY: Core Video's constant keys are valid for the life of the process.
        let keys = unsafe {
            [
                kCVImageBufferYCbCrMatrixKey,
                kCVImageBufferColorPrimariesKey,
                kCVImageBufferTransferFunctionKey,
            ]
        };
        for (key, value) in keys.into_iter().zip(values) {
            if let Some(value) = value {
                let value = CFString::from_static_str(value);
                // SAFETY: live pixel buffer, valid key and value.
                unsafe { image.set_attachment(key, &value, CVAttachmentMode::ShouldPropagate) };
            }
        }
    }

    fn write_planes(
        &mut self,
        image: &Self::Image,
        write: &mut dyn FnMut(&mut [LockedPlaneMut<'_>]) -> Result<()>,
    ) -> (LockStatus, Result<()>) {
        let pb: &CVPixelBuffer = image;
        let flags = CVPixelBufferLockFlags(0);
        // SAFETY: live pixel buffer, unlocked below.
        let lock = unsafe { CVPixelBufferLockBaseAddress(pb, flags) };
        if lock != 0 {
            return (LockStatus { lock, unlock: 0 }, Ok(()));
        }
        let count = CVPixelBufferGetPlaneCount(pb);
        let raw: Vec<(*mut u8, usize, usize)> = if count == 0 {
            let stride = CVPixelBufferGetBytesPerRow(pb);
            vec![(
                CVPixelBufferGetBaseAddress(pb).cast::<u8>(),
                stride,
                stride * CVPixelBufferGetHeight(pb),
            )]
        } else {
            (0..count)
                .map(|i| {
                    let stride = CVPixelBufferGetBytesPerRowOfPlane(pb, i);
                    (
                        CVPixelBufferGetBaseAddressOfPlane(pb, i).cast::<u8>(),
                        stride,
                        stride * CVPixelBufferGetHeightOfPlane(pb, i),
                    )
                })
                .collect()
        };
        let mut planes: Vec<LockedPlaneMut<'_>> = raw
            .into_iter()
            .map(|(base, stride, len)| LockedPlaneMut {
                bytes: (!base.is_null()).then(|| {
                    // SAFETY: while locked, each plane holds `len` writable bytes at `base`,
                    // the planes do not overlap, and the slices are dropped before the unlock.
                    unsafe { std::slice::from_raw_parts_mut(base, len) }
                }),
                stride,
            })
            .collect();
        let written = write(&mut planes);
        drop(planes);
        // SAFETY: unlocks the lock taken above.
        let unlock = unsafe { CVPixelBufferUnlockBaseAddress(pb, flags) };
        (LockStatus { lock, unlock }, written)
    }

    fn encode_frame(
        &mut self,
        session: &Self::Session,
        image: &Self::Image,
        pts: Timestamp,
        duration: Timestamp,
        force_keyframe: bool,
    ) -> (i32, u32) {
        let properties = force_keyframe.then(|| {
            // SAFETY: constant key, valid for the life of the process.
            let key: &CFString = unsafe { kVTEncodeFrameOptionKey_ForceKeyFrame };
            CFDictionary::<CFString, CFBoolean>::from_slices(&[key], &[CFBoolean::new(true)])
        });
        let mut info = VTEncodeInfoFlags(0);
        // SAFETY: live session and pixel buffer; the dictionary outlives the call; `info`
        // is a valid out pointer.
        let status = unsafe {
            session.encode_frame(
                image,
                cm_time(pts),
                cm_time(duration),
                properties.as_deref().map(|d| d.as_opaque()),
                std::ptr::null_mut(),
                &mut info,
            )
        };
        (status, info.0)
    }

    fn complete_frames(&mut self, session: &Self::Session) -> i32 {
        // SAFETY: live session; an invalid time completes every pending frame.
        unsafe { session.complete_frames(kCMTimeInvalid) }
    }

    fn invalidate(&mut self, session: &Self::Session) {
        // SAFETY: live session; no callback runs after invalidation returns.
        unsafe { session.invalidate() };
    }

    fn sample_data(&self, sample: &SendSampleBuffer) -> Result<Vec<u8>> {
        // SAFETY: live sample buffer.
        let block = unsafe { sample.0.data_buffer() }
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
        Ok(data)
    }

    fn sample_parameter_sets(
        &self,
        sample: &SendSampleBuffer,
        codec: Codec,
    ) -> Result<(Vec<Vec<u8>>, i32)> {
        // SAFETY: live sample buffer.
        let format = unsafe { sample.0.format_description() }
            .ok_or_else(|| VideoError::backend("encoded sample without format description"))?;
        parameter_sets(codec, &format)
    }

    fn sample_times(&self, sample: &SendSampleBuffer) -> (CmTime, CmTime) {
        // SAFETY: live sample buffer.
        let pts = unsafe { sample.0.presentation_time_stamp() };
        // SAFETY: live sample buffer.
        let dts = unsafe { sample.0.decode_time_stamp() };
        (cm_time_parts(pts), cm_time_parts(dts))
    }
}

/// `VTSessionSetProperty` of one of our keys; the status.
fn set_property(session: &VTCompressionSession, key: PropertyKey, value: &PropertyValue) -> i32 {
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
    let cf_value: &CFType = match *value {
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
    unsafe { VTSessionSetProperty(session, cf_key, Some(cf_value)) }
}

/// The parameter sets of an encoder's format description and its NAL length size.
fn parameter_sets(codec: Codec, format: &CMFormatDescription) -> Result<(Vec<Vec<u8>>, i32)> {
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
    Ok((sets, header))
}
