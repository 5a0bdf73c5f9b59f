//! `CudaTransform`: the TransformLayer's GPU path on NVIDIA ([`GpuTransform`]). NV12/P016
//! frames in device memory (NVDEC sessions with `DecodeOutput::Gpu`) become packed RGB in
//! host memory: the CUDA kernel of [`super::rgb`] writes a device staging buffer, then one
//! copy lands in a recycled, page-locked host buffer. Other frames and specs (CPU frames,
//! resizing, Y'CbCr targets) are left to the CPU path (`Ok(None)`).

use super::host_pool::HostPool;
use super::rgb::{self, Coeffs, RgbKernel, Source};
use super::{Context, DeviceBuffer, Stream};
use crate::api::codec::Dimensions;
use crate::api::error::{Result, VideoError};
use crate::api::frame::{CropRect, DecodedFrame, FrameData, GpuApi, PixelFormat, Plane};
use crate::backend::nvidia::stats::{self, COUNTERS};
use crate::transform::{GpuTransform, TransformSpec};
use std::sync::{Arc, Mutex};

/// Host buffers kept per size: frames the caller holds plus a few in flight.
const HOST_BUFFERS: usize = 32;

/// The CUDA transform of one process (shared by the threads that transform frames).
pub(crate) struct CudaTransform {
    inner: Mutex<Inner>,
}

/// Fields drop in order: buffers, then the kernel and the stream, then the context.
struct Inner {
    host_pool: HostPool,
    staging: Option<DeviceBuffer>,
    kernel: RgbKernel,
    stream: Stream,
    ctx: Arc<Context>,
}

// SAFETY: the CUDA handles inside may be used from any thread once the context is current,
// which every use does first; the mutex lets one thread at a time use them.
unsafe impl Send for Inner {}

impl CudaTransform {
    /// Loads the kernel into device `gpu`'s primary context and makes the transform's stream.
    pub fn new(gpu: u32) -> Result<Self> {
        let ctx = crate::backend::nvidia::held_primary(gpu)?;
        let stream = Stream::new(ctx.clone())?;
        let (kernel, _) = RgbKernel::load(ctx.clone())?;
        Ok(Self {
            inner: Mutex::new(Inner {
                host_pool: HostPool::new(Some(ctx.clone()), HOST_BUFFERS),
                staging: None,
                kernel,
                stream,
                ctx,
            }),
        })
    }
}

/// The CUDA transform of device `gpu`, made once per process and shared: its kernel, stream
/// and recycled host buffers stay warm from one decode to the next.
pub(crate) fn shared(gpu: u32) -> Result<Arc<CudaTransform>> {
    type Made = Mutex<Vec<(u32, Arc<CudaTransform>)>>;
    static MADE: std::sync::OnceLock<Made> = std::sync::OnceLock::new();
    let mut made = MADE
        .get_or_init(Default::default)
        .lock()
        .map_err(|_| VideoError::backend("the CUDA transforms' lock is poisoned"))?;
    if let Some((_, t)) = made.iter().find(|(g, _)| *g == gpu) {
        return Ok(t.clone());
    }
    let t = Arc::new(CudaTransform::new(gpu)?);
    made.push((gpu, t.clone()));
    Ok(t)
}

impl GpuTransform for CudaTransform {
    fn name(&self) -> &str {
        "cuda"
    }

    fn transform(
        &self,
        frame: &DecodedFrame,
        spec: &TransformSpec,
    ) -> Result<Option<DecodedFrame>> {
        let FrameData::Gpu(surface) = &frame.data else {
            return Ok(None);
        };
        let crop = frame.crop;
        let size = Dimensions::new(crop.width, crop.height)?;
        let wide = match frame.format {
            PixelFormat::Nv12 => false,
            PixelFormat::P016 => true,
            _ => return Ok(None),
        };
        if surface.api != GpuApi::Cuda
            || surface.planes.len() < 2
            || surface.pitches.len() < 2
            || spec.size.is_some_and(|s| s != size)
        {
            return Ok(None);
        }
        let src = Source {
            luma: surface.planes[0],
            luma_pitch: surface.pitches[0],
            chroma: surface.planes[1],
            chroma_pitch: surface.pitches[1],
            left: crop.left,
            top: crop.top,
            width: crop.width,
            height: crop.height,
            wide,
        };
        let Some(layout) = rgb::layout(&src, spec.format) else {
            return Ok(None);
        };
        let len = layout.len();
        let mut guard = self
            .inner
            .lock()
            .map_err(|_| VideoError::backend("the CUDA transform's lock is poisoned"))?;
        let inner = &mut *guard;
        inner.ctx.make_current()?;
        // NVDEC sessions synchronise their stream before they hand out a GPU frame, so its
        // pixels are complete; the frame's stream is not waited on here, as the session that
        // owns it may be gone (a frame may outlive its session).
        if inner.staging.as_ref().is_none_or(|b| b.len < len) {
            inner.staging = None;
            inner.staging = Some(DeviceBuffer::new(inner.ctx.clone(), len)?);
        }
        let staging = inner.staging.as_ref().expect("set above").ptr;
        let stream = inner.stream.raw();
        // P016 from NVDEC: 10-bit samples (12-bit HEVC differs only in full range, by less
        // than a code value).
        let bit_depth = if wide { 10 } else { 8 };
        let coeffs = Coeffs::for_color(frame.color, crop.height, bit_depth)?;
        rgb::launch(&inner.kernel, stream, &src, spec.format, coeffs, staging)?;
        let out = inner.host_pool.acquire(len)?;
        rgb::copy_to_host(stream, staging, layout, out.ptr)?;
        inner.stream.synchronize()?;
        stats::add(&COUNTERS.rgb_gpu, 1);
        stats::add(&COUNTERS.host_copies, 1);
        Ok(Some(DecodedFrame {
            format: spec.format,
            coded: size,
            crop: CropRect::full(size),
            color: frame.color,
            pts: frame.pts,
            keyframe: frame.keyframe,
            data: FrameData::Cpu(vec![Plane {
                data: out.data,
                stride: layout.pitch,
            }]),
        }))
    }
}
