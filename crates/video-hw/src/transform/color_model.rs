//! The one colour model of the library: every Y'CbCr <-> R'G'B' conversion takes its
//! coefficients from here (matrix x range x bit depth): the CPU transform (`yuvutils-rs`), the
//! CUDA kernel's parameters and its CPU fallback on NVIDIA, the Metal kernel on Apple, and
//! the software encoders' RGB input.
//!
//! The rule for matrices, the same on every path:
//! - BT.601, BT.709 and BT.2020 (non-constant luminance) are converted as signalled.
//! - An unspecified matrix (H.273 code 2, and the code points this library does not model,
//!   see [`MatrixCoefficients::from_h273`]) is BT.601 below 720 lines and BT.709 from 720 up,
//!   as common practice (FFmpeg, browsers) has it.
//! - The identity matrix (GBR) is refused with `Unsupported`: its planes are G, B and R, not
//!   Y'CbCr, and no 4:2:0 conversion here would return the right pixels.

#[cfg(any(feature = "sw-openh264", feature = "sw-ffmpeg"))]
pub(crate) use super::matrix::default_output_color;
use crate::api::color::{ColorDescription, ColorRange, MatrixCoefficients};
use crate::api::error::{Result, VideoError};

/// A Y'CbCr matrix the conversions implement, after the rule for unspecified matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum YuvMatrix {
    /// BT.601 (kr 0.299, kb 0.114).
    Bt601,
    /// BT.709 (kr 0.2126, kb 0.0722).
    Bt709,
    /// BT.2020 non-constant luminance (kr 0.2627, kb 0.0593).
    Bt2020Ncl,
}

impl YuvMatrix {
    /// The matrix of a picture `height` lines tall signalled as `matrix` (the module's rule).
    pub fn resolve(matrix: MatrixCoefficients, height: u32) -> Result<Self> {
        match matrix {
            MatrixCoefficients::Bt601 => Ok(Self::Bt601),
            MatrixCoefficients::Bt709 => Ok(Self::Bt709),
            MatrixCoefficients::Bt2020Ncl => Ok(Self::Bt2020Ncl),
            MatrixCoefficients::Unspecified if height >= 720 => Ok(Self::Bt709),
            MatrixCoefficients::Unspecified => Ok(Self::Bt601),
            MatrixCoefficients::Identity => Err(VideoError::unsupported(
                "the identity (GBR) matrix is not converted: its planes hold G, B and R, not \
                 Y'CbCr; ask for the native format",
            )),
        }
    }

    /// The luma weights of red and blue.
    pub fn kr_kb(self) -> (f64, f64) {
        match self {
            Self::Bt601 => (0.299, 0.114),
            Self::Bt709 => (0.2126, 0.0722),
            Self::Bt2020Ncl => (0.2627, 0.0593),
        }
    }
}

/// Offsets and spans of the samples of one range and bit depth: `(y0, y_span, c0, c_span)`.
fn sample_scale(range: ColorRange, bit_depth: u8) -> (f64, f64, f64, f64) {
    let n = i32::from(bit_depth.clamp(8, 16));
    let unit = f64::from(1u32 << (n - 8));
    match range {
        ColorRange::Limited => (16.0 * unit, 219.0 * unit, 128.0 * unit, 224.0 * unit),
        ColorRange::Full => {
            let max = f64::from((1u32 << n) - 1);
            (0.0, max, f64::from(1u32 << (n - 1)), max)
        }
    }
}

/// Y'CbCr samples of one bit depth to 8-bit R'G'B':
/// `R = ky (Y - y0) + rv (Cr - c0)`, `G = ky (Y - y0) + gu (Cb - c0) + gv (Cr - c0)`,
/// `B = ky (Y - y0) + bu (Cb - c0)` (round, then clamp to 0..=255).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct YuvToRgb {
    pub ky: f32,
    pub rv: f32,
    pub gu: f32,
    pub gv: f32,
    pub bu: f32,
    pub y0: f32,
    pub c0: f32,
}

impl YuvToRgb {
    /// The coefficients for `color` on a picture `height` lines tall with `bit_depth`-bit
    /// samples. `Unsupported` for the identity matrix.
    pub fn new(color: &ColorDescription, height: u32, bit_depth: u8) -> Result<Self> {
        let (kr, kb) = YuvMatrix::resolve(color.matrix, height)?.kr_kb();
        let kg = 1.0 - kr - kb;
        let (y0, y_span, c0, c_span) = sample_scale(color.range, bit_depth);
        let (ky, kc) = (255.0 / y_span, 255.0 / c_span);
        Ok(Self {
            ky: ky as f32,
            rv: (kc * 2.0 * (1.0 - kr)) as f32,
            gu: (-kc * 2.0 * kb * (1.0 - kb) / kg) as f32,
            gv: (-kc * 2.0 * kr * (1.0 - kr) / kg) as f32,
            bu: (kc * 2.0 * (1.0 - kb)) as f32,
            y0: y0 as f32,
            c0: c0 as f32,
        })
    }

    /// The same conversion for samples of `bit_depth` bits stored most-significant-bit first
    /// in a container of `unit_bits`, read as `container / 2^(container bits - unit_bits)`
    /// (P016 read in 8-bit units by the CUDA kernel: `sample / 256`).
    #[cfg_attr(
        not(all(
            feature = "backend-nvidia",
            any(target_os = "linux", target_os = "windows")
        )),
        allow(dead_code, reason = "the CUDA kernel's parameters are its only user")
    )]
    pub fn in_units_of(self, bit_depth: u8, unit_bits: u8) -> Self {
        let shift = i32::from(unit_bits) - i32::from(bit_depth.clamp(8, 16));
        let f = 2f32.powi(shift);
        Self {
            ky: self.ky / f,
            rv: self.rv / f,
            gu: self.gu / f,
            gv: self.gv / f,
            bu: self.bu / f,
            y0: self.y0 * f,
            c0: self.c0 * f,
        }
    }

    /// R', G' and B' of one sample triple, unrounded and unclamped (the reference the
    /// kernels are tested against).
    #[cfg(test)]
    pub fn apply(&self, y: f32, cb: f32, cr: f32) -> [f32; 3] {
        let (l, u, v) = (self.ky * (y - self.y0), cb - self.c0, cr - self.c0);
        [
            l + self.rv * v,
            l + self.gu * u + self.gv * v,
            l + self.bu * u,
        ]
    }
}

/// 8-bit R'G'B' to Y'CbCr samples of one bit depth: each of Y, Cb and Cr is
/// `offset + k[0] R + k[1] G + k[2] B`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(
    not(any(feature = "sw-openh264", feature = "sw-ffmpeg")),
    allow(dead_code)
)]
pub(crate) struct RgbToYuv {
    pub y: [f64; 3],
    pub cb: [f64; 3],
    pub cr: [f64; 3],
    pub y0: f64,
    pub c0: f64,
}

#[cfg_attr(
    not(any(feature = "sw-openh264", feature = "sw-ffmpeg")),
    allow(dead_code)
)]
impl RgbToYuv {
    /// The coefficients that make Y'CbCr described by `color` (a picture `height` lines tall,
    /// `bit_depth`-bit samples). `Unsupported` for the identity matrix.
    pub fn new(color: &ColorDescription, height: u32, bit_depth: u8) -> Result<Self> {
        let (kr, kb) = YuvMatrix::resolve(color.matrix, height)?.kr_kb();
        let kg = 1.0 - kr - kb;
        let (y0, y_span, c0, c_span) = sample_scale(color.range, bit_depth);
        let (ys, cs) = (y_span / 255.0, c_span / 255.0);
        let (cb, cr) = (cs / (2.0 * (1.0 - kb)), cs / (2.0 * (1.0 - kr)));
        Ok(Self {
            y: [kr * ys, kg * ys, kb * ys],
            cb: [-kr * cb, -kg * cb, (1.0 - kb) * cb],
            cr: [(1.0 - kr) * cr, -kg * cr, -kb * cr],
            y0,
            c0,
        })
    }
}

/// The matrix `yuvutils-rs` is given for `color` (the CPU transform); its built-in weights
/// are the ones of [`YuvMatrix::kr_kb`] (checked by a test).
pub(crate) fn yuvutils_matrix(
    color: &ColorDescription,
    height: u32,
) -> Result<yuvutils_rs::YuvStandardMatrix> {
    Ok(match YuvMatrix::resolve(color.matrix, height)? {
        YuvMatrix::Bt601 => yuvutils_rs::YuvStandardMatrix::Bt601,
        YuvMatrix::Bt709 => yuvutils_rs::YuvStandardMatrix::Bt709,
        YuvMatrix::Bt2020Ncl => yuvutils_rs::YuvStandardMatrix::Bt2020,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn color(matrix: MatrixCoefficients, range: ColorRange) -> ColorDescription {
        ColorDescription {
            matrix,
            range,
            ..ColorDescription::default()
        }
    }

    #[test]
    fn unspecified_is_bt601_below_720_lines_and_bt709_from_720() {
        let m = MatrixCoefficients::Unspecified;
        assert_eq!(YuvMatrix::resolve(m, 576).unwrap(), YuvMatrix::Bt601);
        assert_eq!(YuvMatrix::resolve(m, 719).unwrap(), YuvMatrix::Bt601);
        assert_eq!(YuvMatrix::resolve(m, 720).unwrap(), YuvMatrix::Bt709);
    }

    #[test]
    fn identity_is_refused_in_both_directions() {
        let c = color(MatrixCoefficients::Identity, ColorRange::Full);
        let e = YuvToRgb::new(&c, 1080, 8).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Unsupported);
        assert!(e.to_string().contains("identity"), "{e}");
        assert!(RgbToYuv::new(&c, 1080, 8).is_err());
        assert!(yuvutils_matrix(&c, 1080).is_err());
    }

    #[test]
    fn yuvutils_weights_are_the_models_weights() {
        for m in [
            MatrixCoefficients::Bt601,
            MatrixCoefficients::Bt709,
            MatrixCoefficients::Bt2020Ncl,
        ] {
            let c = color(m, ColorRange::Limited);
            let ours = YuvMatrix::resolve(m, 1080).unwrap().kr_kb();
            let theirs = yuvutils_matrix(&c, 1080).unwrap().get_kr_kb();
            assert!((f64::from(theirs.kr) - ours.0).abs() < 1e-6, "{m:?}");
            assert!((f64::from(theirs.kb) - ours.1).abs() < 1e-6, "{m:?}");
        }
    }

    #[test]
    fn limited_black_and_white_reach_the_rgb_extremes_at_8_and_10_bits() {
        let c = color(MatrixCoefficients::Bt709, ColorRange::Limited);
        for (depth, black, white, mid) in [(8u8, 16.0, 235.0, 128.0), (10, 64.0, 940.0, 512.0)] {
            let k = YuvToRgb::new(&c, 1080, depth).unwrap();
            for v in k.apply(white, mid, mid) {
                assert!((v - 255.0).abs() < 1e-3, "{depth}-bit white {v}");
            }
            for v in k.apply(black, mid, mid) {
                assert!(v.abs() < 1e-3, "{depth}-bit black {v}");
            }
        }
    }

    #[test]
    fn msb_aligned_10_bit_samples_in_8_bit_units_give_the_same_rgb() {
        let c = color(MatrixCoefficients::Bt2020Ncl, ColorRange::Full);
        let k10 = YuvToRgb::new(&c, 2160, 10).unwrap();
        let k8u = k10.in_units_of(10, 8);
        let (y, cb, cr) = (700.0, 300.0, 800.0);
        let a = k10.apply(y, cb, cr);
        let b = k8u.apply(y / 4.0, cb / 4.0, cr / 4.0);
        for (a, b) in a.into_iter().zip(b) {
            assert!((a - b).abs() < 1e-3, "{a} {b}");
        }
    }

    #[test]
    fn rgb_to_yuv_inverts_yuv_to_rgb() {
        for m in [
            MatrixCoefficients::Bt601,
            MatrixCoefficients::Bt709,
            MatrixCoefficients::Bt2020Ncl,
        ] {
            for range in [ColorRange::Limited, ColorRange::Full] {
                let c = color(m, range);
                let fwd = RgbToYuv::new(&c, 1080, 8).unwrap();
                let back = YuvToRgb::new(&c, 1080, 8).unwrap();
                let rgb = [200.0, 40.0, 90.0];
                let dot = |k: [f64; 3]| k.iter().zip(rgb).map(|(k, x)| k * x).sum::<f64>();
                let (y, cb, cr) = (
                    fwd.y0 + dot(fwd.y),
                    fwd.c0 + dot(fwd.cb),
                    fwd.c0 + dot(fwd.cr),
                );
                let out = back.apply(y as f32, cb as f32, cr as f32);
                for (o, want) in out.into_iter().zip(rgb) {
                    assert!(
                        (f64::from(o) - want).abs() < 1e-3,
                        "{m:?} {range:?} {out:?}"
                    );
                }
            }
        }
    }
}
