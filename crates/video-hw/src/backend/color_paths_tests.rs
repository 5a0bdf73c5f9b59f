//! One colour model on every conversion path: the same frames go through each Y'CbCr <-> RGB
//! path of the library for every matrix x range (BT.601, BT.709, BT.2020, unspecified,
//! identity; limited, full; an SD and an HD picture) and must agree within 1 LSB with the
//! model ([`crate::transform::color_model`]), and on its rule: unspecified is BT.601 below
//! 720 lines and BT.709 from 720, identity is refused (`Unsupported`) everywhere.
//!
//! Paths: the CPU transform (`yuvutils-rs`); the Metal kernel's matrix (evaluated here as the
//! shader does); the NVIDIA CPU fallback and, with a GPU, the CUDA kernel through the CUDA
//! transform (skipped with a message without one, unless `VIDEO_HW_REQUIRE_GPU=1`); and, the
//! other way, the software encoders' RGB input against the CPU transform.

use super::videotoolbox::color::yuv_to_rgb_rows;
use crate::api::codec::Dimensions;
use crate::api::color::{ColorDescription, ColorRange, MatrixCoefficients};
use crate::api::error::Result;
use crate::api::frame::{CropRect, DecodedFrame, FrameData, PixelFormat, Plane};
use crate::transform::color_model::YuvToRgb;
use crate::transform::reference_tests::noise;
use crate::transform::{TransformSpec, transform_frame};

const MATRICES: [MatrixCoefficients; 5] = [
    MatrixCoefficients::Bt601,
    MatrixCoefficients::Bt709,
    MatrixCoefficients::Bt2020Ncl,
    MatrixCoefficients::Unspecified,
    MatrixCoefficients::Identity,
];
const RANGES: [ColorRange; 2] = [ColorRange::Limited, ColorRange::Full];
/// An SD and an HD picture (the unspecified matrix resolves by height).
const SIZES: [(usize, usize); 2] = [(32, 24), (8, 720)];

fn color(matrix: MatrixCoefficients, range: ColorRange) -> ColorDescription {
    ColorDescription {
        matrix,
        range,
        ..ColorDescription::default()
    }
}

/// The matrix the rule gives an unspecified picture of `height` lines.
fn rule(height: usize) -> MatrixCoefficients {
    if height >= 720 {
        MatrixCoefficients::Bt709
    } else {
        MatrixCoefficients::Bt601
    }
}

/// Maps noise into `lo..=hi`.
fn within(v: Vec<u8>, lo: u8, hi: u8) -> Vec<u8> {
    let span = u32::from(hi - lo) + 1;
    v.into_iter()
        .map(|b| lo + (u32::from(b) * span / 256) as u8)
        .collect()
}

/// A tightly packed NV12 picture of random samples: every code value in full range, the
/// nominal ones in limited range (the SIMD kernels clip luma footroom before the matrix).
struct Nv12 {
    w: usize,
    h: usize,
    luma: Vec<u8>,
    chroma: Vec<u8>,
}

impl Nv12 {
    fn new(w: usize, h: usize, seed: u32, range: ColorRange) -> Self {
        let (luma, chroma) = (noise(w * h, seed), noise(w * h / 2, seed ^ 0x5a5a));
        let (luma, chroma) = match range {
            ColorRange::Full => (luma, chroma),
            ColorRange::Limited => (within(luma, 16, 235), within(chroma, 16, 240)),
        };
        Self { w, h, luma, chroma }
    }

    fn frame(&self, color: ColorDescription) -> DecodedFrame {
        let size = Dimensions::new(self.w as u32, self.h as u32).unwrap();
        DecodedFrame {
            format: PixelFormat::Nv12,
            coded: size,
            crop: CropRect::full(size),
            color,
            pts: None,
            keyframe: true,
            data: FrameData::Cpu(vec![
                Plane {
                    data: self.luma.clone().into(),
                    stride: self.w,
                },
                Plane {
                    data: self.chroma.clone().into(),
                    stride: self.w,
                },
            ]),
        }
    }

    fn yuv(&self, x: usize, y: usize) -> [u8; 3] {
        let c = (y / 2) * self.w + (x / 2) * 2;
        [
            self.luma[y * self.w + x],
            self.chroma[c],
            self.chroma[c + 1],
        ]
    }

    /// RGB24 by the model itself (rounded, clamped).
    fn model_rgb(&self, color: &ColorDescription) -> Result<Vec<u8>> {
        let k = YuvToRgb::new(color, self.h as u32, 8)?;
        let mut out = Vec::with_capacity(self.w * self.h * 3);
        for y in 0..self.h {
            for x in 0..self.w {
                let [l, u, v] = self.yuv(x, y).map(f32::from);
                out.extend(k.apply(l, u, v).map(|c| c.round().clamp(0.0, 255.0) as u8));
            }
        }
        Ok(out)
    }

    /// RGB24 through the CPU transform.
    fn cpu_rgb(&self, color: ColorDescription) -> Result<Vec<u8>> {
        let out = transform_frame(&self.frame(color), &TransformSpec::to(PixelFormat::Rgb24))?;
        Ok(packed(&out, 3))
    }

    /// RGB24 as the Metal kernel computes it from its matrix rows.
    fn metal_rgb(&self, color: ColorDescription) -> Result<Vec<u8>> {
        let rows = yuv_to_rgb_rows(color, self.h as u32)?;
        let mut out = Vec::with_capacity(self.w * self.h * 3);
        for y in 0..self.h {
            for x in 0..self.w {
                let [l, u, v] = self.yuv(x, y).map(|s| f32::from(s) / 255.0);
                for r in rows {
                    let d = r[0] * l + r[1] * u + r[2] * v + r[3];
                    out.push((d.clamp(0.0, 1.0) * 255.0).round_ties_even() as u8);
                }
            }
        }
        Ok(out)
    }
}

/// The visible rows of a one-plane packed frame, tightly packed.
fn packed(frame: &DecodedFrame, bpp: usize) -> Vec<u8> {
    let planes = frame.planes().expect("CPU frame");
    let (w, h) = (frame.crop.width as usize, frame.crop.height as usize);
    let p = &planes[0];
    (0..h)
        .flat_map(|r| p.data[r * p.stride..][..w * bpp].iter().copied())
        .collect()
}

/// The largest difference between two equally long sample lists.
fn max_diff(a: &[u8], b: &[u8]) -> u8 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap_or(0)
}

/// Every path's RGB24 for `color` on `pic` (name, result).
fn yuv_to_rgb_paths(pic: &Nv12, color: ColorDescription) -> Vec<(&'static str, Result<Vec<u8>>)> {
    #[allow(unused_mut)]
    let mut paths = vec![
        ("cpu transform", pic.cpu_rgb(color)),
        ("metal matrix", pic.metal_rgb(color)),
    ];
    #[cfg(all(
        feature = "backend-nvidia",
        any(target_os = "linux", target_os = "windows")
    ))]
    {
        paths.push((
            "nvidia cpu fallback",
            nvidia_paths::fallback_rgb(pic, color),
        ));
        if let Some(rgb) = nvidia_paths::cuda_rgb(pic, color) {
            paths.push(("cuda kernel", rgb));
        }
    }
    paths
}

#[test]
fn every_yuv_to_rgb_path_agrees_with_the_model_within_one_lsb() {
    for (w, h) in SIZES {
        for matrix in MATRICES {
            for range in RANGES {
                let pic = Nv12::new(w, h, 0x1234_5678 ^ h as u32, range);
                let c = color(matrix, range);
                let model = pic.model_rgb(&c);
                for (name, rgb) in yuv_to_rgb_paths(&pic, c) {
                    match (&model, rgb) {
                        (Ok(want), Ok(got)) => {
                            let d = max_diff(want, &got);
                            assert!(d <= 1, "{name} {matrix:?} {range:?} {w}x{h}: off by {d}");
                        }
                        (Err(_), Err(e)) => {
                            assert_eq!(e.kind(), crate::ErrorKind::Unsupported, "{name}: {e}");
                            assert_eq!(matrix, MatrixCoefficients::Identity, "{name}: {e}");
                        }
                        (want, got) => panic!(
                            "{name} {matrix:?} {range:?}: model {:?}, path {:?}",
                            want.as_ref().err(),
                            got.err()
                        ),
                    }
                }
            }
        }
    }
}

#[test]
fn every_yuv_to_rgb_path_resolves_unspecified_by_height() {
    for (w, h) in SIZES {
        for range in RANGES {
            let pic = Nv12::new(w, h, 0x0bad_cafe, range);
            let unspecified = yuv_to_rgb_paths(&pic, color(MatrixCoefficients::Unspecified, range));
            let explicit = yuv_to_rgb_paths(&pic, color(rule(h), range));
            for ((name, a), (_, b)) in unspecified.into_iter().zip(explicit) {
                assert_eq!(a.unwrap(), b.unwrap(), "{name} {range:?} {w}x{h}");
            }
        }
    }
}

/// The software encoders' RGB input (compiled with a software codec).
#[cfg(any(feature = "sw-openh264", feature = "sw-ffmpeg"))]
mod encoder_input {
    use super::*;
    use crate::backend::software::i420_input::rgb_to_i420;
    use crate::transform::color_model::RgbToYuv;

    /// RGB24 whose 2x2 blocks are one colour each, so that every way of subsampling chroma
    /// gives the same I420.
    fn block_rgb(w: usize, h: usize, seed: u32) -> Vec<u8> {
        let blocks = noise(w.div_ceil(2) * h.div_ceil(2) * 3, seed);
        let mut out = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                let b = ((y / 2) * w.div_ceil(2) + x / 2) * 3;
                out.extend_from_slice(&blocks[b..b + 3]);
            }
        }
        out
    }

    /// I420 (Y, then U, then V) from RGB24 by the software encoders' input path.
    fn encoder_input_i420(
        rgb: &[u8],
        w: usize,
        h: usize,
        color: &ColorDescription,
    ) -> Result<Vec<u8>> {
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let (mut y, mut u, mut v) = (vec![0; w * h], vec![0; cw * ch], vec![0; cw * ch]);
        rgb_to_i420(
            PixelFormat::Rgb24,
            color,
            rgb,
            w * 3,
            w,
            h,
            &mut y,
            &mut u,
            &mut v,
        )?;
        Ok([y, u, v].concat())
    }

    /// I420 from RGB24 by the CPU transform.
    fn cpu_i420(rgb: &[u8], w: usize, h: usize, color: ColorDescription) -> Result<Vec<u8>> {
        let size = Dimensions::new(w as u32, h as u32).unwrap();
        let frame = DecodedFrame {
            format: PixelFormat::Rgb24,
            coded: size,
            crop: CropRect::full(size),
            color: ColorDescription::default(),
            pts: None,
            keyframe: true,
            data: FrameData::Cpu(vec![Plane {
                data: rgb.to_vec().into(),
                stride: w * 3,
            }]),
        };
        let spec = TransformSpec::to(PixelFormat::I420).with_output_color(color);
        let out = transform_frame(&frame, &spec)?;
        let planes = out.planes().expect("CPU frame");
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let rows = |i: usize, rw: usize, n: usize| -> Vec<u8> {
            (0..n)
                .flat_map(|r| planes[i].data[r * planes[i].stride..][..rw].to_vec())
                .collect()
        };
        Ok([rows(0, w, h), rows(1, cw, ch), rows(2, cw, ch)].concat())
    }

    /// Luma of the first pixel by the model.
    fn model_luma(rgb: &[u8], color: &ColorDescription, h: usize) -> Result<u8> {
        let k = RgbToYuv::new(color, h as u32, 8)?;
        let y = k.y0 + (0..3).map(|i| k.y[i] * f64::from(rgb[i])).sum::<f64>();
        Ok(y.round().clamp(0.0, 255.0) as u8)
    }

    #[test]
    fn encoder_rgb_input_agrees_with_the_cpu_transform_within_one_lsb() {
        for (w, h) in SIZES {
            let rgb = block_rgb(w, h, 0x2468_ace1 ^ h as u32);
            for matrix in MATRICES {
                for range in RANGES {
                    let c = color(matrix, range);
                    let enc = encoder_input_i420(&rgb, w, h, &c);
                    let cpu = cpu_i420(&rgb, w, h, c);
                    match (enc, cpu, model_luma(&rgb, &c, h)) {
                        (Ok(enc), Ok(cpu), Ok(luma)) => {
                            let d = max_diff(&enc, &cpu);
                            assert!(d <= 1, "{matrix:?} {range:?} {w}x{h}: off by {d}");
                            assert!(
                                enc[0].abs_diff(luma) <= 1,
                                "{matrix:?} {range:?}: model luma"
                            );
                            if matrix == MatrixCoefficients::Unspecified {
                                let explicit =
                                    encoder_input_i420(&rgb, w, h, &color(rule(h), range));
                                assert_eq!(enc, explicit.unwrap(), "{range:?} {w}x{h}");
                            }
                        }
                        (Err(a), Err(b), Err(_)) => {
                            assert_eq!(matrix, MatrixCoefficients::Identity);
                            assert_eq!(a.kind(), crate::ErrorKind::Unsupported);
                            assert_eq!(b.kind(), crate::ErrorKind::Unsupported);
                        }
                        (a, b, m) => panic!(
                            "{matrix:?} {range:?}: encoder {:?}, cpu {:?}, model {:?}",
                            a.err(),
                            b.err(),
                            m.err()
                        ),
                    }
                }
            }
        }
    }
}

#[cfg(all(
    feature = "backend-nvidia",
    any(target_os = "linux", target_os = "windows")
))]
mod nvidia_paths {
    use super::*;
    use crate::backend::nvidia::cuda::{self, DeviceBuffer, Mem, Stream};
    use crate::backend::nvidia::cuda_transform::CudaTransform;
    use crate::backend::nvidia::rgb::{Coeffs, convert_cpu};
    use crate::transform::GpuTransform;

    /// RGB24 by the NVIDIA decoder's CPU fallback (the kernel's arithmetic).
    pub(super) fn fallback_rgb(pic: &Nv12, color: ColorDescription) -> Result<Vec<u8>> {
        let coeffs = Coeffs::for_color(color, pic.h as u32, 8)?;
        let rgb = convert_cpu(
            &pic.luma,
            &pic.chroma,
            pic.w,
            pic.h,
            false,
            PixelFormat::Rgb24,
            coeffs,
        )?;
        Ok(rgb.to_vec())
    }

    /// RGB24 by the CUDA kernel (through the CUDA transform, from device memory); `None`
    /// without a GPU (said on stderr; a failure with `VIDEO_HW_REQUIRE_GPU=1`).
    pub(super) fn cuda_rgb(pic: &Nv12, color: ColorDescription) -> Option<Result<Vec<u8>>> {
        if let Err(why) = crate::backend::nvidia::environment() {
            if std::env::var("VIDEO_HW_REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("no NVIDIA GPU but VIDEO_HW_REQUIRE_GPU=1: {why}");
            }
            eprintln!("SKIPPED: the CUDA kernel path (no NVIDIA GPU: {why})");
            return None;
        }
        Some(run_cuda(pic, color))
    }

    fn run_cuda(pic: &Nv12, color: ColorDescription) -> Result<Vec<u8>> {
        let transform = CudaTransform::new(0)?;
        let ctx = crate::backend::nvidia::held_primary(0)?;
        let stream = Stream::new(ctx.clone())?;
        let luma = DeviceBuffer::new(ctx.clone(), pic.luma.len())?;
        let chroma = DeviceBuffer::new(ctx, pic.chroma.len())?;
        for (src, dst, rows) in [(&pic.luma, &luma, pic.h), (&pic.chroma, &chroma, pic.h / 2)] {
            cuda::copy_2d(
                stream.raw(),
                Mem::Host(src.as_ptr().cast_mut().cast()),
                pic.w,
                Mem::Device(dst.ptr),
                pic.w,
                pic.w,
                rows,
            )?;
        }
        stream.synchronize()?;
        let mut frame = pic.frame(color);
        frame.data = FrameData::Gpu(crate::api::frame::GpuSurface {
            api: crate::api::frame::GpuApi::Cuda,
            planes: vec![luma.ptr, chroma.ptr],
            pitches: vec![pic.w, pic.w],
            stream: 0,
            device: 0,
            keepalive: Box::new(()),
        });
        let out = transform
            .transform(&frame, &TransformSpec::to(PixelFormat::Rgb24))?
            .expect("the CUDA transform takes NV12 in CUDA memory");
        drop((luma, chroma));
        Ok(packed(&out, 3))
    }
}
