//! The NVENC encoder adapter: configuration mapping, the ring of input/output buffers, reap
//! order, flush and in-place reconfiguration, over any [`NvencCalls`].
//!
//! Linux has no asynchronous NVENC mode, so this is the synchronous scheme of NVIDIA's
//! samples: `ring` slots, each an input buffer and a bitstream buffer. A picture goes into the
//! next slot; `nvEncEncodePicture` answers `NEED_MORE_INPUT` while it holds pictures for
//! B-frames, and success once every output submitted so far can be locked. Outputs are locked
//! in submit order, keeping up to `ring - (b_frames + 1)` completed outputs in flight so the
//! hardware keeps working while we copy. `flush` sends EOS and locks everything; the session
//! stays open.

use super::calls::{Handle, Locked, NvencCalls, PicSubmit, SessionParams, Submitted};
use super::ffi::*;
use crate::api::codec::{Codec, Dimensions, Timebase, Timestamp};
use crate::api::config::{EncoderConfig, RateControl};
use crate::api::encode_input::EncodeInput;
use crate::api::error::{Result, VideoError};
use crate::api::frame::PixelFormat;
use crate::api::packet::{BitstreamLayout, EncodedChunk};
use crate::backend::EncoderBackend;
use crate::backend::InPlace;
use std::collections::VecDeque;

/// NVENC-specific settings not in [`EncoderConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NvencOptions {
    /// Bitstream buffers in flight (the ring size; raised to `b_frames + 1` when smaller).
    pub max_in_flight_outputs: usize,
    /// Largest size an in-place reconfiguration may move to (default: the initial size).
    pub max_dimensions: Option<Dimensions>,
}

impl Default for NvencOptions {
    fn default() -> Self {
        Self {
            max_in_flight_outputs: 6,
            max_dimensions: None,
        }
    }
}

/// Maps our configuration to NVENC's session parameters.
pub(crate) fn session_params(config: &EncoderConfig, max: Dimensions) -> SessionParams {
    let (rc_mode, average_bitrate, max_bitrate, const_qp) = match config.rate_control {
        RateControl::Cbr { bitrate } => (NV_ENC_PARAMS_RC_CBR, bitrate, bitrate, 0),
        RateControl::Vbr {
            bitrate,
            max_bitrate,
        } => (NV_ENC_PARAMS_RC_VBR, bitrate, max_bitrate, 0),
        RateControl::Cqp { qp } => (NV_ENC_PARAMS_RC_CONSTQP, 0, 0, u32::from(qp)),
    };
    let gop = if config.gop_length == 0 {
        NVENC_INFINITE_GOPLENGTH
    } else {
        config.gop_length
    };
    SessionParams {
        codec: config.codec,
        width: config.dimensions.width(),
        height: config.dimensions.height(),
        max_width: max.width(),
        max_height: max.height(),
        fps_num: config.fps.num,
        fps_den: config.fps.den,
        tuning: if config.low_latency {
            NV_ENC_TUNING_INFO_LOW_LATENCY
        } else {
            NV_ENC_TUNING_INFO_HIGH_QUALITY
        },
        rc_mode,
        average_bitrate,
        max_bitrate,
        const_qp,
        gop_length: gop,
        idr_period: gop,
        frame_interval_p: i32::try_from(config.b_frames.saturating_add(1)).unwrap_or(i32::MAX),
    }
}

/// Where a picture's pixels are.
pub(crate) enum Picture<'a> {
    /// Host planes, uploaded into the slot's input buffer.
    Host(&'a EncodeInput),
    /// NV12 in CUDA device memory (a decoder's GPU frame), registered, not copied.
    /// `EncodeInput` cannot carry a GPU frame yet, so only tests reach this path.
    #[cfg_attr(not(test), allow(dead_code))]
    Device {
        /// Device pointer of the luma plane; chroma follows at `pitch * height`.
        ptr: u64,
        /// Row pitch in bytes.
        pitch: u32,
        /// Picture size.
        dimensions: Dimensions,
        /// Presentation time.
        pts: Option<Timestamp>,
        /// Make this picture an IDR.
        force_keyframe: bool,
    },
}

struct Slot {
    input: Handle,
    output: Handle,
    /// The resource mapped for this slot's picture (device input), unmapped when reaped.
    mapped: Option<Handle>,
}

struct Pending {
    slot: usize,
    /// The encoder reported this output complete (it may be locked).
    ready: bool,
}

/// The NVENC adapter over a set of NVENC calls.
pub(crate) struct NvencEncoder<C: NvencCalls> {
    calls: C,
    config: EncoderConfig,
    max: Dimensions,
    slots: Vec<Slot>,
    next_slot: usize,
    pending: VecDeque<Pending>,
    /// Completed outputs kept in flight after a success (`ring - (b_frames + 1)`).
    delay: usize,
    /// Presentation times of submitted pictures not yet reaped, in submit order (for dts).
    submitted_pts: VecDeque<i64>,
    ticks_per_frame: i64,
    next_pts: i64,
    force_idr: bool,
    /// Registered CUDA resources by (pointer, pitch, width, height).
    registered: Vec<((u64, u32, u32, u32), Handle)>,
    /// Chunks drained by a reconfiguration, handed out with the next call.
    carry: Vec<EncodedChunk>,
    implementation: String,
}

impl<C: NvencCalls> NvencEncoder<C> {
    /// Initialises the session and creates the ring.
    pub fn new(
        mut calls: C,
        config: &EncoderConfig,
        options: NvencOptions,
        implementation: String,
    ) -> Result<Self> {
        let max = options.max_dimensions.unwrap_or(config.dimensions);
        if config.dimensions.width() > max.width() || config.dimensions.height() > max.height() {
            return Err(VideoError::invalid_input(format!(
                "{} is larger than the maximum {max}",
                config.dimensions
            )));
        }
        if config.b_frames > 0 && config.gop_length == 0 {
            return Err(VideoError::unsupported(
                "NVENC needs a finite GOP (gop_length > 0) for B-frames",
            ));
        }
        calls.initialize(&session_params(config, max))?;
        let b = config.b_frames as usize;
        let ring = options.max_in_flight_outputs.max(b + 1);
        let mut enc = Self {
            calls,
            config: config.clone(),
            max,
            slots: Vec::with_capacity(ring),
            next_slot: 0,
            pending: VecDeque::new(),
            delay: ring - (b + 1),
            submitted_pts: VecDeque::new(),
            ticks_per_frame: config.timebase.ticks_per_frame(config.fps),
            next_pts: 0,
            force_idr: false,
            registered: Vec::new(),
            carry: Vec::new(),
            implementation,
        };
        for _ in 0..ring {
            let d = config.dimensions;
            let input = enc
                .calls
                .create_input(d.width(), d.height(), NV_ENC_BUFFER_FORMAT_NV12)?;
            let output = match enc.calls.create_output() {
                Ok(o) => o,
                Err(e) => {
                    enc.calls.destroy_input(input);
                    return Err(e);
                }
            };
            enc.slots.push(Slot {
                input,
                output,
                mapped: None,
            });
        }
        Ok(enc)
    }

    /// Outputs submitted and not yet locked.
    #[cfg(test)]
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// The calls (for tests of what was asked of them).
    #[cfg(test)]
    pub fn calls(&self) -> &C {
        &self.calls
    }

    /// Submits one picture and appends every chunk that became ready, in submit order.
    pub fn submit(&mut self, picture: Picture<'_>, out: &mut Vec<EncodedChunk>) -> Result<()> {
        out.append(&mut self.carry);
        // A full ring: the oldest output must be locked before its slot is reused.
        while self.pending.len() >= self.slots.len() {
            if !self.pending.front().is_some_and(|p| p.ready) {
                return Err(VideoError::backend(
                    "NVENC ring is full of outputs the encoder has not completed (more B-frames than buffers)",
                ));
            }
            self.reap_one(out)?;
        }
        let (dims, pts, force) = match &picture {
            Picture::Host(i) => (i.dimensions(), i.pts, i.force_keyframe),
            Picture::Device {
                dimensions,
                pts,
                force_keyframe,
                ..
            } => (*dimensions, *pts, *force_keyframe),
        };
        if dims != self.config.dimensions {
            return Err(VideoError::invalid_input(format!(
                "picture is {dims}, the NVENC session encodes {}",
                self.config.dimensions
            )));
        }
        let pts = pts
            .map(|p| p.rescale(self.config.timebase).ticks)
            .unwrap_or(self.next_pts);
        self.next_pts = pts + self.ticks_per_frame;
        let index = self.next_slot;
        let (input, pitch, format, mapped) = match picture {
            Picture::Host(i) => {
                let slot_input = self.slots[index].input;
                let fmt = match i.format() {
                    PixelFormat::Nv12 | PixelFormat::I420 => NV_ENC_BUFFER_FORMAT_NV12,
                    other => {
                        return Err(VideoError::unsupported(format!(
                            "NVENC takes NV12 or I420 host pictures, got {other} (convert first)"
                        )));
                    }
                };
                let pitch = self.calls.upload(slot_input, i)?;
                (slot_input, pitch, fmt, None)
            }
            Picture::Device { ptr, pitch, .. } => {
                let reg = self.registration(ptr, pitch, dims)?;
                let mapped = self.calls.map(reg)?;
                (mapped, pitch, NV_ENC_BUFFER_FORMAT_NV12, Some(mapped))
            }
        };
        let mut flags = 0;
        if force || self.force_idr {
            flags |= NV_ENC_PIC_FLAG_FORCEIDR | NV_ENC_PIC_FLAG_OUTPUT_SPSPPS;
        }
        let submit = PicSubmit {
            input,
            output: self.slots[index].output,
            width: dims.width(),
            height: dims.height(),
            pitch,
            format,
            flags,
            timestamp: pts as u64,
        };
        let status = match self.calls.encode(&submit) {
            Ok(s) => s,
            Err(e) => {
                if let Some(m) = mapped {
                    self.calls.unmap(m);
                }
                return Err(e);
            }
        };
        self.force_idr = false;
        self.slots[index].mapped = mapped;
        self.next_slot = (index + 1) % self.slots.len();
        self.pending.push_back(Pending {
            slot: index,
            ready: false,
        });
        self.submitted_pts.push_back(pts);
        if status == Submitted::Ready {
            self.pending.iter_mut().for_each(|p| p.ready = true);
            while self.pending.len() > self.delay {
                self.reap_one(out)?;
            }
        }
        Ok(())
    }

    fn registration(&mut self, ptr: u64, pitch: u32, dims: Dimensions) -> Result<Handle> {
        let key = (ptr, pitch, dims.width(), dims.height());
        if let Some((_, h)) = self.registered.iter().find(|(k, _)| *k == key) {
            return Ok(*h);
        }
        let h = self
            .calls
            .register_cuda(ptr, pitch, dims.width(), dims.height())?;
        self.registered.push((key, h));
        Ok(h)
    }

    /// Locks the oldest output and appends its chunk.
    fn reap_one(&mut self, out: &mut Vec<EncodedChunk>) -> Result<()> {
        let Some(p) = self.pending.pop_front() else {
            return Ok(());
        };
        let slot = &mut self.slots[p.slot];
        let locked = self.calls.lock_output(slot.output);
        if let Some(m) = slot.mapped.take() {
            self.calls.unmap(m);
        }
        let Locked {
            data,
            picture_type,
            timestamp,
        } = locked?;
        let tb: Timebase = self.config.timebase;
        let b = i64::from(self.config.b_frames);
        let dts = self
            .submitted_pts
            .pop_front()
            .map(|t| t - b * self.ticks_per_frame);
        out.push(EncodedChunk {
            codec: self.config.codec,
            layout: BitstreamLayout::AnnexB,
            pts: Some(Timestamp {
                ticks: timestamp as i64,
                timebase: tb,
            }),
            dts: dts.map(|ticks| Timestamp {
                ticks,
                timebase: tb,
            }),
            keyframe: picture_type == NV_ENC_PIC_TYPE_IDR,
            generation: 0,
            data,
        });
        Ok(())
    }

    /// Sends EOS and locks every output still in flight; the session stays open.
    pub fn drain(&mut self, out: &mut Vec<EncodedChunk>) -> Result<()> {
        out.append(&mut self.carry);
        if self.pending.is_empty() {
            return Ok(());
        }
        let eos = PicSubmit {
            input: 0,
            output: 0,
            width: 0,
            height: 0,
            pitch: 0,
            format: NV_ENC_BUFFER_FORMAT_NV12,
            flags: NV_ENC_PIC_FLAG_EOS,
            timestamp: 0,
        };
        self.calls.encode(&eos)?;
        self.pending.iter_mut().for_each(|p| p.ready = true);
        while !self.pending.is_empty() {
            self.reap_one(out)?;
        }
        // After end of stream the next picture starts a new coded sequence.
        self.force_idr = true;
        Ok(())
    }

    /// What [`Self::apply`] accepts.
    pub fn can(&self) -> InPlace {
        InPlace {
            bitrate: true,
            fps: true,
            max_dimensions: Some(self.max),
        }
    }

    /// Applies bitrate, frame-rate and size (within the maximum) changes through
    /// `nvEncReconfigureEncoder`; anything else is `Unsupported` (the session opens a new
    /// encoder for it). A size change drains first and resets with an IDR.
    pub fn apply(&mut self, new: &EncoderConfig) -> Result<()> {
        let old = &self.config;
        let same_mode =
            std::mem::discriminant(&old.rate_control) == std::mem::discriminant(&new.rate_control);
        let mut refused = Vec::new();
        if old.codec != new.codec {
            refused.push("codec");
        }
        if !same_mode {
            refused.push("rate-control mode");
        }
        if old.gop_length != new.gop_length {
            refused.push("GOP length");
        }
        if old.b_frames != new.b_frames {
            refused.push("B-frames");
        }
        if old.low_latency != new.low_latency {
            refused.push("low-latency tuning");
        }
        if old.timebase != new.timebase {
            refused.push("timebase");
        }
        if new.dimensions.width() > self.max.width() || new.dimensions.height() > self.max.height()
        {
            refused.push("size above the session maximum");
        }
        if !refused.is_empty() {
            return Err(VideoError::unsupported(format!(
                "NVENC cannot change {} in place",
                refused.join(", ")
            )));
        }
        let resize = old.dimensions != new.dimensions;
        if resize {
            // Buffer pools are resized only after a drain: nothing is in flight below.
            let mut carry = std::mem::take(&mut self.carry);
            self.drain(&mut carry)?;
            self.carry = carry;
        }
        self.calls
            .reconfigure(&session_params(new, self.max), resize)?;
        if resize {
            self.resize_inputs(new.dimensions)?;
        }
        self.ticks_per_frame = new.timebase.ticks_per_frame(new.fps);
        self.config = new.clone();
        Ok(())
    }
}

impl<C: NvencCalls> NvencEncoder<C> {
    /// Recreates the input buffers at `size` and forgets registrations of the old size;
    /// only called with nothing in flight.
    fn resize_inputs(&mut self, size: Dimensions) -> Result<()> {
        for (_, h) in std::mem::take(&mut self.registered) {
            self.calls.unregister(h);
        }
        for i in 0..self.slots.len() {
            self.calls.destroy_input(self.slots[i].input);
            self.slots[i].input =
                self.calls
                    .create_input(size.width(), size.height(), NV_ENC_BUFFER_FORMAT_NV12)?;
        }
        self.next_slot = 0;
        Ok(())
    }
}

impl<C: NvencCalls> Drop for NvencEncoder<C> {
    fn drop(&mut self) {
        // Outputs still in flight are locked (and discarded) so that no buffer is destroyed
        // while the hardware writes it.
        let mut sink = Vec::new();
        let _ = self.drain(&mut sink);
        for slot in self.slots.drain(..) {
            if let Some(m) = slot.mapped {
                self.calls.unmap(m);
            }
            self.calls.destroy_input(slot.input);
            self.calls.destroy_output(slot.output);
        }
        for (_, h) in self.registered.drain(..) {
            self.calls.unregister(h);
        }
    }
}

impl<C: NvencCalls> EncoderBackend for NvencEncoder<C> {
    fn encode(&mut self, input: &EncodeInput, out: &mut Vec<EncodedChunk>) -> Result<()> {
        self.submit(Picture::Host(input), out)
    }

    fn flush(&mut self, out: &mut Vec<EncodedChunk>) -> Result<()> {
        self.drain(out)
    }

    fn implementation(&self) -> String {
        self.implementation.clone()
    }

    fn in_place(&self) -> InPlace {
        self.can()
    }

    fn reconfigure(&mut self, new: &EncoderConfig) -> Result<()> {
        self.apply(new)
    }
}

/// The codec list NVENC serves (used by the probe).
pub(crate) const CODECS: [Codec; 2] = [Codec::H264, Codec::Hevc];
