//! Colour description carried by every frame (ITU-T H.273 code points).

/// The matrix that turns R'G'B' into Y'CbCr.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum MatrixCoefficients {
    /// BT.601 (SMPTE 170M / BT.470BG); the usual SD matrix.
    Bt601,
    /// BT.709; the usual HD matrix.
    Bt709,
    /// BT.2020 non-constant luminance.
    Bt2020Ncl,
    /// Identity (GBR).
    Identity,
    /// Not signalled: treat as BT.601 below 720 lines, else BT.709.
    #[default]
    Unspecified,
}

impl MatrixCoefficients {
    /// From the H.273 `matrix_coefficients` code point.
    pub fn from_h273(code: u8) -> Self {
        match code {
            0 => Self::Identity,
            1 => Self::Bt709,
            5 | 6 => Self::Bt601,
            9 => Self::Bt2020Ncl,
            _ => Self::Unspecified,
        }
    }

    /// The matrix to use for a picture `height` lines tall when this one is unspecified.
    pub fn resolve(self, height: u32) -> Self {
        match self {
            Self::Unspecified if height >= 720 => Self::Bt709,
            Self::Unspecified => Self::Bt601,
            m => m,
        }
    }
}

/// Whether samples use the limited ("TV", 16-235) or full ("PC", 0-255) range.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ColorRange {
    /// 16-235 luma, 16-240 chroma (8-bit).
    #[default]
    Limited,
    /// 0-255.
    Full,
}

/// Colour primaries.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ColorPrimaries {
    /// BT.709 / sRGB.
    Bt709,
    /// BT.601 625-line (BT.470BG).
    Bt601Pal,
    /// BT.601 525-line (SMPTE 170M).
    Bt601Ntsc,
    /// BT.2020.
    Bt2020,
    /// Not signalled.
    #[default]
    Unspecified,
}

impl ColorPrimaries {
    /// From the H.273 `colour_primaries` code point.
    pub fn from_h273(code: u8) -> Self {
        match code {
            1 => Self::Bt709,
            5 => Self::Bt601Pal,
            6 | 7 => Self::Bt601Ntsc,
            9 => Self::Bt2020,
            _ => Self::Unspecified,
        }
    }
}

/// Transfer characteristics.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum TransferCharacteristics {
    /// BT.709 (also BT.601 and BT.2020 SDR).
    Bt709,
    /// sRGB / IEC 61966-2-1.
    Srgb,
    /// SMPTE ST 2084 (PQ).
    Pq,
    /// ARIB STD-B67 (HLG).
    Hlg,
    /// Not signalled.
    #[default]
    Unspecified,
}

impl TransferCharacteristics {
    /// From the H.273 `transfer_characteristics` code point.
    pub fn from_h273(code: u8) -> Self {
        match code {
            1 | 6 | 14 | 15 => Self::Bt709,
            13 => Self::Srgb,
            16 => Self::Pq,
            18 => Self::Hlg,
            _ => Self::Unspecified,
        }
    }
}

/// Everything needed to interpret a frame's sample values.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub struct ColorDescription {
    /// Y'CbCr matrix.
    pub matrix: MatrixCoefficients,
    /// Sample range.
    pub range: ColorRange,
    /// Primaries.
    pub primaries: ColorPrimaries,
    /// Transfer function.
    pub transfer: TransferCharacteristics,
}

impl ColorDescription {
    /// BT.709, limited range: what HD encoders write by default.
    pub const BT709_LIMITED: ColorDescription = ColorDescription {
        matrix: MatrixCoefficients::Bt709,
        range: ColorRange::Limited,
        primaries: ColorPrimaries::Bt709,
        transfer: TransferCharacteristics::Bt709,
    };
}
