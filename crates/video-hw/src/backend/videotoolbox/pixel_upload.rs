//! Copying a caller's picture into the planes of a pixel buffer (NV12 or 32BGRA), whatever
//! the source stride, with the format conversions that need no colour maths.

use crate::api::encode_input::EncodeInput;
use crate::api::error::{Result, VideoError};
use crate::api::frame::PixelFormat;

/// The pixel-buffer layout a picture of `format` is uploaded into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UploadTarget {
    /// Two planes: Y and interleaved CbCr (from NV12 or I420).
    Nv12,
    /// One plane of B, G, R, A bytes (from BGRA, RGBA, ARGB or RGB24).
    Bgra,
}

/// Where `format` goes; `Unsupported` for formats the encoder cannot take.
pub(crate) fn upload_target(format: PixelFormat) -> Result<UploadTarget> {
    match format {
        PixelFormat::Nv12 | PixelFormat::I420 => Ok(UploadTarget::Nv12),
        PixelFormat::Bgra | PixelFormat::Rgba | PixelFormat::Argb | PixelFormat::Rgb24 => {
            Ok(UploadTarget::Bgra)
        }
        other => Err(VideoError::unsupported(format!(
            "VideoToolbox encoding does not take {other} input"
        ))),
    }
}

fn rows(data: &[u8], stride: usize, row_len: usize, rows: usize) -> Result<Vec<&[u8]>> {
    (0..rows)
        .map(|r| {
            data.get(r * stride..r * stride + row_len).ok_or_else(|| {
                VideoError::invalid_input(format!("plane too short for row {r} of {rows}"))
            })
        })
        .collect()
}

fn dst_row(dst: &mut [u8], stride: usize, r: usize, len: usize) -> Result<&mut [u8]> {
    dst.get_mut(r * stride..r * stride + len)
        .ok_or_else(|| VideoError::backend(format!("pixel buffer plane too short for row {r}")))
}

/// Writes an NV12 or I420 picture into NV12 planes with the given strides.
pub(crate) fn write_nv12(
    input: &EncodeInput,
    y: &mut [u8],
    y_stride: usize,
    uv: &mut [u8],
    uv_stride: usize,
) -> Result<()> {
    let size = input.dimensions();
    let (w, h) = (size.width() as usize, size.height() as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let planes = input.planes();
    for (r, src) in rows(planes[0].data.as_slice(), planes[0].stride, w, h)?
        .into_iter()
        .enumerate()
    {
        dst_row(y, y_stride, r, w)?.copy_from_slice(src);
    }
    match input.format() {
        PixelFormat::Nv12 => {
            for (r, src) in rows(planes[1].data.as_slice(), planes[1].stride, cw * 2, ch)?
                .into_iter()
                .enumerate()
            {
                dst_row(uv, uv_stride, r, cw * 2)?.copy_from_slice(src);
            }
        }
        PixelFormat::I420 => {
            let u = rows(planes[1].data.as_slice(), planes[1].stride, cw, ch)?;
            let v = rows(planes[2].data.as_slice(), planes[2].stride, cw, ch)?;
            for (r, (u, v)) in u.into_iter().zip(v).enumerate() {
                let row = dst_row(uv, uv_stride, r, cw * 2)?;
                for (i, pair) in row.chunks_exact_mut(2).enumerate() {
                    pair[0] = u[i];
                    pair[1] = v[i];
                }
            }
        }
        other => {
            return Err(VideoError::unsupported(format!(
                "{other} is not a 4:2:0 input for an NV12 pixel buffer"
            )));
        }
    }
    Ok(())
}

/// Writes a packed RGB picture into a 32BGRA plane with the given stride (alpha 255 for RGB24).
pub(crate) fn write_bgra(input: &EncodeInput, dst: &mut [u8], stride: usize) -> Result<()> {
    let size = input.dimensions();
    let (w, h) = (size.width() as usize, size.height() as usize);
    let format = input.format();
    let bpp = match format {
        PixelFormat::Rgb24 => 3,
        PixelFormat::Bgra | PixelFormat::Rgba | PixelFormat::Argb => 4,
        other => {
            return Err(VideoError::unsupported(format!(
                "{other} is not a packed RGB input for a BGRA pixel buffer"
            )));
        }
    };
    let plane = &input.planes()[0];
    for (r, src) in rows(plane.data.as_slice(), plane.stride, w * bpp, h)?
        .into_iter()
        .enumerate()
    {
        let row = dst_row(dst, stride, r, w * 4)?;
        if format == PixelFormat::Bgra {
            row.copy_from_slice(src);
            continue;
        }
        for (d, s) in row.chunks_exact_mut(4).zip(src.chunks_exact(bpp)) {
            let (r, g, b, a) = match format {
                PixelFormat::Rgba => (s[0], s[1], s[2], s[3]),
                PixelFormat::Argb => (s[1], s[2], s[3], s[0]),
                _ => (s[0], s[1], s[2], 255),
            };
            d.copy_from_slice(&[b, g, r, a]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::codec::Dimensions;
    use crate::api::encode_input::RawPlane;

    fn plane(data: Vec<u8>, stride: usize) -> RawPlane {
        RawPlane {
            data: data.into(),
            stride,
        }
    }

    #[test]
    fn i420_is_interleaved_into_the_uv_plane_with_padding_strides() {
        let size = Dimensions::new(4, 2).unwrap();
        let input = EncodeInput::new(
            PixelFormat::I420,
            size,
            vec![
                plane((0..8).collect(), 4),
                plane(vec![10, 11, 0], 3),
                plane(vec![20, 21, 0], 3),
            ],
        )
        .unwrap();
        let (mut y, mut uv) = (vec![0xee; 16], vec![0xee; 8]);
        write_nv12(&input, &mut y, 8, &mut uv, 8).unwrap();
        assert_eq!(&y[..4], &[0, 1, 2, 3]);
        assert_eq!(&y[8..12], &[4, 5, 6, 7]);
        assert_eq!(&y[4..8], &[0xee; 4], "padding untouched");
        assert_eq!(&uv[..4], &[10, 20, 11, 21]);
    }

    #[test]
    fn nv12_rows_are_copied_across_strides() {
        let size = Dimensions::new(2, 2).unwrap();
        let input = EncodeInput::new(
            PixelFormat::Nv12,
            size,
            vec![plane(vec![1, 2, 9, 3, 4, 9], 3), plane(vec![5, 6], 2)],
        )
        .unwrap();
        let (mut y, mut uv) = (vec![0; 8], vec![0; 4]);
        write_nv12(&input, &mut y, 4, &mut uv, 4).unwrap();
        assert_eq!(y, vec![1, 2, 0, 0, 3, 4, 0, 0]);
        assert_eq!(&uv[..2], &[5, 6]);
    }

    #[test]
    fn packed_rgb_formats_are_swizzled_to_bgra() {
        let size = Dimensions::new(1, 1).unwrap();
        for (format, px, want) in [
            (PixelFormat::Rgba, vec![1, 2, 3, 4], [3, 2, 1, 4]),
            (PixelFormat::Argb, vec![4, 1, 2, 3], [3, 2, 1, 4]),
            (PixelFormat::Rgb24, vec![1, 2, 3], [3, 2, 1, 255]),
            (PixelFormat::Bgra, vec![3, 2, 1, 4], [3, 2, 1, 4]),
        ] {
            let stride = px.len();
            let input = EncodeInput::new(format, size, vec![plane(px, stride)]).unwrap();
            let mut dst = vec![0; 4];
            write_bgra(&input, &mut dst, 4).unwrap();
            assert_eq!(dst, want, "{format}");
        }
    }

    #[test]
    fn a_short_destination_is_an_error_not_a_panic() {
        let size = Dimensions::new(2, 2).unwrap();
        let input = EncodeInput::new(
            PixelFormat::Nv12,
            size,
            vec![plane(vec![0; 4], 2), plane(vec![0; 2], 2)],
        )
        .unwrap();
        let (mut y, mut uv) = (vec![0; 3], vec![0; 2]);
        assert!(write_nv12(&input, &mut y, 2, &mut uv, 2).is_err());
    }

    #[test]
    fn upload_targets_by_format() {
        assert_eq!(
            upload_target(PixelFormat::I420).unwrap(),
            UploadTarget::Nv12
        );
        assert_eq!(
            upload_target(PixelFormat::Rgb24).unwrap(),
            UploadTarget::Bgra
        );
        assert!(upload_target(PixelFormat::P016).is_err());
    }
}
