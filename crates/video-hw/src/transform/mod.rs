//! The transform layer: pixel-format conversion and resize, off the decode/encode threads.
//!
//! - [`transform_frame`]: a [`DecodedFrame`] (crop and strides honoured) into a new frame of
//!   another format and/or size: NV12/I420 -> RGB24/RGBA/BGRA, RGB24/RGBA/BGRA/ARGB ->
//!   NV12/I420, NV12 <-> I420, bilinear resize.
//! - [`p016_to_planar`]: MSB-aligned P016 into the LSB-aligned planar layout (I010/I012)
//!   that planar output of more than 8 bits uses; I010/I012 -> P016 on request.
//! - [`transform_input`]: an [`EncodeInput`] into the I420/NV12 an encoder takes.
//! - [`frame_to_encode_input`]: a decoded frame into an encoder input (no copy where the
//!   planes can be shared).
//! - [`TransformPool`]: N worker threads behind a bounded queue, results in submission order.
//! - [`Transformer`] / [`GpuTransform`]: a GPU path first (CUDA, Metal: later), the CPU path
//!   as fallback, each outcome counted as a [`TransformPath`].
//!
//! Colour maths follows the frame's [`ColorDescription`]: BT.601 / BT.709 / BT.2020 matrices,
//! limited or full range; an unspecified matrix is BT.601 below 720 lines, BT.709 from 720 up;
//! the identity (GBR) matrix is refused (`Unsupported`). Every conversion path of the library
//! (this CPU transform, the CUDA and Metal kernels, the software encoders' RGB input) takes
//! its coefficients from one source, so they agree (the `color_paths_tests` check it).
//! The kernels are `yuvutils-rs` (SIMD, 13-bit fixed point); resize is `fast_image_resize`.

pub(crate) mod color_model;
mod convert;
mod credits;
mod gpu;
mod high_depth;
mod matrix;
mod picture;
mod pool;
#[cfg(test)]
pub(crate) mod reference_tests;
mod resize;

pub use crate::metrics::TransformPath;
pub use credits::{CreditGuard, Credits};
pub use gpu::{GpuTransform, Transformer};
pub use pool::{Ticket, TransformPool};

use crate::api::codec::Dimensions;
use crate::api::color::ColorDescription;
use crate::api::encode_input::{EncodeInput, PlaneBuffer, RawPlane};
use crate::api::error::{Result, VideoError};
use crate::api::frame::{CropRect, DecodedFrame, FrameData, PixelFormat};
use picture::{Picture, SourceView};

/// What a transform makes: a pixel format, optionally a new size and, for Y'CbCr made from
/// RGB, the colour description to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TransformSpec {
    /// The pixel format of the result.
    pub format: PixelFormat,
    /// The size of the result (bilinear resize); `None` keeps the visible size.
    pub size: Option<Dimensions>,
    /// The colour description of Y'CbCr made from RGB; `None`: limited range, BT.601 below
    /// 720 lines, BT.709 from 720 up. Ignored when the source is Y'CbCr (its own
    /// description is used and kept).
    pub output_color: Option<ColorDescription>,
}

impl TransformSpec {
    /// Conversion to `format` at the same size.
    pub fn to(format: PixelFormat) -> Self {
        Self {
            format,
            size: None,
            output_color: None,
        }
    }

    /// Also resize to `size`.
    pub fn with_size(mut self, size: Dimensions) -> Self {
        self.size = Some(size);
        self
    }

    /// The colour description for Y'CbCr made from RGB.
    pub fn with_output_color(mut self, color: ColorDescription) -> Self {
        self.output_color = Some(color);
        self
    }

    /// Whether a frame of `format` and visible `size` already is what this spec asks for.
    pub fn is_noop_for(&self, format: PixelFormat, size: Dimensions) -> bool {
        format == self.format && self.size.is_none_or(|s| s == size)
    }

    /// Whether the CPU path can make `self.format` from `from`.
    pub fn is_supported_from(&self, from: PixelFormat) -> bool {
        convert::is_supported(from, self.format)
    }
}

fn run(
    src: &SourceView<'_>,
    in_color: &ColorDescription,
    spec: &TransformSpec,
) -> Result<(Picture, ColorDescription)> {
    let target = spec.size.unwrap_or(src.size);
    let out_color = if src.format.is_yuv() {
        *in_color
    } else {
        spec.output_color
            .unwrap_or_else(|| matrix::default_output_color(target.height()))
    };
    // Downscaling Y'CbCr before an RGB conversion is cheaper; otherwise convert first.
    let pic = if spec.size.is_some_and(|s| s.area() < src.size.area())
        && src.format.is_yuv()
        && src.format.bit_depth() == 8
    {
        let native = convert::convert(src, src.format, in_color, &out_color)?;
        let small = resize::resize(&native, target)?;
        let view = SourceView {
            format: small.format,
            size: small.size,
            planes: small
                .planes
                .iter()
                .enumerate()
                .map(|(i, p)| picture::PlaneView {
                    data: p,
                    stride: small.stride(i),
                })
                .collect(),
        };
        convert::convert(&view, spec.format, in_color, &out_color)?
    } else {
        let converted = convert::convert(src, spec.format, in_color, &out_color)?;
        match spec.size {
            Some(size) => resize::resize(&converted, size)?,
            None => converted,
        }
    };
    Ok((pic, out_color))
}

/// Converts (and resizes) the visible picture of a CPU frame into a new, tightly packed frame.
/// Timestamps and the keyframe flag are kept; the result's crop covers the whole picture.
/// Errors: `InvalidInput` for a frame without CPU pixels or with planes too small for its crop,
/// `Unsupported` for a conversion the CPU path does not have (P016, identity matrix).
pub fn transform_frame(frame: &DecodedFrame, spec: &TransformSpec) -> Result<DecodedFrame> {
    let src = SourceView::of_frame(frame)?;
    let (pic, color) = run(&src, &frame.color, spec)?;
    let size = pic.size;
    Ok(DecodedFrame {
        format: pic.format,
        coded: size,
        crop: CropRect::full(size),
        color,
        pts: frame.pts,
        keyframe: frame.keyframe,
        data: FrameData::Cpu(pic.into_frame_planes()),
    })
}

/// Turns a P016 frame of `bit_depth`-bit video (10 or 12; samples in the high bits) into the
/// LSB-aligned planar layout (I010 / I012) of its visible picture. Timestamps, colour and the
/// keyframe flag are kept. `Unsupported` for other depths, `InvalidInput` for a frame that is
/// not P016 in CPU memory.
pub fn p016_to_planar(frame: &DecodedFrame, bit_depth: u8) -> Result<DecodedFrame> {
    let target = PixelFormat::planar_for_depth(bit_depth)
        .filter(|f| *f != PixelFormat::I420)
        .ok_or_else(|| {
            VideoError::unsupported(format!("no planar layout for {bit_depth}-bit P016"))
        })?;
    if frame.format != PixelFormat::P016 {
        return Err(VideoError::invalid_input(format!(
            "p016_to_planar takes P016, got {}",
            frame.format
        )));
    }
    let src = SourceView::of_frame(frame)?;
    let mut pic = Picture::zeroed(target, src.size);
    high_depth::p016_to_planar(&src, &mut pic);
    Ok(DecodedFrame {
        format: target,
        coded: pic.size,
        crop: CropRect::full(pic.size),
        color: frame.color,
        pts: frame.pts,
        keyframe: frame.keyframe,
        data: FrameData::Cpu(pic.into_frame_planes()),
    })
}

/// Converts (and resizes) an encoder input, e.g. RGBA from a renderer into the NV12 an encoder
/// takes. `input_color` describes a Y'CbCr input (ignored for RGB input; the spec's
/// `output_color` describes the result). Timestamps and the forced-keyframe flag are kept.
pub fn transform_input(
    input: &EncodeInput,
    input_color: &ColorDescription,
    spec: &TransformSpec,
) -> Result<EncodeInput> {
    let src = SourceView::of_input(input);
    let (pic, _) = run(&src, input_color, spec)?;
    let mut out = pic.into_encode_input()?;
    out.pts = input.pts;
    out.force_keyframe = input.force_keyframe;
    Ok(out)
}

/// Turns a decoded CPU frame into an encoder input, sharing the planes without a copy when the
/// crop starts at the origin, copying the visible area otherwise. The format is kept
/// (convert first with [`transform_frame`] when the encoder wants another).
pub fn frame_to_encode_input(frame: DecodedFrame) -> Result<EncodeInput> {
    let size = frame.dimensions();
    let at_origin = frame.crop.left == 0 && frame.crop.top == 0;
    let (format, pts) = (frame.format, frame.pts);
    let input = match frame.data {
        FrameData::Cpu(planes) if at_origin => {
            let planes = planes
                .into_iter()
                .map(|p| RawPlane {
                    data: PlaneBuffer::Shared(p.data),
                    stride: p.stride,
                })
                .collect();
            EncodeInput::new(format, size, planes)?
        }
        FrameData::Cpu(_) => {
            let src = SourceView::of_frame(&frame)?;
            let (pic, _) = run(&src, &frame.color, &TransformSpec::to(format))?;
            pic.into_encode_input()?
        }
        _ => {
            return Err(VideoError::invalid_input(
                "frame has no CPU pixels (GPU or metadata-only frame)",
            ));
        }
    };
    Ok(match pts {
        Some(pts) => input.with_pts(pts),
        None => input,
    })
}

/// Converts a CPU frame between I420 and NV12, keeping the visible area (the result is cropped:
/// its planes hold exactly the visible picture). Other targets are `Unsupported` here; use
/// [`transform_frame`] for RGB.
pub fn convert_yuv(frame: &DecodedFrame, to: PixelFormat) -> Result<DecodedFrame> {
    frame
        .planes()
        .ok_or_else(|| VideoError::invalid_input("frame has no CPU pixels to convert"))?;
    if !matches!(
        (frame.format, to),
        (
            PixelFormat::I420 | PixelFormat::Nv12,
            PixelFormat::I420 | PixelFormat::Nv12
        )
    ) {
        return Err(VideoError::unsupported(format!(
            "convert_yuv handles I420/NV12 only, not {} -> {to} (use transform_frame)",
            frame.format
        )));
    }
    transform_frame(frame, &TransformSpec::to(to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::frame::Plane;

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
