//! The sequence callback: checks a new sequence against NVDEC's limits, then keeps the
//! decoder (same format), reconfigures it (a size change within what it was created for) or
//! creates it anew: takes the idle decoder an ended session left for exactly this format
//! ([`super::shelf`]), else `cuvidCreateDecoder`.

use super::calls::NvdecCalls;
use super::capability::query_caps;
use super::codec::nv_codec;
use super::ffi::*;
use super::output::Output;
use super::shelf::DecoderKey;
use super::state::{ActiveDecoder, MAX_SURFACES, State};
use crate::api::color::{
    ColorDescription, ColorPrimaries, ColorRange, MatrixCoefficients, TransferCharacteristics,
};
use crate::api::error::{Result, VideoError};
use crate::api::frame::CropRect;
use crate::backend::nvidia::stats::{self, COUNTERS};
use std::time::Instant;

/// Decode surfaces allocated beyond the stream's minimum (plus the display delay).
const SURFACE_MARGIN: u32 = 2;

/// The format a sequence asks of the decoder.
struct Wanted {
    bit_depth: u8,
    monochrome: bool,
    width: u32,
    height: u32,
    surfaces: u32,
    surface_format: cudaVideoSurfaceFormat,
    display: CropRect,
    color: ColorDescription,
}

impl<C: NvdecCalls, O: Output> State<C, O> {
    /// Sets up the decoder for a new sequence; returns the decode surface count for the parser.
    pub(super) fn on_sequence(&mut self, f: &CUVIDEOFORMAT) -> Result<u32> {
        if std::env::var_os("VIDEO_HW_NV_DEBUG").is_some() {
            eprintln!("video-hw nvdec: sequence {f:?}");
        }
        let want = self.check_limits(f)?;
        if let Some(dec) = self.decoder.as_mut()
            && dec.codec == self.codec
            && dec.bit_depth == want.bit_depth
            && dec.monochrome == want.monochrome
            && dec.width == want.width
            && dec.height == want.height
        {
            dec.display = want.display;
            dec.color = want.color;
            return Ok(dec.surfaces);
        }
        // The format changes: pictures of the old sequence still queued are copied out now,
        // while their surfaces exist.
        self.drain_queue();
        if let Some(dec) = self.decoder.as_mut()
            && dec.codec == self.codec
            && dec.bit_depth == want.bit_depth
            && dec.monochrome == want.monochrome
            && want.width <= dec.max_width
            && want.height <= dec.max_height
            && want.surfaces <= dec.surfaces
        {
            reconfigure(dec, &want)?;
            return Ok(dec.surfaces);
        }
        self.decoder = None;
        self.create(f, want)
    }

    /// What the sequence needs, or `Unsupported` naming the NVDEC limit it is beyond.
    fn check_limits(&self, f: &CUVIDEOFORMAT) -> Result<Wanted> {
        let codec = self.codec;
        if f.chroma_format != cudaVideoChromaFormat_420
            && f.chroma_format != cudaVideoChromaFormat_Monochrome
        {
            return Err(VideoError::unsupported(format!(
                "NVDEC backend decodes 4:2:0 and 4:0:0 only; this {codec} stream has chroma \
                 format {} (2: 4:2:2, 3: 4:4:4)",
                f.chroma_format
            )));
        }
        let monochrome = f.chroma_format == cudaVideoChromaFormat_Monochrome;
        if f.bit_depth_luma_minus8 != f.bit_depth_chroma_minus8 || f.bit_depth_luma_minus8 > 4 {
            return Err(VideoError::unsupported(format!(
                "{codec} with luma/chroma bit depth {}/{} is not supported",
                8 + f.bit_depth_luma_minus8,
                8 + f.bit_depth_chroma_minus8
            )));
        }
        let bit_depth = 8 + f.bit_depth_luma_minus8;
        let (w, h) = (f.coded_width, f.coded_height);
        let caps = query_caps(&self.calls, codec, bit_depth, f.chroma_format)?;
        let gpu = &self.gpu_name;
        if caps.bIsSupported == 0 {
            return Err(VideoError::unsupported(format!(
                "NVDEC on {gpu} does not decode {codec} {bit_depth}-bit {}",
                if monochrome { "4:0:0" } else { "4:2:0" }
            )));
        }
        if w > caps.nMaxWidth || h > caps.nMaxHeight {
            return Err(VideoError::unsupported(format!(
                "{codec} {w}x{h} exceeds NVDEC's maximum {}x{} on {gpu}",
                caps.nMaxWidth, caps.nMaxHeight
            )));
        }
        if w < u32::from(caps.nMinWidth) || h < u32::from(caps.nMinHeight) {
            return Err(VideoError::unsupported(format!(
                "{codec} {w}x{h} is below NVDEC's minimum {}x{} on {gpu}",
                caps.nMinWidth, caps.nMinHeight
            )));
        }
        let mbs = (w.div_ceil(16)) * (h.div_ceil(16));
        if mbs > caps.nMaxMBCount {
            return Err(VideoError::unsupported(format!(
                "{codec} {w}x{h} has {mbs} macroblocks, above NVDEC's {} on {gpu}",
                caps.nMaxMBCount
            )));
        }
        let surface_format = if bit_depth > 8 {
            cudaVideoSurfaceFormat_P016
        } else {
            cudaVideoSurfaceFormat_NV12
        };
        if caps.nOutputFormatMask & (1 << surface_format) == 0 {
            return Err(VideoError::unsupported(format!(
                "NVDEC on {gpu} cannot output {} for {codec} {bit_depth}-bit",
                if bit_depth > 8 { "P016" } else { "NV12" }
            )));
        }
        let min = u32::from(f.min_num_decode_surfaces);
        let surfaces =
            (min + self.options.display_delay + SURFACE_MARGIN).clamp(min.max(1), MAX_SURFACES);
        let display = match self.sps_crop {
            Some((coded, crop))
                if coded.width() == w
                    && coded.height() == h
                    && crop.left + crop.width <= w
                    && crop.top + crop.height <= h =>
            {
                crop
            }
            _ => display_rect(f),
        };
        Ok(Wanted {
            bit_depth,
            monochrome,
            width: w,
            height: h,
            surfaces,
            surface_format,
            display,
            color: color_of(f),
        })
    }

    /// Creates the decoder for `want` at its size (the largest a reconfigure can reach).
    fn create(&mut self, f: &CUVIDEOFORMAT, want: Wanted) -> Result<u32> {
        let codec = self.codec;
        let Wanted {
            width: w,
            height: h,
            bit_depth,
            surfaces,
            ..
        } = want;
        let mut info = CUVIDDECODECREATEINFO {
            ulWidth: w as tcu_ulong,
            ulHeight: h as tcu_ulong,
            ulNumDecodeSurfaces: surfaces as tcu_ulong,
            CodecType: nv_codec(codec)?,
            ChromaFormat: f.chroma_format,
            ulCreationFlags: cudaVideoCreate_PreferCUVID,
            bitDepthMinus8: tcu_ulong::from(bit_depth - 8),
            ulIntraDecodeOnly: 0,
            ulMaxWidth: w as tcu_ulong,
            ulMaxHeight: h as tcu_ulong,
            Reserved1: 0,
            display_area: full_rect(w, h),
            OutputFormat: want.surface_format,
            // Weave: interlaced content comes out as the decoded frames (both fields), as
            // the reference decoders give it, never deinterlaced.
            DeinterlaceMode: cudaVideoDeinterlaceMode_Weave,
            ulTargetWidth: w as tcu_ulong,
            ulTargetHeight: h as tcu_ulong,
            ulNumOutputSurfaces: 2,
            vidLock: std::ptr::null_mut(),
            target_rect: ShortRect::default(),
            enableHistogram: 0,
            Reserved2: [0; 4],
        };
        self.output.make_current()?;
        let t = Instant::now();
        let key = DecoderKey {
            gpu: self.gpu,
            codec,
            chroma_format: f.chroma_format,
            bit_depth,
            width: w,
            height: h,
            surfaces,
        };
        let taken = self
            .options
            .keep_idle_decoders
            .then(|| self.output.take_idle_decoder(&key))
            .flatten();
        let handle = if let Some(handle) = taken {
            stats::trace("decoder taken from an ended session", t);
            stats::add(&COUNTERS.decoders_taken, 1);
            handle
        } else {
            let handle = self.calls.create_decoder(&mut info);
            stats::trace("cuvidCreateDecoder", t);
            let handle = handle.map_err(|e| {
                VideoError::new(
                    e.kind(),
                    format!(
                        "{} ({codec} {w}x{h} {bit_depth}-bit, {surfaces} surfaces)",
                        e.context()
                    ),
                )
            })?;
            stats::add(&COUNTERS.decoders_created, 1);
            handle
        };
        self.decoder = Some(ActiveDecoder {
            calls: self.calls.clone(),
            handle,
            codec,
            bit_depth,
            monochrome: want.monochrome,
            max_width: w,
            max_height: h,
            surfaces,
            width: w,
            height: h,
            display: want.display,
            color: want.color,
        });
        Ok(surfaces)
    }
}

/// `cuvidReconfigureDecoder` to `want`'s size, keeping the surfaces (no surface is mapped).
fn reconfigure<C: NvdecCalls>(dec: &mut ActiveDecoder<C>, want: &Wanted) -> Result<()> {
    let (w, h) = (want.width, want.height);
    let mut re = CUVIDRECONFIGUREDECODERINFO {
        ulWidth: w,
        ulHeight: h,
        ulTargetWidth: w,
        ulTargetHeight: h,
        ulNumDecodeSurfaces: dec.surfaces,
        ..Default::default()
    };
    re.display_area = full_rect(w, h);
    dec.calls.reconfigure_decoder(dec.handle, &mut re)?;
    stats::add(&COUNTERS.reconfigures, 1);
    dec.width = w;
    dec.height = h;
    dec.display = want.display;
    dec.color = want.color;
    Ok(())
}

fn full_rect(w: u32, h: u32) -> ShortRect {
    ShortRect {
        left: 0,
        top: 0,
        right: w as i16,
        bottom: h as i16,
    }
}

fn color_of(format: &CUVIDEOFORMAT) -> ColorDescription {
    let v = &format.video_signal_description;
    ColorDescription {
        matrix: MatrixCoefficients::from_h273(v.matrix_coefficients),
        range: if v.full_range() {
            ColorRange::Full
        } else {
            ColorRange::Limited
        },
        primaries: ColorPrimaries::from_h273(v.color_primaries),
        transfer: TransferCharacteristics::from_h273(v.transfer_characteristics),
    }
}

fn display_rect(format: &CUVIDEOFORMAT) -> CropRect {
    let a = &format.display_area;
    let (w, h) = (format.coded_width as i32, format.coded_height as i32);
    let left = a.left.clamp(0, w);
    let top = a.top.clamp(0, h);
    let right = if a.right > left { a.right.min(w) } else { w };
    let bottom = if a.bottom > top { a.bottom.min(h) } else { h };
    CropRect {
        left: left as u32,
        top: top as u32,
        width: (right - left) as u32,
        height: (bottom - top) as u32,
    }
}
