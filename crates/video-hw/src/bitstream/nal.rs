//! NAL unit headers, types, keyframe detection, RBSP extraction and the first slice-header
//! fields.

use crate::api::codec::Codec;
use crate::api::error::{Result, VideoError};
use h264_reader::rbsp::{BitRead, BitReader, ByteReader};
use std::num::NonZeroUsize;

/// H.264 `nal_unit_type` values (Table 7-1) this crate acts on.
pub mod h264_type {
    /// Coded slice of a non-IDR picture.
    pub const SLICE: u8 = 1;
    /// Coded slice data partition A.
    pub const SLICE_DPA: u8 = 2;
    /// Coded slice data partition B.
    pub const SLICE_DPB: u8 = 3;
    /// Coded slice data partition C.
    pub const SLICE_DPC: u8 = 4;
    /// Coded slice of an IDR picture.
    pub const IDR: u8 = 5;
    /// Supplemental enhancement information.
    pub const SEI: u8 = 6;
    /// Sequence parameter set.
    pub const SPS: u8 = 7;
    /// Picture parameter set.
    pub const PPS: u8 = 8;
    /// Access unit delimiter.
    pub const AUD: u8 = 9;
    /// End of sequence.
    pub const END_OF_SEQUENCE: u8 = 10;
    /// End of stream.
    pub const END_OF_STREAM: u8 = 11;
    /// Filler data.
    pub const FILLER: u8 = 12;
    /// Sequence parameter set extension.
    pub const SPS_EXT: u8 = 13;
    /// Prefix NAL unit (SVC/MVC).
    pub const PREFIX: u8 = 14;
    /// Subset sequence parameter set.
    pub const SUBSET_SPS: u8 = 15;
}

/// HEVC `nal_unit_type` values (Table 7-1) this crate acts on.
pub mod hevc_type {
    /// Last VCL type (`RSV_VCL31`); types 0..=31 are VCL.
    pub const LAST_VCL: u8 = 31;
    /// First IRAP type (`BLA_W_LP`).
    pub const BLA_W_LP: u8 = 16;
    /// `IDR_W_RADL`.
    pub const IDR_W_RADL: u8 = 19;
    /// `IDR_N_LP`.
    pub const IDR_N_LP: u8 = 20;
    /// `CRA_NUT`.
    pub const CRA: u8 = 21;
    /// Last IRAP type (`RSV_IRAP_VCL23`).
    pub const LAST_IRAP: u8 = 23;
    /// Video parameter set.
    pub const VPS: u8 = 32;
    /// Sequence parameter set.
    pub const SPS: u8 = 33;
    /// Picture parameter set.
    pub const PPS: u8 = 34;
    /// Access unit delimiter.
    pub const AUD: u8 = 35;
    /// End of sequence.
    pub const EOS: u8 = 36;
    /// End of bitstream.
    pub const EOB: u8 = 37;
    /// Filler data.
    pub const FD: u8 = 38;
    /// Prefix SEI.
    pub const PREFIX_SEI: u8 = 39;
    /// Suffix SEI.
    pub const SUFFIX_SEI: u8 = 40;
}

/// The H.264 NAL unit header (one byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H264NalHeader {
    /// `nal_ref_idc` (0..=3).
    pub nal_ref_idc: u8,
    /// `nal_unit_type` (0..=31).
    pub nal_unit_type: u8,
}

impl H264NalHeader {
    /// Parses the first byte of `nal`; `None` when empty.
    pub fn parse(nal: &[u8]) -> Option<Self> {
        let b = *nal.first()?;
        Some(Self {
            nal_ref_idc: (b >> 5) & 3,
            nal_unit_type: b & 0x1F,
        })
    }
}

/// The HEVC NAL unit header (two bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HevcNalHeader {
    /// `nal_unit_type` (0..=63).
    pub nal_unit_type: u8,
    /// `nuh_layer_id` (0..=63).
    pub nuh_layer_id: u8,
    /// `nuh_temporal_id_plus1` (1..=7 in a valid stream).
    pub nuh_temporal_id_plus1: u8,
}

impl HevcNalHeader {
    /// Parses the first two bytes of `nal`; `None` when shorter.
    pub fn parse(nal: &[u8]) -> Option<Self> {
        let (&b0, &b1) = (nal.first()?, nal.get(1)?);
        Some(Self {
            nal_unit_type: (b0 >> 1) & 0x3F,
            nuh_layer_id: ((b0 & 1) << 5) | (b1 >> 3),
            nuh_temporal_id_plus1: b1 & 7,
        })
    }
}

/// Length of the NAL unit header of `codec` in bytes.
pub fn header_len(codec: Codec) -> usize {
    match codec {
        Codec::Hevc => 2,
        _ => 1,
    }
}

/// The `nal_unit_type` of `nal`, or `None` when it is too short for a header.
pub fn nal_type(codec: Codec, nal: &[u8]) -> Option<u8> {
    match codec {
        Codec::Hevc => HevcNalHeader::parse(nal).map(|h| h.nal_unit_type),
        _ => H264NalHeader::parse(nal).map(|h| h.nal_unit_type),
    }
}

/// Whether `nal` (header first, no start code) is a random-access picture's slice
/// (H.264 IDR; HEVC IRAP: BLA, IDR, CRA).
pub fn is_keyframe(codec: Codec, nal: &[u8]) -> bool {
    match (codec, nal_type(codec, nal)) {
        (Codec::Hevc, Some(t)) => (hevc_type::BLA_W_LP..=hevc_type::LAST_IRAP).contains(&t),
        (_, Some(t)) => t == h264_type::IDR,
        (_, None) => false,
    }
}

/// Whether `nal` is a VCL NAL unit (coded slice data) of the primary picture: H.264 types
/// 1..=5, HEVC types 0..=31.
pub fn is_vcl(codec: Codec, nal: &[u8]) -> bool {
    match (codec, nal_type(codec, nal)) {
        (Codec::Hevc, Some(t)) => t <= hevc_type::LAST_VCL,
        (_, Some(t)) => (h264_type::SLICE..=h264_type::IDR).contains(&t),
        (_, None) => false,
    }
}

/// Whether `nal` is a parameter set: H.264 SPS/PPS (and SPS extension, subset SPS), HEVC
/// VPS/SPS/PPS.
pub fn is_parameter_set(codec: Codec, nal: &[u8]) -> bool {
    match (codec, nal_type(codec, nal)) {
        (Codec::Hevc, Some(t)) => (hevc_type::VPS..=hevc_type::PPS).contains(&t),
        (_, Some(t)) => matches!(
            t,
            h264_type::SPS | h264_type::PPS | h264_type::SPS_EXT | h264_type::SUBSET_SPS
        ),
        (_, None) => false,
    }
}

/// The RBSP of `nal`: the payload after the NAL header with emulation-prevention bytes
/// removed. `InvalidBitstream` when the header is missing or the payload holds a forbidden
/// `00 00 0x` (x < 3) sequence.
pub fn rbsp(codec: Codec, nal: &[u8]) -> Result<Vec<u8>> {
    let hl = header_len(codec);
    if nal.len() < hl {
        return Err(VideoError::invalid_bitstream(format!(
            "{codec} NAL unit of {} bytes has no header",
            nal.len()
        )));
    }
    // `decode_nal` skips one header byte; for HEVC hand it the NAL minus its first byte.
    h264_reader::rbsp::decode_nal(&nal[hl.saturating_sub(1)..])
        .map(|c| c.into_owned())
        .map_err(|e| {
            VideoError::invalid_bitstream(format!("{codec} NAL unit payload: {e}")).with_source(e)
        })
}

/// A bit reader over the RBSP of `nal` (after the header), removing emulation prevention on
/// the fly.
pub(crate) fn rbsp_reader(codec: Codec, nal: &[u8]) -> BitReader<ByteReader<&[u8]>> {
    let skip = NonZeroUsize::new(header_len(codec)).unwrap_or(NonZeroUsize::MIN);
    BitReader::new(ByteReader::skipping_bytes(nal, skip))
}

/// Maps a bit-reader error to `InvalidBitstream` with context.
pub(crate) fn bits_err(what: &str) -> impl Fn(h264_reader::rbsp::BitReaderError) -> VideoError {
    move |e| VideoError::invalid_bitstream(format!("{what}: {e:?}"))
}

/// `InvalidBitstream` for a field whose value lies outside the range the standard allows,
/// naming the structure, the field, the value and the limit.
pub(crate) fn out_of_range(
    what: &str,
    field: &str,
    value: impl std::fmt::Display,
    limit: impl std::fmt::Display,
) -> VideoError {
    VideoError::invalid_bitstream(format!(
        "{what}: {field} = {value} is out of range ({limit})"
    ))
}

/// Reads a ue(v) field and checks it against the largest value the standard allows.
pub(crate) fn read_ue_max<R: BitRead>(
    r: &mut R,
    what: &str,
    field: &'static str,
    max: u32,
) -> Result<u32> {
    let value = r.read_ue(field).map_err(bits_err(what))?;
    if value > max {
        return Err(out_of_range(what, field, value, format!("at most {max}")));
    }
    Ok(value)
}

/// Reads an se(v) field and checks it against the range the standard allows.
pub(crate) fn read_se_range<R: BitRead>(
    r: &mut R,
    what: &str,
    field: &'static str,
    range: std::ops::RangeInclusive<i32>,
) -> Result<i32> {
    let value = r.read_se(field).map_err(bits_err(what))?;
    if !range.contains(&value) {
        let limit = format!("{}..={}", range.start(), range.end());
        return Err(out_of_range(what, field, value, limit));
    }
    Ok(value)
}

/// The first fields of an H.264 slice header, readable without any parameter set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H264SliceStart {
    /// `first_mb_in_slice`.
    pub first_mb_in_slice: u32,
    /// `slice_type` (0..=9).
    pub slice_type: u32,
    /// `pic_parameter_set_id`.
    pub pic_parameter_set_id: u32,
}

/// Reads `first_mb_in_slice`, `slice_type` and `pic_parameter_set_id` of an H.264 slice NAL
/// (header included, emulation prevention in place).
pub fn h264_slice_start(nal: &[u8]) -> Result<H264SliceStart> {
    let mut r = rbsp_reader(Codec::H264, nal);
    let err = bits_err("H.264 slice header");
    Ok(H264SliceStart {
        first_mb_in_slice: r.read_ue("first_mb_in_slice").map_err(&err)?,
        slice_type: r.read_ue("slice_type").map_err(&err)?,
        pic_parameter_set_id: r.read_ue("pic_parameter_set_id").map_err(&err)?,
    })
}

/// The first fields of an HEVC slice segment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HevcSliceStart {
    /// `first_slice_segment_in_pic_flag`.
    pub first_slice_segment_in_pic_flag: bool,
    /// `no_output_of_prior_pics_flag` (IRAP pictures only; false otherwise).
    pub no_output_of_prior_pics_flag: bool,
    /// `slice_pic_parameter_set_id`.
    pub slice_pic_parameter_set_id: u32,
}

/// Reads the first fields of an HEVC slice segment NAL (header included).
pub fn hevc_slice_start(nal: &[u8]) -> Result<HevcSliceStart> {
    let header = HevcNalHeader::parse(nal)
        .ok_or_else(|| VideoError::invalid_bitstream("HEVC slice NAL unit without header"))?;
    let mut r = rbsp_reader(Codec::Hevc, nal);
    let err = bits_err("HEVC slice segment header");
    let first = r
        .read_bit("first_slice_segment_in_pic_flag")
        .map_err(&err)?;
    let irap = (hevc_type::BLA_W_LP..=hevc_type::LAST_IRAP).contains(&header.nal_unit_type);
    let no_output = irap && r.read_bit("no_output_of_prior_pics_flag").map_err(&err)?;
    Ok(HevcSliceStart {
        first_slice_segment_in_pic_flag: first,
        no_output_of_prior_pics_flag: no_output,
        slice_pic_parameter_set_id: r.read_ue("slice_pic_parameter_set_id").map_err(&err)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_for_both_codecs() {
        assert_eq!(
            H264NalHeader::parse(&[0x65]),
            Some(H264NalHeader {
                nal_ref_idc: 3,
                nal_unit_type: 5
            })
        );
        // HEVC IDR_W_RADL, layer 0, tid 1: 0x26 0x01.
        assert_eq!(
            HevcNalHeader::parse(&[0x26, 0x01]),
            Some(HevcNalHeader {
                nal_unit_type: 19,
                nuh_layer_id: 0,
                nuh_temporal_id_plus1: 1
            })
        );
        assert_eq!(HevcNalHeader::parse(&[0x26]), None);
        assert_eq!(nal_type(Codec::H264, &[]), None);
    }

    #[test]
    fn keyframes_are_idr_and_irap_only() {
        assert!(is_keyframe(Codec::H264, &[0x65, 0x88]));
        assert!(!is_keyframe(Codec::H264, &[0x41, 0x9A]));
        for t in 0u8..64 {
            let nal = [t << 1, 1];
            assert_eq!(is_keyframe(Codec::Hevc, &nal), (16..=23).contains(&t));
            assert_eq!(is_vcl(Codec::Hevc, &nal), t < 32);
            assert_eq!(is_parameter_set(Codec::Hevc, &nal), (32..=34).contains(&t));
        }
        assert!(!is_keyframe(Codec::Hevc, &[]));
    }

    #[test]
    fn rbsp_removes_emulation_prevention() {
        assert_eq!(
            rbsp(Codec::H264, &[0x06, 0, 0, 3, 1, 0x80]).unwrap(),
            vec![0, 0, 1, 0x80]
        );
        assert_eq!(
            rbsp(Codec::Hevc, &[0x4E, 0x01, 0, 0, 3, 2]).unwrap(),
            vec![0, 0, 2]
        );
        assert!(rbsp(Codec::Hevc, &[0x4E]).is_err());
    }

    #[test]
    fn slice_starts_read_the_first_fields() {
        // ue(0)=1, ue(7)=0001000, ue(0)=1 -> 1 0001000 1 -> 0x88 0x80
        let s = h264_slice_start(&[0x65, 0x88, 0x80]).unwrap();
        assert_eq!(
            (s.first_mb_in_slice, s.slice_type, s.pic_parameter_set_id),
            (0, 7, 0)
        );
        // first=1, no_output=0, ue(0)=1 -> 101 -> 0xA0
        let h = hevc_slice_start(&[0x26, 0x01, 0xA0]).unwrap();
        assert!(h.first_slice_segment_in_pic_flag);
        assert_eq!(h.slice_pic_parameter_set_id, 0);
        assert!(h264_slice_start(&[0x65]).is_err());
    }
}
