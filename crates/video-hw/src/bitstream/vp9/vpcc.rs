//! The VP codec configuration record (`vpcC`, "VP Codec ISO Media File Format Binding" 2.2).

use super::header::{CS_RGB, ColorConfig};
use crate::api::error::{Result, VideoError};
use crate::bitstream::record::Reader;

/// A parsed `vpcC` payload (version 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VpCodecConfigurationRecord {
    /// Profile (0..=3).
    pub profile: u8,
    /// Level (10 = 1.0 ... 62 = 6.2).
    pub level: u8,
    /// 8, 10 or 12.
    pub bit_depth: u8,
    /// 0/1: 4:2:0 (vertical / colocated chroma), 2: 4:2:2, 3: 4:4:4.
    pub chroma_subsampling: u8,
    /// Full-range samples.
    pub full_range: bool,
    /// ISO/IEC 23091-4 colour primaries.
    pub colour_primaries: u8,
    /// ISO/IEC 23091-4 transfer characteristics.
    pub transfer_characteristics: u8,
    /// ISO/IEC 23091-4 matrix coefficients.
    pub matrix_coefficients: u8,
}

impl VpCodecConfigurationRecord {
    /// Parses a `vpcC` box payload (after the box header; version and flags first).
    pub fn parse(data: &[u8]) -> Result<Self> {
        let mut r = Reader::new(data, "vpcC record");
        let version = r.u8()?;
        if version != 1 {
            return Err(VideoError::unsupported(format!(
                "vpcC version {version} (only version 1 is read)"
            )));
        }
        r.bytes(3)?; // flags
        let profile = r.u8()?;
        let level = r.u8()?;
        let packed = r.u8()?;
        let record = Self {
            profile,
            level,
            bit_depth: packed >> 4,
            chroma_subsampling: (packed >> 1) & 0x7,
            full_range: packed & 1 == 1,
            colour_primaries: r.u8()?,
            transfer_characteristics: r.u8()?,
            matrix_coefficients: r.u8()?,
        };
        if !matches!(record.bit_depth, 8 | 10 | 12) || record.profile > 3 {
            return Err(VideoError::invalid_bitstream(format!(
                "vpcC record: profile {} bit depth {} is not VP9",
                record.profile, record.bit_depth
            )));
        }
        Ok(record)
    }

    /// The record's sampling as a frame header's colour config (the matrix as VP9's
    /// `color_space`).
    pub fn color_config(&self) -> ColorConfig {
        let color_space = match self.matrix_coefficients {
            0 => CS_RGB,
            1 => 2,
            5 | 6 => 1,
            7 => 4,
            9 => 5,
            _ => 0,
        };
        ColorConfig {
            bit_depth: self.bit_depth,
            color_space,
            full_range: self.full_range,
            subsampling_x: self.chroma_subsampling <= 2,
            subsampling_y: self.chroma_subsampling <= 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vpcc_of_a_10_bit_bt2020_stream_parses() {
        let rec = [1, 0, 0, 0, 2, 41, (10 << 4) | (1 << 1), 9, 16, 9, 0, 0];
        let v = VpCodecConfigurationRecord::parse(&rec).unwrap();
        assert_eq!((v.profile, v.level, v.bit_depth), (2, 41, 10));
        assert_eq!(v.color_config().chroma_format_idc(), 1);
        assert_eq!(v.color_config().color_space, 5);
    }

    #[test]
    fn truncated_or_foreign_vpcc_is_an_error() {
        assert!(VpCodecConfigurationRecord::parse(&[1, 0, 0]).is_err());
        assert!(VpCodecConfigurationRecord::parse(&[0, 0, 0, 0, 0, 0, 0x80, 1, 1, 1]).is_err());
        assert!(VpCodecConfigurationRecord::parse(&[1, 0, 0, 0, 0, 0, 0x70, 1, 1, 1]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_or_fail_without_panicking(data in proptest::collection::vec(proptest::num::u8::ANY, 0..24)) {
            let _ = VpCodecConfigurationRecord::parse(&data);
        }
    }
}
