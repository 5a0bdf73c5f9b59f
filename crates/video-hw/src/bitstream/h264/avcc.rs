//! `AVCDecoderConfigurationRecord` (ISO/IEC 14496-15 5.3.3.1): the MP4 `avcC` box payload.

use crate::api::codec::Codec;
use crate::api::error::{Result, VideoError};
use crate::bitstream::layout::check_length_size;
use crate::bitstream::nal::{h264_type, nal_type, rbsp};
use crate::bitstream::record::{Reader, put_nal};
use crate::bitstream::sps::parse_h264_sps;

/// The High-profile tail of an `avcC` record (profile_idc 100, 110, 122, 144).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvcHighProfileExtension {
    /// `chroma_format` (chroma_format_idc).
    pub chroma_format_idc: u8,
    /// `bit_depth_luma_minus8 + 8`.
    pub bit_depth_luma: u8,
    /// `bit_depth_chroma_minus8 + 8`.
    pub bit_depth_chroma: u8,
    /// SPS extension NAL units.
    pub sps_ext: Vec<Vec<u8>>,
}

/// An H.264 decoder configuration record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvcDecoderConfigurationRecord {
    profile_idc: u8,
    profile_compatibility: u8,
    level_idc: u8,
    length_size: u8,
    sps: Vec<Vec<u8>>,
    pps: Vec<Vec<u8>>,
    high: Option<AvcHighProfileExtension>,
}

fn bad(what: impl Into<String>) -> VideoError {
    VideoError::invalid_bitstream(what.into())
}

/// Profiles whose records carry the chroma/bit-depth tail.
fn has_high_tail(profile_idc: u8) -> bool {
    matches!(profile_idc, 100 | 110 | 122 | 144)
}

impl AvcDecoderConfigurationRecord {
    /// Parses an `avcC` payload. The High-profile tail is read when present (many files
    /// omit it).
    pub fn parse(data: &[u8]) -> Result<Self> {
        let mut r = Reader::new(data, "avcC record");
        if r.u8()? != 1 {
            return Err(bad("avcC configurationVersion is not 1"));
        }
        let profile_idc = r.u8()?;
        let profile_compatibility = r.u8()?;
        let level_idc = r.u8()?;
        let length_size = (r.u8()? & 3).saturating_add(1);
        if length_size == 3 {
            return Err(bad(
                "avcC lengthSizeMinusOne of 2 (3-byte lengths) is not allowed",
            ));
        }
        let num_sps = r.u8()? & 0x1F;
        let sps = (0..num_sps).map(|_| r.nal()).collect::<Result<Vec<_>>>()?;
        let num_pps = r.u8()?;
        let pps = (0..num_pps).map(|_| r.nal()).collect::<Result<Vec<_>>>()?;
        let high = if has_high_tail(profile_idc) && r.remaining() >= 4 {
            let chroma_format_idc = r.u8()? & 3;
            let bit_depth_luma = (r.u8()? & 7).saturating_add(8);
            let bit_depth_chroma = (r.u8()? & 7).saturating_add(8);
            let n = r.u8()?;
            let sps_ext = (0..n).map(|_| r.nal()).collect::<Result<Vec<_>>>()?;
            Some(AvcHighProfileExtension {
                chroma_format_idc,
                bit_depth_luma,
                bit_depth_chroma,
                sps_ext,
            })
        } else {
            None
        };
        Ok(Self {
            profile_idc,
            profile_compatibility,
            level_idc,
            length_size,
            sps,
            pps,
            high,
        })
    }

    /// Builds a record from raw SPS and PPS NAL units (header included): profile,
    /// compatibility and level come from the first SPS, and for High profiles the chroma
    /// format and bit depths too. `InvalidBitstream` when a NAL unit has the wrong type or the
    /// SPS does not parse; `InvalidInput` for a bad `length_size`, no SPS, or too many or too
    /// long parameter sets.
    pub fn from_parameter_sets<S, P>(sps: &[S], pps: &[P], length_size: u8) -> Result<Self>
    where
        S: AsRef<[u8]>,
        P: AsRef<[u8]>,
    {
        check_length_size(length_size)?;
        let first = sps
            .first()
            .ok_or_else(|| VideoError::invalid_input("an avcC record needs an SPS"))?
            .as_ref();
        if sps.len() > 31 || pps.len() > 255 {
            return Err(VideoError::invalid_input(format!(
                "avcC holds at most 31 SPS and 255 PPS, got {} and {}",
                sps.len(),
                pps.len()
            )));
        }
        for (nals, t, name) in [
            (
                sps.iter().map(AsRef::as_ref).collect::<Vec<_>>(),
                h264_type::SPS,
                "SPS",
            ),
            (
                pps.iter().map(AsRef::as_ref).collect(),
                h264_type::PPS,
                "PPS",
            ),
        ] {
            if let Some(n) = nals.iter().find(|n| nal_type(Codec::H264, n) != Some(t)) {
                return Err(bad(format!(
                    "avcC {name} list holds a NAL unit of type {:?}",
                    nal_type(Codec::H264, n)
                )));
            }
        }
        let info = parse_h264_sps(first)?;
        let payload = rbsp(Codec::H264, first)?;
        let (profile_idc, profile_compatibility, level_idc) = match payload.as_slice() {
            [p, c, l, ..] => (*p, *c, *l),
            _ => return Err(bad("H.264 SPS too short")),
        };
        let high = has_high_tail(profile_idc).then(|| AvcHighProfileExtension {
            chroma_format_idc: info.chroma_format_idc,
            bit_depth_luma: info.bit_depth_luma,
            bit_depth_chroma: info.bit_depth_chroma,
            sps_ext: Vec::new(),
        });
        let record = Self {
            profile_idc,
            profile_compatibility,
            level_idc,
            length_size,
            sps: sps.iter().map(|n| n.as_ref().to_vec()).collect(),
            pps: pps.iter().map(|n| n.as_ref().to_vec()).collect(),
            high,
        };
        record.to_bytes()?; // every NAL unit fits a 16-bit length
        Ok(record)
    }

    /// The record as `avcC` payload bytes; `InvalidInput` when a parameter set is longer
    /// than 65535 bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = vec![
            1,
            self.profile_idc,
            self.profile_compatibility,
            self.level_idc,
            0xFC | (self.length_size.saturating_sub(1) & 3),
            0xE0 | (self.sps.len() as u8 & 0x1F),
        ];
        for nal in &self.sps {
            put_nal(&mut out, nal)?;
        }
        out.push(self.pps.len() as u8);
        for nal in &self.pps {
            put_nal(&mut out, nal)?;
        }
        if let Some(h) = &self.high {
            out.push(0xFC | (h.chroma_format_idc & 3));
            out.push(0xF8 | (h.bit_depth_luma.saturating_sub(8) & 7));
            out.push(0xF8 | (h.bit_depth_chroma.saturating_sub(8) & 7));
            out.push(h.sps_ext.len() as u8);
            for nal in &h.sps_ext {
                put_nal(&mut out, nal)?;
            }
        }
        Ok(out)
    }

    /// `AVCProfileIndication`.
    pub fn profile_idc(&self) -> u8 {
        self.profile_idc
    }

    /// `profile_compatibility` (the SPS constraint flags byte).
    pub fn profile_compatibility(&self) -> u8 {
        self.profile_compatibility
    }

    /// `AVCLevelIndication`.
    pub fn level_idc(&self) -> u8 {
        self.level_idc
    }

    /// Bytes of each NAL length prefix in samples (1, 2 or 4).
    pub fn length_size(&self) -> u8 {
        self.length_size
    }

    /// The SPS NAL units.
    pub fn sps(&self) -> &[Vec<u8>] {
        &self.sps
    }

    /// The PPS NAL units.
    pub fn pps(&self) -> &[Vec<u8>] {
        &self.pps
    }

    /// The High-profile tail, when present.
    pub fn high_profile_extension(&self) -> Option<&AvcHighProfileExtension> {
        self.high.as_ref()
    }

    /// Every parameter set in decoder order: SPSs, SPS extensions, PPSs.
    pub fn parameter_sets(&self) -> Vec<Vec<u8>> {
        let ext = self.high.iter().flat_map(|h| h.sps_ext.iter());
        self.sps
            .iter()
            .chain(ext)
            .chain(self.pps.iter())
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::error::ErrorKind;
    use crate::bitstream::sps::tests::H264_SPS_64;
    use proptest::prelude::*;

    const PPS_64: &[u8] = &[0x68, 0xeb, 0xec, 0xb2, 0x2c];

    #[test]
    fn record_built_from_a_conformance_sps_carries_its_profile_and_level() {
        let rec = AvcDecoderConfigurationRecord::from_parameter_sets(&[H264_SPS_64], &[PPS_64], 4)
            .unwrap();
        let info = parse_h264_sps(H264_SPS_64).unwrap();
        assert_eq!(rec.profile_idc(), info.profile_idc);
        assert_eq!(rec.level_idc(), info.level_idc);
        assert_eq!(rec.profile_compatibility(), H264_SPS_64[2]);
        assert_eq!(rec.length_size(), 4);
        let high = rec.high_profile_extension().unwrap();
        assert_eq!((high.chroma_format_idc, high.bit_depth_luma), (1, 8));
        let bytes = rec.to_bytes().unwrap();
        assert_eq!(&bytes[..6], &[1, 100, 0, 20, 0xFF, 0xE1]);
        assert_eq!(AvcDecoderConfigurationRecord::parse(&bytes).unwrap(), rec);
        assert_eq!(
            rec.parameter_sets(),
            vec![H264_SPS_64.to_vec(), PPS_64.to_vec()]
        );
    }

    #[test]
    fn records_without_the_high_tail_parse() {
        let mut bytes =
            AvcDecoderConfigurationRecord::from_parameter_sets(&[H264_SPS_64], &[PPS_64], 2)
                .unwrap()
                .to_bytes()
                .unwrap();
        bytes.truncate(bytes.len() - 4);
        let rec = AvcDecoderConfigurationRecord::parse(&bytes).unwrap();
        assert!(rec.high_profile_extension().is_none());
        assert_eq!(rec.length_size(), 2);
        assert_eq!(rec.to_bytes().unwrap(), bytes);
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        assert_eq!(
            AvcDecoderConfigurationRecord::from_parameter_sets(&[PPS_64], &[PPS_64], 4)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidBitstream
        );
        assert_eq!(
            AvcDecoderConfigurationRecord::from_parameter_sets(&[H264_SPS_64], &[PPS_64], 3)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
        let none: [&[u8]; 0] = [];
        assert_eq!(
            AvcDecoderConfigurationRecord::from_parameter_sets(&none, &[PPS_64], 4)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            AvcDecoderConfigurationRecord::parse(&[1, 100, 0, 20, 0xFF, 0xE1, 0, 40])
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidBitstream
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(data in proptest::collection::vec(any::<u8>(), 0..100)) {
            let mut d = data;
            if let Some(b) = d.first_mut() { *b = 1; }
            if let Ok(rec) = AvcDecoderConfigurationRecord::parse(&d) {
                let again = AvcDecoderConfigurationRecord::parse(&rec.to_bytes().unwrap()).unwrap();
                prop_assert_eq!(again, rec);
            }
        }
    }
}
