//! The `VTCompressionSession` encoder adapter's control logic, over [`EncodeCalls`].
//!
//! Pictures are copied into pixel buffers (NV12 or 32BGRA) and submitted with their pts; the
//! output callback only enqueues. On the worker thread each sample becomes an
//! [`EncodedChunk`]: decode order (the order VideoToolbox emits), pts/dts from the sample,
//! keyframes carrying the format description's parameter sets, in the layout the config
//! asks for. In-place changes are property sets on the running session; one the encoder
//! refuses (`kVTPropertyNotSupportedErr`) fails the switch, which the session rolls back.

use super::callback_queue::CallbackQueue;
use super::calls::{EncodeCalls, EncodeQueue, INFO_FRAME_DROPPED, NO_ERR};
use super::color::{PIXEL_32BGRA, PIXEL_NV12_VIDEO_RANGE, encode_color, to_attachments};
use super::pixel_upload::{UploadTarget, upload_target, write_bgra, write_nv12};
use super::properties::{self, PropertyKey, PropertyValue};
use super::sample::{encoded_chunk_bytes, is_keyframe_sample, output_layout};
use super::status::status_error;
use super::timing::from_cmtime;
use crate::api::codec::Timestamp;
use crate::api::config::EncoderConfig;
use crate::api::encode_input::EncodeInput;
use crate::api::error::{Result, VideoError};
use crate::api::packet::{BitstreamLayout, EncodedChunk};
use crate::backend::{EncoderBackend, InPlace};

/// `Ok` for `noErr`, else the typed error for `what`.
fn check(what: &str, status: i32) -> Result<()> {
    if status == NO_ERR {
        Ok(())
    } else {
        Err(status_error(what, status))
    }
}

/// The VideoToolbox encoder of one encode session (generation).
pub(crate) struct VtEncoder<C: EncodeCalls> {
    calls: C,
    config: EncoderConfig,
    layout: BitstreamLayout,
    session: C::Session,
    queue: EncodeQueue<C::Sample>,
    /// Frames submitted (for made-up timestamps).
    frames: i64,
    ticks_per_frame: i64,
}

impl<C: EncodeCalls> VtEncoder<C> {
    /// Opens a compression session configured from `config`.
    pub(crate) fn new(mut calls: C, config: EncoderConfig) -> Result<Self> {
        config.validate()?;
        let layout = output_layout(config.codec, config.layout)?;
        let queue = CallbackQueue::new();
        let width = i32::try_from(config.dimensions.width())
            .map_err(|_| VideoError::invalid_input("width too large"))?;
        let height = i32::try_from(config.dimensions.height())
            .map_err(|_| VideoError::invalid_input("height too large"))?;
        let session = calls.create_session(width, height, config.codec, &queue)?;
        let ticks_per_frame = config.timebase.ticks_per_frame(config.fps);
        let mut encoder = Self {
            calls,
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
        let status = encoder.calls.prepare(&encoder.session);
        check("VTCompressionSessionPrepareToEncodeFrames", status)?;
        Ok(encoder)
    }

    fn set_property(&mut self, key: PropertyKey, value: PropertyValue) -> Result<()> {
        let status = self.calls.set_property(&self.session, key, &value);
        check(&format!("VTSessionSetProperty({key:?})"), status)
    }

    /// A pixel buffer holding a copy of `input`, tagged with the colour to signal.
    fn pixel_buffer(&mut self, input: &EncodeInput) -> Result<C::Image> {
        let target = upload_target(input.format())?;
        let size = input.dimensions();
        let fourcc = match target {
            UploadTarget::Nv12 => PIXEL_NV12_VIDEO_RANGE,
            UploadTarget::Bgra => PIXEL_32BGRA,
        };
        let image =
            self.calls
                .create_image(size.width() as usize, size.height() as usize, fourcc)?;
        let a = to_attachments(encode_color(self.config.dimensions.height()));
        self.calls
            .attach_color(&image, [a.matrix, a.primaries, a.transfer]);
        let (status, written) =
            self.calls
                .write_planes(&image, &mut |planes| match (target, planes) {
                    (UploadTarget::Nv12, [y, uv]) => {
                        match (y.bytes.as_deref_mut(), uv.bytes.as_deref_mut()) {
                            (Some(yb), Some(uvb)) => {
                                write_nv12(input, yb, y.stride, uvb, uv.stride)
                            }
                            _ => Err(VideoError::backend("pixel buffer planes without memory")),
                        }
                    }
                    (UploadTarget::Bgra, [p]) => match p.bytes.as_deref_mut() {
                        Some(b) => write_bgra(input, b, p.stride),
                        None => Err(VideoError::backend("pixel buffer without memory")),
                    },
                    (_, planes) => Err(VideoError::backend(format!(
                        "a {target:?} pixel buffer with {} planes",
                        planes.len()
                    ))),
                });
        check("CVPixelBufferLockBaseAddress", status.lock)?;
        written?;
        check("CVPixelBufferUnlockBaseAddress", status.unlock)?;
        Ok(image)
    }

    /// Turns queued samples into chunks, in the order VideoToolbox emitted them.
    fn collect(&mut self, out: &mut Vec<EncodedChunk>) -> Result<()> {
        let deliveries = self.queue.take("encoder")?;
        let mut first_error = None;
        let mut dropped = 0u64;
        for d in deliveries {
            if d.status != NO_ERR {
                first_error.get_or_insert(check("encoding a frame", d.status));
                continue;
            }
            let Some(sample) = d.sample else {
                if d.flags & INFO_FRAME_DROPPED != 0 {
                    dropped += 1;
                }
                continue;
            };
            match self.chunk(&sample) {
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

    fn chunk(&self, sample: &C::Sample) -> Result<EncodedChunk> {
        let data = self.calls.sample_data(sample)?;
        let (parameter_sets, header) = self
            .calls
            .sample_parameter_sets(sample, self.config.codec)?;
        let length_size = u8::try_from(header)
            .ok()
            .filter(|n| matches!(n, 1 | 2 | 4))
            .ok_or_else(|| {
                VideoError::backend(format!("NAL length size {header} from VideoToolbox"))
            })?;
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
        let time =
            |t: super::calls::CmTime| t.and_then(|t| from_cmtime(t.value, t.timescale, true, tb));
        let (pts, dts) = self.calls.sample_times(sample);
        let pts = time(pts);
        Ok(EncodedChunk {
            codec: self.config.codec,
            layout: self.layout,
            pts,
            dts: time(dts).or(pts),
            keyframe,
            generation: 0,
            data: bytes,
        })
    }
}

impl<C: EncodeCalls> EncoderBackend for VtEncoder<C> {
    fn encode(&mut self, input: &EncodeInput, out: &mut Vec<EncodedChunk>) -> Result<()> {
        if input.dimensions() != self.config.dimensions {
            return Err(VideoError::invalid_input(format!(
                "picture of {} for an encoder of {}",
                input.dimensions(),
                self.config.dimensions
            )));
        }
        let image = self.pixel_buffer(input)?;
        let pts = input.pts.unwrap_or(Timestamp {
            ticks: self.frames * self.ticks_per_frame,
            timebase: self.config.timebase,
        });
        self.frames += 1;
        let duration = Timestamp {
            ticks: self.ticks_per_frame,
            timebase: self.config.timebase,
        };
        let (status, _info) =
            self.calls
                .encode_frame(&self.session, &image, pts, duration, input.force_keyframe);
        let collected = self.collect(out);
        check("VTCompressionSessionEncodeFrame", status)?;
        collected
    }

    fn flush(&mut self, out: &mut Vec<EncodedChunk>) -> Result<()> {
        let status = self.calls.complete_frames(&self.session);
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
        let changes = properties::reconfigure_changes(&self.config, new)?;
        let previous = properties::session_properties(&self.config);
        for (i, (key, value)) in changes.iter().enumerate() {
            if let Err(e) = self.set_property(*key, *value) {
                // Put back what was already changed: the active generation stays as it was.
                for (done, _) in &changes[..i] {
                    if let Some((_, old)) = previous.iter().find(|(k, _)| k == done) {
                        let _ = self.set_property(*done, *old);
                    }
                }
                return Err(e);
            }
        }
        self.config = new.clone();
        self.ticks_per_frame = self.config.timebase.ticks_per_frame(self.config.fps);
        Ok(())
    }
}

impl<C: EncodeCalls> Drop for VtEncoder<C> {
    fn drop(&mut self) {
        // After invalidation no callback touches `self.queue`.
        self.calls.invalidate(&self.session);
    }
}
