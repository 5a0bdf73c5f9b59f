//! Encoder input as I420: borrowed as it is, or converted (NV12 de-interleaved, packed RGB
//! turned into Y'CbCr) into a scratch buffer the adapter keeps between pictures.
//!
//! RGB is converted with the matrix a decoder assumes for a stream without colour signalling
//! (the library's one colour model, [`crate::transform::color_model`]: BT.601 below 720
//! lines, BT.709 from 720), limited range, chroma as the mean of each 2x2 block.

use crate::api::color::ColorDescription;
use crate::api::encode_input::EncodeInput;
use crate::api::error::{Result, VideoError};
use crate::api::frame::PixelFormat;
use crate::transform::color_model::{RgbToYuv, default_output_color};

/// Borrowed I420 planes. Every plane holds at least `rows * stride` bytes.
pub(super) struct I420View<'a> {
    /// Y, U and V.
    pub planes: [&'a [u8]; 3],
    /// Row strides of Y, U and V.
    pub strides: [usize; 3],
    /// Luma width.
    pub width: usize,
    /// Luma height.
    pub height: usize,
}

/// The input as I420; `scratch` holds converted pixels when the input is not I420 already
/// (or when an I420 plane's last row is shorter than its stride).
pub(super) fn i420_view<'a>(
    input: &'a EncodeInput,
    scratch: &'a mut Vec<u8>,
) -> Result<I420View<'a>> {
    let size = input.dimensions();
    let (w, h) = (size.width() as usize, size.height() as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let planes = input.planes();
    if input.format() == PixelFormat::I420 {
        let rows = [h, ch, ch];
        let whole = planes
            .iter()
            .zip(rows)
            .all(|(p, r)| p.data.as_slice().len() >= p.stride * r);
        if whole {
            return Ok(I420View {
                planes: [
                    &planes[0].data.as_slice()[..planes[0].stride * h],
                    &planes[1].data.as_slice()[..planes[1].stride * ch],
                    &planes[2].data.as_slice()[..planes[2].stride * ch],
                ],
                strides: [planes[0].stride, planes[1].stride, planes[2].stride],
                width: w,
                height: h,
            });
        }
    }
    scratch.clear();
    scratch.resize(w * h + 2 * cw * ch, 0);
    let (y, uv) = scratch.split_at_mut(w * h);
    let (u, v) = uv.split_at_mut(cw * ch);
    match input.format() {
        PixelFormat::I420 => {
            copy_rows(planes[0].data.as_slice(), planes[0].stride, y, w, h);
            copy_rows(planes[1].data.as_slice(), planes[1].stride, u, cw, ch);
            copy_rows(planes[2].data.as_slice(), planes[2].stride, v, cw, ch);
        }
        PixelFormat::Nv12 => {
            copy_rows(planes[0].data.as_slice(), planes[0].stride, y, w, h);
            let src = planes[1].data.as_slice();
            for r in 0..ch {
                let line = &src[r * planes[1].stride..r * planes[1].stride + 2 * cw];
                for (c, pair) in line.chunks_exact(2).enumerate() {
                    u[r * cw + c] = pair[0];
                    v[r * cw + c] = pair[1];
                }
            }
        }
        format @ (PixelFormat::Rgb24
        | PixelFormat::Rgba
        | PixelFormat::Bgra
        | PixelFormat::Argb) => {
            let color = default_output_color(size.height());
            rgb_to_i420(
                format,
                &color,
                planes[0].data.as_slice(),
                planes[0].stride,
                w,
                h,
                y,
                u,
                v,
            )?;
        }
        other => {
            return Err(VideoError::unsupported(format!(
                "{other} is not accepted as software encoder input"
            )));
        }
    }
    Ok(I420View {
        planes: [y, u, v],
        strides: [w, cw, cw],
        width: w,
        height: h,
    })
}

fn copy_rows(src: &[u8], stride: usize, dst: &mut [u8], row: usize, rows: usize) {
    for (r, out) in dst.chunks_exact_mut(row).take(rows).enumerate() {
        out.copy_from_slice(&src[r * stride..r * stride + row]);
    }
}

/// Byte offsets of R, G and B in a pixel, and bytes per pixel.
fn rgb_layout(format: PixelFormat) -> ([usize; 3], usize) {
    match format {
        PixelFormat::Rgb24 => ([0, 1, 2], 3),
        PixelFormat::Bgra => ([2, 1, 0], 4),
        PixelFormat::Argb => ([1, 2, 3], 4),
        _ => ([0, 1, 2], 4),
    }
}

/// R'G'B' -> Y'CbCr coefficients scaled by 2^16, and the offsets of Y and chroma.
struct Coefficients {
    y: [i32; 3],
    u: [i32; 3],
    v: [i32; 3],
    y0: i32,
    c0: i32,
}

impl Coefficients {
    fn new(k: &RgbToYuv) -> Self {
        let scale = |x: &[f64; 3]| x.map(|x| (x * 65536.0).round() as i32);
        Self {
            y: scale(&k.y),
            u: scale(&k.cb),
            v: scale(&k.cr),
            y0: k.y0.round() as i32,
            c0: k.c0.round() as i32,
        }
    }
}

fn dot(k: &[i32; 3], rgb: [i32; 3]) -> i32 {
    k[0] * rgb[0] + k[1] * rgb[1] + k[2] * rgb[2]
}

/// Packed RGB (`w` x `h`, rows `stride` bytes apart) to tightly packed I420 described by
/// `color`; `Unsupported` for the identity matrix.
#[allow(clippy::too_many_arguments)]
pub(crate) fn rgb_to_i420(
    format: PixelFormat,
    color: &ColorDescription,
    src: &[u8],
    stride: usize,
    w: usize,
    h: usize,
    y: &mut [u8],
    u: &mut [u8],
    v: &mut [u8],
) -> Result<()> {
    let ([ro, go, bo], bpp) = rgb_layout(format);
    let height = u32::try_from(h).map_err(|_| VideoError::invalid_input("picture too tall"))?;
    let k = Coefficients::new(&RgbToYuv::new(color, height, 8)?);
    let pixel = |x: usize, r: usize| {
        let p = r * stride + x * bpp;
        [
            i32::from(src[p + ro]),
            i32::from(src[p + go]),
            i32::from(src[p + bo]),
        ]
    };
    const HALF: i32 = 1 << 15;
    for r in 0..h {
        for x in 0..w {
            let luma = (dot(&k.y, pixel(x, r)) + HALF) >> 16;
            y[r * w + x] = (luma + k.y0).clamp(0, 255) as u8;
        }
    }
    let cw = w.div_ceil(2);
    for cr in 0..h.div_ceil(2) {
        for cx in 0..cw {
            let mut sum = [0i32; 3];
            let mut n = 0;
            for r in (2 * cr)..(2 * cr + 2).min(h) {
                for x in (2 * cx)..(2 * cx + 2).min(w) {
                    let p = pixel(x, r);
                    for c in 0..3 {
                        sum[c] += p[c];
                    }
                    n += 1;
                }
            }
            // dot() of the sum is n times the dot() of the mean; divide with rounding.
            let div = n << 16;
            let round = |x: i32| (x + x.signum() * div / 2) / div;
            u[cr * cw + cx] = (round(dot(&k.u, sum)) + k.c0).clamp(0, 255) as u8;
            v[cr * cw + cx] = (round(dot(&k.v, sum)) + k.c0).clamp(0, 255) as u8;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::codec::Dimensions;
    use crate::api::encode_input::RawPlane;

    #[test]
    fn rgb_primaries_map_to_bt601_limited_values() {
        // White, black, red: the BT.601 limited-range code values.
        let d = Dimensions::new(2, 2).unwrap();
        let cases = [
            ([255u8, 255, 255], [235u8, 128, 128]),
            ([0, 0, 0], [16, 128, 128]),
            ([255, 0, 0], [81, 90, 240]),
        ];
        for (rgb, yuv) in cases {
            let data: Vec<u8> = rgb.iter().copied().cycle().take(12).collect();
            let input = EncodeInput::packed(PixelFormat::Rgb24, d, data).unwrap();
            let mut scratch = Vec::new();
            let view = i420_view(&input, &mut scratch).unwrap();
            assert_eq!(
                [view.planes[0][0], view.planes[1][0], view.planes[2][0]],
                yuv,
                "{rgb:?}"
            );
        }
    }

    #[test]
    fn bgra_and_argb_read_the_same_colour_as_rgba() {
        let d = Dimensions::new(3, 3).unwrap();
        let convert = |format, px: [u8; 4]| {
            let data: Vec<u8> = px.iter().copied().cycle().take(36).collect();
            let input = EncodeInput::packed(format, d, data).unwrap();
            let mut scratch = Vec::new();
            let view = i420_view(&input, &mut scratch).unwrap();
            (
                view.planes[0].to_vec(),
                view.planes[1].to_vec(),
                view.planes[2].to_vec(),
            )
        };
        let rgba = convert(PixelFormat::Rgba, [200, 40, 90, 255]);
        assert_eq!(convert(PixelFormat::Bgra, [90, 40, 200, 255]), rgba);
        assert_eq!(convert(PixelFormat::Argb, [255, 200, 40, 90]), rgba);
        assert_eq!(rgba.1.len(), 4, "odd sizes round chroma up");
    }

    #[test]
    fn nv12_with_padded_strides_is_deinterleaved() {
        let d = Dimensions::new(4, 2).unwrap();
        let y = RawPlane {
            data: vec![1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 0, 0].into(),
            stride: 6,
        };
        let uv = RawPlane {
            data: vec![10, 20, 11, 21, 9].into(),
            stride: 5,
        };
        let input = EncodeInput::new(PixelFormat::Nv12, d, vec![y, uv]).unwrap();
        let mut scratch = Vec::new();
        let view = i420_view(&input, &mut scratch).unwrap();
        assert_eq!(view.planes[0], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(view.planes[1], &[10, 11]);
        assert_eq!(view.planes[2], &[20, 21]);
    }
}
