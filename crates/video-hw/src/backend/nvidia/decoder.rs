//! `NvdecDecoder`: the NVDEC parser and decoder behind the [`DecoderBackend`] contract.
//!
//! Each access unit goes to `cuvidParseVideoData` as one packet (`CUVID_PKT_ENDOFPICTURE`,
//! timestamped). The parser calls back on this thread: *sequence* creates the decoder (or
//! reconfigures it on a size change), *decode* queues the picture on the engine, *display*
//! records the picture in a queue. After the parse call returns, `decode` maps each queued
//! picture, copies it out (device buffer, host memory, or RGB through the kernel) and unmaps
//! it. A display delay (default [`DEFAULT_DISPLAY_DELAY`], `VIDEO_HW_NV_DISPLAY_DELAY`) keeps
//! the engine busy with later pictures while earlier ones are copied.
//!
//! Host outputs (NV12/P016 planes, RGB) overlap their copy to host memory with the next
//! packet (see [`HostCopyMode`]): the surface is read into a device staging buffer on the
//! session's stream and unmapped, the staging buffer is copied to the host on a second
//! stream, and the frame is handed out by the next `decode` (or `flush`) call, once that copy
//! is done. The engine keeps decoding meanwhile instead of waiting for the copy.

use super::cuda::{self, Context, DeviceBuffer, Event, Mem, Stream, check};
use super::ffi::*;
use super::host_pool::HostPool;
use super::pitch_copy::{CopyPath, PitchCopy};
use super::rgb::{self, Coeffs, RgbKernel, Source};
use super::stats::{self, COUNTERS};
use super::surface_pool::SurfacePool;
use crate::api::codec::{Codec, Dimensions, Timebase, Timestamp};
use crate::api::color::{
    ColorDescription, ColorPrimaries, ColorRange, MatrixCoefficients, TransferCharacteristics,
};
use crate::api::config::{DecodeOutput, DecoderConfig};
use crate::api::error::{Result, VideoError};
use crate::api::frame::{
    CropRect, DecodedFrame, FrameData, GpuApi, GpuSurface, PixelFormat, Plane,
};
use crate::backend::DecoderBackend;
use crate::bitstream::{AccessUnit, nal, sps};
use std::collections::VecDeque;
use std::ffi::{c_int, c_void};
use std::sync::Arc;
use std::time::Instant;

/// Display delay used when `VIDEO_HW_NV_DISPLAY_DELAY` is not set: pictures the parser holds
/// before displaying, so that mapping one picture does not wait for the engine. 0 gives the
/// lowest latency (each picture is returned by the `decode` call that completes it).
pub const DEFAULT_DISPLAY_DELAY: u32 = 4;

/// Decode surfaces allocated beyond the stream's minimum (plus the display delay).
const SURFACE_MARGIN: u32 = 2;
/// NVDEC's ceiling on decode surfaces.
const MAX_SURFACES: u32 = 32;

fn display_delay() -> u32 {
    std::env::var("VIDEO_HW_NV_DISPLAY_DELAY")
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .map_or(DEFAULT_DISPLAY_DELAY, |d| d.min(16))
}

/// When copies of host outputs complete (`VIDEO_HW_NV_HOST_COPY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostCopyMode {
    /// In the background, while the next packet is parsed and decoded; the frame comes out of
    /// the next `decode` call (one packet later). The default when the display delay is
    /// above 0.
    Overlapped,
    /// Before the `decode` call that displays the picture returns (`sync`, and always with a
    /// display delay of 0: the lowest latency).
    Immediate,
}

impl HostCopyMode {
    /// From `VIDEO_HW_NV_HOST_COPY` (`sync` or `async`) and the display delay.
    pub fn from_value(value: Option<&str>, display_delay: u32) -> Self {
        match value.map(|v| v.trim().to_ascii_lowercase()) {
            Some(v) if v == "sync" || v == "immediate" => Self::Immediate,
            _ if display_delay == 0 => Self::Immediate,
            _ => Self::Overlapped,
        }
    }
}

fn nv_codec(codec: Codec) -> Result<cudaVideoCodec> {
    match codec {
        Codec::H264 => Ok(cudaVideoCodec_H264),
        Codec::Hevc => Ok(cudaVideoCodec_HEVC),
        #[allow(unreachable_patterns)]
        other => Err(VideoError::unsupported(format!(
            "NVDEC backend has no {other} decoder"
        ))),
    }
}

/// Asks NVDEC what it can do for `codec` at `bit_depth` in `chroma` format (a context must be
/// current).
pub(crate) fn query_caps(
    lib: &Nvcuvid,
    codec: Codec,
    bit_depth: u8,
    chroma: cudaVideoChromaFormat,
) -> Result<CUVIDDECODECAPS> {
    let mut caps = CUVIDDECODECAPS {
        eCodecType: nv_codec(codec)?,
        eChromaFormat: chroma,
        nBitDepthMinus8: u32::from(bit_depth.saturating_sub(8)),
        ..Default::default()
    };
    // SAFETY: `caps` is a valid CUVIDDECODECAPS with the IN fields set.
    let res = unsafe { (lib.get_decoder_caps)(&mut caps) };
    check(res, "cuvidGetDecoderCaps")?;
    Ok(caps)
}

/// The decoder handle and the sequence it was set up for.
struct ActiveDecoder {
    lib: &'static Nvcuvid,
    handle: CUvideodecoder,
    codec: Codec,
    bit_depth: u8,
    /// 4:0:0: the chroma planes handed out are filled with the neutral value.
    monochrome: bool,
    max_width: u32,
    max_height: u32,
    surfaces: u32,
    /// Coded size now (after any reconfigure).
    width: u32,
    height: u32,
    /// Visible rectangle inside the coded picture.
    display: CropRect,
    color: ColorDescription,
}

impl Drop for ActiveDecoder {
    fn drop(&mut self) {
        // SAFETY: the handle was created by cuvidCreateDecoder and is destroyed once; no frame
        // is mapped (mapping is scoped to `emit`).
        let _ = unsafe { (self.lib.destroy_decoder)(self.handle) };
    }
}

/// Everything the parser callbacks touch. Boxed, so its address is stable for `pUserData`.
struct State {
    lib: &'static Nvcuvid,
    codec: Codec,
    output: DecodeOutput,
    timebase: Timebase,
    gpu_name: String,
    decoder: Option<ActiveDecoder>,
    /// Pictures displayed by the parser and not yet copied out.
    queue: VecDeque<CUVIDPARSERDISPINFO>,
    /// Whether each surface index holds an intra picture.
    intra: [bool; MAX_SURFACES as usize],
    /// Frames copied out and not yet handed to the session, in display order: their host
    /// copies may still be in flight ([`HostCopyMode::Overlapped`]), or they were copied out
    /// inside a callback (before a reconfigure).
    pending: VecDeque<Pending>,
    host_copy_mode: HostCopyMode,
    /// Device staging buffers of overlapped host copies, free for the next one (one size).
    staging_free: Vec<DeviceBuffer>,
    /// Completion events of overlapped host copies, free for the next one.
    events_free: Vec<Event>,
    /// Marks the end of the reads of the mapped surface, so it can be unmapped while the
    /// host copy goes on.
    surface_read: Option<Event>,
    /// Errors raised inside callbacks or while copying, in order.
    errors: Vec<VideoError>,
    /// Whether any packet since the last flush carried a timestamp.
    pts_seen: bool,
    /// Annex-B bytes of the access unit being parsed.
    packet: Vec<u8>,
    /// Coded size and crop of the latest SPS seen in the input: NVDEC's parser reports the
    /// display area's right/bottom edges but drops the left/top crop offsets, so the crop
    /// comes from our own SPS parse when the coded sizes agree.
    sps_crop: Option<(Dimensions, CropRect)>,
    /// Mark each packet as one whole picture (`CUVID_PKT_ENDOFPICTURE`), so the parser
    /// decodes it at once; `VIDEO_HW_NV_END_OF_PICTURE=0` leaves picture ends to the parser.
    end_of_picture: bool,
    gpu_pool: Option<Arc<SurfacePool>>,
    /// Host planes of CPU outputs, recycled once the caller drops the frames.
    host_pool: HostPool,
    /// How GPU outputs are copied out of the mapped surface.
    copy_path: CopyPath,
    /// The copy kernel, loaded on first use when `copy_path` asks for it.
    pitch_copy: Option<std::result::Result<PitchCopy, String>>,
    rgb_kernel: Option<std::result::Result<RgbKernel, String>>,
    /// Counters of this session (also added to the process-wide ones).
    frames: u64,
    /// Frames converted to RGB on the CPU because the kernel path failed.
    rgb_fallbacks: u64,
    errors_seen: u64,
    stream: Stream,
    /// The stream of overlapped host copies (after the session's stream's reads).
    copy_stream: Stream,
    ctx: Arc<Context>,
}

/// A frame copied out, with its host copy when that may still be running.
struct Pending {
    frame: DecodedFrame,
    copy: Option<HostCopy>,
    /// The bit depth of P016 host planes to hand out LSB-aligned planar (I010/I012), the
    /// layout of planar output above 8 bits; `None` to hand the frame out as it is.
    planar_depth: Option<u8>,
}

/// An overlapped host copy: the frame's planes are complete once `done` is.
struct HostCopy {
    done: Event,
    staging: DeviceBuffer,
}

/// The NVDEC decoder adapter of one session.
pub(crate) struct NvdecDecoder {
    parser: CUvideoparser,
    display_delay: u32,
    /// The state, owned through a raw pointer (from `Box::into_raw`) because the parser
    /// callbacks reach it through `pUserData`; freed in `Drop` after the parser.
    state: std::ptr::NonNull<State>,
}

impl NvdecDecoder {
    /// A decoder for `config` on device `config.gpu` (runs on the session's worker thread).
    pub fn new(lib: &'static Nvcuvid, config: &DecoderConfig, gpu_name: String) -> Result<Self> {
        nv_codec(config.codec)?;
        let t = Instant::now();
        let ctx = Context::for_session(config.gpu)?;
        let stream = Stream::new(ctx.clone())?;
        let copy_stream = Stream::new(ctx.clone())?;
        let delay = display_delay();
        // Frames waiting in the session's output queue, a few being reaped, and the ones
        // being decoded: beyond that, planes are made for one frame.
        let mut host_pool = HostPool::new(
            Some(ctx.clone()),
            config.output_queue + config.max_in_flight + 8,
        );
        if let Some(n) = std::env::var("VIDEO_HW_NV_PIN_MAX")
            .ok()
            .and_then(|v| v.trim().parse().ok())
        {
            host_pool = host_pool.with_pin_limit(n);
        }
        let state = Box::new(State {
            lib,
            codec: config.codec,
            output: config.output,
            timebase: config.timebase,
            gpu_name,
            decoder: None,
            queue: VecDeque::new(),
            intra: [false; MAX_SURFACES as usize],
            pending: VecDeque::new(),
            host_copy_mode: HostCopyMode::from_value(
                std::env::var("VIDEO_HW_NV_HOST_COPY").ok().as_deref(),
                delay,
            ),
            staging_free: Vec::new(),
            events_free: Vec::new(),
            surface_read: None,
            errors: Vec::new(),
            pts_seen: false,
            packet: Vec::new(),
            sps_crop: None,
            end_of_picture: std::env::var("VIDEO_HW_NV_END_OF_PICTURE").as_deref() != Ok("0"),
            gpu_pool: None,
            host_pool,
            copy_path: CopyPath::get(),
            pitch_copy: None,
            rgb_kernel: None,
            frames: 0,
            rgb_fallbacks: 0,
            errors_seen: 0,
            stream,
            copy_stream,
            ctx,
        });
        let mut dec = Self {
            parser: std::ptr::null_mut(),
            display_delay: delay,
            state: std::ptr::NonNull::from(Box::leak(state)),
        };
        dec.create_parser()?;
        stats::add(&COUNTERS.sessions_opened, 1);
        stats::trace("session: context, streams, parser", t);
        Ok(dec)
    }

    fn state(&mut self) -> &mut State {
        // SAFETY: the pointer comes from `Box::leak` and is freed only in `Drop`; callbacks
        // run only inside parser calls, during which no reference from here is alive.
        unsafe { self.state.as_mut() }
    }

    fn state_ref(&self) -> &State {
        // SAFETY: as in `state`.
        unsafe { self.state.as_ref() }
    }

    fn create_parser(&mut self) -> Result<()> {
        let user: *mut State = self.state.as_ptr();
        let codec = self.state().codec;
        let lib = self.state().lib;
        let mut params = CUVIDPARSERPARAMS {
            CodecType: nv_codec(codec)?,
            // The sequence callback returns the real number.
            ulMaxNumDecodeSurfaces: 1,
            ulClockRate: 0,
            ulErrorThreshold: 0,
            ulMaxDisplayDelay: self.display_delay,
            bitfields: 0,
            uReserved1: [0; 4],
            pUserData: user.cast(),
            pfnSequenceCallback: Some(on_sequence),
            pfnDecodePicture: Some(on_decode),
            pfnDisplayPicture: Some(on_display),
            pfnGetOperatingPoint: None,
            pvReserved2: [std::ptr::null_mut(); 6],
            pExtVideoInfo: std::ptr::null_mut(),
        };
        let mut parser = std::ptr::null_mut();
        // SAFETY: `params` is fully initialised; `pUserData` points at the leaked state, which
        // outlives the parser (`Drop` destroys the parser first).
        let res = unsafe { (lib.create_video_parser)(&mut parser, &mut params) };
        check(res, "cuvidCreateVideoParser")?;
        self.parser = parser;
        Ok(())
    }

    fn destroy_parser(&mut self) {
        if !self.parser.is_null() {
            let lib = self.state_ref().lib;
            // SAFETY: created by cuvidCreateVideoParser and destroyed once.
            let _ = unsafe { (lib.destroy_video_parser)(self.parser) };
            self.parser = std::ptr::null_mut();
        }
    }

    fn parse(&mut self, flags: tcu_ulong, timestamp: i64, with_payload: bool) -> Result<()> {
        let parser = self.parser;
        let s = self.state();
        s.ctx.make_current()?;
        let mut packet = CUVIDSOURCEDATAPACKET {
            flags,
            payload_size: if with_payload {
                s.packet.len() as tcu_ulong
            } else {
                0
            },
            payload: if with_payload {
                s.packet.as_ptr()
            } else {
                std::ptr::null()
            },
            timestamp,
        };
        let lib = s.lib;
        // SAFETY: the packet points at the state's packet buffer, which the callbacks never
        // touch, so it stays valid across the call; the callbacks reach the state through
        // `pUserData` while no reference from here is used (`s` is dead after this point).
        let res = unsafe { (lib.parse_video_data)(parser, &mut packet) };
        check(res, "cuvidParseVideoData").map_err(|e| {
            VideoError::invalid_bitstream(format!("NVDEC parser rejected the data: {e}"))
        })
    }

    /// Copies out every displayed picture, hands out the frames that are complete (every
    /// one when `all`, else at least the first `due`: those pending before this call), then
    /// reports the first error, if any.
    fn collect(&mut self, out: &mut Vec<DecodedFrame>, due: usize, all: bool) -> Result<()> {
        let s = self.state();
        s.drain_queue();
        let due = if all || s.host_copy_mode == HostCopyMode::Immediate {
            usize::MAX
        } else {
            due
        };
        let before = out.len();
        s.release_pending(out, due);
        s.frames += (out.len() - before) as u64;
        if s.errors.is_empty() {
            return Ok(());
        }
        let mut errors = std::mem::take(&mut s.errors);
        s.errors_seen += errors.len() as u64;
        let first = errors.remove(0);
        if errors.is_empty() {
            Err(first)
        } else {
            Err(VideoError::new(
                first.kind(),
                format!("{} (and {} more errors)", first.context(), errors.len()),
            ))
        }
    }
}

impl Drop for NvdecDecoder {
    fn drop(&mut self) {
        let t = Instant::now();
        let _ = self.state().ctx.make_current();
        self.destroy_parser();
        // Host copies still in flight write into planes and staging buffers freed below.
        let _ = self.state().copy_stream.synchronize();
        stats::trace("close: parser", t);
        let t = Instant::now();
        drop(self.state().decoder.take());
        stats::trace("close: cuvidDestroyDecoder", t);
        let t = Instant::now();
        let pool = std::mem::replace(&mut self.state().host_pool, HostPool::new(None, 1));
        drop(pool);
        stats::trace("close: host buffers", t);
        let t = Instant::now();
        // SAFETY: the pointer came from `Box::leak` and the parser that used it is gone. The
        // decoder handle, buffers, stream and context are dropped with it, in field order.
        drop(unsafe { Box::from_raw(self.state.as_ptr()) });
        stats::trace("close: buffers, kernels, streams", t);
    }
}

impl DecoderBackend for NvdecDecoder {
    fn decode(&mut self, au: &AccessUnit, out: &mut Vec<DecodedFrame>) -> Result<()> {
        let s = self.state();
        let due = s.pending.len();
        s.packet.clear();
        for nal in &au.nals {
            if nal::is_parameter_set(s.codec, nal) {
                let sps = match (s.codec, nal::nal_type(s.codec, nal)) {
                    (Codec::H264, Some(7)) => Some(sps::parse_h264_sps(nal)),
                    (Codec::Hevc, Some(33)) => Some(sps::parse_hevc_sps(nal)),
                    _ => None,
                };
                // An SPS we cannot parse is left to NVDEC's parser to judge.
                if let Some(Ok(info)) = sps {
                    s.sps_crop = Some((info.coded, info.crop));
                }
            }
            s.packet.extend_from_slice(&[0, 0, 0, 1]);
            s.packet.extend_from_slice(nal);
        }
        let mut flags = if s.end_of_picture {
            CUVID_PKT_ENDOFPICTURE
        } else {
            0
        };
        let mut ts = 0;
        if let Some(pts) = au.pts {
            flags |= CUVID_PKT_TIMESTAMP;
            ts = pts.rescale(s.timebase).ticks;
            s.pts_seen = true;
        }
        let parsed = self.parse(flags, ts, true);
        let collected = self.collect(out, due, false);
        parsed.and(collected)
    }

    fn flush(&mut self, out: &mut Vec<DecodedFrame>) -> Result<()> {
        let t = Instant::now();
        let parsed = self.parse(CUVID_PKT_ENDOFSTREAM, 0, false);
        let collected = self.collect(out, 0, true);
        // A fresh parser for the next stream; the decoder is kept and reused when the next
        // sequence has the same format.
        self.destroy_parser();
        self.state().queue.clear();
        self.state().pts_seen = false;
        let created = self.create_parser();
        stats::trace("flush", t);
        parsed.and(collected).and(created)
    }

    fn conversion_fallbacks(&self) -> u64 {
        self.state_ref().rgb_fallbacks
    }

    fn capability(&self) -> crate::backend::DecodeCapability {
        super::decode_capability(self.state_ref().codec)
    }

    fn implementation(&self) -> String {
        format!(
            "nvdec ({}, display delay {}; {} frames, {} errors)",
            self.state_ref().gpu_name,
            self.display_delay,
            self.state_ref().frames,
            self.state_ref().errors_seen
        )
    }
}

// --- parser callbacks -------------------------------------------------------------------

unsafe extern "system" fn on_sequence(user: *mut c_void, format: *mut CUVIDEOFORMAT) -> c_int {
    // SAFETY: `user` is the boxed State registered with the parser, alive and not otherwise
    // borrowed during cuvidParseVideoData; `format` is valid for the call.
    let (state, format) = unsafe { (&mut *user.cast::<State>(), &*format) };
    match state.on_sequence(format) {
        Ok(n) => n as c_int,
        Err(e) => {
            state.errors.push(e);
            0
        }
    }
}

unsafe extern "system" fn on_decode(user: *mut c_void, pic: *mut CUVIDPICPARAMS) -> c_int {
    // SAFETY: as in `on_sequence`; `pic` is valid for the call.
    let state = unsafe { &mut *user.cast::<State>() };
    let Some(dec) = state.decoder.as_ref() else {
        state.errors.push(VideoError::invalid_bitstream(
            "NVDEC parser produced a picture before any sequence header",
        ));
        return 0;
    };
    // SAFETY: `pic` is valid for the call.
    let (idx, intra) = unsafe { ((*pic).CurrPicIdx, (*pic).intra_pic_flag != 0) };
    if let Some(slot) = usize::try_from(idx)
        .ok()
        .and_then(|i| state.intra.get_mut(i))
    {
        *slot = intra;
    }
    // SAFETY: the decoder handle is alive and `pic` comes straight from the parser.
    let res = unsafe { (state.lib.decode_picture)(dec.handle, pic) };
    match check(res, "cuvidDecodePicture") {
        Ok(()) => {
            stats::add(&COUNTERS.pictures_decoded, 1);
            1
        }
        Err(e) => {
            state
                .errors
                .push(VideoError::invalid_bitstream(e.context().to_string()));
            0
        }
    }
}

unsafe extern "system" fn on_display(user: *mut c_void, info: *mut CUVIDPARSERDISPINFO) -> c_int {
    // SAFETY: as in `on_sequence`.
    let state = unsafe { &mut *user.cast::<State>() };
    if !info.is_null() {
        // SAFETY: non-null and valid for the call.
        state.queue.push_back(unsafe { *info });
    }
    1
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

impl State {
    /// Sets up the decoder for a new sequence; returns the decode surface count for the parser.
    fn on_sequence(&mut self, f: &CUVIDEOFORMAT) -> Result<u32> {
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
        if std::env::var_os("VIDEO_HW_NV_DEBUG").is_some() {
            eprintln!("video-hw nvdec: sequence {f:?}");
        }
        if f.bit_depth_luma_minus8 != f.bit_depth_chroma_minus8 || f.bit_depth_luma_minus8 > 4 {
            return Err(VideoError::unsupported(format!(
                "{codec} with luma/chroma bit depth {}/{} is not supported",
                8 + f.bit_depth_luma_minus8,
                8 + f.bit_depth_chroma_minus8
            )));
        }
        let bit_depth = 8 + f.bit_depth_luma_minus8;
        let (w, h) = (f.coded_width, f.coded_height);
        let caps = query_caps(self.lib, codec, bit_depth, f.chroma_format)?;
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
        let delay = display_delay();
        let surfaces = (u32::from(f.min_num_decode_surfaces) + delay + SURFACE_MARGIN)
            .clamp(u32::from(f.min_num_decode_surfaces).max(1), MAX_SURFACES);
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
        let color = color_of(f);

        if let Some(dec) = self.decoder.as_mut()
            && dec.codec == codec
            && dec.bit_depth == bit_depth
            && dec.monochrome == monochrome
            && dec.width == w
            && dec.height == h
        {
            dec.display = display;
            dec.color = color;
            return Ok(dec.surfaces);
        }
        // The format changes: pictures of the old sequence still queued are copied out now,
        // while their surfaces exist.
        self.drain_queue();

        if let Some(dec) = self.decoder.as_mut()
            && dec.codec == codec
            && dec.bit_depth == bit_depth
            && dec.monochrome == monochrome
            && w <= dec.max_width
            && h <= dec.max_height
            && surfaces <= dec.surfaces
        {
            {
                let mut re = CUVIDRECONFIGUREDECODERINFO {
                    ulWidth: w,
                    ulHeight: h,
                    ulTargetWidth: w,
                    ulTargetHeight: h,
                    ulNumDecodeSurfaces: dec.surfaces,
                    ..Default::default()
                };
                re.display_area = ShortRect {
                    left: 0,
                    top: 0,
                    right: w as i16,
                    bottom: h as i16,
                };
                // SAFETY: the handle is alive and no surface is mapped.
                let res = unsafe { (self.lib.reconfigure_decoder)(dec.handle, &mut re) };
                check(res, "cuvidReconfigureDecoder")?;
                stats::add(&COUNTERS.reconfigures, 1);
                dec.width = w;
                dec.height = h;
                dec.display = display;
                dec.color = color;
                return Ok(dec.surfaces);
            }
        }
        self.decoder = None;
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
            display_area: ShortRect {
                left: 0,
                top: 0,
                right: w as i16,
                bottom: h as i16,
            },
            OutputFormat: surface_format,
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
        self.ctx.make_current()?;
        let mut handle = std::ptr::null_mut();
        let t = Instant::now();
        // SAFETY: `info` is fully initialised; the context is current on this thread.
        let res = unsafe { (self.lib.create_decoder)(&mut handle, &mut info) };
        stats::trace("cuvidCreateDecoder", t);
        check(res, "cuvidCreateDecoder").map_err(|e| {
            VideoError::new(
                e.kind(),
                format!(
                    "{} ({codec} {w}x{h} {bit_depth}-bit, {surfaces} surfaces)",
                    e.context()
                ),
            )
        })?;
        stats::add(&COUNTERS.decoders_created, 1);
        self.decoder = Some(ActiveDecoder {
            lib: self.lib,
            handle,
            codec,
            bit_depth,
            monochrome,
            max_width: w,
            max_height: h,
            surfaces,
            width: w,
            height: h,
            display,
            color,
        });
        Ok(surfaces)
    }

    /// Copies out every queued picture into `pending`; errors go to `self.errors`.
    fn drain_queue(&mut self) {
        while let Some(info) = self.queue.pop_front() {
            match self.emit(&info) {
                Ok(pending) => self.pending.push_back(pending),
                Err(e) => self.errors.push(e),
            }
        }
    }

    /// Hands out pending frames in order: the first `due` after waiting for their copies,
    /// then those whose copies are already done.
    fn release_pending(&mut self, out: &mut Vec<DecodedFrame>, due: usize) {
        let mut released = 0;
        while let Some(next) = self.pending.front() {
            if released >= due
                && let Some(copy) = &next.copy
                && !copy.done.is_done().unwrap_or(true)
            {
                break;
            }
            let Pending {
                frame,
                copy,
                planar_depth,
            } = self.pending.pop_front().expect("front exists");
            released += 1;
            if let Some(HostCopy { done, staging }) = copy {
                if !done.is_done().unwrap_or(false) {
                    stats::add(&COUNTERS.copy_waits, 1);
                }
                let finished = done.synchronize();
                self.recycle_staging(staging);
                self.events_free.push(done);
                if let Err(e) = finished {
                    self.errors.push(e);
                    continue;
                }
            }
            let frame = match planar_depth.map(|d| crate::transform::p016_to_planar(&frame, d)) {
                None => frame,
                Some(Ok(planar)) => planar,
                Some(Err(e)) => {
                    self.errors.push(e);
                    continue;
                }
            };
            stats::add(&COUNTERS.frames_out, 1);
            out.push(frame);
        }
    }

    /// A device staging buffer of `len` bytes, recycled when one is free.
    fn staging(&mut self, len: usize) -> Result<DeviceBuffer> {
        self.staging_free.retain(|b| b.len == len);
        match self.staging_free.pop() {
            Some(buf) => Ok(buf),
            None => DeviceBuffer::new(self.ctx.clone(), len),
        }
    }

    fn recycle_staging(&mut self, buf: DeviceBuffer) {
        // A handful covers the copies pending at once (one per picture displayed by a packet).
        if self.staging_free.len() < 8 {
            self.staging_free.push(buf);
        }
    }

    /// Marks the end of the reads of the mapped surface queued so far on the session's
    /// stream, and queues their staging buffer's copy to the host (`copy`, given the copy
    /// stream) after them; the surface may be unmapped once `surface_read` is done.
    fn overlap_host_copy(
        &mut self,
        staging: DeviceBuffer,
        copy: impl FnOnce(cudarc::driver::sys::CUstream, u64) -> Result<()>,
    ) -> Result<HostCopy> {
        if self.surface_read.is_none() {
            self.surface_read = Some(Event::new(self.ctx.clone())?);
        }
        let read = self.surface_read.as_ref().expect("set above");
        read.record(self.stream.raw())?;
        read.wait_on(self.copy_stream.raw())?;
        copy(self.copy_stream.raw(), staging.ptr)?;
        let done = match self.events_free.pop() {
            Some(event) => event,
            None => Event::new(self.ctx.clone())?,
        };
        done.record(self.copy_stream.raw())?;
        stats::add(&COUNTERS.overlapped_copies, 1);
        Ok(HostCopy { done, staging })
    }

    /// Checks, maps, copies out and unmaps one displayed picture.
    fn emit(&mut self, info: &CUVIDPARSERDISPINFO) -> Result<Pending> {
        let Some(dec) = self.decoder.as_ref() else {
            return Err(VideoError::backend(
                "NVDEC displayed a picture without a decoder",
            ));
        };
        let (handle, lib) = (dec.handle, self.lib);
        // SAFETY: an all-zero status struct is valid plain data.
        let mut status: CUVIDGETDECODESTATUS = unsafe { std::mem::zeroed() };
        // SAFETY: the handle is alive; the index comes from the parser.
        let res = unsafe { (lib.get_decode_status)(handle, info.picture_index, &mut status) };
        if check(res, "cuvidGetDecodeStatus").is_ok() {
            match status.decodeStatus {
                s if s == cuvidDecodeStatus_Error => {
                    stats::add(&COUNTERS.decode_errors, 1);
                    return Err(VideoError::invalid_bitstream(format!(
                        "NVDEC reported a decode error for picture (surface {})",
                        info.picture_index
                    )));
                }
                s if s == cuvidDecodeStatus_Error_Concealed => {
                    stats::add(&COUNTERS.concealed_errors, 1)
                }
                _ => {}
            }
        }
        // SAFETY: an all-zero CUVIDPROCPARAMS is valid plain data.
        let mut proc: CUVIDPROCPARAMS = unsafe { std::mem::zeroed() };
        proc.progressive_frame = info.progressive_frame;
        proc.second_field = info.repeat_first_field + 1;
        proc.top_field_first = info.top_field_first;
        proc.unpaired_field = c_int::from(info.repeat_first_field < 0);
        proc.output_stream = self.stream.raw();
        let (mut ptr, mut pitch) = (0u64, 0u32);
        // SAFETY: the handle is alive; the outputs are written by the call.
        let res = unsafe {
            (lib.map_video_frame)(handle, info.picture_index, &mut ptr, &mut pitch, &mut proc)
        };
        check(res, "cuvidMapVideoFrame")?;
        let mapped = Mapped { lib, handle, ptr };
        let pending = self.copy_out(info, mapped.ptr, pitch as usize);
        // No read of the surface may be in flight when it is unmapped (error paths too); an
        // overlapped host copy reads the staging buffer, not the surface.
        let read = match (&pending, &self.surface_read) {
            (Ok(Pending { copy: Some(_), .. }), Some(read)) => read.synchronize(),
            _ => self.stream.synchronize(),
        };
        drop(mapped);
        let pending = pending?;
        if let Err(e) = read {
            // The frame is dropped: its host copy must not go on writing into the planes.
            let _ = self.copy_stream.synchronize();
            return Err(e);
        }
        Ok(pending)
    }

    /// Copies the mapped picture at `ptr` (pitch `pitch`) to what the session asked for.
    fn copy_out(&mut self, info: &CUVIDPARSERDISPINFO, ptr: u64, pitch: usize) -> Result<Pending> {
        let dec = self.decoder.as_ref().expect("emit checked the decoder");
        let wide = dec.bit_depth > 8;
        let bps = if wide { 2 } else { 1 };
        let native = if wide {
            PixelFormat::P016
        } else {
            PixelFormat::Nv12
        };
        let chroma = ptr + (pitch * (dec.height as usize).next_multiple_of(2)) as u64;
        let (coded_w, coded_h) = (dec.width, dec.height);
        let display = dec.display;
        let color = dec.color;
        let bit_depth = dec.bit_depth;
        let monochrome = dec.monochrome;
        let keyframe = usize::try_from(info.picture_index)
            .ok()
            .and_then(|i| self.intra.get(i).copied())
            .unwrap_or(false);
        let pts = self.pts_seen.then_some(Timestamp {
            ticks: info.timestamp,
            timebase: self.timebase,
        });
        let stream = self.stream.raw();
        let started = Instant::now();
        let mut host_copy = None;
        let mut planar_depth = None;
        let (format, coded, crop, data, bytes) = match self.output {
            DecodeOutput::Gpu => {
                let row = coded_w as usize * bps;
                let dst_pitch = row.next_multiple_of(256);
                let rows = coded_h as usize + (coded_h as usize).div_ceil(2);
                let len = dst_pitch * rows;
                if self.gpu_pool.as_ref().is_none_or(|p| p.buffer_len() != len) {
                    self.gpu_pool = Some(SurfacePool::new(self.ctx.clone(), len));
                }
                let buf = self.gpu_pool.as_ref().expect("set above").take()?;
                let dst = buf.ptr();
                let luma_rows = coded_h as usize;
                let dst_chroma = dst + (dst_pitch * luma_rows) as u64;
                self.device_copy(ptr, pitch, dst, dst_pitch, row, luma_rows)?;
                let crows = luma_rows.div_ceil(2);
                if monochrome {
                    cuda::fill_2d(
                        stream,
                        dst_chroma,
                        dst_pitch,
                        row,
                        crows,
                        0x80 << (8 * (bps - 1)),
                        wide,
                    )?;
                } else {
                    self.device_copy(chroma, pitch, dst_chroma, dst_pitch, row, crows)?;
                }
                self.stream.synchronize()?;
                stats::add(&COUNTERS.device_copies, 1);
                let surface = GpuSurface {
                    api: GpuApi::Cuda,
                    planes: vec![dst, dst_chroma],
                    pitches: vec![dst_pitch, dst_pitch],
                    stream: stream as u64,
                    keepalive: Box::new(buf),
                };
                let coded = dims(coded_w, coded_h)?;
                (
                    native,
                    coded,
                    display,
                    FrameData::Gpu(surface),
                    row * (luma_rows + crows),
                )
            }
            DecodeOutput::Cpu(
                target @ (PixelFormat::Rgb24
                | PixelFormat::Rgba
                | PixelFormat::Bgra
                | PixelFormat::Argb),
            ) => {
                let src = Source {
                    luma: ptr,
                    luma_pitch: pitch,
                    chroma,
                    chroma_pitch: pitch,
                    left: display.left,
                    top: display.top,
                    width: display.width,
                    height: display.height,
                    wide,
                };
                let mut coeffs = Coeffs::for_color(color, display.height, bit_depth)?;
                if monochrome {
                    coeffs = coeffs.luma_only();
                }
                let rgb = match self.rgb_gpu(&src, target, coeffs) {
                    Ok((bytes, copy)) => {
                        stats::add(&COUNTERS.rgb_gpu, 1);
                        host_copy = copy;
                        bytes
                    }
                    Err(_) => {
                        stats::add(&COUNTERS.rgb_cpu_fallbacks, 1);
                        self.rgb_fallbacks += 1;
                        self.rgb_cpu(&src, target, coeffs)?
                    }
                };
                let size = dims(display.width, display.height)?;
                let stride = rgb.len() / display.height.max(1) as usize;
                let n = rgb.len();
                let planes = vec![Plane { data: rgb, stride }];
                (
                    target,
                    size,
                    CropRect::full(size),
                    FrameData::Cpu(planes),
                    n,
                )
            }
            DecodeOutput::MetadataOnly => {
                let coded = dims(coded_w, coded_h)?;
                (native, coded, display, FrameData::MetadataOnly, 0)
            }
            // Native, Cpu(NV12/I420/P016/I010/I012): the visible picture as semi-planar host
            // planes (the session turns NV12 into I420 where asked); above 8 bits, turned into
            // LSB-aligned planar I010/I012 once copied, unless P016 itself was asked for.
            _ => {
                let overlap = self.host_copy_mode == HostCopyMode::Overlapped;
                let (planes, size, n, copy) =
                    self.host_planes(ptr, chroma, pitch, display, bps, monochrome, overlap)?;
                host_copy = copy;
                if wide && self.output != DecodeOutput::Cpu(PixelFormat::P016) {
                    planar_depth = Some(bit_depth);
                }
                (
                    native,
                    size,
                    CropRect::full(size),
                    FrameData::Cpu(planes),
                    n,
                )
            }
        };
        stats::add(&COUNTERS.copy_bytes, bytes as u64);
        stats::add(&COUNTERS.copy_nanos, started.elapsed().as_nanos() as u64);
        let frame = DecodedFrame {
            format,
            coded,
            crop,
            color,
            pts,
            keyframe,
            data,
        };
        Ok(Pending {
            frame,
            copy: host_copy,
            planar_depth,
        })
    }

    /// Copies `rows` rows of `row` bytes between device buffers on the session's stream: by
    /// the copy kernel when `VIDEO_HW_NV_COPY=kernel` and the layout suits it, else by the
    /// copy engines.
    fn device_copy(
        &mut self,
        src: u64,
        src_pitch: usize,
        dst: u64,
        dst_pitch: usize,
        row: usize,
        rows: usize,
    ) -> Result<()> {
        let stream = self.stream.raw();
        if self.copy_path == CopyPath::Kernel {
            if self.pitch_copy.is_none() {
                self.pitch_copy =
                    Some(PitchCopy::load(self.ctx.clone()).map_err(|e| e.to_string()));
            }
            if let Some(Ok(k)) = self.pitch_copy.as_ref()
                && k.copy(stream, src, src_pitch, dst, dst_pitch, row, rows)?
            {
                stats::add(&COUNTERS.kernel_copies, 1);
                return Ok(());
            }
        }
        cuda::copy_2d(
            stream,
            Mem::Device(src),
            src_pitch,
            Mem::Device(dst),
            dst_pitch,
            row,
            rows,
        )
    }

    /// Copies the visible rectangle (even-aligned) into host planes from the session's pool
    /// (page-locked, so the copy lands in them directly). With `overlap`, the rectangle is
    /// gathered into a device staging buffer and copied to the host in the background
    /// (the returned [`HostCopy`]); else the planes are complete on return.
    #[allow(clippy::too_many_arguments)]
    fn host_planes(
        &mut self,
        luma: u64,
        chroma: u64,
        pitch: usize,
        display: CropRect,
        bps: usize,
        monochrome: bool,
        overlap: bool,
    ) -> Result<(Vec<Plane>, Dimensions, usize, Option<HostCopy>)> {
        let (left, top) = ((display.left & !1) as usize, (display.top & !1) as usize);
        let (w, h) = (display.width as usize, display.height as usize);
        let row = w * bps;
        let crow = w.div_ceil(2) * 2 * bps;
        let ch = h.div_ceil(2);
        let total = row * h + crow * ch;
        let stream = self.stream.raw();
        let src_luma = luma + (top * pitch + left * bps) as u64;
        let src_chroma = chroma + ((top / 2) * pitch + left * bps) as u64;
        let y = self.host_pool.acquire(row * h)?;
        let uv = if monochrome {
            None
        } else {
            Some(self.host_pool.acquire(crow * ch)?)
        };
        let mut copy = None;
        if overlap {
            // Gather on the device (fast), unmap, then one background copy per plane.
            let staging = self.staging(total)?;
            let (dst_luma, dst_chroma) = (staging.ptr, staging.ptr + (row * h) as u64);
            let to_staging = |src, dst, width, rows| {
                cuda::copy_2d(
                    stream,
                    Mem::Device(src),
                    pitch,
                    Mem::Device(dst),
                    width,
                    width,
                    rows,
                )
            };
            to_staging(src_luma, dst_luma, row, h)?;
            if uv.is_some() {
                to_staging(src_chroma, dst_chroma, crow, ch)?;
            }
            let (y_ptr, uv_ptr) = (y.ptr, uv.as_ref().map(|l| l.ptr));
            copy = Some(self.overlap_host_copy(staging, |copy_stream, base| {
                cuda::copy_2d(
                    copy_stream,
                    Mem::Device(base),
                    row,
                    Mem::Host(y_ptr.cast()),
                    row,
                    row,
                    h,
                )?;
                if let Some(uv_ptr) = uv_ptr {
                    let src = base + (row * h) as u64;
                    cuda::copy_2d(
                        copy_stream,
                        Mem::Device(src),
                        crow,
                        Mem::Host(uv_ptr.cast()),
                        crow,
                        crow,
                        ch,
                    )?;
                }
                Ok(())
            })?);
        } else {
            cuda::copy_2d(
                stream,
                Mem::Device(src_luma),
                pitch,
                Mem::Host(y.ptr.cast()),
                row,
                row,
                h,
            )?;
            if let Some(uv) = &uv {
                cuda::copy_2d(
                    stream,
                    Mem::Device(src_chroma),
                    pitch,
                    Mem::Host(uv.ptr.cast()),
                    crow,
                    crow,
                    ch,
                )?;
            }
            self.stream.synchronize()?;
        }
        stats::add(&COUNTERS.host_copies, 1);
        let uv = match uv {
            Some(lease) => lease.data,
            // Neutral chroma (128, or 0x8000 little-endian for 16-bit samples).
            None => {
                let neutral: &[u8] = if bps == 2 { &[0x00, 0x80] } else { &[0x80] };
                neutral.repeat(crow * ch / bps).into()
            }
        };
        let planes = vec![
            Plane {
                data: y.data,
                stride: row,
            },
            Plane {
                data: uv,
                stride: crow,
            },
        ];
        Ok((planes, dims(display.width, display.height)?, total, copy))
    }

    /// RGB through the CUDA kernel: convert on the device into a staging buffer, then one
    /// copy into a host buffer from the session's pool (overlapped, or complete on return).
    fn rgb_gpu(
        &mut self,
        src: &Source,
        format: PixelFormat,
        coeffs: Coeffs,
    ) -> Result<(Arc<[u8]>, Option<HostCopy>)> {
        if self.rgb_kernel.is_none() {
            let t = Instant::now();
            self.rgb_kernel = Some(RgbKernel::load(self.ctx.clone()).map_err(|e| e.to_string()));
            stats::trace("RGB kernel load (PTX)", t);
        }
        let (bpp, _) = rgb::packing(format).expect("RGB format");
        let pitch = src.width as usize * bpp;
        let rows = src.height as usize;
        let len = pitch * rows;
        let staging = self.staging(len)?;
        let stream = self.stream.raw();
        let launched = match self.rgb_kernel.as_ref().expect("set above") {
            Ok(k) => k.launch(stream, src, format, coeffs, staging.ptr, pitch),
            Err(e) => Err(VideoError::backend(e.clone())),
        };
        if let Err(e) = launched {
            self.recycle_staging(staging);
            return Err(e);
        }
        let out = self.host_pool.acquire(len)?;
        let host = out.ptr;
        let to_host = move |s, base| {
            cuda::copy_2d(
                s,
                Mem::Device(base),
                pitch,
                Mem::Host(host.cast()),
                pitch,
                pitch,
                rows,
            )
        };
        stats::add(&COUNTERS.host_copies, 1);
        if self.host_copy_mode == HostCopyMode::Overlapped {
            let copy = self.overlap_host_copy(staging, to_host)?;
            return Ok((out.data, Some(copy)));
        }
        let copied = to_host(stream, staging.ptr).and_then(|()| self.stream.synchronize());
        self.recycle_staging(staging);
        copied?;
        Ok((out.data, None))
    }

    /// RGB on the CPU from a host copy of the planes (the fallback path).
    fn rgb_cpu(&mut self, src: &Source, format: PixelFormat, coeffs: Coeffs) -> Result<Arc<[u8]>> {
        let display = CropRect {
            left: src.left,
            top: src.top,
            width: src.width,
            height: src.height,
        };
        let bps = if src.wide { 2 } else { 1 };
        let (planes, ..) = self.host_planes(
            src.luma,
            src.chroma,
            src.luma_pitch,
            display,
            bps,
            false,
            false,
        )?;
        rgb::convert_cpu(
            &planes[0].data,
            &planes[1].data,
            src.width as usize,
            src.height as usize,
            src.wide,
            format,
            coeffs,
        )
    }
}

fn dims(w: u32, h: u32) -> Result<Dimensions> {
    Dimensions::new(w, h)
}

/// A mapped decoder surface, unmapped on drop.
struct Mapped {
    lib: &'static Nvcuvid,
    handle: CUvideodecoder,
    ptr: u64,
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: `ptr` was returned by cuvidMapVideoFrame on this handle; copies from it have
        // been synchronised before the frame is dropped.
        let _ = unsafe { (self.lib.unmap_video_frame)(self.handle, self.ptr) };
    }
}

/// The library, opened once per process.
pub(crate) fn library() -> std::result::Result<&'static Nvcuvid, String> {
    static LIB: std::sync::OnceLock<std::result::Result<Nvcuvid, String>> =
        std::sync::OnceLock::new();
    LIB.get_or_init(Nvcuvid::load)
        .as_ref()
        .map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    use super::HostCopyMode;

    #[test]
    fn host_copies_overlap_the_next_packet_unless_sync_or_no_display_delay_is_asked_for() {
        assert_eq!(HostCopyMode::from_value(None, 4), HostCopyMode::Overlapped);
        assert_eq!(
            HostCopyMode::from_value(Some("async"), 1),
            HostCopyMode::Overlapped
        );
        assert_eq!(
            HostCopyMode::from_value(Some(" SYNC "), 4),
            HostCopyMode::Immediate
        );
        assert_eq!(HostCopyMode::from_value(None, 0), HostCopyMode::Immediate);
        assert_eq!(
            HostCopyMode::from_value(Some("async"), 0),
            HostCopyMode::Immediate
        );
    }
}
