//! The transform layer: pixel-format conversion off the decode/encode threads.
//!
//! This build has the 4:2:0 layout conversions (I420 <-> NV12) that need no colour maths;
//! RGB conversion, resize and GPU paths join in the transform-layer issue.

use crate::api::error::{Result, VideoError};
use crate::api::frame::{CropRect, DecodedFrame, FrameData, PixelFormat, Plane};

/// Converts a CPU frame between I420 and NV12, keeping the visible area (the result is cropped:
/// its planes hold exactly the visible picture).
pub fn convert_yuv(frame: &DecodedFrame, to: PixelFormat) -> Result<DecodedFrame> {
    frame
        .planes()
        .ok_or_else(|| VideoError::invalid_input("frame has no CPU pixels to convert"))?;
    if !matches!(
        (frame.format, to),
        (PixelFormat::I420, PixelFormat::Nv12) | (PixelFormat::Nv12, PixelFormat::I420)
    ) {
        return Err(VideoError::unsupported(format!(
            "conversion {} -> {to} is not available in this build",
            frame.format
        )));
    }
    // write_planar yields cropped I420 for both I420 and NV12 sources.
    let mut i420 = Vec::with_capacity(PixelFormat::I420.frame_size(frame.dimensions()));
    frame.write_planar(&mut i420)?;
    let size = frame.dimensions();
    let (w, h) = (size.width() as usize, size.height() as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let (y, rest) = i420.split_at(w * h);
    let (u, v) = rest.split_at(cw * ch);
    let new_planes = match to {
        PixelFormat::I420 => vec![
            Plane {
                data: y.into(),
                stride: w,
            },
            Plane {
                data: u.into(),
                stride: cw,
            },
            Plane {
                data: v.into(),
                stride: cw,
            },
        ],
        _ => {
            let uv: Vec<u8> = u.iter().zip(v).flat_map(|(a, b)| [*a, *b]).collect();
            vec![
                Plane {
                    data: y.into(),
                    stride: w,
                },
                Plane {
                    data: uv.into(),
                    stride: cw * 2,
                },
            ]
        }
    };
    Ok(DecodedFrame {
        format: to,
        coded: size,
        crop: CropRect::full(size),
        color: frame.color,
        pts: frame.pts,
        keyframe: frame.keyframe,
        data: FrameData::Cpu(new_planes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::codec::Dimensions;

    fn i420_frame() -> DecodedFrame {
        // 4x2 visible inside a 6x4 coded picture, offset by (2, 2).
        let coded = Dimensions::new(6, 4).unwrap();
        let y: Vec<u8> = (0..24).collect();
        let u: Vec<u8> = (100..106).collect();
        let v: Vec<u8> = (200..206).collect();
        DecodedFrame {
            format: PixelFormat::I420,
            coded,
            crop: CropRect {
                left: 2,
                top: 2,
                width: 4,
                height: 2,
            },
            color: Default::default(),
            pts: None,
            keyframe: true,
            data: FrameData::Cpu(vec![
                Plane {
                    data: y.into(),
                    stride: 6,
                },
                Plane {
                    data: u.into(),
                    stride: 3,
                },
                Plane {
                    data: v.into(),
                    stride: 3,
                },
            ]),
        }
    }

    #[test]
    fn i420_to_nv12_and_back_keeps_the_cropped_picture() {
        let src = i420_frame();
        let mut want = Vec::new();
        src.write_planar(&mut want).unwrap();
        assert_eq!(
            want,
            vec![14, 15, 16, 17, 20, 21, 22, 23, 104, 105, 204, 205]
        );
        let nv12 = convert_yuv(&src, PixelFormat::Nv12).unwrap();
        assert_eq!(&*nv12.planes().unwrap()[1].data, &[104, 204, 105, 205]);
        let back = convert_yuv(&nv12, PixelFormat::I420).unwrap();
        let mut got = Vec::new();
        back.write_planar(&mut got).unwrap();
        assert_eq!(got, want);
    }

    #[test]
    fn rgb_conversion_is_reported_unsupported() {
        let err = convert_yuv(&i420_frame(), PixelFormat::Rgb24).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Unsupported);
    }
}
