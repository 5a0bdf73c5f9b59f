//! From a frame's [`ColorDescription`] to the matrix and range the SIMD kernels take.

use crate::api::color::{ColorDescription, ColorRange, MatrixCoefficients};
use crate::api::error::Result;
use yuvutils_rs::{YuvRange, YuvStandardMatrix};

/// The Y'CbCr <-> R'G'B' parameters resolved for one picture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct YuvParams {
    pub matrix: YuvStandardMatrix,
    pub range: YuvRange,
}

impl YuvParams {
    /// Resolves `color` for a picture `height` lines tall by the library's one colour model
    /// ([`super::color_model`]: an unspecified matrix is BT.601 below 720 lines, BT.709 from
    /// 720 up; identity (GBR) is `Unsupported`).
    pub fn resolve(color: &ColorDescription, height: u32) -> Result<Self> {
        let matrix = super::color_model::yuvutils_matrix(color, height)?;
        let range = match color.range {
            ColorRange::Limited => YuvRange::Limited,
            ColorRange::Full => YuvRange::Full,
        };
        Ok(Self { matrix, range })
    }
}

/// The colour description to write into Y'CbCr made from RGB when the caller gave none:
/// limited range, BT.601 below 720 lines, BT.709 from 720 up.
pub(crate) fn default_output_color(height: u32) -> ColorDescription {
    let mut c = ColorDescription::BT709_LIMITED;
    c.matrix = MatrixCoefficients::Unspecified.resolve(height);
    if c.matrix == MatrixCoefficients::Bt601 {
        c.primaries = crate::api::color::ColorPrimaries::Bt601Ntsc;
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_matrix_resolves_by_height() {
        let c = ColorDescription::default();
        assert_eq!(
            YuvParams::resolve(&c, 480).unwrap().matrix,
            YuvStandardMatrix::Bt601
        );
        assert_eq!(
            YuvParams::resolve(&c, 1080).unwrap().matrix,
            YuvStandardMatrix::Bt709
        );
    }

    #[test]
    fn identity_matrix_is_unsupported() {
        let c = ColorDescription {
            matrix: MatrixCoefficients::Identity,
            ..Default::default()
        };
        let err = YuvParams::resolve(&c, 1080).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Unsupported);
    }
}
