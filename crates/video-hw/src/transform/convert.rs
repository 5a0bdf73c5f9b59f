//! Pixel-format conversion of one picture on the CPU through `yuvutils-rs` (SIMD kernels).

use super::matrix::YuvParams;
use super::picture::{Picture, SourceView};
use crate::api::color::ColorDescription;
use crate::api::error::{Result, VideoError};
use crate::api::frame::PixelFormat;
use yuvutils_rs::{
    BufferStoreMut, YuvBiPlanarImage, YuvBiPlanarImageMut, YuvConversionMode, YuvError,
    YuvPlanarImageMut,
};

fn yuv_err(e: YuvError) -> VideoError {
    VideoError::invalid_input(format!("colour conversion: {e}"))
}

fn u32_of(v: usize) -> Result<u32> {
    u32::try_from(v).map_err(|_| VideoError::invalid_input(format!("stride {v} is too large")))
}

/// Whether `convert` can turn `from` into `to`.
pub(crate) fn is_supported(from: PixelFormat, to: PixelFormat) -> bool {
    use PixelFormat::*;
    match (from, to) {
        (I420 | Nv12, I420 | Nv12 | Rgb24 | Rgba | Bgra) => true,
        (Rgb24 | Rgba | Bgra | Argb, I420 | Nv12) => true,
        (I010 | I012, P016) => true,
        (a, b) => a == b && a != P016,
    }
}

/// Converts the visible picture `src` to `to`. `in_color` describes `src` when it is Y'CbCr;
/// `out_color` the result when it is made from RGB.
pub(crate) fn convert(
    src: &SourceView<'_>,
    to: PixelFormat,
    in_color: &ColorDescription,
    out_color: &ColorDescription,
) -> Result<Picture> {
    use PixelFormat::*;
    if !is_supported(src.format, to) {
        return Err(VideoError::unsupported(format!(
            "conversion {} -> {to} is not available on the CPU path",
            src.format
        )));
    }
    let mut out = Picture::zeroed(to, src.size);
    match (src.format, to) {
        (from, to) if from == to => copy_rows(src, &mut out),
        (_, P016) => super::high_depth::planar_to_p016(src, &mut out),
        (I420, Nv12) => i420_to_nv12(src, &mut out),
        (Nv12, I420) => nv12_to_i420(src, &mut out),
        (I420 | Nv12, _) => {
            let params = YuvParams::resolve(in_color, src.size.height())?;
            yuv_to_packed(src, &mut out, params)?;
        }
        (Argb, _) => {
            let rgba = argb_to_rgba(src);
            let view = SourceView {
                format: Rgba,
                size: src.size,
                planes: vec![super::picture::PlaneView {
                    data: &rgba,
                    stride: src.size.width() as usize * 4,
                }],
            };
            let params = YuvParams::resolve(out_color, src.size.height())?;
            packed_to_yuv(&view, &mut out, params)?;
        }
        _ => {
            let params = YuvParams::resolve(out_color, src.size.height())?;
            packed_to_yuv(src, &mut out, params)?;
        }
    }
    Ok(out)
}

fn copy_rows(src: &SourceView<'_>, out: &mut Picture) {
    for i in 0..out.planes.len() {
        let row = out.stride(i);
        for (r, dst) in out.planes[i].chunks_exact_mut(row).enumerate() {
            dst.copy_from_slice(src.row(i, r));
        }
    }
}

fn i420_to_nv12(src: &SourceView<'_>, out: &mut Picture) {
    let row = out.stride(0);
    for (r, dst) in out.planes[0].chunks_exact_mut(row).enumerate() {
        dst.copy_from_slice(src.row(0, r));
    }
    let uv_row = out.stride(1);
    for (r, dst) in out.planes[1].chunks_exact_mut(uv_row).enumerate() {
        let (u, v) = (src.row(1, r), src.row(2, r));
        for ((pair, u), v) in dst.chunks_exact_mut(2).zip(u).zip(v) {
            pair[0] = *u;
            pair[1] = *v;
        }
    }
}

fn nv12_to_i420(src: &SourceView<'_>, out: &mut Picture) {
    let row = out.stride(0);
    for (r, dst) in out.planes[0].chunks_exact_mut(row).enumerate() {
        dst.copy_from_slice(src.row(0, r));
    }
    let c_row = out.stride(1);
    let (u_plane, v_plane) = out.planes[1..].split_at_mut(1);
    for (r, (u, v)) in u_plane[0]
        .chunks_exact_mut(c_row)
        .zip(v_plane[0].chunks_exact_mut(c_row))
        .enumerate()
    {
        for ((pair, u), v) in src.row(1, r).chunks_exact(2).zip(u).zip(v) {
            *u = pair[0];
            *v = pair[1];
        }
    }
}

fn argb_to_rgba(src: &SourceView<'_>) -> Vec<u8> {
    let (w, h) = (src.size.width() as usize, src.size.height() as usize);
    let mut rgba = Vec::with_capacity(w * h * 4);
    for r in 0..h {
        rgba.extend_from_slice(src.row(0, r));
    }
    for px in rgba.chunks_exact_mut(4) {
        px.rotate_left(1);
    }
    rgba
}

fn yuv_to_packed(src: &SourceView<'_>, out: &mut Picture, p: YuvParams) -> Result<()> {
    let (width, height) = (src.size.width(), src.size.height());
    let stride = u32_of(out.stride(0))?;
    let to = out.format;
    let dst = &mut out.planes[0];
    // Professional mode (14-bit) stays within 1 LSB of the exact maths; the kernels take it
    // for NV12 only, so I420 chroma is interleaved first.
    let mode = YuvConversionMode::Professional;
    // yuvutils-rs 0.8 also takes only exactly-sized, tightly packed UV planes: repack padded
    // or cropped ones (a quarter of the frame's bytes at most).
    let (row, rows) = PixelFormat::Nv12.plane_extent(1, src.size);
    let tight: Vec<u8>;
    let uv_plane = match src.format {
        PixelFormat::Nv12 => {
            let uv = src.planes[1];
            if uv.stride == row && uv.data.len() >= row * rows {
                &uv.data[..row * rows]
            } else {
                tight = (0..rows).flat_map(|r| src.row(1, r)).copied().collect();
                &tight[..]
            }
        }
        _ => {
            tight = (0..rows)
                .flat_map(|r| {
                    src.row(1, r)
                        .iter()
                        .zip(src.row(2, r))
                        .flat_map(|(u, v)| [*u, *v])
                })
                .collect();
            &tight[..]
        }
    };
    let img = YuvBiPlanarImage {
        y_plane: src.planes[0].data,
        y_stride: u32_of(src.planes[0].stride)?,
        uv_plane,
        uv_stride: u32_of(row)?,
        width,
        height,
    };
    match to {
        PixelFormat::Rgb24 => {
            yuvutils_rs::yuv_nv12_to_rgb(&img, dst, stride, p.range, p.matrix, mode)
        }
        PixelFormat::Rgba => {
            yuvutils_rs::yuv_nv12_to_rgba(&img, dst, stride, p.range, p.matrix, mode)
        }
        _ => yuvutils_rs::yuv_nv12_to_bgra(&img, dst, stride, p.range, p.matrix, mode),
    }
    .map_err(yuv_err)
}

fn packed_to_yuv(src: &SourceView<'_>, out: &mut Picture, p: YuvParams) -> Result<()> {
    let (width, height) = (src.size.width(), src.size.height());
    let strides: Vec<u32> = (0..out.planes.len())
        .map(|i| u32_of(out.stride(i)))
        .collect::<Result<_>>()?;
    let rgb = src.planes[0].data;
    let rgb_stride = u32_of(src.planes[0].stride)?;
    let mode = YuvConversionMode::Professional;
    let from = src.format;
    match out.format {
        PixelFormat::Nv12 => {
            let [y, uv] = out.planes.as_mut_slice() else {
                unreachable!("NV12 pictures have two planes")
            };
            let mut img = YuvBiPlanarImageMut {
                y_plane: BufferStoreMut::Borrowed(y),
                y_stride: strides[0],
                uv_plane: BufferStoreMut::Borrowed(uv),
                uv_stride: strides[1],
                width,
                height,
            };
            match from {
                PixelFormat::Rgb24 => {
                    yuvutils_rs::rgb_to_yuv_nv12(&mut img, rgb, rgb_stride, p.range, p.matrix, mode)
                }
                PixelFormat::Rgba => yuvutils_rs::rgba_to_yuv_nv12(
                    &mut img, rgb, rgb_stride, p.range, p.matrix, mode,
                ),
                _ => yuvutils_rs::bgra_to_yuv_nv12(
                    &mut img, rgb, rgb_stride, p.range, p.matrix, mode,
                ),
            }
        }
        _ => {
            let [y, u, v] = out.planes.as_mut_slice() else {
                unreachable!("I420 pictures have three planes")
            };
            let mut img = YuvPlanarImageMut {
                y_plane: BufferStoreMut::Borrowed(y),
                y_stride: strides[0],
                u_plane: BufferStoreMut::Borrowed(u),
                u_stride: strides[1],
                v_plane: BufferStoreMut::Borrowed(v),
                v_stride: strides[2],
                width,
                height,
            };
            match from {
                PixelFormat::Rgb24 => {
                    yuvutils_rs::rgb_to_yuv420(&mut img, rgb, rgb_stride, p.range, p.matrix, mode)
                }
                PixelFormat::Rgba => {
                    yuvutils_rs::rgba_to_yuv420(&mut img, rgb, rgb_stride, p.range, p.matrix, mode)
                }
                _ => {
                    yuvutils_rs::bgra_to_yuv420(&mut img, rgb, rgb_stride, p.range, p.matrix, mode)
                }
            }
        }
    }
    .map_err(yuv_err)
}
