//! H.264 through OpenH264 (built from source by the `openh264` crate).
//!
//! Decoding uses OpenH264's no-delay call per access unit. Timestamps travel through the
//! decoder's reorder buffer as OpenH264 input tags (`uiInBsTimeStamp` -> `uiOutYuvTimeStamp`),
//! so pts stay right where OpenH264 holds pictures back (Main/High profile, B-frames).
//! OpenH264 applies the SPS frame cropping itself: its pictures are the visible size, so the
//! frames carry the full-picture crop rectangle.

mod logs;

use super::i420_input::i420_view;
use super::write_annexb;
use crate::api::codec::{Codec, Dimensions, Timestamp};
use crate::api::config::{EncoderConfig, RateControl};
use crate::api::encode_input::EncodeInput;
use crate::api::error::{Result, VideoError};
use crate::api::frame::{CropRect, DecodedFrame, FrameData, PixelFormat, Plane};
use crate::api::packet::{BitstreamLayout, EncodedChunk};
use crate::backend::{DecoderBackend, EncoderBackend};
use crate::bitstream::AccessUnit;
use openh264::OpenH264API;
use openh264::decoder::{Decoder, DecoderConfig as Oh264DecoderConfig};
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig as Oh264EncoderConfig, FrameRate, FrameType,
    IntraFramePeriod, QpRange, RateControlMode, UsageType,
};
use openh264::formats::YUVSlices;
use openh264_sys2::{
    DECODER_OPTION, DECODER_OPTION_ERROR_CON_IDC, DECODER_OPTION_NUM_OF_FRAMES_REMAINING_IN_BUFFER,
    DECODING_STATE, ERROR_CON_IDC, ERROR_CON_SLICE_MV_COPY_CROSS_IDR, SBufferInfo,
    dsDataErrorConcealed, dsRefLost,
};
use std::collections::BTreeMap;
use std::ptr::null_mut;

/// The OpenH264 version built into this crate.
pub(crate) const OPENH264_VERSION: &str = "2.7.0";

/// Largest picture OpenH264 encodes (either orientation).
const MAX_LONG_SIDE: u32 = 3840;
const MAX_SHORT_SIDE: u32 = 2160;

/// Parameter sets kept for re-priming a recreated decoder.
const MAX_CACHED_PARAM_SETS: usize = 64;
/// Access units whose picture may still be inside the decoder.
const MAX_PENDING: usize = 64;

fn nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |b| b & 0x1f)
}

/// What an access unit that went into the decoder said about its picture.
#[derive(Debug, Clone, Copy)]
struct PendingPicture {
    pts: Option<Timestamp>,
    keyframe: bool,
}

/// Names the bits of an OpenH264 `DECODING_STATE`.
fn describe_state(state: DECODING_STATE) -> String {
    const NAMES: [(DECODING_STATE, &str); 11] = [
        (0x01, "frame pending"),
        (0x02, "reference lost"),
        (0x04, "bitstream error"),
        (0x08, "dependency layer lost"),
        (0x10, "no parameter sets"),
        (0x20, "data error concealed"),
        (0x40, "reference list null pointers"),
        (0x1000, "invalid argument"),
        (0x2000, "not initialised"),
        (0x4000, "out of memory"),
        (0x8000, "destination buffer needs expansion"),
    ];
    let names: Vec<&str> = NAMES
        .iter()
        .filter(|(bit, _)| state & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    if names.is_empty() {
        format!("state {state:#x}")
    } else {
        format!("{} (state {state:#x})", names.join(", "))
    }
}

/// An H.264 decoder on OpenH264.
pub(crate) struct OpenH264Decoder {
    decoder: Decoder,
    /// Tag for the next access unit (0 is never used: OpenH264 reports 0 for "no tag").
    next_tag: u64,
    pending: BTreeMap<u64, PendingPicture>,
    /// SPS/PPS seen so far, to re-prime a recreated decoder.
    param_sets: Vec<Vec<u8>>,
    /// The latest SPS, to notice a new sequence.
    last_sps: Option<Vec<u8>>,
    annexb: Vec<u8>,
    /// Whether frames carry pixels (false: metadata only, no copy).
    pixels: bool,
    /// Whether damaged pictures are concealed ([`OnError::Skip`]) rather than dropped.
    conceal: bool,
    /// Pictures handed out with concealed damage (their own or their references').
    concealed: u64,
}

/// A fresh OpenH264 decoder; with `conceal`, damaged pictures are concealed (slice and motion
/// copy from the last good picture) instead of dropped.
fn new_decoder(conceal: bool) -> Result<Decoder> {
    let mut decoder =
        Decoder::with_api_config(OpenH264API::from_source(), Oh264DecoderConfig::new())
            .map_err(|e| VideoError::backend(format!("OpenH264 decoder creation failed: {e}")))?;
    logs::forward_decoder_log(&mut decoder);
    if conceal {
        let mut idc: ERROR_CON_IDC = ERROR_CON_SLICE_MV_COPY_CROSS_IDR;
        // SAFETY: DECODER_OPTION_ERROR_CON_IDC takes a pointer to one int, which `idc` is;
        // the decoder is initialised.
        let rc = unsafe {
            decoder
                .raw_api()
                .set_option(DECODER_OPTION_ERROR_CON_IDC, (&raw mut idc).cast())
        };
        if rc != 0 {
            return Err(VideoError::backend(format!(
                "OpenH264 refused error concealment (code {rc})"
            )));
        }
    }
    Ok(decoder)
}

impl OpenH264Decoder {
    /// A decoder; `Backend` error when OpenH264 cannot create one.
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            decoder: new_decoder(false)?,
            conceal: false,
            concealed: 0,
            next_tag: 1,
            pending: BTreeMap::new(),
            param_sets: Vec::new(),
            last_sps: None,
            annexb: Vec::new(),
            pixels: true,
        })
    }

    /// Conceals damaged pictures (copying slices and motion from the last good picture) and
    /// hands them out, counted in [`DecoderBackend::concealed_pictures`], instead of dropping
    /// them and every picture that refers to them until the next IDR.
    pub(crate) fn concealing(mut self) -> Result<Self> {
        self.decoder = new_decoder(true)?;
        self.conceal = true;
        Ok(self)
    }

    /// Frames without pixels (sizes, timestamps and flags only): nothing is copied.
    pub(crate) fn without_pixels(mut self) -> Self {
        self.pixels = false;
        self
    }

    fn remember_param_sets(&mut self, nals: &[Vec<u8>]) {
        for nal in nals {
            if matches!(nal_type(nal), 7 | 8) && !self.param_sets.contains(nal) {
                if self.param_sets.len() == MAX_CACHED_PARAM_SETS {
                    self.param_sets.remove(0);
                }
                self.param_sets.push(nal.clone());
            }
        }
    }

    /// Feeds `data` (Annex-B) tagged with `tag`; a picture that became ready goes to `out`.
    fn feed(
        &mut self,
        data: &[u8],
        tag: u64,
        out: &mut Vec<DecodedFrame>,
    ) -> Result<DECODING_STATE> {
        let len = i32::try_from(data.len()).map_err(|_| {
            VideoError::invalid_bitstream(format!(
                "access unit of {} bytes is too large",
                data.len()
            ))
        })?;
        let mut dst = [null_mut::<u8>(); 3];
        let mut info = SBufferInfo {
            uiInBsTimeStamp: tag,
            ..SBufferInfo::default()
        };
        // SAFETY: the decoder is initialised (Decoder::with_api_config); `data` outlives the
        // call and `len` is its length; `dst` and `info` are valid for writes of three
        // pointers and one SBufferInfo, as DecodeFrameNoDelay requires.
        let state = unsafe {
            self.decoder.raw_api().decode_frame_no_delay(
                data.as_ptr(),
                len,
                dst.as_mut_ptr(),
                &raw mut info,
            )
        };
        if info.iBufferStatus == 1 {
            out.push(self.take_picture(&dst, &info)?);
        }
        Ok(state)
    }

    /// Copies the picture OpenH264 handed out (valid until the next call into the decoder).
    fn take_picture(&mut self, dst: &[*mut u8; 3], info: &SBufferInfo) -> Result<DecodedFrame> {
        // SAFETY: `UsrData` is a union whose only member is `sSystemBuffer`, which OpenH264
        // fills whenever iBufferStatus is 1.
        let buf = unsafe { info.UsrData.sSystemBuffer };
        let (w, h) = (buf.iWidth, buf.iHeight);
        let (ys, cs) = (buf.iStride[0], buf.iStride[1]);
        if w <= 0 || h <= 0 || ys < w || cs < (w + 1) / 2 || dst.iter().any(|p| p.is_null()) {
            return Err(VideoError::backend(format!(
                "OpenH264 returned an unusable picture ({w}x{h}, strides {ys}/{cs})"
            )));
        }
        let (w, h, ys, cs) = (w as usize, h as usize, ys as usize, cs as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let copy = |ptr: *const u8, stride: usize, row: usize, rows: usize| -> Vec<u8> {
            let mut plane = Vec::with_capacity(row * rows);
            for r in 0..rows {
                // SAFETY: OpenH264's picture buffers hold `rows` rows of `stride` bytes from
                // the (crop-adjusted) plane pointer, and `row <= stride`; the buffer stays
                // valid until the next call into the decoder, which cannot happen here.
                let line = unsafe { std::slice::from_raw_parts(ptr.add(r * stride), row) };
                plane.extend_from_slice(line);
            }
            plane
        };
        let data = if !self.pixels {
            FrameData::MetadataOnly
        } else {
            FrameData::Cpu(vec![
                Plane {
                    data: copy(dst[0], ys, w, h).into(),
                    stride: w,
                },
                Plane {
                    data: copy(dst[1], cs, cw, ch).into(),
                    stride: cw,
                },
                Plane {
                    data: copy(dst[2], cs, cw, ch).into(),
                    stride: cw,
                },
            ])
        };
        let coded = Dimensions::new(w as u32, h as u32)?;
        let tag = info.uiOutYuvTimeStamp;
        let pending = self.pending.remove(&tag).unwrap_or(PendingPicture {
            pts: None,
            keyframe: false,
        });
        Ok(DecodedFrame {
            format: PixelFormat::I420,
            coded,
            crop: CropRect::full(coded),
            color: Default::default(),
            pts: pending.pts,
            keyframe: pending.keyframe,
            data,
        })
    }

    fn buffered(&mut self) -> Result<usize> {
        let mut n: DECODER_OPTION = 0;
        // SAFETY: the option takes a pointer to one int, which `n` is.
        let rc = unsafe {
            self.decoder.raw_api().get_option(
                DECODER_OPTION_NUM_OF_FRAMES_REMAINING_IN_BUFFER,
                (&raw mut n).cast(),
            )
        };
        if rc != 0 {
            return Err(VideoError::backend(format!(
                "OpenH264 could not report its buffered pictures (code {rc})"
            )));
        }
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Hands out every picture still held in OpenH264's reorder buffer.
    fn drain(&mut self, out: &mut Vec<DecodedFrame>) -> Result<()> {
        for _ in 0..self.buffered()? {
            let mut dst = [null_mut::<u8>(); 3];
            let mut info = SBufferInfo::default();
            // SAFETY: `dst` and `info` are valid for writes as FlushFrame requires; the
            // decoder is initialised.
            unsafe {
                self.decoder
                    .raw_api()
                    .flush_frame(dst.as_mut_ptr(), &raw mut info)
            };
            if info.iBufferStatus != 1 {
                break;
            }
            out.push(self.take_picture(&dst, &info)?);
        }
        Ok(())
    }

    /// Decodes one access unit already in Annex-B form; on a failed keyframe, retries once
    /// on a fresh decoder (OpenH264 can stay stuck after corrupt input).
    fn decode_annexb(
        &mut self,
        annexb: &[u8],
        tag: u64,
        pts: Option<Timestamp>,
        keyframe: bool,
        out: &mut Vec<DecodedFrame>,
    ) -> Result<()> {
        let before = out.len();
        let state = self.feed(annexb, tag, out)?;
        if state == 0 {
            return Ok(());
        }
        // Concealing, OpenH264 reports the pictures that refer to a damaged one as
        // "concealed" (and "reference lost"): they come out, counted. The damaged access unit
        // itself reports a bitstream error and is an error below.
        if self.conceal && out.len() > before && state & !(dsRefLost | dsDataErrorConcealed) == 0 {
            self.concealed += 1;
            return Ok(());
        }
        self.pending.remove(&tag);
        let error = VideoError::invalid_bitstream(format!(
            "OpenH264 could not decode the access unit: {}",
            describe_state(state)
        ));
        if !keyframe {
            // OpenH264 resumes at the next keyframe by itself.
            return Err(error);
        }
        self.recreate(out)?;
        self.pending.insert(tag, PendingPicture { pts, keyframe });
        match self.feed(annexb, tag, out)? {
            0 => Ok(()),
            retry => {
                self.pending.remove(&tag);
                Err(VideoError::invalid_bitstream(format!(
                    "OpenH264 could not decode the keyframe, even on a fresh decoder: {}",
                    describe_state(retry)
                )))
            }
        }
    }

    /// Replaces the decoder with a fresh one primed with the known parameter sets.
    fn recreate(&mut self, out: &mut Vec<DecodedFrame>) -> Result<()> {
        // Pictures completed before the failure are still good: hand them out first.
        let drained = self.drain(out);
        self.decoder = new_decoder(self.conceal)?;
        self.pending.clear();
        let mut primer = Vec::new();
        write_annexb(&self.param_sets, &mut primer);
        if !primer.is_empty() {
            self.feed(&primer, 0, out)?;
        }
        drained
    }
}

impl DecoderBackend for OpenH264Decoder {
    fn decode(&mut self, au: &AccessUnit, out: &mut Vec<DecodedFrame>) -> Result<()> {
        if au.codec != Codec::H264 {
            return Err(VideoError::unsupported(format!(
                "OpenH264 decodes H.264 only, got a {} access unit",
                au.codec
            )));
        }
        if au.nals.is_empty() {
            return Err(VideoError::invalid_bitstream(
                "empty access unit (no NAL units)",
            ));
        }
        if let Some((i, _)) = au
            .nals
            .iter()
            .enumerate()
            .find(|(_, n)| n.is_empty() || n[0] & 0x80 != 0 || nal_type(n) == 0)
        {
            return Err(VideoError::invalid_bitstream(format!(
                "NAL unit {i} of the access unit is not H.264 (empty, forbidden bit set or type 0)"
            )));
        }
        let keyframe = au.keyframe || au.nals.iter().any(|n| nal_type(n) == 5);
        let tag = self.next_tag;
        self.next_tag += 1;
        if au.nals.iter().any(|n| (1..=5).contains(&nal_type(n))) {
            if self.pending.len() >= MAX_PENDING {
                self.pending.pop_first();
            }
            self.pending.insert(
                tag,
                PendingPicture {
                    pts: au.pts,
                    keyframe,
                },
            );
        }
        if let Some(sps) = au.nals.iter().rev().find(|n| nal_type(n) == 7) {
            if self.last_sps.as_ref().is_some_and(|last| last != sps) {
                // A new sequence (e.g. a new size): OpenH264 drops pictures it still holds
                // for reordering when the new SPS activates, so hand them out first.
                self.drain(out)?;
            }
            self.last_sps = Some(sps.clone());
        }
        let mut annexb = std::mem::take(&mut self.annexb);
        write_annexb(&au.nals, &mut annexb);
        let result = self.decode_annexb(&annexb, tag, au.pts, keyframe, out);
        self.annexb = annexb;
        if result.is_ok() {
            // Only parameter sets that decoded cleanly re-prime a recreated decoder.
            self.remember_param_sets(&au.nals);
        }
        result
    }

    fn flush(&mut self, out: &mut Vec<DecodedFrame>) -> Result<()> {
        let result = self.drain(out);
        self.pending.clear();
        result
    }

    fn implementation(&self) -> String {
        format!("openh264 {OPENH264_VERSION}")
    }

    fn concealed_pictures(&self) -> u64 {
        self.concealed
    }

    fn capability(&self) -> crate::backend::DecodeCapability {
        super::capability::openh264()
    }
}

/// An H.264 encoder on OpenH264 (Baseline-style: no B-frames).
pub(crate) struct OpenH264Encoder {
    encoder: Encoder,
    dimensions: Dimensions,
    scratch: Vec<u8>,
    /// Whether the log level was set again after OpenH264 initialised on the first picture.
    log_level_applied: bool,
}

impl OpenH264Encoder {
    /// Checks what OpenH264 cannot do (typed errors) and builds the encoder.
    pub(crate) fn new(config: &EncoderConfig) -> Result<Self> {
        check_encoder_config(config)?;
        let fps = config.fps.as_f64() as f32;
        let mut oc = Oh264EncoderConfig::new()
            .skip_frames(false)
            .max_frame_rate(FrameRate::from_hz(fps))
            .intra_frame_period(IntraFramePeriod::from_num_frames(config.gop_length))
            .scene_change_detect(false)
            // OpenH264 validates only the real-time usage types for camera content.
            .usage_type(UsageType::CameraVideoRealTime);
        oc = match config.rate_control {
            RateControl::Cbr { bitrate } | RateControl::Vbr { bitrate, .. } => oc
                .rate_control_mode(RateControlMode::Bitrate)
                .bitrate(BitRate::from_bps(bitrate)),
            // OpenH264's wrapper offers no fixed QP for I pictures with rate control off;
            // quality mode with the QP range pinned to one value gives every picture that QP.
            RateControl::Cqp { qp } => oc
                .rate_control_mode(RateControlMode::Quality)
                .qp(QpRange::new(qp, qp))
                .adaptive_quantization(false)
                .bitrate(BitRate::from_bps(50_000_000)),
        };
        // Low latency trades compression for speed; OpenH264 never delays output anyway.
        oc = oc.complexity(if config.low_latency {
            Complexity::Low
        } else {
            Complexity::High
        });
        let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), oc)
            .map_err(|e| VideoError::backend(format!("OpenH264 encoder creation failed: {e}")))?;
        logs::forward_encoder_log(&mut encoder);
        Ok(Self {
            encoder,
            dimensions: config.dimensions,
            scratch: Vec::new(),
            log_level_applied: false,
        })
    }
}

/// What OpenH264 cannot encode, as typed errors.
pub(crate) fn check_encoder_config(config: &EncoderConfig) -> Result<()> {
    if config.codec != Codec::H264 {
        return Err(VideoError::unsupported(format!(
            "OpenH264 encodes H.264 only, not {}",
            config.codec
        )));
    }
    if config.b_frames > 0 {
        return Err(VideoError::unsupported(format!(
            "OpenH264 has no B-frames ({} requested); use b_frames = 0 or the FFmpeg encoder (feature sw-ffmpeg)",
            config.b_frames
        )));
    }
    let (w, h) = (config.dimensions.width(), config.dimensions.height());
    if !w.is_multiple_of(2) || !h.is_multiple_of(2) {
        return Err(VideoError::unsupported(format!(
            "OpenH264 encodes even sizes only (4:2:0 chroma), got {}",
            config.dimensions
        )));
    }
    if w.max(h) > MAX_LONG_SIDE || w.min(h) > MAX_SHORT_SIDE {
        return Err(VideoError::unsupported(format!(
            "OpenH264 encodes up to {MAX_LONG_SIDE}x{MAX_SHORT_SIDE} (either orientation), got {}",
            config.dimensions
        )));
    }
    Ok(())
}

impl EncoderBackend for OpenH264Encoder {
    fn encode(&mut self, input: &EncodeInput, out: &mut Vec<EncodedChunk>) -> Result<()> {
        if input.dimensions() != self.dimensions {
            return Err(VideoError::invalid_input(format!(
                "picture is {}, the encoder is configured for {}",
                input.dimensions(),
                self.dimensions
            )));
        }
        let view = i420_view(input, &mut self.scratch)?;
        let source = YUVSlices::new(
            (view.planes[0], view.planes[1], view.planes[2]),
            (view.width, view.height),
            (view.strides[0], view.strides[1], view.strides[2]),
        );
        if input.force_keyframe {
            self.encoder.force_intra_frame();
        }
        let millis = input
            .pts
            .map_or(0, |p| (p.seconds() * 1000.0).max(0.0) as u64);
        let stream = self
            .encoder
            .encode_at(&source, openh264::Timestamp::from_millis(millis))
            .map_err(|e| VideoError::backend(format!("OpenH264 encode failed: {e}")))?;
        let keyframe = matches!(stream.frame_type(), FrameType::IDR);
        let data = stream.to_vec();
        if !self.log_level_applied {
            self.log_level_applied = true;
            logs::forward_encoder_log(&mut self.encoder);
        }
        if data.is_empty() {
            return Err(VideoError::backend(
                "OpenH264 skipped the picture (no output) although frame skipping is off",
            ));
        }
        out.push(EncodedChunk {
            codec: Codec::H264,
            layout: BitstreamLayout::AnnexB,
            pts: input.pts,
            dts: input.pts,
            keyframe,
            generation: 0,
            data,
        });
        Ok(())
    }

    fn flush(&mut self, _out: &mut Vec<EncodedChunk>) -> Result<()> {
        // OpenH264 has no lookahead or reordering: every picture came out of `encode`.
        Ok(())
    }

    fn implementation(&self) -> String {
        format!("openh264 {OPENH264_VERSION}")
    }
}
