//! Bilinear resize of a tightly packed picture, plane by plane, through `fast_image_resize`.

use super::picture::Picture;
use crate::api::codec::Dimensions;
use crate::api::error::{Result, VideoError};
use crate::api::frame::PixelFormat;
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

/// The pixel layout `fast_image_resize` sees for plane `index` of `format`, and the plane's
/// size in those pixels.
fn plane_geometry(
    format: PixelFormat,
    index: usize,
    size: Dimensions,
) -> Result<(PixelType, u32, u32)> {
    let (w, h) = (size.width(), size.height());
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    Ok(match (format, index) {
        (PixelFormat::I420 | PixelFormat::Nv12, 0) => (PixelType::U8, w, h),
        (PixelFormat::I420, _) => (PixelType::U8, cw, ch),
        (PixelFormat::Nv12, _) => (PixelType::U8x2, cw, ch),
        (PixelFormat::Rgb24, _) => (PixelType::U8x3, w, h),
        (PixelFormat::Rgba | PixelFormat::Bgra | PixelFormat::Argb, _) => (PixelType::U8x4, w, h),
        (f, _) => {
            return Err(VideoError::unsupported(format!(
                "resizing {f} is not available on the CPU path"
            )));
        }
    })
}

/// Resizes every plane of `pic` to `to` with a bilinear filter. Alpha is treated as a plain
/// channel (no premultiplication).
pub(crate) fn resize(pic: &Picture, to: Dimensions) -> Result<Picture> {
    if pic.size == to {
        return Ok(pic.clone());
    }
    let mut out = Picture::zeroed(pic.format, to);
    let mut resizer = Resizer::new();
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Bilinear))
        .use_alpha(false);
    let err = |e: &dyn std::fmt::Display| VideoError::backend(format!("resize: {e}"));
    for i in 0..pic.planes.len() {
        let (pt, sw, sh) = plane_geometry(pic.format, i, pic.size)?;
        let (_, dw, dh) = plane_geometry(pic.format, i, to)?;
        let src = ImageRef::new(sw, sh, &pic.planes[i], pt).map_err(|e| err(&e))?;
        let mut dst = Image::from_slice_u8(dw, dh, &mut out.planes[i], pt).map_err(|e| err(&e))?;
        resizer
            .resize(&src, &mut dst, &options)
            .map_err(|e| err(&e))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_planes_stay_flat_and_take_the_new_size() {
        let from = Dimensions::new(64, 48).unwrap();
        let to = Dimensions::new(30, 20).unwrap();
        let mut pic = Picture::zeroed(PixelFormat::Nv12, from);
        pic.planes[0].fill(100);
        for pair in pic.planes[1].chunks_exact_mut(2) {
            pair.copy_from_slice(&[60, 200]);
        }
        let out = resize(&pic, to).unwrap();
        assert_eq!(out.size, to);
        assert_eq!(out.planes[0].len(), 30 * 20);
        assert!(out.planes[0].iter().all(|&v| v == 100));
        assert_eq!(out.planes[1].len(), 15 * 10 * 2);
        assert!(out.planes[1].chunks_exact(2).all(|p| p == [60, 200]));
    }

    #[test]
    fn downscaling_a_ramp_by_two_averages_neighbours() {
        let from = Dimensions::new(8, 2).unwrap();
        let to = Dimensions::new(4, 1).unwrap();
        let mut pic = Picture::zeroed(PixelFormat::Rgb24, from);
        for (i, px) in pic.planes[0].chunks_exact_mut(3).enumerate() {
            let v = (i % 8) as u8 * 20;
            px.copy_from_slice(&[v, v, v]);
        }
        let out = resize(&pic, to).unwrap();
        let reds: Vec<u8> = out.planes[0].chunks_exact(3).map(|p| p[0]).collect();
        // Inner output pixels are centred between two inputs: (40,60) -> 50, (80,100) -> 90;
        // the tent filter weighs their outer neighbours symmetrically.
        assert!(reds[1].abs_diff(50) <= 1, "{reds:?}");
        assert!(reds[2].abs_diff(90) <= 1, "{reds:?}");
        assert!(reds.windows(2).all(|w| w[0] < w[1]), "{reds:?}");
    }
}
