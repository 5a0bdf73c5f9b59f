//! Counting the pictures a stream holds for output, so that a session can check that every
//! one came out ("frames out == pictures in").
//!
//! The count is taken over access units as [`super::AccessUnitAssembler`] groups them (one
//! primary coded picture each; redundant pictures are already folded in):
//! - **H.264**: every primary coded picture counts once, except that the second field of a
//!   complementary field pair (opposite parity, same `frame_num`, right after the first field)
//!   adds nothing: the pair is one frame out. An unpaired field is one frame out.
//! - **HEVC**: every base-layer picture counts once, minus the pictures the stream marks as
//!   not for output: `pic_output_flag = 0`, and RASL pictures of an IRAP picture with
//!   `NoRaslOutputFlag` (a BLA or IDR, or a CRA that starts the stream or follows an end of
//!   sequence), which the decoding process discards.
//!
//! Not modelled: `no_output_of_prior_pics_flag` (pictures still waiting in the DPB when an
//! IDR/IRAP picture asks to discard them) and pictures before the first random-access point.
//! A decoder that honours either delivers fewer frames, which the session reports.

use super::AccessUnit;
use super::nal::{H264NalHeader, HevcNalHeader, bits_err, h264_type, hevc_type, rbsp_reader};
use super::param_sets::ParameterSetCache;
use crate::api::codec::Codec;
use crate::api::error::{Result, VideoError};
use h264_reader::nal::sps::FrameMbsFlags;
use h264_reader::rbsp::BitRead;
use std::collections::BTreeMap;

/// The first field of a possible H.264 complementary field pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OpenField {
    frame_num: u32,
    bottom: bool,
}

/// What an HEVC PPS says about the slice header fields before `pic_output_flag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HevcPpsFlags {
    output_flag_present: bool,
    num_extra_slice_header_bits: u8,
}

/// Counts the pictures a stream holds for output, access unit by access unit.
#[derive(Debug, Clone)]
pub struct PictureCounter {
    codec: Codec,
    params: ParameterSetCache,
    hevc_pps: BTreeMap<u32, HevcPpsFlags>,
    pictures: u64,
    not_output: u64,
    open_field: Option<OpenField>,
    /// HEVC: the next IRAP picture starts a coded video sequence (stream start, after EOS).
    hevc_sequence_start: bool,
    /// HEVC: RASL pictures of the current IRAP picture are discarded.
    hevc_skip_rasl: bool,
}

impl PictureCounter {
    /// A counter for `codec`, at the start of a stream.
    pub fn new(codec: Codec) -> Self {
        Self {
            codec,
            params: ParameterSetCache::new(codec),
            hevc_pps: BTreeMap::new(),
            pictures: 0,
            not_output: 0,
            open_field: None,
            hevc_sequence_start: true,
            hevc_skip_rasl: false,
        }
    }

    /// Pictures counted for output since the start or the last [`Self::restart`].
    pub fn pictures(&self) -> u64 {
        self.pictures
    }

    /// Pictures the stream marks as not for output (not in [`Self::pictures`]).
    pub fn not_output(&self) -> u64 {
        self.not_output
    }

    /// Starts a new stream (after a flush): counts go to zero, parameter sets stay known.
    pub fn restart(&mut self) {
        self.pictures = 0;
        self.not_output = 0;
        self.open_field = None;
        self.hevc_sequence_start = true;
        self.hevc_skip_rasl = false;
    }

    /// Counts the picture of `au`, if it has one.
    pub fn push(&mut self, au: &AccessUnit) {
        for nal in &au.nals {
            // A parameter set that does not parse is the decoder's to report.
            let _ = self.params.insert(nal);
            if self.codec == Codec::Hevc
                && HevcNalHeader::parse(nal).is_some_and(|h| h.nal_unit_type == hevc_type::PPS)
                && let Ok((id, flags)) = hevc_pps_flags(nal)
            {
                self.hevc_pps.insert(id, flags);
            }
        }
        match self.codec {
            Codec::Hevc => self.push_hevc(au),
            _ => self.push_h264(au),
        }
    }

    fn push_h264(&mut self, au: &AccessUnit) {
        let slice = au.nals.iter().find(|n| {
            H264NalHeader::parse(n).is_some_and(|h| {
                matches!(
                    h.nal_unit_type,
                    h264_type::SLICE | h264_type::SLICE_DPA | h264_type::IDR
                )
            })
        });
        let Some(slice) = slice else { return };
        match self.h264_field(slice) {
            Ok(Some(field)) => match self.open_field.take() {
                Some(open) if open.bottom != field.bottom && open.frame_num == field.frame_num => {
                    // The second field of a complementary pair: the frame is already counted.
                }
                _ => {
                    self.pictures = self.pictures.saturating_add(1);
                    self.open_field = Some(field);
                }
            },
            // A frame, or a slice whose header cannot be read (one picture the decoder will
            // have to account for).
            Ok(None) | Err(_) => {
                self.pictures = self.pictures.saturating_add(1);
                self.open_field = None;
            }
        }
    }

    /// The field a slice belongs to; `None` for a frame picture.
    fn h264_field(&self, nal: &[u8]) -> Result<Option<OpenField>> {
        let e = bits_err("H.264 slice header");
        let mut r = rbsp_reader(Codec::H264, nal);
        r.read_ue("first_mb_in_slice").map_err(&e)?;
        r.read_ue("slice_type").map_err(&e)?;
        let pps_id = r.read_ue("pic_parameter_set_id").map_err(&e)?;
        let unknown = |what: &str| VideoError::invalid_bitstream(format!("unknown {what}"));
        let pps = self.params.h264_pps(pps_id).ok_or_else(|| unknown("PPS"))?;
        let sps = self
            .params
            .h264_sps(pps.sps_id)
            .ok_or_else(|| unknown("SPS"))?;
        if matches!(sps.frame_mbs_flags, FrameMbsFlags::Frames) {
            return Ok(None);
        }
        if sps.chroma_info.separate_colour_plane_flag {
            r.skip(2, "colour_plane_id").map_err(&e)?;
        }
        let frame_num = r
            .read_var::<u32>(u32::from(sps.log2_max_frame_num()), "frame_num")
            .map_err(&e)?;
        if !r.read_bit("field_pic_flag").map_err(&e)? {
            return Ok(None);
        }
        let bottom = r.read_bit("bottom_field_flag").map_err(&e)?;
        Ok(Some(OpenField { frame_num, bottom }))
    }

    fn push_hevc(&mut self, au: &AccessUnit) {
        let mut slice = None;
        let mut end_of_sequence = false;
        for nal in &au.nals {
            let Some(h) = HevcNalHeader::parse(nal) else {
                continue;
            };
            if h.nal_unit_type <= hevc_type::LAST_VCL && h.nuh_layer_id == 0 && slice.is_none() {
                slice = Some((h.nal_unit_type, nal));
            }
            end_of_sequence |= matches!(h.nal_unit_type, hevc_type::EOS | hevc_type::EOB);
        }
        if let Some((nal_type, nal)) = slice {
            self.count_hevc(nal_type, nal);
        }
        if end_of_sequence {
            self.hevc_sequence_start = true;
        }
    }

    fn count_hevc(&mut self, nal_type: u8, nal: &[u8]) {
        const RASL_N: u8 = 8;
        const RASL_R: u8 = 9;
        if (hevc_type::BLA_W_LP..=hevc_type::LAST_IRAP).contains(&nal_type) {
            self.hevc_skip_rasl = nal_type != hevc_type::CRA || self.hevc_sequence_start;
            self.hevc_sequence_start = false;
        }
        let discarded = matches!(nal_type, RASL_N | RASL_R) && self.hevc_skip_rasl;
        // A slice header that cannot be read still stands for a picture the decoder must
        // account for.
        let output = !discarded && self.hevc_pic_output(nal_type, nal).unwrap_or(true);
        if output {
            self.pictures = self.pictures.saturating_add(1);
        } else {
            self.not_output = self.not_output.saturating_add(1);
        }
    }

    /// `pic_output_flag` of an HEVC picture's first slice segment (1 when absent).
    fn hevc_pic_output(&self, nal_type: u8, nal: &[u8]) -> Result<bool> {
        let e = bits_err("HEVC slice segment header");
        let mut r = rbsp_reader(Codec::Hevc, nal);
        let first = r.read_bit("first_slice_segment_in_pic_flag").map_err(&e)?;
        if (hevc_type::BLA_W_LP..=hevc_type::LAST_IRAP).contains(&nal_type) {
            r.skip(1, "no_output_of_prior_pics_flag").map_err(&e)?;
        }
        let pps_id = r.read_ue("slice_pic_parameter_set_id").map_err(&e)?;
        let pps = self
            .hevc_pps
            .get(&pps_id)
            .ok_or_else(|| VideoError::invalid_bitstream(format!("unknown HEVC PPS {pps_id}")))?;
        if !first {
            // The assembler starts access units at a first slice segment; anything else is
            // damaged input, counted as a picture.
            return Ok(true);
        }
        if !pps.output_flag_present {
            return Ok(true);
        }
        r.skip(
            u32::from(pps.num_extra_slice_header_bits),
            "slice_reserved_flag",
        )
        .map_err(&e)?;
        r.read_ue("slice_type").map_err(&e)?;
        r.read_bit("pic_output_flag").map_err(&e)
    }
}

/// `pps_pic_parameter_set_id` and the flags [`PictureCounter`] needs of an HEVC PPS.
fn hevc_pps_flags(nal: &[u8]) -> Result<(u32, HevcPpsFlags)> {
    let e = bits_err("HEVC PPS");
    let mut r = rbsp_reader(Codec::Hevc, nal);
    let id = r.read_ue("pps_pic_parameter_set_id").map_err(&e)?;
    r.read_ue("pps_seq_parameter_set_id").map_err(&e)?;
    r.skip(1, "dependent_slice_segments_enabled_flag")
        .map_err(&e)?;
    let output_flag_present = r.read_bit("output_flag_present_flag").map_err(&e)?;
    let num_extra_slice_header_bits = r.read::<3, u8>("num_extra_slice_header_bits").map_err(&e)?;
    Ok((
        id,
        HevcPpsFlags {
            output_flag_present,
            num_extra_slice_header_bits,
        },
    ))
}

/// Pictures for output in a whole Annex-B buffer (a convenience over [`PictureCounter`]).
pub fn count_pictures(codec: Codec, data: &[u8]) -> u64 {
    let mut counter = PictureCounter::new(codec);
    for au in super::assemble_annexb(codec, data) {
        counter.push(&au);
    }
    counter.pictures()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn au(codec: Codec, nals: Vec<Vec<u8>>) -> AccessUnit {
        AccessUnit::from_nals(codec, nals, None)
    }

    /// A tiny bit writer for hand-made slice headers.
    #[derive(Default)]
    struct Bits {
        bits: Vec<bool>,
    }

    impl Bits {
        fn u(&mut self, n: u32, v: u32) -> &mut Self {
            for i in (0..n).rev() {
                self.bits.push((v >> i) & 1 == 1);
            }
            self
        }
        fn ue(&mut self, v: u32) -> &mut Self {
            let x = v + 1;
            let len = 32 - x.leading_zeros();
            self.u(len - 1, 0).u(len, x)
        }
        /// Header byte(s), then the bits, a stop bit and padding (no emulation needed here:
        /// the values written are small and never make 0x000000..03).
        fn nal(&mut self, header: &[u8]) -> Vec<u8> {
            self.bits.push(true);
            while !self.bits.len().is_multiple_of(8) {
                self.bits.push(false);
            }
            let mut out = header.to_vec();
            out.extend(
                self.bits
                    .chunks(8)
                    .map(|c| c.iter().fold(0u8, |a, &b| (a << 1) | u8::from(b))),
            );
            out
        }
    }

    /// An H.264 SPS (Main, 16x32 field-capable, log2_max_frame_num 4, POC type 2).
    fn h264_field_sps() -> Vec<u8> {
        let mut b = Bits::default();
        b.u(8, 77).u(8, 0).u(8, 30).ue(0); // profile, constraints, level, sps id
        b.ue(0).ue(2).ue(1).u(1, 0); // log2_max_frame_num-4, poc type 2, refs 1, gaps
        b.ue(0).ue(0).u(1, 0).u(1, 0); // 1 mb wide, 1 map unit high, !frame_mbs_only, mbaff 0
        b.u(1, 1).u(1, 0).u(1, 0); // direct_8x8, no crop, no vui
        b.nal(&[0x67])
    }

    fn h264_pps() -> Vec<u8> {
        let mut b = Bits::default();
        b.ue(0).ue(0).u(1, 0).u(1, 0).ue(0); // ids, cabac, bottom_field_pic_order, slice groups
        b.ue(0).ue(0).u(1, 0).u(2, 0); // ref idx, weighted
        b.ue(0).ue(0).ue(0); // qp, qs, chroma qp (se 0 = ue 0)
        b.u(1, 0).u(1, 0).u(1, 0); // deblocking, constrained intra, redundant
        b.nal(&[0x68])
    }

    /// A slice: field (`Some(bottom)`) or frame (`None`), with `frame_num`.
    fn h264_slice(idr: bool, frame_num: u32, field: Option<bool>) -> Vec<u8> {
        let mut b = Bits::default();
        b.ue(0).ue(if idr { 7 } else { 5 }).ue(0).u(4, frame_num);
        match field {
            Some(bottom) => b.u(1, 1).u(1, u32::from(bottom)),
            None => b.u(1, 0),
        };
        if idr {
            b.ue(0);
        }
        b.nal(&[if idr { 0x65 } else { 0x41 }])
    }

    #[test]
    fn h264_field_pairs_count_once_and_unpaired_fields_count_alone() {
        let mut c = PictureCounter::new(Codec::H264);
        c.push(&au(Codec::H264, vec![h264_field_sps(), h264_pps()]));
        assert_eq!(c.pictures(), 0, "parameter sets are no picture");
        let aus = [
            h264_slice(true, 0, Some(false)),  // IDR top field: 1
            h264_slice(false, 0, Some(true)),  // its bottom field: pair
            h264_slice(false, 1, None),        // a frame: 2
            h264_slice(false, 2, Some(true)),  // bottom field: 3
            h264_slice(false, 2, Some(true)),  // same parity: unpaired, 4
            h264_slice(false, 3, Some(false)), // other frame_num: 5
            h264_slice(false, 3, Some(true)),  // pair with the previous
            h264_slice(false, 3, Some(false)), // a third field: 6
        ];
        for (i, s) in aus.into_iter().enumerate() {
            c.push(&au(Codec::H264, vec![s]));
            let expected = [1, 1, 2, 3, 4, 5, 5, 6][i];
            assert_eq!(c.pictures(), expected, "after access unit {i}");
        }
        assert_eq!(c.not_output(), 0);
        c.restart();
        assert_eq!(c.pictures(), 0);
        c.push(&au(Codec::H264, vec![h264_slice(true, 0, None)]));
        assert_eq!(c.pictures(), 1, "parameter sets survive a restart");
    }

    fn hevc_pps(output_flag_present: bool) -> Vec<u8> {
        let mut b = Bits::default();
        b.ue(0)
            .ue(0)
            .u(1, 0)
            .u(1, u32::from(output_flag_present))
            .u(3, 1);
        b.nal(&[0x44, 0x01])
    }

    fn hevc_slice(nal_type: u8, pic_output: Option<bool>) -> Vec<u8> {
        let mut b = Bits::default();
        b.u(1, 1);
        if (16..=23).contains(&nal_type) {
            b.u(1, 0);
        }
        b.ue(0).u(1, 0).ue(1); // pps 0, one extra bit, slice_type P
        if let Some(o) = pic_output {
            b.u(1, u32::from(o));
        }
        b.nal(&[nal_type << 1, 0x01])
    }

    #[test]
    fn hevc_pictures_marked_not_for_output_are_not_counted() {
        let mut c = PictureCounter::new(Codec::Hevc);
        c.push(&au(Codec::Hevc, vec![hevc_pps(true)]));
        let steps: [(u8, Option<bool>, u64, u64); 7] = [
            (21, Some(true), 1, 0), // CRA starting the stream
            (8, Some(true), 1, 1),  // its RASL: discarded
            (1, Some(true), 2, 1),  // trailing picture
            (1, Some(false), 2, 2), // pic_output_flag = 0
            (21, Some(true), 3, 2), // CRA in mid-stream
            (9, Some(true), 4, 2),  // its RASL is output
            (16, Some(true), 5, 2), // BLA
        ];
        for (i, (t, out, pictures, skipped)) in steps.into_iter().enumerate() {
            c.push(&au(Codec::Hevc, vec![hevc_slice(t, out)]));
            assert_eq!(
                (c.pictures(), c.not_output()),
                (pictures, skipped),
                "step {i}"
            );
        }
        c.push(&au(Codec::Hevc, vec![hevc_slice(8, Some(true))]));
        assert_eq!(c.not_output(), 3, "RASL of a BLA is discarded");
        // An end of sequence: the next CRA starts a sequence again.
        c.push(&au(
            Codec::Hevc,
            vec![hevc_slice(1, Some(true)), vec![0x48, 0x01]],
        ));
        c.push(&au(Codec::Hevc, vec![hevc_slice(21, Some(true))]));
        c.push(&au(Codec::Hevc, vec![hevc_slice(8, Some(true))]));
        assert_eq!((c.pictures(), c.not_output()), (7, 4));
    }

    #[test]
    fn hevc_without_output_flag_counts_every_picture() {
        let mut c = PictureCounter::new(Codec::Hevc);
        c.push(&au(Codec::Hevc, vec![hevc_pps(false)]));
        for t in [19, 1, 0, 1] {
            c.push(&au(Codec::Hevc, vec![hevc_slice(t, None)]));
        }
        assert_eq!(c.pictures(), 4);
    }

    proptest! {
        #[test]
        fn counter_never_panics_and_counts_at_most_one_picture_per_access_unit(
            nals in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..12),
            hevc in any::<bool>(),
        ) {
            let codec = if hevc { Codec::Hevc } else { Codec::H264 };
            let mut c = PictureCounter::new(codec);
            for (i, n) in nals.into_iter().enumerate() {
                c.push(&au(codec, vec![n]));
                prop_assert!(c.pictures() + c.not_output() <= i as u64 + 1);
            }
        }
    }
}
