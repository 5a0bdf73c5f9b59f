//! Decoded pictures: pixel formats, planes, crop, colour, and where the pixels live.

use super::codec::{Dimensions, Timestamp};
use super::color::ColorDescription;
use super::error::{Result, VideoError};
use std::fmt;
use std::sync::Arc;

/// The layout of raw pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PixelFormat {
    /// 8-bit 4:2:0, three planes (Y, U, V).
    I420,
    /// 8-bit 4:2:0, two planes (Y, interleaved UV).
    Nv12,
    /// 16-bit 4:2:0, two planes (Y, interleaved UV), samples in the high bits: 10/12-bit video
    /// MSB-aligned (P010-style, a 10-bit 855 is 54720), as GPUs hold it. Only on request
    /// (`DecodeOutput::Cpu(PixelFormat::P016)`) or on the GPU; written as 16-bit samples.
    P016,
    /// 10-bit 4:2:0, three planes (Y, U, V), each sample a little-endian `u16` holding the
    /// value in its low 10 bits (FFmpeg's `yuv420p10le`, libyuv's I010): what every backend
    /// delivers for 10-bit video on the CPU, and what `-o` / `--md5` write.
    I010,
    /// 12-bit 4:2:0, three planes (Y, U, V), each sample a little-endian `u16` holding the
    /// value in its low 12 bits (FFmpeg's `yuv420p12le`).
    I012,
    /// Packed 8-bit R, G, B.
    Rgb24,
    /// Packed 8-bit R, G, B, A.
    Rgba,
    /// Packed 8-bit B, G, R, A.
    Bgra,
    /// Packed 8-bit A, R, G, B.
    Argb,
}

impl PixelFormat {
    /// Lower-case name as used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            PixelFormat::I420 => "i420",
            PixelFormat::Nv12 => "nv12",
            PixelFormat::P016 => "p016",
            PixelFormat::I010 => "i010",
            PixelFormat::I012 => "i012",
            PixelFormat::Rgb24 => "rgb24",
            PixelFormat::Rgba => "rgba",
            PixelFormat::Bgra => "bgra",
            PixelFormat::Argb => "argb",
        }
    }

    /// Number of planes.
    pub fn plane_count(self) -> usize {
        match self {
            PixelFormat::I420 | PixelFormat::I010 | PixelFormat::I012 => 3,
            PixelFormat::Nv12 | PixelFormat::P016 => 2,
            _ => 1,
        }
    }

    /// Whether the format is Y'CbCr 4:2:0 (as opposed to packed RGB).
    pub fn is_yuv(self) -> bool {
        matches!(
            self,
            PixelFormat::I420
                | PixelFormat::Nv12
                | PixelFormat::P016
                | PixelFormat::I010
                | PixelFormat::I012
        )
    }

    /// Bits per sample of the video the format holds (8, 10, 12; 16 for P016).
    pub fn bit_depth(self) -> u8 {
        match self {
            PixelFormat::P016 => 16,
            PixelFormat::I010 => 10,
            PixelFormat::I012 => 12,
            _ => 8,
        }
    }

    /// The LSB-aligned planar format for video of `bit_depth` bits (I420 for 8 bits); `None`
    /// for depths without one.
    pub fn planar_for_depth(bit_depth: u8) -> Option<Self> {
        match bit_depth {
            8 => Some(PixelFormat::I420),
            10 => Some(PixelFormat::I010),
            12 => Some(PixelFormat::I012),
            _ => None,
        }
    }

    /// Width in bytes and height in rows of plane `index` for a picture of `size`
    /// (tightly packed; a stride may be larger).
    pub fn plane_extent(self, index: usize, size: Dimensions) -> (usize, usize) {
        let (w, h) = (size.width() as usize, size.height() as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        match (self, index) {
            (PixelFormat::I420, 0) | (PixelFormat::Nv12, 0) => (w, h),
            (PixelFormat::I420, _) => (cw, ch),
            (PixelFormat::Nv12, _) => (cw * 2, ch),
            (PixelFormat::P016, 0) => (w * 2, h),
            (PixelFormat::P016, _) => (cw * 4, ch),
            (PixelFormat::I010 | PixelFormat::I012, 0) => (w * 2, h),
            (PixelFormat::I010 | PixelFormat::I012, _) => (cw * 2, ch),
            (PixelFormat::Rgb24, _) => (w * 3, h),
            (PixelFormat::Rgba | PixelFormat::Bgra | PixelFormat::Argb, _) => (w * 4, h),
        }
    }

    /// Bytes of a tightly packed picture of `size`.
    pub fn frame_size(self, size: Dimensions) -> usize {
        (0..self.plane_count())
            .map(|i| {
                let (w, h) = self.plane_extent(i, size);
                w * h
            })
            .sum()
    }
}

impl fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for PixelFormat {
    type Err = VideoError;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "i420" | "yuv420p" => PixelFormat::I420,
            "nv12" => PixelFormat::Nv12,
            "p016" | "p010" => PixelFormat::P016,
            "i010" | "yuv420p10le" | "yuv420p10" => PixelFormat::I010,
            "i012" | "yuv420p12le" | "yuv420p12" => PixelFormat::I012,
            "rgb24" | "rgb" => PixelFormat::Rgb24,
            "rgba" => PixelFormat::Rgba,
            "bgra" => PixelFormat::Bgra,
            "argb" => PixelFormat::Argb,
            other => {
                return Err(VideoError::unsupported(format!(
                    "unknown pixel format `{other}` (known: i420, nv12, p016, i010, i012, rgb24, rgba, bgra, argb)"
                )));
            }
        })
    }
}

/// The visible rectangle inside the decoded planes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct CropRect {
    /// First visible column.
    pub left: u32,
    /// First visible row.
    pub top: u32,
    /// Visible width.
    pub width: u32,
    /// Visible height.
    pub height: u32,
}

impl CropRect {
    /// `(left, top, width, height)` as indices into rows and planes.
    pub(crate) fn spans(&self) -> (usize, usize, usize, usize) {
        (
            self.left as usize,
            self.top as usize,
            self.width as usize,
            self.height as usize,
        )
    }

    /// The whole picture of `size`.
    pub fn full(size: Dimensions) -> Self {
        Self {
            left: 0,
            top: 0,
            width: size.width(),
            height: size.height(),
        }
    }
}

/// One plane of CPU pixels.
#[derive(Clone)]
pub struct Plane {
    /// The bytes; row `r` starts at `r * stride`.
    pub data: Arc<[u8]>,
    /// Bytes from one row to the next.
    pub stride: usize,
}

impl fmt::Debug for Plane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plane")
            .field("len", &self.data.len())
            .field("stride", &self.stride)
            .finish()
    }
}

/// Memory on a GPU holding a decoded picture, kept alive as long as this value lives.
///
/// Backends that keep frames on the device (NVIDIA) fill this; dropping it returns the
/// surface to the backend's pool.
pub struct GpuSurface {
    /// Which API the pointers below belong to.
    pub api: GpuApi,
    /// Device address of each plane.
    pub planes: Vec<u64>,
    /// Row pitch in bytes of each plane.
    pub pitches: Vec<usize>,
    /// The stream the producer used (`CUstream` on CUDA); synchronise on it before reading.
    pub stream: u64,
    /// The GPU that holds the planes, as the driver numbers it (CUDA device ordinal; 0 on
    /// VideoToolbox): the one that decoded the frame.
    pub device: u32,
    /// Holds the backend resources behind the pointers; dropping it releases them.
    pub keepalive: Box<dyn std::any::Any + Send + Sync>,
}

impl fmt::Debug for GpuSurface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GpuSurface")
            .field("api", &self.api)
            .field("planes", &self.planes)
            .field("pitches", &self.pitches)
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

/// The GPU API a [`GpuSurface`] belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum GpuApi {
    /// CUDA device memory (`CUdeviceptr`).
    Cuda,
    /// A Core Video pixel buffer (`CVPixelBufferRef` in `planes[0]`).
    CoreVideo,
}

/// Where a frame's pixels are.
#[derive(Debug)]
#[non_exhaustive]
pub enum FrameData {
    /// CPU memory, one [`Plane`] per plane of the pixel format.
    Cpu(Vec<Plane>),
    /// GPU memory.
    Gpu(GpuSurface),
    /// No pixels: the caller asked for metadata only.
    MetadataOnly,
}

/// One decoded picture.
#[derive(Debug)]
pub struct DecodedFrame {
    /// Pixel layout of the planes.
    pub format: PixelFormat,
    /// Size of the planes as decoded (the coded size, before crop).
    pub coded: Dimensions,
    /// The visible part of the planes.
    pub crop: CropRect,
    /// How to interpret the samples.
    pub color: ColorDescription,
    /// Presentation time.
    pub pts: Option<Timestamp>,
    /// Whether the picture was coded as a key (IDR/IRAP) picture.
    pub keyframe: bool,
    /// The pixels.
    pub data: FrameData,
}

/// Writes rows `rows` of `p` from byte `x0`, `len` bytes each, to `out`: in one write when
/// they lie back to back in the plane (no padding, whole rows), so that a large frame goes
/// to the writer straight from its own buffer.
fn write_rows(
    out: &mut impl std::io::Write,
    p: &Plane,
    rows: std::ops::Range<usize>,
    x0: usize,
    len: usize,
) -> Result<()> {
    let io = |e: std::io::Error| VideoError::backend(format!("writing frame: {e}"));
    if rows.is_empty() {
        return Ok(());
    }
    if x0 == 0 && p.stride == len {
        let start = rows.start * len;
        let end = rows.end * len;
        let block = p.data.get(start..end).ok_or_else(|| {
            VideoError::invalid_input(format!(
                "plane of {} bytes (stride {}) too short for row {}",
                p.data.len(),
                p.stride,
                rows.end - 1
            ))
        })?;
        return out.write_all(block).map_err(io);
    }
    for r in rows {
        out.write_all(plane_row(p, r, x0, len)?).map_err(io)?;
    }
    Ok(())
}

fn plane_row(p: &Plane, r: usize, x0: usize, len: usize) -> Result<&[u8]> {
    let start = r * p.stride + x0;
    p.data.get(start..start + len).ok_or_else(|| {
        VideoError::invalid_input(format!(
            "plane of {} bytes (stride {}) too short for row {r}",
            p.data.len(),
            p.stride
        ))
    })
}

impl DecodedFrame {
    /// The visible size (after crop).
    pub fn dimensions(&self) -> Dimensions {
        Dimensions::new(self.crop.width, self.crop.height).unwrap_or(self.coded)
    }

    /// The CPU planes, if the pixels are in CPU memory.
    pub fn planes(&self) -> Option<&[Plane]> {
        match &self.data {
            FrameData::Cpu(p) => Some(p),
            _ => None,
        }
    }

    /// The CPU planes, at least `count` of them, or the error a writer of pixels gives.
    fn cpu_planes(&self, count: usize) -> Result<&[Plane]> {
        self.planes().filter(|p| p.len() >= count).ok_or_else(|| {
            VideoError::invalid_input("frame has no CPU pixels (GPU or metadata-only frame)")
        })
    }

    /// Writes the visible picture as tightly packed planes (planar YUV for I420 and NV12 is
    /// de-interleaved to I420; I010/I012 as LSB-aligned little-endian 16-bit samples, FFmpeg's
    /// `yuv420p10le`/`yuv420p12le`; P016 de-interleaved with its 16-bit samples as they are;
    /// RGB formats as packed rows). This is the layout the conformance MD5 sums are defined on.
    pub fn write_planar(&self, out: &mut impl std::io::Write) -> Result<()> {
        let planes = self.cpu_planes(0)?;
        let io = |e: std::io::Error| VideoError::backend(format!("writing frame: {e}"));
        let (l, t, w, h) = self.crop.spans();
        match self.format {
            PixelFormat::I420 | PixelFormat::I010 | PixelFormat::I012 => {
                let b = if self.format == PixelFormat::I420 {
                    1
                } else {
                    2
                };
                write_rows(out, &planes[0], t..t + h, l * b, w * b)?;
                let (cl, ct, cw, ch) = (l / 2, t / 2, w.div_ceil(2), h.div_ceil(2));
                for p in &planes[1..3] {
                    write_rows(out, p, ct..ct + ch, cl * b, cw * b)?;
                }
            }
            PixelFormat::Nv12 => {
                write_rows(out, &planes[0], t..t + h, l, w)?;
                let (cl, ct, cw, ch) = (l / 2, t / 2, w.div_ceil(2), h.div_ceil(2));
                for comp in 0..2 {
                    let mut buf = Vec::with_capacity(cw);
                    for r in ct..ct + ch {
                        let uv = plane_row(&planes[1], r, cl * 2, cw * 2)?;
                        buf.clear();
                        buf.extend(uv.iter().skip(comp).step_by(2));
                        out.write_all(&buf).map_err(io)?;
                    }
                }
            }
            PixelFormat::P016 => {
                write_rows(out, &planes[0], t..t + h, l * 2, w * 2)?;
                let (cl, ct, cw, ch) = (l / 2, t / 2, w.div_ceil(2), h.div_ceil(2));
                for comp in 0..2 {
                    let mut buf = Vec::with_capacity(cw * 2);
                    for r in ct..ct + ch {
                        let uv = plane_row(&planes[1], r, cl * 4, cw * 4)?;
                        buf.clear();
                        for px in uv.chunks_exact(4) {
                            buf.extend_from_slice(&px[comp * 2..comp * 2 + 2]);
                        }
                        out.write_all(&buf).map_err(io)?;
                    }
                }
            }
            f => {
                let bpp = f.plane_extent(0, Dimensions::new(1, 1).expect("1x1")).0;
                write_rows(out, &planes[0], t..t + h, l * bpp, w * bpp)?;
            }
        }
        Ok(())
    }

    /// Writes the visible picture of an NV12 or P016 frame with its chroma interleaved as it
    /// lies: the luma rows, then the chroma-pair rows (FFmpeg's `nv12` and `p010le` layouts;
    /// an odd crop offset rounds down, as in [`DecodedFrame::write_planar`]). Other formats
    /// are `InvalidInput`.
    pub fn write_semi_planar(&self, out: &mut impl std::io::Write) -> Result<()> {
        let b = match self.format {
            PixelFormat::Nv12 => 1,
            PixelFormat::P016 => 2,
            f => {
                return Err(VideoError::invalid_input(format!(
                    "{f} frames have no interleaved chroma plane"
                )));
            }
        };
        let planes = self.cpu_planes(2)?;
        let (l, t, w, h) = self.crop.spans();
        write_rows(out, &planes[0], t..t + h, l * b, w * b)?;
        let ct = t / 2;
        write_rows(
            out,
            &planes[1],
            ct..ct + h.div_ceil(2),
            (l / 2) * 2 * b,
            w.div_ceil(2) * 2 * b,
        )
    }
}
