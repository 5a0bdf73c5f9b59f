//! NV12/P016 -> packed RGB: the CUDA kernel (PTX shipped in the crate) and the CPU fallback
//! with the same arithmetic.

use super::{Context, Cubin, Kernel};
use crate::api::color::ColorDescription;
use crate::api::error::{Result, VideoError};
use crate::api::frame::PixelFormat;
use crate::transform::color_model::YuvToRgb;
use cudarc::driver::sys::{CUdeviceptr, CUstream};
use std::ffi::{c_int, c_void};
use std::sync::Arc;

/// The kernel's PTX, generated from `kernels/nv12_to_rgb.cu` by `scripts/build-ptx.py`.
const PTX: &str = include_str!("kernels/nv12_to_rgb.ptx");
/// The same kernel built for sm_80 and sm_90 (no JIT at first use there).
const CUBINS: [Cubin; 2] = [
    Cubin {
        arch: (8, 0),
        image: include_bytes!("kernels/nv12_to_rgb.sm_80.cubin"),
    },
    Cubin {
        arch: (9, 0),
        image: include_bytes!("kernels/nv12_to_rgb.sm_90.cubin"),
    },
];

/// The conversion matrix folded with the range scaling, in 8-bit sample units
/// (mirrors `struct Coeffs` in the kernel).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Coeffs {
    ky: f32,
    rv: f32,
    gu: f32,
    gv: f32,
    bu: f32,
    y0: f32,
    c0: f32,
}

impl Coeffs {
    /// The same conversion with the chroma terms removed (4:0:0: grey from luma alone).
    pub fn luma_only(self) -> Self {
        Self {
            rv: 0.0,
            gu: 0.0,
            gv: 0.0,
            bu: 0.0,
            ..self
        }
    }

    /// The coefficients for a picture with colour `color`, `height` lines tall, samples of
    /// `bit_depth` bits (P016 holds them most-significant-bit first; the kernel reads it in
    /// 8-bit units), from the library's one colour model
    /// ([`crate::transform::color_model`]): an unspecified matrix is BT.601 below 720 lines,
    /// else BT.709; identity is `Unsupported`.
    pub fn for_color(color: ColorDescription, height: u32, bit_depth: u8) -> Result<Self> {
        let k = YuvToRgb::new(&color, height, bit_depth)?.in_units_of(bit_depth, 8);
        Ok(Self {
            ky: k.ky,
            rv: k.rv,
            gu: k.gu,
            gv: k.gv,
            bu: k.bu,
            y0: k.y0,
            c0: k.c0,
        })
    }
}

/// Bytes per pixel and the byte offsets of R, G, B and alpha (-1: none) of a packed format.
pub(crate) fn packing(format: PixelFormat) -> Option<(usize, [i32; 4])> {
    match format {
        PixelFormat::Rgb24 => Some((3, [0, 1, 2, -1])),
        PixelFormat::Rgba => Some((4, [0, 1, 2, 3])),
        PixelFormat::Bgra => Some((4, [2, 1, 0, 3])),
        PixelFormat::Argb => Some((4, [1, 2, 3, 0])),
        _ => None,
    }
}

/// The source of a conversion: semi-planar 4:2:0 planes and the visible rectangle.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source {
    pub luma: u64,
    pub luma_pitch: usize,
    pub chroma: u64,
    pub chroma_pitch: usize,
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
    /// 16-bit samples (P016) instead of 8-bit (NV12).
    pub wide: bool,
}

/// The loaded kernel of one session.
pub(crate) struct RgbKernel {
    kernel: Kernel,
}

impl RgbKernel {
    /// Loads the kernel into `ctx` (current on this thread): the device's cubin, else the
    /// PTX; also says which.
    pub fn load(ctx: Arc<Context>) -> Result<(Self, &'static str)> {
        let (kernel, loaded) = Kernel::load(ctx, PTX, &CUBINS, "nv12_to_rgb")?;
        Ok((Self { kernel }, loaded))
    }

    /// Queues the conversion of `src` into `dst` (pitch `dst_pitch`) on `stream`.
    pub fn launch(
        &self,
        stream: CUstream,
        src: &Source,
        format: PixelFormat,
        coeffs: Coeffs,
        dst: CUdeviceptr,
        dst_pitch: usize,
    ) -> Result<()> {
        let (bpp, at) = packing(format)
            .ok_or_else(|| VideoError::unsupported(format!("{format} is not RGB")))?;
        let int = |v: usize| c_int::try_from(v).map_err(|_| VideoError::invalid_input("too large"));
        let mut luma = src.luma;
        let mut luma_pitch = int(src.luma_pitch)?;
        let mut chroma = src.chroma;
        let mut chroma_pitch = int(src.chroma_pitch)?;
        let (mut left, mut top) = (src.left as c_int, src.top as c_int);
        let (mut width, mut height) = (src.width as c_int, src.height as c_int);
        let mut wide = c_int::from(src.wide);
        let mut dst = dst;
        let mut dst_pitch = int(dst_pitch)?;
        let mut bpp = bpp as c_int;
        let [mut r, mut g, mut b, mut a] = at;
        let mut k = coeffs;
        let mut params: [*mut c_void; 19] = [
            (&raw mut luma).cast(),
            (&raw mut luma_pitch).cast(),
            (&raw mut chroma).cast(),
            (&raw mut chroma_pitch).cast(),
            (&raw mut left).cast(),
            (&raw mut top).cast(),
            (&raw mut width).cast(),
            (&raw mut height).cast(),
            (&raw mut wide).cast(),
            (&raw mut dst).cast(),
            (&raw mut dst_pitch).cast(),
            (&raw mut bpp).cast(),
            (&raw mut r).cast(),
            (&raw mut g).cast(),
            (&raw mut b).cast(),
            (&raw mut a).cast(),
            (&raw mut k).cast(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        ];
        let block = (32u32, 8u32, 1u32);
        let grid = (src.width.div_ceil(block.0), src.height.div_ceil(block.1), 1);
        // SAFETY: the parameters match the kernel's signature in order and type (17 of them;
        // the trailing nulls are not read); every pointer addresses device memory that holds
        // the rectangle and stays alive until the stream is synchronised by the caller.
        unsafe { self.kernel.launch(grid, block, stream, &mut params[..17]) }
    }
}

/// Where a packed-RGB conversion lands: `rows` rows of `pitch` bytes, tightly packed, in the
/// device staging buffer and again in host memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RgbLayout {
    pub pitch: usize,
    pub rows: usize,
}

impl RgbLayout {
    /// Bytes of the converted picture.
    pub fn len(&self) -> usize {
        self.pitch * self.rows
    }
}

/// The layout of `src`'s visible rectangle converted to `format`; `None` when `format` is not
/// packed RGB.
pub(crate) fn layout(src: &Source, format: PixelFormat) -> Option<RgbLayout> {
    let (bpp, _) = packing(format)?;
    Some(RgbLayout {
        pitch: src.width as usize * bpp,
        rows: src.height as usize,
    })
}

/// The one RGB launch of the backend (the NVDEC output and the CUDA transform): queues on
/// `stream` the kernel's conversion of `src` into the device buffer `staging` (at least
/// `layout(src, format).len()` bytes), tightly packed; returns that layout. The host copy is
/// [`copy_to_host`], on the same stream or, after an event, on another.
pub(crate) fn launch(
    kernel: &RgbKernel,
    stream: CUstream,
    src: &Source,
    format: PixelFormat,
    coeffs: Coeffs,
    staging: CUdeviceptr,
) -> Result<RgbLayout> {
    let layout = layout(src, format)
        .ok_or_else(|| VideoError::unsupported(format!("{format} is not RGB")))?;
    kernel.launch(stream, src, format, coeffs, staging, layout.pitch)?;
    Ok(layout)
}

/// Queues on `stream` the copy of a converted picture (`layout`) from the device buffer
/// `staging` to the host buffer at `host` (at least `layout.len()` bytes, page-locked or not).
pub(crate) fn copy_to_host(
    stream: CUstream,
    staging: CUdeviceptr,
    layout: RgbLayout,
    host: *mut u8,
) -> Result<()> {
    super::copy_2d(
        stream,
        super::Mem::Device(staging),
        layout.pitch,
        super::Mem::Host(host.cast()),
        layout.pitch,
        layout.pitch,
        layout.rows,
    )
}

/// The CPU fallback: converts tightly packed semi-planar 4:2:0 (`luma` then `chroma` rows of
/// `width * bps` bytes) into packed RGB with the kernel's arithmetic.
pub(crate) fn convert_cpu(
    luma: &[u8],
    chroma: &[u8],
    width: usize,
    height: usize,
    wide: bool,
    format: PixelFormat,
    coeffs: Coeffs,
) -> Result<std::sync::Arc<[u8]>> {
    let (bpp, at) =
        packing(format).ok_or_else(|| VideoError::unsupported(format!("{format} is not RGB")))?;
    let bps = if wide { 2 } else { 1 };
    let cw = width.div_ceil(2) * 2;
    if luma.len() < width * bps * height || chroma.len() < cw * bps * height.div_ceil(2) {
        return Err(VideoError::invalid_input(
            "planes too short for RGB conversion",
        ));
    }
    let sample = |plane: &[u8], idx: usize| -> f32 {
        if wide {
            f32::from(u16::from_le_bytes([plane[idx * 2], plane[idx * 2 + 1]])) / 256.0
        } else {
            f32::from(plane[idx])
        }
    };
    let to_u8 = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    let k = coeffs;
    let mut out = vec![0u8; width * height * bpp];
    for y in 0..height {
        for x in 0..width {
            let yy = k.ky * (sample(luma, y * width + x) - k.y0);
            let c = (y / 2) * cw + (x / 2) * 2;
            let u = sample(chroma, c) - k.c0;
            let v = sample(chroma, c + 1) - k.c0;
            let o = &mut out[(y * width + x) * bpp..][..bpp];
            o[at[0] as usize] = to_u8(yy + k.rv * v);
            o[at[1] as usize] = to_u8(yy + k.gu * u + k.gv * v);
            o[at[2] as usize] = to_u8(yy + k.bu * u);
            if at[3] >= 0 {
                o[at[3] as usize] = 255;
            }
        }
    }
    Ok(out.into())
}
