//! The decode calls on Apple platforms: `CMVideoFormatDescription`, `VTDecompressionSession`,
//! `CMSampleBuffer` and `CVPixelBuffer` through the objc2 bindings ([`DecodeCalls`]). The
//! control logic that drives them is `videotoolbox::decoder`.
//!
//! The output callback only retains the image buffer and enqueues it with the frame refcon
//! (the adapter's submission number); the worker thread drains the queue.

use super::callback::deliver;
use super::cf::{SendPixelBuffer, check, cm_time, created, string_attachment};
use crate::api::codec::{Codec, Timestamp};
use crate::api::error::{Result, VideoError};
use crate::api::frame::{GpuApi, GpuSurface};
use crate::backend::videotoolbox::calls::{
    DecodeCalls, DecodeDelivery, DecodeQueue, ImageInfo, LockStatus, LockedPlane,
};
use crate::backend::videotoolbox::format_description::FormatInputs;
use crate::backend::videotoolbox::timing::CmTimeParts;
use objc2_core_foundation::{CFBoolean, CFDictionary, CFNumber, CFRetained, CFString, CFType};
use objc2_core_media::{
    CMBlockBuffer, CMFormatDescription, CMSampleBuffer, CMSampleTimingInfo, CMTime, CMTimeFlags,
    CMVideoFormatDescriptionCreateFromH264ParameterSets,
    CMVideoFormatDescriptionCreateFromHEVCParameterSets, kCMBlockBufferAssureMemoryNowFlag,
    kCMTimeInvalid,
};
use objc2_core_video::{
    CVImageBuffer, CVPixelBufferGetBaseAddressOfPlane, CVPixelBufferGetBytesPerRowOfPlane,
    CVPixelBufferGetHeight, CVPixelBufferGetHeightOfPlane, CVPixelBufferGetPixelFormatType,
    CVPixelBufferGetWidth, CVPixelBufferLockBaseAddress, CVPixelBufferLockFlags,
    CVPixelBufferUnlockBaseAddress, kCVImageBufferColorPrimariesKey,
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

/// The queue the callback fills.
type Queue =
    crate::backend::videotoolbox::callback_queue::CallbackQueue<DecodeDelivery<SendPixelBuffer>>;

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
    let submission = source_frame_refcon as usize as u64;
    let pts = (pts.flags.0 & CMTimeFlags::Valid.0 != 0).then_some(CmTimeParts {
        value: pts.value,
        timescale: pts.timescale,
    });
    // SAFETY: `refcon` is the adapter's `Queue`, kept alive by the adapter until the session
    // is invalidated (after which no callback runs); the image buffer is null or valid for
    // the callback.
    unsafe {
        deliver(refcon, image, |image| DecodeDelivery {
            status,
            flags: flags.0,
            image: image.map(SendPixelBuffer),
            pts,
            submission,
        })
    }
}

/// The real decode calls (stateless: every object they make is handed to the caller).
pub(crate) struct AppleDecodeCalls;

impl DecodeCalls for AppleDecodeCalls {
    type Format = CFRetained<CMFormatDescription>;
    type Session = CFRetained<VTDecompressionSession>;
    type Image = SendPixelBuffer;

    fn create_format(&mut self, inputs: &FormatInputs) -> Result<Self::Format> {
        create_format_description(inputs)
    }

    fn can_accept(&mut self, session: &Self::Session, format: &Self::Format) -> bool {
        // SAFETY: both objects are live Core Media / VideoToolbox objects.
        unsafe { session.can_accept_format_description(format) }
    }

    fn create_session(
        &mut self,
        format: &Self::Format,
        pixel_format: u32,
        queue: &DecodeQueue<SendPixelBuffer>,
    ) -> Result<Self::Session> {
        let pixel_format = CFNumber::new_i64(i64::from(pixel_format));
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
            decompressionOutputRefCon: Arc::as_ptr(queue) as *const Queue as *mut c_void,
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

    fn decode_frame(
        &mut self,
        session: &Self::Session,
        format: &Self::Format,
        sample: &[u8],
        pts: Option<Timestamp>,
        submission: u64,
    ) -> Result<(i32, u32)> {
        let buffer = sample_buffer(sample, format, pts)?;
        let mut info = VTDecodeInfoFlags(0);
        // The refcon carries the submission number; it is never dereferenced.
        let refcon = submission as usize as *mut c_void;
        // SAFETY: live session and sample buffer; `info` is a valid out pointer.
        let status = unsafe {
            session.decode_frame(
                &buffer,
                VTDecodeFrameFlags::Frame_EnableTemporalProcessing,
                refcon,
                &mut info,
            )
        };
        Ok((status, info.0))
    }

    fn wait_for_asynchronous_frames(&mut self, session: &Self::Session) -> i32 {
        // SAFETY: live session; returns once every delayed frame went to the callback.
        unsafe { session.wait_for_asynchronous_frames() }
    }

    fn invalidate(&mut self, session: &Self::Session) {
        // SAFETY: live session; no callback runs after invalidation returns.
        unsafe { session.invalidate() };
    }

    fn image_info(&self, image: &SendPixelBuffer) -> ImageInfo {
        let pb = &image.0;
        // SAFETY: Core Video's constant keys are valid for the life of the process.
        let (mk, pk, tk) = unsafe {
            (
                kCVImageBufferYCbCrMatrixKey,
                kCVImageBufferColorPrimariesKey,
                kCVImageBufferTransferFunctionKey,
            )
        };
        ImageInfo {
            width: CVPixelBufferGetWidth(pb),
            height: CVPixelBufferGetHeight(pb),
            pixel_format: CVPixelBufferGetPixelFormatType(pb),
            matrix: string_attachment(pb, mk),
            primaries: string_attachment(pb, pk),
            transfer: string_attachment(pb, tk),
        }
    }

    fn read_planes(
        &self,
        image: &SendPixelBuffer,
        read: &mut dyn FnMut(&[LockedPlane<'_>]),
    ) -> LockStatus {
        let pb = &image.0;
        let flags = CVPixelBufferLockFlags::ReadOnly;
        // SAFETY: live pixel buffer; unlocked below with the same flags.
        let lock = unsafe { CVPixelBufferLockBaseAddress(pb, flags) };
        if lock != 0 {
            return LockStatus { lock, unlock: 0 };
        }
        let planes: Vec<LockedPlane<'_>> = (0..2)
            .map(|i| {
                let base = CVPixelBufferGetBaseAddressOfPlane(pb, i);
                let stride = CVPixelBufferGetBytesPerRowOfPlane(pb, i);
                let rows = CVPixelBufferGetHeightOfPlane(pb, i);
                let bytes = (!base.is_null()).then(|| {
                    // SAFETY: while locked, plane `i` holds `rows * stride` readable bytes at
                    // `base`; the slice does not outlive the lock (it is dropped below).
                    unsafe { std::slice::from_raw_parts(base.cast::<u8>(), rows * stride) }
                });
                LockedPlane {
                    bytes,
                    stride,
                    rows,
                }
            })
            .collect();
        read(&planes);
        drop(planes);
        // SAFETY: unlocks the lock taken above.
        let unlock = unsafe { CVPixelBufferUnlockBaseAddress(pb, flags) };
        LockStatus { lock, unlock }
    }

    fn gpu_surface(&self, image: SendPixelBuffer) -> GpuSurface {
        let pb = &image.0;
        GpuSurface {
            api: GpuApi::CoreVideo,
            planes: vec![CFRetained::as_ptr(pb).as_ptr() as u64],
            pitches: (0..2)
                .map(|i| CVPixelBufferGetBytesPerRowOfPlane(pb, i))
                .collect(),
            stream: 0,
            device: 0,
            keepalive: Box::new(image),
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
