//! Host copies of [`CudaOutput`]: the visible rectangle into host planes from the session's
//! pool, RGB through the kernel (the backend's one launch, [`rgb::launch`]) or on the CPU,
//! and the overlapped copies that finish while the next packet is decoded.

use super::super::options::HostCopyMode;
use super::cuda::{CudaOutput, dims};
use crate::api::codec::Dimensions;
use crate::api::error::{Result, VideoError};
use crate::api::frame::{CropRect, DecodedFrame, PixelFormat, Plane};
use crate::backend::nvidia::cuda::rgb::{self, Coeffs, RgbKernel, Source};
use crate::backend::nvidia::cuda::{self, DeviceBuffer, Event, Mem};
use crate::backend::nvidia::stats::{self, COUNTERS};
use std::sync::Arc;
use std::time::Instant;

/// A frame copied out, with its host copy when that may still be running.
pub(super) struct Pending {
    pub frame: DecodedFrame,
    pub copy: Option<HostCopy>,
    /// The bit depth of P016 host planes to hand out LSB-aligned planar (I010/I012), the
    /// layout of planar output above 8 bits; `None` to hand the frame out as it is.
    pub planar_depth: Option<u8>,
}

/// An overlapped host copy: the frame's planes are complete once `done` is.
pub(super) struct HostCopy {
    pub done: Event,
    pub staging: DeviceBuffer,
}

impl CudaOutput {
    /// A device staging buffer of `len` bytes, recycled when one is free.
    pub(super) fn staging(&mut self, len: usize) -> Result<DeviceBuffer> {
        self.staging_free.retain(|b| b.len == len);
        match self.staging_free.pop() {
            Some(buf) => Ok(buf),
            None => DeviceBuffer::new(self.ctx.clone(), len),
        }
    }

    pub(super) fn recycle_staging(&mut self, buf: DeviceBuffer) {
        // A handful covers the copies pending at once (one per picture displayed by a packet).
        if self.staging_free.len() < 8 {
            self.staging_free.push(buf);
        }
    }

    /// Marks the end of the reads of the mapped surface queued so far on the session's
    /// stream, and queues their staging buffer's copy to the host (`copy`, given the copy
    /// stream) after them; the surface may be unmapped once `surface_read` is done.
    pub(super) fn overlap_host_copy(
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

    /// Copies the visible rectangle (even-aligned) into host planes from the session's pool
    /// (page-locked, so the copy lands in them directly). With `overlap`, the rectangle is
    /// gathered into a device staging buffer and copied to the host in the background
    /// (the returned [`HostCopy`]); else the planes are complete on return.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn host_planes(
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
    pub(super) fn rgb_gpu(
        &mut self,
        src: &Source,
        format: PixelFormat,
        coeffs: Coeffs,
    ) -> Result<(Arc<[u8]>, Option<HostCopy>)> {
        let layout = rgb::layout(src, format)
            .ok_or_else(|| VideoError::unsupported(format!("{format} is not RGB")))?;
        let len = layout.len();
        let staging = self.staging(len)?;
        let launched = self.launch_rgb(src, format, coeffs, staging.ptr);
        if let Err(e) = launched {
            self.recycle_staging(staging);
            return Err(e);
        }
        let out = self.host_pool.acquire(len)?;
        let host = out.ptr;
        let to_host = move |s, base| rgb::copy_to_host(s, base, layout, host);
        stats::add(&COUNTERS.host_copies, 1);
        if self.host_copy_mode == HostCopyMode::Overlapped {
            let copy = self.overlap_host_copy(staging, to_host)?;
            return Ok((out.data, Some(copy)));
        }
        let copied =
            to_host(self.stream.raw(), staging.ptr).and_then(|()| self.stream.synchronize());
        self.recycle_staging(staging);
        copied?;
        Ok((out.data, None))
    }

    /// Queues on the session's stream the RGB kernel's conversion of `src` into the device
    /// buffer `dst` (tightly packed), loading the kernel on first use.
    pub(super) fn launch_rgb(
        &mut self,
        src: &Source,
        format: PixelFormat,
        coeffs: Coeffs,
        dst: u64,
    ) -> Result<rgb::RgbLayout> {
        if self.rgb_kernel.is_none() {
            let t = Instant::now();
            let loaded = RgbKernel::load(self.ctx.clone()).map_err(|e| e.to_string());
            let what = match &loaded {
                Ok((_, from)) => format!("RGB kernel load ({from})"),
                Err(_) => "RGB kernel load (failed)".to_owned(),
            };
            self.rgb_kernel = Some(loaded.map(|(k, _)| k));
            stats::trace(&what, t);
        }
        match self.rgb_kernel.as_ref().expect("set above") {
            Ok(k) => rgb::launch(k, self.stream.raw(), src, format, coeffs, dst),
            Err(e) => Err(VideoError::backend(e.clone())),
        }
    }

    /// RGB on the CPU from a host copy of the planes (the fallback path).
    pub(super) fn rgb_cpu(
        &mut self,
        src: &Source,
        format: PixelFormat,
        coeffs: Coeffs,
    ) -> Result<Arc<[u8]>> {
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
