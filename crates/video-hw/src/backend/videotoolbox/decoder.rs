//! The `VTDecompressionSession` decoder adapter's control logic, over [`DecodeCalls`].
//!
//! The session is created once the parameter sets are complete (input without them is held);
//! each access unit goes in as one 4-byte length-prefixed sample with its pts and its
//! submission number as the frame refcon. The output callback (on VideoToolbox's thread) only
//! enqueues; the worker thread turns queued images into frames and releases them in
//! presentation order ([`ReorderBuffer`]).
//!
//! An invalidated session (`kVTInvalidSessionErr`, from a call or a callback: VideoToolbox
//! drops its sessions on interruptions) is recreated from the current format description, and
//! the samples since the last keyframe are decoded again; frames already handed out are not
//! handed out twice.

use super::callback_queue::CallbackQueue;
use super::calls::{
    DecodeCalls, DecodeQueue, INFO_FRAME_DROPPED, INVALID_SESSION, MetalCalls, MetalOpener, NO_ERR,
};
use super::color::{from_attachments, nv12_pixel_format};
use super::format_description::{FormatChange, ParameterSetTracker};
use super::reorder::{ReorderBuffer, reorder_depth};
use super::sample::pack_for_decoder;
use super::status::status_error;
use super::timing::from_cmtime;
use crate::api::codec::{Codec, Dimensions, Timebase, Timestamp};
use crate::api::color::{
    ColorDescription, ColorPrimaries, MatrixCoefficients, TransferCharacteristics,
};
use crate::api::config::{DecodeOutput, DecoderConfig};
use crate::api::error::{Result, VideoError};
use crate::api::frame::{CropRect, DecodedFrame, FrameData, PixelFormat, Plane};
use crate::backend::{DecodeCapability, DecoderBackend};
use crate::bitstream::AccessUnit;
use crate::transform::{TransformSpec, transform_frame};
use std::collections::{HashMap, HashSet};

/// Pictures held while parameter sets are missing before the input counts as undecodable.
const MAX_HELD: usize = 64;
/// Samples kept since the last keyframe for a session recreation (a longer GOP resumes at
/// its next keyframe instead, and the pictures in between are reported lost).
const MAX_REPLAY: usize = 1024;

/// A sample submitted since the last keyframe, kept to decode it again on a new session.
#[derive(Clone)]
struct Submission {
    id: u64,
    sample: Vec<u8>,
    pts: Option<Timestamp>,
    keyframe: bool,
}

/// The VideoToolbox decoder of one decode session.
pub(crate) struct VtDecoder<C: DecodeCalls> {
    calls: C,
    codec: Codec,
    timebase: Timebase,
    output: DecodeOutput,
    tracker: ParameterSetTracker,
    format: Option<C::Format>,
    session: Option<C::Session>,
    /// The pixel format the current session was asked for.
    pixel_format: u32,
    queue: DecodeQueue<C::Image>,
    reorder: ReorderBuffer<DecodedFrame>,
    /// Access units waiting for parameter sets.
    held: Vec<AccessUnit>,
    metal: Option<Box<dyn MetalCalls<C::Image>>>,
    /// Frames asked for in packed RGB that were converted on the CPU.
    fallbacks: u64,
    next_id: u64,
    /// Submissions without a callback yet: their keyframe flag.
    in_flight: HashMap<u64, bool>,
    /// Samples since the last keyframe (the keyframe first).
    since_key: Vec<Submission>,
    /// Which of `since_key` have had their callback.
    answered: HashSet<u64>,
    /// Submissions decoded again after a recreation whose frame was already handed out.
    duplicates: HashSet<u64>,
    /// A callback said the session is invalid.
    invalid: bool,
    /// Sessions recreated after an invalidation.
    recreated: u64,
}

impl<C: DecodeCalls> VtDecoder<C> {
    /// A decoder that opens its session once parameter sets arrive; `metal` opens the GPU
    /// converter when the output is packed RGB.
    pub(crate) fn new(
        calls: C,
        config: DecoderConfig,
        metal: MetalOpener<C::Image>,
    ) -> Result<Self> {
        config.validate()?;
        let metal = match config.output {
            DecodeOutput::Cpu(f) if !f.is_yuv() => metal(f).ok(),
            _ => None,
        };
        let mut decoder = Self {
            calls,
            codec: config.codec,
            timebase: config.timebase,
            output: config.output,
            tracker: ParameterSetTracker::new(config.codec),
            format: None,
            session: None,
            pixel_format: 0,
            queue: CallbackQueue::new(),
            reorder: ReorderBuffer::new(reorder_depth(None)),
            held: Vec::new(),
            metal,
            fallbacks: 0,
            next_id: 0,
            in_flight: HashMap::new(),
            since_key: Vec::new(),
            answered: HashSet::new(),
            duplicates: HashSet::new(),
            invalid: false,
            recreated: 0,
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

    /// Sessions recreated after an invalidation so far (for the double's tests).
    #[cfg(all(test, any(feature = "sw-openh264", feature = "sw-ffmpeg")))]
    pub(crate) fn recreated(&self) -> u64 {
        self.recreated
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
        let format = self.calls.create_format(&inputs)?;
        let keep = match &self.session {
            Some(s) => self.calls.can_accept(s, &format),
            None => false,
        };
        if !keep {
            self.close_session(out)?;
            // Pictures of the old session all precede the new one's.
            self.reorder.drain(out);
            self.check_stream()?;
            self.pixel_format = nv12_pixel_format(
                self.tracker
                    .stream_info()
                    .map(|i| i.color.range)
                    .unwrap_or_default(),
            );
            self.session = Some(self.calls.create_session(
                &format,
                self.pixel_format,
                &self.queue,
            )?);
        }
        self.format = Some(format);
        let depth = reorder_depth(self.tracker.stream_info());
        self.reorder.set_depth(depth, out);
        Ok(true)
    }

    /// `Unsupported` for what the NV12 output cannot carry.
    fn check_stream(&self) -> Result<()> {
        match self.tracker.stream_info() {
            Some(info) if info.bit_depth_luma > 8 || info.chroma_format_idc != 1 => {
                Err(VideoError::unsupported(format!(
                    "VideoToolbox backend: {}-bit chroma format {} output is not wired (NV12 only)",
                    info.bit_depth_luma, info.chroma_format_idc
                )))
            }
            _ => Ok(()),
        }
    }

    /// Drains and invalidates the current session (frames go to `out`).
    fn close_session(&mut self, out: &mut Vec<DecodedFrame>) -> Result<()> {
        let Some(session) = self.session.take() else {
            return Ok(());
        };
        // Waiting emits every delayed frame through the callback.
        let status = self.calls.wait_for_asynchronous_frames(&session);
        self.calls.invalidate(&session);
        let collected = self.collect(out);
        self.forget_history();
        check("VTDecompressionSessionWaitForAsynchronousFrames", status)?;
        collected
    }

    /// A new session starts with a keyframe: nothing earlier is decoded again (and nothing of
    /// the drained session is still due).
    fn forget_history(&mut self) {
        self.in_flight.clear();
        self.since_key.clear();
        self.answered.clear();
        self.duplicates.clear();
        self.invalid = false;
    }

    fn decode_one(&mut self, au: &AccessUnit, out: &mut Vec<DecodedFrame>) -> Result<()> {
        let Some(sample) = pack_for_decoder(au)? else {
            return Ok(());
        };
        self.next_id += 1;
        let submission = Submission {
            id: self.next_id,
            sample,
            pts: au.pts,
            keyframe: au.keyframe,
        };
        self.trim_history();
        if self.since_key.len() >= MAX_REPLAY {
            let gone = self.since_key.remove(0);
            self.answered.remove(&gone.id);
        }
        self.since_key.push(submission.clone());
        let mut status = self.submit(&submission)?;
        if status == INVALID_SESSION {
            // The call said so: no callback comes for it (the recreation decodes it again,
            // as the last of the samples since the keyframe).
            self.in_flight.remove(&submission.id);
            status = self.recreate(out)?;
        }
        let collected = self.collect(out);
        let recovered = self.recover_if_invalid(out);
        check("VTDecompressionSessionDecodeFrame", status)?;
        collected?;
        recovered
    }

    /// Keeps the samples a recreated session needs: from the latest keyframe before which
    /// every frame has had its callback.
    fn trim_history(&mut self) {
        let oldest_pending = self.in_flight.keys().min().copied();
        let cut = self
            .since_key
            .iter()
            .rposition(|s| s.keyframe && oldest_pending.is_none_or(|p| s.id <= p));
        if let Some(cut) = cut {
            for gone in self.since_key.drain(..cut) {
                self.answered.remove(&gone.id);
            }
        }
    }

    /// Submits one sample on the current session; its status.
    fn submit(&mut self, s: &Submission) -> Result<i32> {
        let (Some(session), Some(format)) = (&self.session, &self.format) else {
            return Err(VideoError::backend(
                "decoder session missing after parameter sets",
            ));
        };
        self.in_flight.insert(s.id, s.keyframe);
        let (status, _info) = self
            .calls
            .decode_frame(session, format, &s.sample, s.pts, s.id)?;
        if status != NO_ERR {
            // "If an error is returned from this function, there will be no callback."
            self.in_flight.remove(&s.id);
        }
        Ok(status)
    }

    /// Recreates an invalidated session when a callback reported it.
    fn recover_if_invalid(&mut self, out: &mut Vec<DecodedFrame>) -> Result<()> {
        if !self.invalid {
            return Ok(());
        }
        let status = self.recreate(out)?;
        let collected = self.collect(out);
        check("VTDecompressionSessionDecodeFrame", status)?;
        collected
    }

    /// Replaces the invalidated session by a new one on the same format description and
    /// decodes the samples since the last keyframe again; the last sample's status.
    fn recreate(&mut self, out: &mut Vec<DecodedFrame>) -> Result<i32> {
        if let Some(old) = self.session.take() {
            self.calls.invalidate(&old);
        }
        self.invalid = false;
        // Whatever the dead session delivered before it died.
        let collected = self.collect(out);
        self.invalid = false;
        let Some(format) = &self.format else {
            return Err(VideoError::device_lost(
                "the VideoToolbox session was invalidated before a format was known",
            ));
        };
        let session = self
            .calls
            .create_session(format, self.pixel_format, &self.queue)
            .map_err(|e| e.while_doing("recreating the invalidated VideoToolbox session"))?;
        self.session = Some(session);
        self.recreated += 1;
        let replay = std::mem::take(&mut self.since_key);
        let lost = self
            .in_flight
            .keys()
            .filter(|id| !replay.iter().any(|s| s.id == **id))
            .count();
        self.in_flight
            .retain(|id, _| replay.iter().any(|s| s.id == *id));
        let mut status = NO_ERR;
        for s in &replay {
            if self.answered.contains(&s.id) {
                self.duplicates.insert(s.id);
            }
            status = self.submit(s)?;
            if status == INVALID_SESSION {
                self.since_key = replay;
                return Err(VideoError::device_lost(
                    "the recreated VideoToolbox session was invalidated again",
                ));
            }
        }
        self.since_key = replay;
        collected?;
        if lost > 0 {
            return Err(VideoError::device_lost(format!(
                "{lost} frame(s) of an earlier GOP were lost when VideoToolbox invalidated the session"
            )));
        }
        Ok(status)
    }

    /// Turns queued deliveries into frames, released in presentation order.
    fn collect(&mut self, out: &mut Vec<DecodedFrame>) -> Result<()> {
        let deliveries = self.queue.take("decoder")?;
        let mut first_error = None;
        let mut dropped = 0u64;
        for d in deliveries {
            let keyframe = self.in_flight.remove(&d.submission).unwrap_or(false);
            if self.duplicates.remove(&d.submission) {
                continue;
            }
            if d.status == INVALID_SESSION {
                // The frame is decoded again on the recreated session.
                self.invalid = true;
                self.in_flight.insert(d.submission, keyframe);
                continue;
            }
            self.answered.insert(d.submission);
            if d.status != NO_ERR {
                first_error.get_or_insert(check("decoding a frame", d.status));
                continue;
            }
            let Some(image) = d.image else {
                if d.flags & INFO_FRAME_DROPPED != 0 {
                    dropped += 1;
                }
                continue;
            };
            let pts = d
                .pts
                .and_then(|t| from_cmtime(t.value, t.timescale, true, self.timebase));
            match self.frame(image, pts, keyframe) {
                Ok(frame) => self.reorder.push(pts, frame, out),
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

    fn frame(
        &mut self,
        image: C::Image,
        pts: Option<Timestamp>,
        keyframe: bool,
    ) -> Result<DecodedFrame> {
        let info = self.calls.image_info(&image);
        let coded = Dimensions::new(
            u32::try_from(info.width).unwrap_or(0),
            u32::try_from(info.height).unwrap_or(0),
        )?;
        let mut color = from_attachments(
            info.matrix.as_deref(),
            info.primaries.as_deref(),
            info.transfer.as_deref(),
            info.pixel_format,
        );
        // No attachments: the SPS's VUI (what the session would fill in too), with the
        // range the pixel format carries.
        if color.matrix == MatrixCoefficients::Unspecified
            && color.primaries == ColorPrimaries::Unspecified
            && color.transfer == TransferCharacteristics::Unspecified
            && let Some(sps) = self.tracker.stream_info()
        {
            color = ColorDescription {
                range: color.range,
                ..sps.color
            };
        }
        // The pixel buffer is the coded picture when it has the SPS's coded size; otherwise
        // VideoToolbox has already applied the crop.
        let crop = match self.tracker.stream_info() {
            Some(sps) if sps.coded == coded => sps.crop,
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
            DecodeOutput::Gpu => frame.data = FrameData::Gpu(self.calls.gpu_surface(image)),
            DecodeOutput::GpuConverted(target) => {
                return Err(VideoError::unsupported(format!(
                    "VideoToolbox keeps frames in device memory as NV12 only, not {target}"
                )));
            }
            DecodeOutput::Cpu(target) if !target.is_yuv() => {
                if let Some(metal) = &self.metal
                    && let Ok(converted) = metal.convert(&image, metadata(&frame))
                {
                    return Ok(converted);
                }
                // No Metal (or it failed): NV12 converted on the CPU, counted.
                frame.data = FrameData::Cpu(self.copy_nv12(&image)?);
                self.fallbacks += 1;
                return transform_frame(&frame, &TransformSpec::to(target));
            }
            DecodeOutput::Native | DecodeOutput::Cpu(_) => {
                frame.data = FrameData::Cpu(self.copy_nv12(&image)?);
            }
        }
        Ok(frame)
    }

    /// Copies the two planes of an NV12 pixel buffer, row padding included.
    fn copy_nv12(&self, image: &C::Image) -> Result<Vec<Plane>> {
        let mut planes: Result<Vec<Plane>> = Err(VideoError::backend("pixel buffer not read"));
        let status = self.calls.read_planes(image, &mut |locked| {
            planes = copy_planes(locked);
        });
        check("CVPixelBufferLockBaseAddress", status.lock)?;
        let planes = planes?;
        check("CVPixelBufferUnlockBaseAddress", status.unlock)?;
        Ok(planes)
    }
}

/// A frame like `f` without pixels.
fn metadata(f: &DecodedFrame) -> DecodedFrame {
    DecodedFrame {
        format: f.format,
        coded: f.coded,
        crop: f.crop,
        color: f.color,
        pts: f.pts,
        keyframe: f.keyframe,
        data: FrameData::MetadataOnly,
    }
}

/// Copies the two planes of a locked NV12 buffer.
fn copy_planes(locked: &[super::calls::LockedPlane<'_>]) -> Result<Vec<Plane>> {
    if locked.len() != 2 {
        return Err(VideoError::backend(format!(
            "an NV12 pixel buffer with {} planes",
            locked.len()
        )));
    }
    locked
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let bytes = p.bytes.ok_or_else(|| {
                VideoError::backend(format!("pixel buffer plane {i} has no memory"))
            })?;
            let len = p.rows.checked_mul(p.stride).filter(|n| *n <= bytes.len());
            let len = len.ok_or_else(|| {
                VideoError::backend(format!("pixel buffer plane {i} is shorter than its rows"))
            })?;
            Ok(Plane {
                data: bytes[..len].into(),
                stride: p.stride,
            })
        })
        .collect()
}

/// `Ok` for `noErr`, else the typed error for `what` (bad data is `InvalidBitstream`).
fn check(what: &str, status: i32) -> Result<()> {
    if status == NO_ERR {
        Ok(())
    } else {
        Err(status_error(what, status))
    }
}

impl<C: DecodeCalls> DecoderBackend for VtDecoder<C> {
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
        let mut collected = Ok(());
        // One recreation at most per flush: a session that dies again is reported.
        for attempt in 0..2 {
            let Some(session) = &self.session else { break };
            let status = self.calls.wait_for_asynchronous_frames(session);
            collected = self.collect(out);
            if (status == INVALID_SESSION || self.invalid) && attempt == 0 {
                match self.recreate(out) {
                    Ok(_) => continue,
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            result = check("VTDecompressionSessionWaitForAsynchronousFrames", status);
            break;
        }
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

    fn conversion_fallbacks(&self) -> u64 {
        self.fallbacks
    }

    fn capability(&self) -> DecodeCapability {
        super::capability::decode_capability(self.codec)
    }
}

impl<C: DecodeCalls> Drop for VtDecoder<C> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            // After invalidation no callback touches `self.queue`.
            self.calls.invalidate(&session);
        }
    }
}
