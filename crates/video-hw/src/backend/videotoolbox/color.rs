//! Colour description <-> Core Video attachments (`kCVImageBufferYCbCrMatrixKey`,
//! `kCVImageBufferColorPrimariesKey`, `kCVImageBufferTransferFunctionKey`) and the range
//! implied by the pixel-format type.
//!
//! The constants are the string values of the `CFString` constants Core Video defines (the
//! Apple side compares attachment values as strings, so this mapping is testable anywhere).

use crate::api::color::{
    ColorDescription, ColorPrimaries, ColorRange, MatrixCoefficients, TransferCharacteristics,
};
use crate::api::error::Result;
use crate::transform::color_model::YuvToRgb;

/// `kCVImageBufferYCbCrMatrix_ITU_R_709_2`.
pub(crate) const MATRIX_ITU_R_709_2: &str = "ITU_R_709_2";
/// `kCVImageBufferYCbCrMatrix_ITU_R_601_4`.
pub(crate) const MATRIX_ITU_R_601_4: &str = "ITU_R_601_4";
/// `kCVImageBufferYCbCrMatrix_ITU_R_2020`.
pub(crate) const MATRIX_ITU_R_2020: &str = "ITU_R_2020";
/// `kCVImageBufferColorPrimaries_ITU_R_709_2`.
pub(crate) const PRIMARIES_ITU_R_709_2: &str = "ITU_R_709_2";
/// `kCVImageBufferColorPrimaries_EBU_3213` (BT.601 625-line).
pub(crate) const PRIMARIES_EBU_3213: &str = "EBU_3213";
/// `kCVImageBufferColorPrimaries_SMPTE_C` (BT.601 525-line).
pub(crate) const PRIMARIES_SMPTE_C: &str = "SMPTE_C";
/// `kCVImageBufferColorPrimaries_ITU_R_2020`.
pub(crate) const PRIMARIES_ITU_R_2020: &str = "ITU_R_2020";
/// `kCVImageBufferTransferFunction_ITU_R_709_2`.
pub(crate) const TRANSFER_ITU_R_709_2: &str = "ITU_R_709_2";
/// `kCVImageBufferTransferFunction_sRGB`.
pub(crate) const TRANSFER_SRGB: &str = "IEC_sRGB";
/// `kCVImageBufferTransferFunction_SMPTE_ST_2084_PQ`.
pub(crate) const TRANSFER_PQ: &str = "SMPTE_ST_2084_PQ";
/// `kCVImageBufferTransferFunction_ITU_R_2100_HLG`.
pub(crate) const TRANSFER_HLG: &str = "ITU_R_2100_HLG";

/// `kCVPixelFormatType_420YpCbCr8BiPlanarVideoRange` ('420v').
pub(crate) const PIXEL_NV12_VIDEO_RANGE: u32 = u32::from_be_bytes(*b"420v");
/// `kCVPixelFormatType_420YpCbCr8BiPlanarFullRange` ('420f').
pub(crate) const PIXEL_NV12_FULL_RANGE: u32 = u32::from_be_bytes(*b"420f");
/// `kCVPixelFormatType_32BGRA` ('BGRA').
pub(crate) const PIXEL_32BGRA: u32 = u32::from_be_bytes(*b"BGRA");

/// The attachment strings for a colour description; `None` where ours is unspecified (no
/// attachment is written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CvColorAttachments {
    /// `kCVImageBufferYCbCrMatrixKey` value.
    pub matrix: Option<&'static str>,
    /// `kCVImageBufferColorPrimariesKey` value.
    pub primaries: Option<&'static str>,
    /// `kCVImageBufferTransferFunctionKey` value.
    pub transfer: Option<&'static str>,
}

/// The Core Video attachment values for `color`.
pub(crate) fn to_attachments(color: ColorDescription) -> CvColorAttachments {
    CvColorAttachments {
        matrix: match color.matrix {
            MatrixCoefficients::Bt709 => Some(MATRIX_ITU_R_709_2),
            MatrixCoefficients::Bt601 => Some(MATRIX_ITU_R_601_4),
            MatrixCoefficients::Bt2020Ncl => Some(MATRIX_ITU_R_2020),
            MatrixCoefficients::Identity | MatrixCoefficients::Unspecified => None,
        },
        primaries: match color.primaries {
            ColorPrimaries::Bt709 => Some(PRIMARIES_ITU_R_709_2),
            ColorPrimaries::Bt601Pal => Some(PRIMARIES_EBU_3213),
            ColorPrimaries::Bt601Ntsc => Some(PRIMARIES_SMPTE_C),
            ColorPrimaries::Bt2020 => Some(PRIMARIES_ITU_R_2020),
            ColorPrimaries::Unspecified => None,
        },
        transfer: match color.transfer {
            TransferCharacteristics::Bt709 => Some(TRANSFER_ITU_R_709_2),
            TransferCharacteristics::Srgb => Some(TRANSFER_SRGB),
            TransferCharacteristics::Pq => Some(TRANSFER_PQ),
            TransferCharacteristics::Hlg => Some(TRANSFER_HLG),
            TransferCharacteristics::Unspecified => None,
        },
    }
}

/// The colour description of a pixel buffer from its attachment strings (absent or unknown
/// values are unspecified) and its pixel-format type (which carries the range).
pub(crate) fn from_attachments(
    matrix: Option<&str>,
    primaries: Option<&str>,
    transfer: Option<&str>,
    pixel_format: u32,
) -> ColorDescription {
    ColorDescription {
        matrix: match matrix {
            Some(MATRIX_ITU_R_709_2) => MatrixCoefficients::Bt709,
            Some(MATRIX_ITU_R_601_4) => MatrixCoefficients::Bt601,
            Some(MATRIX_ITU_R_2020) => MatrixCoefficients::Bt2020Ncl,
            _ => MatrixCoefficients::Unspecified,
        },
        range: range_of_pixel_format(pixel_format),
        primaries: match primaries {
            Some(PRIMARIES_ITU_R_709_2) => ColorPrimaries::Bt709,
            Some(PRIMARIES_EBU_3213) => ColorPrimaries::Bt601Pal,
            Some(PRIMARIES_SMPTE_C) => ColorPrimaries::Bt601Ntsc,
            Some(PRIMARIES_ITU_R_2020) => ColorPrimaries::Bt2020,
            _ => ColorPrimaries::Unspecified,
        },
        transfer: match transfer {
            Some(TRANSFER_ITU_R_709_2) => TransferCharacteristics::Bt709,
            Some(TRANSFER_SRGB) => TransferCharacteristics::Srgb,
            Some(TRANSFER_PQ) => TransferCharacteristics::Pq,
            Some(TRANSFER_HLG) => TransferCharacteristics::Hlg,
            _ => TransferCharacteristics::Unspecified,
        },
    }
}

/// The colour an encoder signals for pictures `height` lines tall (the input carries none):
/// BT.709 from 720 lines, BT.601 (525-line primaries) below, limited range.
pub(crate) fn encode_color(height: u32) -> ColorDescription {
    if height >= 720 {
        ColorDescription::BT709_LIMITED
    } else {
        ColorDescription {
            matrix: MatrixCoefficients::Bt601,
            range: ColorRange::Limited,
            primaries: ColorPrimaries::Bt601Ntsc,
            transfer: TransferCharacteristics::Bt709,
        }
    }
}

/// The sample range a bi-planar pixel-format type implies.
pub(crate) fn range_of_pixel_format(pixel_format: u32) -> ColorRange {
    if pixel_format == PIXEL_NV12_FULL_RANGE {
        ColorRange::Full
    } else {
        ColorRange::Limited
    }
}

/// The NV12 pixel-format type to ask the decoder for, given the stream's range.
pub(crate) fn nv12_pixel_format(range: ColorRange) -> u32 {
    match range {
        ColorRange::Full => PIXEL_NV12_FULL_RANGE,
        ColorRange::Limited => PIXEL_NV12_VIDEO_RANGE,
    }
}

/// Rows of a 3x4 matrix taking 8-bit-normalised `(Y, Cb, Cr, 1)` (each sample / 255) to
/// `(R, G, B)` in 0..1, for the Metal kernel, from the library's one colour model
/// ([`crate::transform::color_model`]): an unspecified matrix is BT.601 below 720 lines,
/// else BT.709; identity is `Unsupported`.
pub(crate) fn yuv_to_rgb_rows(color: ColorDescription, height: u32) -> Result<[[f32; 4]; 3]> {
    let k = YuvToRgb::new(&color, height, 8)?;
    let offset = |cb: f32, cr: f32| -(k.ky * k.y0 + (cb + cr) * k.c0) / 255.0;
    Ok([
        [k.ky, 0.0, k.rv, offset(0.0, k.rv)],
        [k.ky, k.gu, k.gv, offset(k.gu, k.gv)],
        [k.ky, k.bu, 0.0, offset(k.bu, 0.0)],
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fourcc_constants_match_core_video() {
        // Values of kCVPixelFormatType_420YpCbCr8BiPlanar{Video,Full}Range and 32BGRA.
        assert_eq!(PIXEL_NV12_VIDEO_RANGE, 0x3432_3076);
        assert_eq!(PIXEL_NV12_FULL_RANGE, 0x3432_3066);
        assert_eq!(PIXEL_32BGRA, 0x4247_5241);
    }

    #[test]
    fn bt709_limited_maps_to_itu_r_709_2_attachments() {
        let a = to_attachments(ColorDescription::BT709_LIMITED);
        assert_eq!(a.matrix, Some("ITU_R_709_2"));
        assert_eq!(a.primaries, Some("ITU_R_709_2"));
        assert_eq!(a.transfer, Some("ITU_R_709_2"));
    }

    #[test]
    fn attachments_round_trip_for_every_mapped_value() {
        let matrices = [
            MatrixCoefficients::Bt601,
            MatrixCoefficients::Bt709,
            MatrixCoefficients::Bt2020Ncl,
        ];
        let primaries = [
            ColorPrimaries::Bt709,
            ColorPrimaries::Bt601Pal,
            ColorPrimaries::Bt601Ntsc,
            ColorPrimaries::Bt2020,
        ];
        let transfers = [
            TransferCharacteristics::Bt709,
            TransferCharacteristics::Srgb,
            TransferCharacteristics::Pq,
            TransferCharacteristics::Hlg,
        ];
        for matrix in matrices {
            for p in primaries {
                for transfer in transfers {
                    for range in [ColorRange::Limited, ColorRange::Full] {
                        let c = ColorDescription {
                            matrix,
                            range,
                            primaries: p,
                            transfer,
                        };
                        let a = to_attachments(c);
                        let back = from_attachments(
                            a.matrix,
                            a.primaries,
                            a.transfer,
                            nv12_pixel_format(range),
                        );
                        assert_eq!(back, c);
                    }
                }
            }
        }
    }

    #[test]
    fn missing_or_unknown_attachments_are_unspecified() {
        let c = from_attachments(None, Some("P3_D65"), None, PIXEL_NV12_VIDEO_RANGE);
        assert_eq!(c, ColorDescription::default());
        assert_eq!(to_attachments(ColorDescription::default()).matrix, None);
    }

    fn apply(rows: [[f32; 4]; 3], y: u8, cb: u8, cr: u8) -> [f32; 3] {
        let v = [
            f32::from(y) / 255.0,
            f32::from(cb) / 255.0,
            f32::from(cr) / 255.0,
            1.0,
        ];
        rows.map(|r| (r.iter().zip(v).map(|(a, b)| a * b).sum::<f32>() * 255.0).clamp(0.0, 255.0))
    }

    #[test]
    fn limited_range_black_and_white_map_to_the_rgb_extremes() {
        let rows = yuv_to_rgb_rows(ColorDescription::BT709_LIMITED, 1080).unwrap();
        for (c, want) in apply(rows, 235, 128, 128).into_iter().zip([255.0; 3]) {
            assert!((c - want).abs() < 0.5, "white {c}");
        }
        for c in apply(rows, 16, 128, 128) {
            assert!(c.abs() < 0.5, "black {c}");
        }
    }

    #[test]
    fn bt601_full_range_red_matches_the_reference() {
        // Full-range BT.601 (JPEG) pure red: Y 76, Cb 85, Cr 255.
        let color = ColorDescription {
            matrix: MatrixCoefficients::Bt601,
            range: ColorRange::Full,
            ..ColorDescription::default()
        };
        let [r, g, b] = apply(yuv_to_rgb_rows(color, 480).unwrap(), 76, 85, 255);
        assert!(r > 253.0 && g < 2.0 && b < 2.0, "{r} {g} {b}");
    }

    #[test]
    fn encoder_signals_bt709_for_hd_and_bt601_for_sd() {
        assert_eq!(
            to_attachments(encode_color(1080)).matrix,
            Some(MATRIX_ITU_R_709_2)
        );
        let sd = to_attachments(encode_color(480));
        assert_eq!(sd.matrix, Some(MATRIX_ITU_R_601_4));
        assert_eq!(sd.primaries, Some(PRIMARIES_SMPTE_C));
    }

    #[test]
    fn full_range_comes_from_the_420f_pixel_format() {
        assert_eq!(
            range_of_pixel_format(PIXEL_NV12_FULL_RANGE),
            ColorRange::Full
        );
        assert_eq!(
            range_of_pixel_format(PIXEL_NV12_VIDEO_RANGE),
            ColorRange::Limited
        );
    }
}
