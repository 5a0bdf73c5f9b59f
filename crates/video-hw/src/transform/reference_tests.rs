//! Colour conversion checked against a float64 reference written here, for every matrix x
//! range, plus crop/stride handling and path accounting.

use super::*;
use crate::api::color::{ColorRange, MatrixCoefficients};
use crate::api::frame::Plane;
use crate::metrics::Metrics;
use std::sync::Arc;

const MATRICES: [(MatrixCoefficients, f64, f64); 3] = [
    (MatrixCoefficients::Bt601, 0.299, 0.114),
    (MatrixCoefficients::Bt709, 0.2126, 0.0722),
    (MatrixCoefficients::Bt2020Ncl, 0.2627, 0.0593),
];
const RANGES: [ColorRange; 2] = [ColorRange::Limited, ColorRange::Full];

/// Deterministic pseudo-random bytes (xorshift; `seed` must not be 0).
pub(crate) fn noise(n: usize, mut seed: u32) -> Vec<u8> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            (seed >> 11) as u8
        })
        .collect()
}

fn scales(range: ColorRange) -> (f64, f64, f64) {
    match range {
        ColorRange::Limited => (16.0, 219.0, 224.0),
        ColorRange::Full => (0.0, 255.0, 255.0),
    }
}

fn to_u8(v: f64) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// Float64 Y'CbCr -> R'G'B' (8-bit in, 8-bit out).
fn ref_rgb(y: u8, u: u8, v: u8, kr: f64, kb: f64, range: ColorRange) -> [u8; 3] {
    let (off, sy, sc) = scales(range);
    let yf = (f64::from(y) - off) / sy;
    let cb = (f64::from(u) - 128.0) / sc;
    let cr = (f64::from(v) - 128.0) / sc;
    let r = yf + 2.0 * (1.0 - kr) * cr;
    let b = yf + 2.0 * (1.0 - kb) * cb;
    let g = (yf - kr * r - kb * b) / (1.0 - kr - kb);
    [to_u8(r), to_u8(g), to_u8(b)]
}

/// Float64 R'G'B' -> Y'CbCr (8-bit in, 8-bit out).
fn ref_yuv(rgb: [u8; 3], kr: f64, kb: f64, range: ColorRange) -> [u8; 3] {
    let (off, sy, sc) = scales(range);
    let [r, g, b] = rgb.map(|c| f64::from(c) / 255.0);
    let y = kr * r + (1.0 - kr - kb) * g + kb * b;
    let cb = (b - y) / (2.0 * (1.0 - kb));
    let cr = (r - y) / (2.0 * (1.0 - kr));
    let q = |v: f64| v.round().clamp(0.0, 255.0) as u8;
    [q(off + sy * y), q(128.0 + sc * cb), q(128.0 + sc * cr)]
}

fn color(matrix: MatrixCoefficients, range: ColorRange) -> ColorDescription {
    ColorDescription {
        matrix,
        range,
        ..Default::default()
    }
}

const W: usize = 48;
const H: usize = 20;
/// The visible picture sits at (4, 2) inside a coded picture with padded strides.
const LEFT: usize = 4;
const TOP: usize = 2;
const CODED_W: usize = W + 8;
const CODED_H: usize = H + 4;
const STRIDE: usize = CODED_W + 8;

/// Random Y, U, V samples of the coded picture (full-resolution Y, half-resolution U and V).
struct Samples {
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
}

/// Maps noise into the nominal limited range `lo..=hi` (footroom and headroom excluded: the
/// SIMD kernels clip luma below 16 before the matrix, which no reference without that clip
/// can match).
fn nominal(v: Vec<u8>, lo: u8, hi: u8) -> Vec<u8> {
    let span = u32::from(hi - lo) + 1;
    v.into_iter()
        .map(|b| lo + (u32::from(b) * span / 256) as u8)
        .collect()
}

impl Samples {
    fn new(seed: u32) -> Self {
        Self::in_range(seed, ColorRange::Full)
    }

    fn in_range(seed: u32, range: ColorRange) -> Self {
        let cs = STRIDE / 2;
        let y = noise(STRIDE * CODED_H, seed);
        let u = noise(cs * CODED_H / 2, seed.wrapping_mul(7) | 1);
        let v = noise(cs * CODED_H / 2, seed.wrapping_mul(13) | 1);
        match range {
            ColorRange::Full => Self { y, u, v },
            ColorRange::Limited => Self {
                y: nominal(y, 16, 235),
                u: nominal(u, 16, 240),
                v: nominal(v, 16, 240),
            },
        }
    }

    /// Y, U, V of visible pixel (x, y).
    fn at(&self, x: usize, y: usize) -> (u8, u8, u8) {
        let (cx, cy) = ((x + LEFT) / 2, (y + TOP) / 2);
        let cs = STRIDE / 2;
        (
            self.y[(y + TOP) * STRIDE + x + LEFT],
            self.u[cy * cs + cx],
            self.v[cy * cs + cx],
        )
    }

    fn frame(&self, format: PixelFormat, color: ColorDescription) -> DecodedFrame {
        let cs = STRIDE / 2;
        let planes = match format {
            PixelFormat::I420 => vec![
                Plane {
                    data: self.y.clone().into(),
                    stride: STRIDE,
                },
                Plane {
                    data: self.u.clone().into(),
                    stride: cs,
                },
                Plane {
                    data: self.v.clone().into(),
                    stride: cs,
                },
            ],
            _ => {
                let uv: Vec<u8> = self
                    .u
                    .iter()
                    .zip(&self.v)
                    .flat_map(|(u, v)| [*u, *v])
                    .collect();
                vec![
                    Plane {
                        data: self.y.clone().into(),
                        stride: STRIDE,
                    },
                    Plane {
                        data: uv.into(),
                        stride: STRIDE,
                    },
                ]
            }
        };
        DecodedFrame {
            format,
            coded: Dimensions::new(CODED_W as u32, CODED_H as u32).unwrap(),
            crop: CropRect {
                left: LEFT as u32,
                top: TOP as u32,
                width: W as u32,
                height: H as u32,
            },
            color,
            pts: None,
            keyframe: false,
            data: FrameData::Cpu(planes),
        }
    }
}

/// Order of R, G, B inside a pixel of `format`, and its size.
fn layout(format: PixelFormat) -> ([usize; 3], usize) {
    match format {
        PixelFormat::Rgb24 => ([0, 1, 2], 3),
        PixelFormat::Rgba => ([0, 1, 2], 4),
        PixelFormat::Bgra => ([2, 1, 0], 4),
        PixelFormat::Argb => ([1, 2, 3], 4),
        f => panic!("{f} is not packed RGB"),
    }
}

#[test]
fn yuv_to_rgb_is_within_one_lsb_of_float64_reference_for_every_matrix_and_range() {
    for (matrix, kr, kb) in MATRICES {
        for range in RANGES {
            let samples = Samples::in_range(0x1234_5678, range);
            for src in [PixelFormat::I420, PixelFormat::Nv12] {
                let frame = samples.frame(src, color(matrix, range));
                for to in [PixelFormat::Rgb24, PixelFormat::Rgba, PixelFormat::Bgra] {
                    let out = transform_frame(&frame, &TransformSpec::to(to)).unwrap();
                    assert_eq!(out.format, to);
                    assert_eq!(
                        out.dimensions(),
                        Dimensions::new(W as u32, H as u32).unwrap()
                    );
                    let (order, bpp) = layout(to);
                    let px = &out.planes().unwrap()[0];
                    let mut worst = 0u8;
                    for y in 0..H {
                        for x in 0..W {
                            let (ys, us, vs) = samples.at(x, y);
                            let want = ref_rgb(ys, us, vs, kr, kb, range);
                            let at = y * px.stride + x * bpp;
                            for c in 0..3 {
                                let d = px.data[at + order[c]].abs_diff(want[c]);
                                worst = worst.max(d);
                            }
                            if bpp == 4 {
                                assert_eq!(px.data[at + 3], 255, "opaque alpha");
                            }
                        }
                    }
                    assert!(
                        worst <= 1,
                        "{matrix:?} {range:?} {src} -> {to}: off by {worst}"
                    );
                }
            }
        }
    }
}

/// An RGB picture of flat 2x2 blocks (so 4:2:0 subsampling is exact) in `format`.
fn rgb_blocks(format: PixelFormat, seed: u32) -> (Vec<[u8; 3]>, EncodeInput) {
    let blocks = noise((W / 2) * (H / 2) * 3, seed);
    let rgb: Vec<[u8; 3]> = (0..W * H)
        .map(|i| {
            let (x, y) = (i % W, i / W);
            let b = ((y / 2) * (W / 2) + x / 2) * 3;
            [blocks[b], blocks[b + 1], blocks[b + 2]]
        })
        .collect();
    let (order, bpp) = layout(format);
    let mut bytes = vec![255u8; W * H * bpp];
    for (i, c) in rgb.iter().enumerate() {
        for k in 0..3 {
            bytes[i * bpp + order[k]] = c[k];
        }
    }
    let input =
        EncodeInput::packed(format, Dimensions::new(W as u32, H as u32).unwrap(), bytes).unwrap();
    (rgb, input)
}

#[test]
fn rgb_to_yuv_is_within_one_lsb_of_float64_reference_for_every_matrix_and_range() {
    for (matrix, kr, kb) in MATRICES {
        for range in RANGES {
            for from in [
                PixelFormat::Rgb24,
                PixelFormat::Rgba,
                PixelFormat::Bgra,
                PixelFormat::Argb,
            ] {
                let (rgb, input) = rgb_blocks(from, 0x9e37_79b9);
                for to in [PixelFormat::I420, PixelFormat::Nv12] {
                    let spec = TransformSpec::to(to).with_output_color(color(matrix, range));
                    let out = transform_input(&input, &ColorDescription::default(), &spec).unwrap();
                    assert_eq!(out.format(), to);
                    let p = out.planes();
                    let mut worst = 0u8;
                    for y in 0..H {
                        for x in 0..W {
                            let want = ref_yuv(rgb[y * W + x], kr, kb, range);
                            let got_y = p[0].data.as_slice()[y * p[0].stride + x];
                            worst = worst.max(got_y.abs_diff(want[0]));
                            let (cx, cy) = (x / 2, y / 2);
                            let (u, v) = match to {
                                PixelFormat::I420 => (
                                    p[1].data.as_slice()[cy * p[1].stride + cx],
                                    p[2].data.as_slice()[cy * p[2].stride + cx],
                                ),
                                _ => (
                                    p[1].data.as_slice()[cy * p[1].stride + 2 * cx],
                                    p[1].data.as_slice()[cy * p[1].stride + 2 * cx + 1],
                                ),
                            };
                            worst = worst.max(u.abs_diff(want[1])).max(v.abs_diff(want[2]));
                        }
                    }
                    assert!(
                        worst <= 1,
                        "{matrix:?} {range:?} {from} -> {to}: off by {worst}"
                    );
                }
            }
        }
    }
}

#[test]
fn unspecified_matrix_follows_the_picture_height() {
    let samples = Samples::new(42);
    let unspecified = samples.frame(
        PixelFormat::Nv12,
        color(MatrixCoefficients::Unspecified, ColorRange::Limited),
    );
    let bt601 = samples.frame(
        PixelFormat::Nv12,
        color(MatrixCoefficients::Bt601, ColorRange::Limited),
    );
    let spec = TransformSpec::to(PixelFormat::Rgb24);
    let a = transform_frame(&unspecified, &spec).unwrap();
    let b = transform_frame(&bt601, &spec).unwrap();
    // 20 lines tall: BT.601.
    assert_eq!(a.planes().unwrap()[0].data, b.planes().unwrap()[0].data);
}

#[test]
fn yuv_repacking_keeps_the_cropped_samples_and_resize_sets_the_size() {
    let samples = Samples::new(7);
    let frame = samples.frame(PixelFormat::I420, ColorDescription::default());
    let nv12 = transform_frame(&frame, &TransformSpec::to(PixelFormat::Nv12)).unwrap();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    frame.write_planar(&mut a).unwrap();
    nv12.write_planar(&mut b).unwrap();
    assert_eq!(a, b);
    let small = Dimensions::new(24, 10).unwrap();
    let out = transform_frame(
        &frame,
        &TransformSpec::to(PixelFormat::Rgba).with_size(small),
    )
    .unwrap();
    assert_eq!(out.dimensions(), small);
    assert_eq!(out.planes().unwrap()[0].data.len(), 24 * 10 * 4);
    let up = Dimensions::new(96, 40).unwrap();
    let out = transform_frame(&frame, &TransformSpec::to(PixelFormat::Nv12).with_size(up)).unwrap();
    assert_eq!(out.dimensions(), up);
    assert_eq!(out.planes().unwrap()[1].data.len(), 96 * 20);
}

#[test]
fn bad_frames_get_typed_errors() {
    let samples = Samples::new(9);
    let mut frame = samples.frame(PixelFormat::I420, ColorDescription::default());
    frame.crop.width = CODED_W as u32; // runs past the coded width from left = 4
    let err = transform_frame(&frame, &TransformSpec::to(PixelFormat::Rgb24)).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
    let mut frame = samples.frame(PixelFormat::I420, ColorDescription::default());
    if let FrameData::Cpu(planes) = &mut frame.data {
        planes[2].data = vec![0u8; 10].into();
    }
    let err = transform_frame(&frame, &TransformSpec::to(PixelFormat::Rgb24)).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
    let mut frame = samples.frame(PixelFormat::I420, ColorDescription::default());
    frame.data = FrameData::MetadataOnly;
    let err = transform_frame(&frame, &TransformSpec::to(PixelFormat::Rgb24)).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
    let frame = samples.frame(PixelFormat::I420, ColorDescription::default());
    let err = transform_frame(&frame, &TransformSpec::to(PixelFormat::P016)).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Unsupported);
}

#[test]
fn frame_to_encode_input_shares_uncropped_planes_and_copies_cropped_ones() {
    let samples = Samples::new(3);
    let cropped = samples.frame(PixelFormat::I420, ColorDescription::default());
    let mut want = Vec::new();
    cropped.write_planar(&mut want).unwrap();
    let input = frame_to_encode_input(cropped).unwrap();
    assert_eq!(
        input.dimensions(),
        Dimensions::new(W as u32, H as u32).unwrap()
    );
    let got: Vec<u8> = (0..3)
        .flat_map(|i| {
            let (row, rows) = PixelFormat::I420.plane_extent(i, input.dimensions());
            let p = &input.planes()[i];
            (0..rows)
                .flat_map(|r| p.data.as_slice()[r * p.stride..r * p.stride + row].to_vec())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(got, want);
    let full = transform_frame(
        &samples.frame(PixelFormat::Nv12, ColorDescription::default()),
        &TransformSpec::to(PixelFormat::Nv12),
    )
    .unwrap();
    let y_ptr = full.planes().unwrap()[0].data.as_ptr();
    let input = frame_to_encode_input(full).unwrap();
    assert_eq!(input.planes()[0].data.as_slice().as_ptr(), y_ptr, "no copy");
}

struct GpuDouble {
    outcome: fn(&DecodedFrame, &TransformSpec) -> Result<Option<DecodedFrame>>,
}

impl GpuTransform for GpuDouble {
    fn name(&self) -> &str {
        "double"
    }
    fn transform(
        &self,
        frame: &DecodedFrame,
        spec: &TransformSpec,
    ) -> Result<Option<DecodedFrame>> {
        (self.outcome)(frame, spec)
    }
}

#[test]
fn transformer_counts_gpu_cpu_fallback_and_skipped_paths() {
    let samples = Samples::new(11);
    let frame = || samples.frame(PixelFormat::Nv12, ColorDescription::default());
    let metrics = Metrics::new();
    let spec = TransformSpec::to(PixelFormat::Rgb24);
    let cpu = Transformer::new(spec, metrics.clone());
    let (_, p) = cpu.apply(frame()).unwrap();
    assert_eq!(p, TransformPath::Cpu);
    let skip = Transformer::new(TransformSpec::to(PixelFormat::Nv12), metrics.clone());
    let (_, p) = skip.apply(frame()).unwrap();
    assert_eq!(p, TransformPath::Skipped);
    let failing = cpu.clone().with_gpu(Arc::new(GpuDouble {
        outcome: |_, _| Err(VideoError::device_lost("double")),
    }));
    let (out, p) = failing.apply(frame()).unwrap();
    assert_eq!(
        (p, out.format),
        (TransformPath::Fallback, PixelFormat::Rgb24)
    );
    let declining = cpu.clone().with_gpu(Arc::new(GpuDouble {
        outcome: |_, _| Ok(None),
    }));
    assert_eq!(declining.apply(frame()).unwrap().1, TransformPath::Cpu);
    let gpu = cpu.clone().with_gpu(Arc::new(GpuDouble {
        outcome: |f, s| transform_frame(f, s).map(Some),
    }));
    assert_eq!(gpu.apply(frame()).unwrap().1, TransformPath::Gpu);
    let r = metrics.report();
    assert_eq!(
        (
            r.transform_paths.gpu,
            r.transform_paths.cpu,
            r.transform_paths.fallback,
            r.transform_paths.skipped
        ),
        (1, 2, 1, 1)
    );
    assert_eq!(r.stage(crate::metrics::Stage::Transform).unwrap().count, 5);
}
