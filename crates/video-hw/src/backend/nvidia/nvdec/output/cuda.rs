//! [`CudaOutput`]: the real [`Output`]: a mapped picture becomes a pooled device buffer
//! (GPU output), host planes, or packed RGB by the kernel (CPU fallback on failure), on the
//! session's stream; host copies may overlap the next packet ([`HostCopyMode`]).

use super::super::ffi::CUvideodecoder;
use super::super::options::HostCopyMode;
use super::super::shelf::{self, DecoderKey};
use super::host::{HostCopy, Pending};
use super::{Output, Picture};
use crate::api::codec::Dimensions;
use crate::api::config::{DecodeOutput, DecoderConfig, NvidiaOptions};
use crate::api::error::{Result, VideoError};
use crate::api::frame::{
    CropRect, DecodedFrame, FrameData, GpuApi, GpuSurface, PixelFormat, Plane,
};
use crate::backend::nvidia::cuda::host_pool::HostPool;
use crate::backend::nvidia::cuda::pitch_copy::{CopyPath, PitchCopy};
use crate::backend::nvidia::cuda::rgb::{self, Coeffs, RgbKernel, Source};
use crate::backend::nvidia::cuda::surface_pool::SurfacePool;
use crate::backend::nvidia::cuda::{self, Context, DeviceBuffer, Event, Mem, Stream};
use crate::backend::nvidia::stats::{self, COUNTERS};
use cudarc::driver::sys::CUstream;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

/// The CUDA side of one decoding session. Fields drop in order: pools and buffers, kernels,
/// then the streams and the context.
pub(crate) struct CudaOutput {
    pub(super) output: DecodeOutput,
    /// Frames copied out and not yet handed to the session, in display order: their host
    /// copies may still be in flight ([`HostCopyMode::Overlapped`]), or they were copied out
    /// inside a callback (before a reconfigure).
    pub(super) pending: VecDeque<Pending>,
    pub(super) host_copy_mode: HostCopyMode,
    /// Device staging buffers of overlapped host copies, free for the next one (one size).
    pub(super) staging_free: Vec<DeviceBuffer>,
    /// Completion events of overlapped host copies, free for the next one.
    pub(super) events_free: Vec<Event>,
    /// Marks the end of the reads of the mapped surface, so it can be unmapped while the
    /// host copy goes on.
    pub(super) surface_read: Option<Event>,
    pub(super) gpu_pool: Option<Arc<SurfacePool>>,
    /// Host planes of CPU outputs, recycled once the caller drops the frames.
    pub(super) host_pool: HostPool,
    /// How GPU outputs are copied out of the mapped surface.
    pub(super) copy_path: CopyPath,
    /// The copy kernel, loaded on first use when `copy_path` asks for it.
    pub(super) pitch_copy: Option<std::result::Result<PitchCopy, String>>,
    pub(super) rgb_kernel: Option<std::result::Result<RgbKernel, String>>,
    /// Frames converted to RGB on the CPU because the kernel path failed.
    pub(super) rgb_fallbacks: u64,
    pub(super) stream: Stream,
    /// The stream of overlapped host copies (after the session's stream's reads).
    pub(super) copy_stream: Stream,
    pub(super) ctx: Arc<Context>,
}

impl CudaOutput {
    /// The context (device `config.gpu`), streams and pools of a session for `config`, tuned
    /// by `options` (already with the environment's overrides).
    pub fn new(config: &DecoderConfig, options: &NvidiaOptions) -> Result<Self> {
        let ctx = Context::for_session(config.gpu)?;
        let stream = Stream::new(ctx.clone())?;
        let copy_stream = Stream::new(ctx.clone())?;
        // Frames waiting in the session's output queue, a few being reaped, and the ones
        // being decoded: beyond that, planes are made for one frame.
        let mut host_pool = HostPool::new(
            Some(ctx.clone()),
            config.output_queue + config.max_in_flight + 8,
        );
        if let Some(n) = options.pin_limit {
            host_pool = host_pool.with_pin_limit(n);
        }
        Ok(Self {
            output: config.output,
            pending: VecDeque::new(),
            host_copy_mode: HostCopyMode::of(options),
            staging_free: Vec::new(),
            events_free: Vec::new(),
            surface_read: None,
            gpu_pool: None,
            host_pool,
            copy_path: if options.copy_kernel {
                CopyPath::Kernel
            } else {
                CopyPath::Engine
            },
            pitch_copy: None,
            rgb_kernel: None,
            rgb_fallbacks: 0,
            stream,
            copy_stream,
            ctx,
        })
    }

    /// Hands out pending frames in order: the first `due` after waiting for their copies,
    /// then those whose copies are already done.
    fn release_pending(
        &mut self,
        out: &mut Vec<DecodedFrame>,
        due: usize,
        errors: &mut Vec<VideoError>,
    ) {
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
                    errors.push(e);
                    continue;
                }
            }
            let frame = match planar_depth.map(|d| crate::transform::p016_to_planar(&frame, d)) {
                None => frame,
                Some(Ok(planar)) => planar,
                Some(Err(e)) => {
                    errors.push(e);
                    continue;
                }
            };
            stats::add(&COUNTERS.frames_out, 1);
            out.push(frame);
        }
    }

    /// Copies the mapped `picture` to what the session asked for.
    fn convert(&mut self, picture: &Picture) -> Result<Pending> {
        let Picture {
            ptr,
            pitch,
            coded_width: coded_w,
            coded_height: coded_h,
            display,
            color,
            bit_depth,
            monochrome,
            keyframe,
            pts,
        } = *picture;
        let wide = bit_depth > 8;
        let bps = if wide { 2 } else { 1 };
        let native = if wide {
            PixelFormat::P016
        } else {
            PixelFormat::Nv12
        };
        let chroma = ptr + (pitch * (coded_h as usize).next_multiple_of(2)) as u64;
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
                    self.gpu_pool = Some(SurfacePool::shared(&self.ctx, len));
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
                    device: self.ctx.gpu(),
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
            DecodeOutput::GpuConverted(target) => {
                let (src, coeffs) = rgb_source(picture, chroma)?;
                let layout = rgb::layout(&src, target).ok_or_else(|| {
                    VideoError::unsupported(format!(
                        "{target} in device memory: NVDEC's kernel makes packed RGB only"
                    ))
                })?;
                let len = layout.len();
                if self.gpu_pool.as_ref().is_none_or(|p| p.buffer_len() != len) {
                    self.gpu_pool = Some(SurfacePool::shared(&self.ctx, len));
                }
                let buf = self.gpu_pool.as_ref().expect("set above").take()?;
                let dst = buf.ptr();
                self.launch_rgb(&src, target, coeffs, dst)?;
                // The frame is complete when it is handed out: consumers on any stream may
                // read it (the DLPack export relies on this).
                self.stream.synchronize()?;
                stats::add(&COUNTERS.rgb_gpu, 1);
                let size = dims(display.width, display.height)?;
                let surface = GpuSurface {
                    api: GpuApi::Cuda,
                    planes: vec![dst],
                    pitches: vec![layout.pitch],
                    stream: stream as u64,
                    device: self.ctx.gpu(),
                    keepalive: Box::new(buf),
                };
                (
                    target,
                    size,
                    CropRect::full(size),
                    FrameData::Gpu(surface),
                    len,
                )
            }
            DecodeOutput::Cpu(
                target @ (PixelFormat::Rgb24
                | PixelFormat::Rgba
                | PixelFormat::Bgra
                | PixelFormat::Argb),
            ) => {
                let (src, coeffs) = rgb_source(picture, chroma)?;
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
    /// the copy kernel when the options ask for it and the layout suits it, else by the
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
}

impl Output for CudaOutput {
    fn make_current(&self) -> Result<()> {
        self.ctx.make_current()
    }

    fn map_stream(&self) -> CUstream {
        self.stream.raw()
    }

    fn copy_out(&mut self, picture: &Picture) -> Result<()> {
        let pending = self.convert(picture);
        // No read of the surface may be in flight when it is unmapped (error paths too); an
        // overlapped host copy reads the staging buffer, not the surface.
        let read = match (&pending, &self.surface_read) {
            (Ok(Pending { copy: Some(_), .. }), Some(read)) => read.synchronize(),
            _ => self.stream.synchronize(),
        };
        let pending = pending?;
        if let Err(e) = read {
            // The frame is dropped: its host copy must not go on writing into the planes.
            let _ = self.copy_stream.synchronize();
            return Err(e);
        }
        self.pending.push_back(pending);
        Ok(())
    }

    fn pending(&self) -> usize {
        self.pending.len()
    }

    fn release(
        &mut self,
        out: &mut Vec<DecodedFrame>,
        due: usize,
        all: bool,
        errors: &mut Vec<VideoError>,
    ) {
        let due = if all || self.host_copy_mode == HostCopyMode::Immediate {
            usize::MAX
        } else {
            due
        };
        self.release_pending(out, due, errors);
    }

    fn finish(&mut self) {
        // Host copies still in flight write into planes and staging buffers freed after.
        let _ = self.copy_stream.synchronize();
    }

    fn conversion_fallbacks(&self) -> u64 {
        self.rgb_fallbacks
    }

    fn take_idle_decoder(&mut self, key: &DecoderKey) -> Option<CUvideodecoder> {
        shelf::take(key, &self.ctx)
    }

    fn keep_idle_decoder(
        &mut self,
        key: DecoderKey,
        handle: CUvideodecoder,
    ) -> Option<CUvideodecoder> {
        shelf::keep(key, handle, &self.ctx)
    }
}

impl Drop for CudaOutput {
    fn drop(&mut self) {
        let t = Instant::now();
        let _ = self.ctx.make_current();
        let pool = std::mem::replace(&mut self.host_pool, HostPool::new(None, 1));
        drop(pool);
        stats::trace("close: host buffers", t);
    }
}

/// What the RGB kernel reads of the mapped `picture` (chroma plane at `chroma`): its visible
/// rectangle, and the coefficients of its colour (luma only for 4:0:0).
fn rgb_source(picture: &Picture, chroma: u64) -> Result<(Source, Coeffs)> {
    let display = picture.display;
    let src = Source {
        luma: picture.ptr,
        luma_pitch: picture.pitch,
        chroma,
        chroma_pitch: picture.pitch,
        left: display.left,
        top: display.top,
        width: display.width,
        height: display.height,
        wide: picture.bit_depth > 8,
    };
    let coeffs = Coeffs::for_color(picture.color, display.height, picture.bit_depth)?;
    Ok((
        src,
        if picture.monochrome {
            coeffs.luma_only()
        } else {
            coeffs
        },
    ))
}

pub(super) fn dims(w: u32, h: u32) -> Result<Dimensions> {
    Dimensions::new(w, h)
}
