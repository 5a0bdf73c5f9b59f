//! `HEVCDecoderConfigurationRecord` (ISO/IEC 14496-15 8.3.3.1): the MP4 `hvcC` box payload.

use crate::api::codec::Codec;
use crate::api::error::{Result, VideoError};
use crate::bitstream::layout::check_length_size;
use crate::bitstream::nal::{hevc_type, nal_type};
use crate::bitstream::record::{Reader, put_nal};
use crate::bitstream::sps::{HevcProfileTierLevel, parse_hevc_sps_fields};

/// One array of an `hvcC` record: NAL units of one type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HvccArray {
    /// `array_completeness`: all NAL units of this type are in the array (none in-band).
    pub complete: bool,
    /// `NAL_unit_type`.
    pub nal_unit_type: u8,
    /// The NAL units (header included).
    pub nals: Vec<Vec<u8>>,
}

/// An HEVC decoder configuration record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HevcDecoderConfigurationRecord {
    /// General profile space, tier, profile, compatibility and constraint flags, level.
    pub ptl: HevcProfileTierLevel,
    /// `min_spatial_segmentation_idc` (12 bits).
    pub min_spatial_segmentation_idc: u16,
    /// `parallelismType` (2 bits).
    pub parallelism_type: u8,
    /// `chromaFormat` (chroma_format_idc).
    pub chroma_format_idc: u8,
    /// `bitDepthLumaMinus8 + 8`.
    pub bit_depth_luma: u8,
    /// `bitDepthChromaMinus8 + 8`.
    pub bit_depth_chroma: u8,
    /// `avgFrameRate` in frames per 256 s (0: unspecified).
    pub avg_frame_rate: u16,
    /// `constantFrameRate` (2 bits).
    pub constant_frame_rate: u8,
    /// `numTemporalLayers` (3 bits).
    pub num_temporal_layers: u8,
    /// `temporalIdNested`.
    pub temporal_id_nested: bool,
    length_size: u8,
    arrays: Vec<HvccArray>,
}

fn bad(what: impl Into<String>) -> VideoError {
    VideoError::invalid_bitstream(what.into())
}

impl HevcDecoderConfigurationRecord {
    /// Parses an `hvcC` payload.
    pub fn parse(data: &[u8]) -> Result<Self> {
        let mut r = Reader::new(data, "hvcC record");
        if r.u8()? != 1 {
            return Err(bad("hvcC configurationVersion is not 1"));
        }
        let b = r.u8()?;
        let compat = r.bytes(4)?;
        let constraints = r.bytes(6)?;
        let level_idc = r.u8()?;
        let ptl = HevcProfileTierLevel {
            profile_space: b >> 6,
            tier_flag: b & 0x20 != 0,
            profile_idc: b & 0x1F,
            profile_compatibility_flags: u32::from_be_bytes([
                compat[0], compat[1], compat[2], compat[3],
            ]),
            constraint_indicator_flags: constraints
                .iter()
                .fold(0u64, |acc, &x| (acc << 8) | u64::from(x)),
            level_idc,
        };
        let min_spatial_segmentation_idc = r.u16()? & 0x0FFF;
        let parallelism_type = r.u8()? & 3;
        let chroma_format_idc = r.u8()? & 3;
        let bit_depth_luma = (r.u8()? & 7).saturating_add(8);
        let bit_depth_chroma = (r.u8()? & 7).saturating_add(8);
        let avg_frame_rate = r.u16()?;
        let b = r.u8()?;
        let length_size = (b & 3).saturating_add(1);
        if length_size == 3 {
            return Err(bad(
                "hvcC lengthSizeMinusOne of 2 (3-byte lengths) is not allowed",
            ));
        }
        let num_arrays = r.u8()?;
        let mut arrays = Vec::with_capacity(usize::from(num_arrays));
        for _ in 0..num_arrays {
            let h = r.u8()?;
            let n = r.u16()?;
            let nals = (0..n).map(|_| r.nal()).collect::<Result<Vec<_>>>()?;
            arrays.push(HvccArray {
                complete: h & 0x80 != 0,
                nal_unit_type: h & 0x3F,
                nals,
            });
        }
        Ok(Self {
            ptl,
            min_spatial_segmentation_idc,
            parallelism_type,
            chroma_format_idc,
            bit_depth_luma,
            bit_depth_chroma,
            avg_frame_rate,
            constant_frame_rate: b >> 6,
            num_temporal_layers: (b >> 3) & 7,
            temporal_id_nested: b & 4 != 0,
            length_size,
            arrays,
        })
    }

    /// Builds a record from raw VPS, SPS and PPS NAL units (header included): profile, tier,
    /// level, compatibility and constraint flags, chroma format, bit depths, temporal layers
    /// and frame rate come from the first SPS. Arrays are marked complete.
    /// `InvalidBitstream` when a NAL unit has the wrong type or the SPS does not parse;
    /// `InvalidInput` for a bad `length_size`, no SPS, or too many or too long NAL units.
    pub fn from_parameter_sets<V, S, P>(
        vps: &[V],
        sps: &[S],
        pps: &[P],
        length_size: u8,
    ) -> Result<Self>
    where
        V: AsRef<[u8]>,
        S: AsRef<[u8]>,
        P: AsRef<[u8]>,
    {
        check_length_size(length_size)?;
        let first = sps
            .first()
            .ok_or_else(|| VideoError::invalid_input("an hvcC record needs an SPS"))?
            .as_ref();
        let mut arrays = Vec::new();
        for (nals, t) in [
            (
                vps.iter().map(AsRef::as_ref).collect::<Vec<_>>(),
                hevc_type::VPS,
            ),
            (sps.iter().map(AsRef::as_ref).collect(), hevc_type::SPS),
            (pps.iter().map(AsRef::as_ref).collect(), hevc_type::PPS),
        ] {
            if let Some(n) = nals.iter().find(|n| nal_type(Codec::Hevc, n) != Some(t)) {
                return Err(bad(format!(
                    "hvcC array of type {t} holds a NAL unit of type {:?}",
                    nal_type(Codec::Hevc, n)
                )));
            }
            if nals.len() > usize::from(u16::MAX) {
                return Err(VideoError::invalid_input("too many NAL units for hvcC"));
            }
            if !nals.is_empty() {
                arrays.push(HvccArray {
                    complete: true,
                    nal_unit_type: t,
                    nals: nals.iter().map(|n| n.to_vec()).collect(),
                });
            }
        }
        let parsed = parse_hevc_sps_fields(first)?;
        let info = &parsed.info;
        let avg_frame_rate = info.frame_rate.map_or(0, |r| {
            // Frames per 256 s, rounded; 0 ("unspecified") when it does not fit.
            let den = u64::from(r.den);
            let v = u64::from(r.num)
                .checked_mul(256)
                .and_then(|n| n.checked_add(den >> 1))
                .and_then(|n| n.checked_div(den));
            v.and_then(|v| u16::try_from(v).ok()).unwrap_or(0)
        });
        let record = Self {
            ptl: parsed.ptl,
            min_spatial_segmentation_idc: parsed.min_spatial_segmentation_idc,
            parallelism_type: 0,
            chroma_format_idc: info.chroma_format_idc,
            bit_depth_luma: info.bit_depth_luma,
            bit_depth_chroma: info.bit_depth_chroma,
            avg_frame_rate,
            constant_frame_rate: 0,
            num_temporal_layers: parsed.max_sub_layers_minus1.saturating_add(1),
            temporal_id_nested: parsed.temporal_id_nesting,
            length_size,
            arrays,
        };
        record.to_bytes()?; // every NAL unit fits a 16-bit length
        Ok(record)
    }

    /// The record as `hvcC` payload bytes; `InvalidInput` when a NAL unit is longer than
    /// 65535 bytes or there are more than 255 arrays.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let p = &self.ptl;
        let mut out = Vec::with_capacity(64);
        out.push(1);
        out.push((p.profile_space << 6) | (u8::from(p.tier_flag) << 5) | (p.profile_idc & 0x1F));
        out.extend_from_slice(&p.profile_compatibility_flags.to_be_bytes());
        out.extend_from_slice(&p.constraint_indicator_flags.to_be_bytes()[2..]);
        out.push(p.level_idc);
        out.extend_from_slice(
            &(0xF000 | (self.min_spatial_segmentation_idc & 0x0FFF)).to_be_bytes(),
        );
        out.push(0xFC | (self.parallelism_type & 3));
        out.push(0xFC | (self.chroma_format_idc & 3));
        out.push(0xF8 | (self.bit_depth_luma.saturating_sub(8) & 7));
        out.push(0xF8 | (self.bit_depth_chroma.saturating_sub(8) & 7));
        out.extend_from_slice(&self.avg_frame_rate.to_be_bytes());
        out.push(
            ((self.constant_frame_rate & 3) << 6)
                | ((self.num_temporal_layers & 7) << 3)
                | (u8::from(self.temporal_id_nested) << 2)
                | (self.length_size.saturating_sub(1) & 3),
        );
        let n = u8::try_from(self.arrays.len())
            .map_err(|_| VideoError::invalid_input("more than 255 hvcC arrays"))?;
        out.push(n);
        for a in &self.arrays {
            out.push((u8::from(a.complete) << 7) | (a.nal_unit_type & 0x3F));
            let count = u16::try_from(a.nals.len())
                .map_err(|_| VideoError::invalid_input("too many NAL units in an hvcC array"))?;
            out.extend_from_slice(&count.to_be_bytes());
            for nal in &a.nals {
                put_nal(&mut out, nal)?;
            }
        }
        Ok(out)
    }

    /// Bytes of each NAL length prefix in samples (1, 2 or 4).
    pub fn length_size(&self) -> u8 {
        self.length_size
    }

    /// The NAL unit arrays.
    pub fn arrays(&self) -> &[HvccArray] {
        &self.arrays
    }

    fn of_type(&self, t: u8) -> impl Iterator<Item = &[u8]> {
        self.arrays
            .iter()
            .filter(move |a| a.nal_unit_type == t)
            .flat_map(|a| a.nals.iter().map(Vec::as_slice))
    }

    /// The VPS NAL units.
    pub fn vps(&self) -> impl Iterator<Item = &[u8]> {
        self.of_type(hevc_type::VPS)
    }

    /// The SPS NAL units.
    pub fn sps(&self) -> impl Iterator<Item = &[u8]> {
        self.of_type(hevc_type::SPS)
    }

    /// The PPS NAL units.
    pub fn pps(&self) -> impl Iterator<Item = &[u8]> {
        self.of_type(hevc_type::PPS)
    }

    /// Every NAL unit of every array, in record order (VPS, SPS, PPS, then SEI if any).
    pub fn parameter_sets(&self) -> Vec<Vec<u8>> {
        self.arrays
            .iter()
            .flat_map(|a| a.nals.iter().cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::error::ErrorKind;
    use crate::bitstream::sps::tests::{HEVC_PPS_320, HEVC_SPS_320, HEVC_VPS_320};
    use proptest::prelude::*;

    #[test]
    fn record_built_from_conformance_parameter_sets_round_trips() {
        let rec = HevcDecoderConfigurationRecord::from_parameter_sets(
            &[HEVC_VPS_320],
            &[HEVC_SPS_320],
            &[HEVC_PPS_320],
            4,
        )
        .unwrap();
        assert_eq!(rec.ptl.profile_idc, 1);
        assert_eq!(rec.ptl.level_idc, 60);
        assert_eq!(rec.ptl.profile_compatibility_flags, 0x6000_0000);
        assert_eq!((rec.chroma_format_idc, rec.bit_depth_luma), (1, 8));
        assert_eq!(rec.length_size(), 4);
        assert_eq!(rec.vps().collect::<Vec<_>>(), vec![HEVC_VPS_320]);
        assert_eq!(rec.pps().count(), 1);
        let bytes = rec.to_bytes().unwrap();
        // Record bytes 1..13 are the general profile_tier_level of the SPS: its RBSP bytes
        // 1..13 (after the VPS id / sub-layer byte).
        let rbsp = crate::bitstream::nal::rbsp(Codec::Hevc, HEVC_SPS_320).unwrap();
        assert_eq!(&bytes[1..13], &rbsp[1..13]);
        assert_eq!(
            bytes.len(),
            23 + 3 * 3 + HEVC_VPS_320.len() + HEVC_SPS_320.len() + HEVC_PPS_320.len() + 3 * 2
        );
        assert_eq!(HevcDecoderConfigurationRecord::parse(&bytes).unwrap(), rec);
        assert_eq!(
            rec.parameter_sets(),
            vec![
                HEVC_VPS_320.to_vec(),
                HEVC_SPS_320.to_vec(),
                HEVC_PPS_320.to_vec()
            ]
        );
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        assert_eq!(
            HevcDecoderConfigurationRecord::from_parameter_sets(
                &[HEVC_SPS_320],
                &[HEVC_SPS_320],
                &[HEVC_PPS_320],
                4
            )
            .unwrap_err()
            .kind(),
            ErrorKind::InvalidBitstream
        );
        assert_eq!(
            HevcDecoderConfigurationRecord::from_parameter_sets(
                &[HEVC_VPS_320],
                &[HEVC_SPS_320],
                &[HEVC_PPS_320],
                0
            )
            .unwrap_err()
            .kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            HevcDecoderConfigurationRecord::parse(&[1, 2, 3])
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidBitstream
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(data in proptest::collection::vec(any::<u8>(), 0..120)) {
            let mut d = data;
            if let Some(b) = d.first_mut() { *b = 1; }
            if let Ok(rec) = HevcDecoderConfigurationRecord::parse(&d) {
                let again = HevcDecoderConfigurationRecord::parse(&rec.to_bytes().unwrap()).unwrap();
                prop_assert_eq!(again, rec);
            }
        }
    }
}
