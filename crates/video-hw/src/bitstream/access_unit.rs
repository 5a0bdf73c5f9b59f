//! Access-unit assembly for H.264 and HEVC.
//!
//! H.264 (7.4.1.2.3, 7.4.1.2.4): after the last VCL NAL unit of a picture, an access unit
//! delimiter, SPS, PPS, SEI or NAL types 14..=18 start the next access unit, and so does the
//! first slice of a new primary picture, found by comparing the slice-header fields the spec
//! lists (frame_num, PPS id, field/bottom flags, nal_ref_idc being zero, picture order count
//! fields, IdrPicFlag, idr_pic_id) read with the SPS/PPS of a [`ParameterSetCache`]. Slices of
//! redundant pictures never start one. End of sequence / end of stream close the access unit.
//!
//! HEVC (7.4.2.4.4): after the last VCL NAL unit, VPS, SPS, PPS, AUD, prefix SEI, types
//! 41..=44 and 48..=55 start the next access unit, and so does a slice segment with
//! `first_slice_segment_in_pic_flag` (layer 0); suffix SEI stays with the current one; end of
//! sequence / end of bitstream close it.

use super::annexb::Nal;
use super::layout::{check_length_size, push_length_prefixed};
use super::nal::{
    H264NalHeader, HevcNalHeader, bits_err, h264_slice_start, h264_type, hevc_slice_start,
    hevc_type, is_keyframe, is_vcl, rbsp_reader,
};
use super::param_sets::ParameterSetCache;
use crate::api::codec::{Codec, Timestamp};
use crate::api::error::{Result, VideoError};
use h264_reader::nal::sps::PicOrderCntType;
use h264_reader::rbsp::BitRead;

/// The units of one coded picture: NAL units (plus the parameter sets and SEI before it), or
/// for packet codecs (VP9) the one packet that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessUnit {
    /// The codec.
    pub codec: Codec,
    /// The NAL units in stream order, without start codes; for packet codecs one packet.
    pub nals: Vec<Vec<u8>>,
    /// Whether the picture is a random-access point (H.264 IDR, HEVC IRAP).
    pub keyframe: bool,
    /// Stream offset of the first NAL unit's start code.
    pub offset: u64,
    /// Presentation time, when known.
    pub pts: Option<Timestamp>,
}

impl AccessUnit {
    /// An access unit from raw NAL units known to form one picture; `keyframe` is derived
    /// from the NAL types.
    pub fn from_nals(codec: Codec, nals: Vec<Vec<u8>>, pts: Option<Timestamp>) -> Self {
        let room = super::syntax::syntax(codec);
        let keyframe = nals.iter().any(|n| room.is_keyframe(n));
        Self {
            codec,
            nals,
            keyframe,
            offset: 0,
            pts,
        }
    }

    /// The access unit as an Annex-B byte string (4-byte start codes).
    pub fn to_annexb(&self) -> Vec<u8> {
        let len = self.nals.iter().map(|n| n.len().saturating_add(4)).sum();
        let mut out = Vec::with_capacity(len);
        self.write_annexb(&mut out);
        out
    }

    /// Appends the access unit to `out` as Annex-B (4-byte start codes).
    pub fn write_annexb(&self, out: &mut Vec<u8>) {
        for nal in &self.nals {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(nal);
        }
    }

    /// The access unit with `length_size`-byte big-endian length prefixes; `InvalidInput`
    /// for a size other than 1, 2 or 4, or a NAL unit too long for it.
    pub fn to_length_prefixed(&self, length_size: u8) -> Result<Vec<u8>> {
        check_length_size(length_size)?;
        let len = self
            .nals
            .iter()
            .map(|n| n.len().saturating_add(usize::from(length_size)))
            .sum();
        let mut out = Vec::with_capacity(len);
        for nal in &self.nals {
            push_length_prefixed(&mut out, nal, length_size)?;
        }
        Ok(out)
    }

    /// Whether any unit of the access unit carries coded picture data (a VCL NAL unit, a
    /// VP9 frame).
    pub fn has_picture(&self) -> bool {
        let room = super::syntax::syntax(self.codec);
        self.nals.iter().any(|n| room.is_picture(n))
    }

    /// The access unit as its decoders take it: Annex-B for NAL-unit codecs, the packet as
    /// is for packet codecs (VP9).
    pub fn decoder_bytes(&self) -> Vec<u8> {
        super::syntax::syntax(self.codec).decoder_bytes(self)
    }
}

/// The H.264 slice-header fields that tell primary pictures apart (7.4.1.2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct H264PictureKey {
    frame_num: u32,
    pps_id: u32,
    field_pic: bool,
    bottom_field: bool,
    nal_ref_idc_zero: bool,
    poc_lsb: u32,
    delta_poc_bottom: i32,
    delta_poc: [i32; 2],
    idr: bool,
    idr_pic_id: u32,
}

/// Groups NAL units into access units.
#[derive(Debug)]
pub struct AccessUnitAssembler {
    codec: Codec,
    params: ParameterSetCache,
    nals: Vec<Vec<u8>>,
    offset: u64,
    has_vcl: bool,
    keyframe: bool,
    /// End of sequence/stream seen: the next NAL unit other than an end of stream starts a
    /// new access unit.
    closed: bool,
    /// The key of the latest H.264 primary slice of the current access unit.
    last_key: Option<H264PictureKey>,
}

impl AccessUnitAssembler {
    /// An assembler for `codec`.
    pub fn new(codec: Codec) -> Self {
        Self {
            codec,
            params: ParameterSetCache::new(codec),
            nals: Vec::new(),
            offset: 0,
            has_vcl: false,
            keyframe: false,
            closed: false,
            last_key: None,
        }
    }

    /// The parameter sets seen so far.
    pub fn parameter_sets(&self) -> &ParameterSetCache {
        &self.params
    }

    /// Feeds one NAL unit; each access unit it completes is appended to `out`.
    pub fn push(&mut self, nal: Nal, out: &mut Vec<AccessUnit>) {
        let starts_new = match self.codec {
            Codec::Hevc => self.hevc_starts_new(&nal.data),
            _ => self.h264_starts_new(&nal.data),
        };
        // End of stream / end of bitstream follows an end of sequence in the same access unit.
        let end_of_stream = match self.codec {
            Codec::Hevc => {
                HevcNalHeader::parse(&nal.data).is_some_and(|h| h.nal_unit_type == hevc_type::EOB)
            }
            _ => H264NalHeader::parse(&nal.data)
                .is_some_and(|h| h.nal_unit_type == h264_type::END_OF_STREAM),
        };
        if (self.closed && !end_of_stream) || starts_new {
            self.emit(out);
        }
        if self.nals.is_empty() {
            self.offset = nal.offset;
        }
        if is_vcl(self.codec, &nal.data) {
            self.has_vcl = true;
            self.keyframe |= is_keyframe(self.codec, &nal.data);
        }
        self.closed = match self.codec {
            Codec::Hevc => HevcNalHeader::parse(&nal.data)
                .is_some_and(|h| matches!(h.nal_unit_type, hevc_type::EOS | hevc_type::EOB)),
            _ => H264NalHeader::parse(&nal.data).is_some_and(|h| {
                matches!(
                    h.nal_unit_type,
                    h264_type::END_OF_SEQUENCE | h264_type::END_OF_STREAM
                )
            }),
        };
        self.nals.push(nal.data);
    }

    /// Ends the stream: the pending access unit, if any, is appended to `out`. Parameter sets
    /// stay known for a stream that continues.
    pub fn finish(&mut self, out: &mut Vec<AccessUnit>) {
        self.emit(out);
    }

    fn emit(&mut self, out: &mut Vec<AccessUnit>) {
        if !self.nals.is_empty() {
            out.push(AccessUnit {
                codec: self.codec,
                nals: std::mem::take(&mut self.nals),
                keyframe: self.keyframe,
                offset: self.offset,
                pts: None,
            });
        }
        self.has_vcl = false;
        self.keyframe = false;
        self.closed = false;
    }

    fn h264_starts_new(&mut self, nal: &[u8]) -> bool {
        let Some(h) = H264NalHeader::parse(nal) else {
            return false;
        };
        match h.nal_unit_type {
            h264_type::SPS | h264_type::PPS => {
                // A parameter set that does not parse is passed on; the decoder will say.
                let _ = self.params.insert(nal);
                self.has_vcl
            }
            h264_type::SEI | h264_type::AUD | 14..=18 => self.has_vcl,
            h264_type::SLICE | h264_type::SLICE_DPA | h264_type::IDR => {
                match self.h264_picture_key(nal, h) {
                    Ok(None) => false, // redundant picture
                    Ok(Some(key)) => {
                        // `last_key` is the key of the latest primary slice, which is in the
                        // current access unit whenever `has_vcl` holds.
                        let new = self.has_vcl && self.last_key.is_some_and(|k| k != key);
                        self.last_key = Some(key);
                        new
                    }
                    // Without its parameter sets the slice can only be judged by its start.
                    Err(_) => {
                        self.has_vcl
                            && h264_slice_start(nal).is_ok_and(|s| s.first_mb_in_slice == 0)
                    }
                }
            }
            _ => false,
        }
    }

    /// The picture key of a slice; `None` for a redundant picture's slice.
    fn h264_picture_key(&mut self, nal: &[u8], h: H264NalHeader) -> Result<Option<H264PictureKey>> {
        let e = bits_err("H.264 slice header");
        let mut r = rbsp_reader(Codec::H264, nal);
        r.read_ue("first_mb_in_slice").map_err(&e)?;
        r.read_ue("slice_type").map_err(&e)?;
        let pps_id = r.read_ue("pic_parameter_set_id").map_err(&e)?;
        let pps = *self
            .params
            .h264_pps(pps_id)
            .ok_or_else(|| VideoError::invalid_bitstream(format!("unknown PPS {pps_id}")))?;
        self.params.activate_pps(pps_id);
        let sps = self
            .params
            .h264_sps(pps.sps_id)
            .ok_or_else(|| VideoError::invalid_bitstream(format!("unknown SPS {}", pps.sps_id)))?;
        if sps.chroma_info.separate_colour_plane_flag {
            r.skip(2, "colour_plane_id").map_err(&e)?;
        }
        let frame_num = r
            .read_var::<u32>(u32::from(sps.log2_max_frame_num()), "frame_num")
            .map_err(&e)?;
        let frame_mbs_only = matches!(
            sps.frame_mbs_flags,
            h264_reader::nal::sps::FrameMbsFlags::Frames
        );
        let field_pic = !frame_mbs_only && r.read_bit("field_pic_flag").map_err(&e)?;
        let bottom_field = field_pic && r.read_bit("bottom_field_flag").map_err(&e)?;
        let idr = h.nal_unit_type == h264_type::IDR;
        let idr_pic_id = if idr {
            r.read_ue("idr_pic_id").map_err(&e)?
        } else {
            0
        };
        let mut key = H264PictureKey {
            frame_num,
            pps_id,
            field_pic,
            bottom_field,
            nal_ref_idc_zero: h.nal_ref_idc == 0,
            poc_lsb: 0,
            delta_poc_bottom: 0,
            delta_poc: [0; 2],
            idr,
            idr_pic_id,
        };
        let bottom_present = pps.bottom_field_pic_order_in_frame_present && !field_pic;
        match &sps.pic_order_cnt {
            PicOrderCntType::TypeZero {
                log2_max_pic_order_cnt_lsb_minus4,
            } => {
                key.poc_lsb = r
                    .read_var::<u32>(
                        u32::from(*log2_max_pic_order_cnt_lsb_minus4) + 4,
                        "pic_order_cnt_lsb",
                    )
                    .map_err(&e)?;
                if bottom_present {
                    key.delta_poc_bottom = r.read_se("delta_pic_order_cnt_bottom").map_err(&e)?;
                }
            }
            PicOrderCntType::TypeOne {
                delta_pic_order_always_zero_flag: false,
                ..
            } => {
                key.delta_poc[0] = r.read_se("delta_pic_order_cnt[0]").map_err(&e)?;
                if bottom_present {
                    key.delta_poc[1] = r.read_se("delta_pic_order_cnt[1]").map_err(&e)?;
                }
            }
            _ => {}
        }
        if pps.redundant_pic_cnt_present && r.read_ue("redundant_pic_cnt").map_err(&e)? > 0 {
            return Ok(None);
        }
        Ok(Some(key))
    }

    fn hevc_starts_new(&mut self, nal: &[u8]) -> bool {
        let Some(h) = HevcNalHeader::parse(nal) else {
            return false;
        };
        match h.nal_unit_type {
            hevc_type::VPS | hevc_type::SPS | hevc_type::PPS => {
                let _ = self.params.insert(nal);
                self.has_vcl
            }
            hevc_type::AUD | hevc_type::PREFIX_SEI | 41..=44 | 48..=55 => self.has_vcl,
            0..=hevc_type::LAST_VCL => match hevc_slice_start(nal) {
                Ok(s) => {
                    if s.first_slice_segment_in_pic_flag && h.nuh_layer_id == 0 {
                        self.params.activate_pps(s.slice_pic_parameter_set_id);
                    }
                    self.has_vcl && s.first_slice_segment_in_pic_flag && h.nuh_layer_id == 0
                }
                Err(_) => false,
            },
            _ => false,
        }
    }
}

/// Splits and assembles a whole Annex-B buffer (a convenience over [`AccessUnitAssembler`]).
pub fn assemble_annexb(codec: Codec, data: &[u8]) -> Vec<AccessUnit> {
    let mut asm = AccessUnitAssembler::new(codec);
    let mut out = Vec::new();
    for nal in super::annexb::split_annexb(data) {
        asm.push(nal, &mut out);
    }
    asm.finish(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::error::ErrorKind;
    use crate::bitstream::annexb::{AnnexBSplitter, split_annexb};
    use proptest::prelude::*;

    fn nal(data: &[u8], offset: u64) -> Nal {
        Nal {
            data: data.to_vec(),
            offset,
        }
    }

    #[test]
    fn from_nals_derives_keyframe_and_serialises() {
        let au = AccessUnit::from_nals(Codec::H264, vec![vec![0x09, 0xF0], vec![0x65, 0x88]], None);
        assert!(au.keyframe);
        assert_eq!(
            au.to_annexb(),
            vec![0, 0, 0, 1, 0x09, 0xF0, 0, 0, 0, 1, 0x65, 0x88]
        );
        assert_eq!(
            au.to_length_prefixed(2).unwrap(),
            vec![0, 2, 0x09, 0xF0, 0, 2, 0x65, 0x88]
        );
        assert_eq!(
            au.to_length_prefixed(3).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let p = AccessUnit::from_nals(Codec::Hevc, vec![vec![0x02, 0x01, 0x80]], None);
        assert!(!p.keyframe);
        let big = AccessUnit::from_nals(Codec::H264, vec![vec![0x41; 256]], None);
        assert_eq!(
            big.to_length_prefixed(1).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn hevc_first_slice_flag_and_prefix_nals_split_access_units() {
        let mut asm = AccessUnitAssembler::new(Codec::Hevc);
        let mut out = Vec::new();
        // AUD, IDR slice (first), IDR slice (not first), suffix SEI, AUD, TRAIL_R (first), EOS.
        asm.push(nal(&[0x46, 0x01, 0x50], 0), &mut out);
        asm.push(nal(&[0x26, 0x01, 0xA0], 10), &mut out);
        asm.push(nal(&[0x26, 0x01, 0x40], 20), &mut out);
        asm.push(nal(&[0x50, 0x01, 0x01], 30), &mut out);
        assert!(out.is_empty());
        asm.push(nal(&[0x46, 0x01, 0x50], 40), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].nals.len(), 4);
        assert!(out[0].keyframe);
        assert_eq!(out[0].offset, 0);
        asm.push(nal(&[0x02, 0x01, 0x80], 50), &mut out);
        asm.push(nal(&[0x48, 0x01], 60), &mut out);
        asm.push(nal(&[0x4A, 0x01], 65), &mut out);
        // After end of sequence (and end of bitstream) anything starts a new access unit.
        asm.push(nal(&[0x02, 0x01, 0x40], 70), &mut out);
        asm.finish(&mut out);
        assert_eq!(out.len(), 3);
        assert_eq!(out[1].offset, 40);
        assert!(!out[1].keyframe);
        assert_eq!(out[1].nals.len(), 4);
        assert_eq!(out[2].offset, 70);
    }

    #[test]
    fn h264_without_parameter_sets_falls_back_to_first_mb() {
        let mut asm = AccessUnitAssembler::new(Codec::H264);
        let mut out = Vec::new();
        // first_mb 0, slice_type 0, pps 0: 1 1 1 -> 0xE0; first_mb 1: 010 1 1 -> 0x58.
        asm.push(nal(&[0x41, 0xE0], 0), &mut out);
        asm.push(nal(&[0x41, 0x58], 5), &mut out);
        asm.push(nal(&[0x41, 0xE0], 9), &mut out);
        asm.finish(&mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].nals.len(), 2);
        assert_eq!(out[1].offset, 9);
    }

    /// An H.264 slice NAL whose header fields up to the picture order count are valid for the
    /// SPS/PPS in `asm` (PPS 0), followed by the RBSP stop bit.
    fn h264_slice(
        asm: &AccessUnitAssembler,
        nal_byte: u8,
        first_mb: u32,
        frame_num: u32,
        poc_lsb: u32,
    ) -> Vec<u8> {
        use h264_reader::rbsp::{BitWrite, BitWriter};
        let pps = *asm.params.h264_pps(0).unwrap();
        let sps = asm.params.h264_sps(pps.sps_id).unwrap();
        let idr = nal_byte & 0x1F == h264_type::IDR;
        let mut w = BitWriter::new(Vec::new());
        w.write_ue(first_mb).unwrap();
        w.write_ue(if idr { 7 } else { 5 }).unwrap();
        w.write_ue(0).unwrap();
        w.write_var(u32::from(sps.log2_max_frame_num()), frame_num)
            .unwrap();
        if !matches!(
            sps.frame_mbs_flags,
            h264_reader::nal::sps::FrameMbsFlags::Frames
        ) {
            w.write_bit(false).unwrap();
        }
        if idr {
            w.write_ue(0).unwrap();
        }
        match &sps.pic_order_cnt {
            PicOrderCntType::TypeZero {
                log2_max_pic_order_cnt_lsb_minus4,
            } => {
                w.write_var(u32::from(*log2_max_pic_order_cnt_lsb_minus4) + 4, poc_lsb)
                    .unwrap();
                if pps.bottom_field_pic_order_in_frame_present {
                    w.write_se(0).unwrap();
                }
            }
            PicOrderCntType::TypeOne {
                delta_pic_order_always_zero_flag: false,
                ..
            } => {
                w.write_se(0).unwrap();
                if pps.bottom_field_pic_order_in_frame_present {
                    w.write_se(0).unwrap();
                }
            }
            _ => {}
        }
        if pps.redundant_pic_cnt_present {
            w.write_ue(0).unwrap();
        }
        w.write_rbsp_trailing_bits().unwrap();
        let rbsp = w.into_writer();
        // Emulation prevention, so the slice is a valid NAL unit whatever the values.
        let mut out = vec![nal_byte];
        let mut zeros = 0;
        for b in rbsp {
            if zeros >= 2 && b <= 3 {
                out.push(3);
                zeros = 0;
            }
            zeros = if b == 0 { zeros + 1 } else { 0 };
            out.push(b);
        }
        out
    }

    #[test]
    fn h264_pictures_are_told_apart_by_slice_header_fields_not_first_mb() {
        use crate::bitstream::sps::tests::H264_SPS_64;
        const PPS_64: &[u8] = &[0x68, 0xeb, 0xec, 0xb2, 0x2c];
        let mut asm = AccessUnitAssembler::new(Codec::H264);
        let mut out = Vec::new();
        asm.push(nal(H264_SPS_64, 0), &mut out);
        asm.push(nal(PPS_64, 40), &mut out);
        let slices = [
            // IDR picture in arbitrary slice order: first_mb 2, then 0.
            h264_slice(&asm, 0x65, 2, 0, 0),
            h264_slice(&asm, 0x65, 0, 0, 0),
            // P picture: frame_num 1.
            h264_slice(&asm, 0x41, 0, 1, 2),
            h264_slice(&asm, 0x41, 3, 1, 2),
            // Non-reference picture with the same frame_num: nal_ref_idc becomes zero.
            h264_slice(&asm, 0x01, 3, 2, 4),
            // Same frame_num and nal_ref_idc class, different POC: a new picture.
            h264_slice(&asm, 0x01, 0, 2, 6),
        ];
        for (i, s) in slices.iter().enumerate() {
            asm.push(nal(s, 100 + 100 * i as u64), &mut out);
        }
        asm.finish(&mut out);
        let sizes: Vec<usize> = out.iter().map(|au| au.nals.len()).collect();
        assert_eq!(sizes, vec![4, 2, 1, 1]);
        assert!(out[0].keyframe && !out[1].keyframe);
        assert_eq!(
            out.iter().map(|au| au.offset).collect::<Vec<_>>(),
            vec![0, 300, 500, 600]
        );
    }

    /// Byte strings built from start codes, NAL headers of interesting types and random bytes.
    fn stream_like() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                Just(vec![0u8, 0, 1]),
                Just(vec![0u8, 0, 0, 1]),
                (0u8..64, any::<u8>()).prop_map(|(t, b)| vec![t << 1, 1, b]),
                any::<u8>().prop_map(|b| vec![b]),
                proptest::collection::vec(any::<u8>(), 0..12),
            ],
            0..60,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn assembler_never_panics_and_loses_no_nal_unit(data in stream_like()) {
            for codec in [Codec::H264, Codec::Hevc] {
                let nals = split_annexb(&data);
                let aus = assemble_annexb(codec, &data);
                let regrouped: Vec<Vec<u8>> = aus.iter().flat_map(|au| au.nals.clone()).collect();
                let split: Vec<Vec<u8>> = nals.into_iter().map(|n| n.data).collect();
                prop_assert_eq!(regrouped, split);
                prop_assert!(aus.windows(2).all(|w| w[0].offset < w[1].offset));
            }
        }

        #[test]
        fn assembler_output_does_not_depend_on_chunking(
            data in stream_like(),
            size in 1usize..9,
        ) {
            for codec in [Codec::H264, Codec::Hevc] {
                let mut splitter = AnnexBSplitter::new();
                let mut asm = AccessUnitAssembler::new(codec);
                let (mut nals, mut aus) = (Vec::new(), Vec::new());
                for piece in data.chunks(size) {
                    splitter.push(piece, &mut nals);
                }
                splitter.finish(&mut nals);
                for nal in nals {
                    asm.push(nal, &mut aus);
                }
                asm.finish(&mut aus);
                prop_assert_eq!(aus, assemble_annexb(codec, &data));
            }
        }
    }
}
