//! Telling H.264 from HEVC in a raw Annex-B stream by its NAL unit headers (not by a file
//! name): a sequence parameter set that parses decides; without one, the parameter-set and
//! delimiter headers of the first NAL units do.

use super::annexb::{AnnexBSplitter, Nal};
use super::nal::{h264_type, hevc_type};
use super::sps::{parse_h264_sps, parse_hevc_sps};
use crate::api::codec::Codec;

/// NAL units of the head that are looked at.
const NALS_LOOKED_AT: usize = 64;

/// The codec of an Annex-B stream from its first bytes, or `None` when they hold no H.264
/// or HEVC parameter set or delimiter.
///
/// The two codecs' headers cannot be confused for parameter sets: an H.264 SPS header
/// (`0x67`) read as HEVC has the reserved layer bit set, and an HEVC SPS header (`0x42 0x01`)
/// read as H.264 is a data partition. A sequence parameter set that parses is taken first;
/// the header patterns alone only when no SPS parses.
pub fn annexb_codec(head: &[u8]) -> Option<Codec> {
    let mut nals: Vec<Nal> = Vec::new();
    let mut splitter = AnnexBSplitter::new();
    splitter.push(head, &mut nals);
    // The last NAL unit may run past the head: the splitter keeps it until flushed.
    splitter.finish(&mut nals);
    let nals = &nals[..nals.len().min(NALS_LOOKED_AT)];
    for nal in nals {
        let data = nal.data.as_slice();
        if hevc_header(data) == Some(hevc_type::SPS) && parse_hevc_sps(data).is_ok() {
            return Some(Codec::Hevc);
        }
        if h264_header(data) == Some(h264_type::SPS) && parse_h264_sps(data).is_ok() {
            return Some(Codec::H264);
        }
    }
    nals.iter().find_map(|nal| {
        let data = nal.data.as_slice();
        if hevc_header(data).is_some_and(|t| (hevc_type::VPS..=hevc_type::SPS + 2).contains(&t)) {
            Some(Codec::Hevc)
        } else if h264_header(data)
            .is_some_and(|t| matches!(t, h264_type::SPS | h264_type::PPS | h264_type::AUD))
        {
            Some(Codec::H264)
        } else {
            None
        }
    })
}

/// The HEVC NAL type when `nal` has a plausible base-layer HEVC header (forbidden bit and
/// the high `nuh_layer_id` bit clear, `nuh_layer_id` 0, `nuh_temporal_id_plus1` 1).
fn hevc_header(nal: &[u8]) -> Option<u8> {
    let (&b0, &b1) = (nal.first()?, nal.get(1)?);
    (b0 & 0x81 == 0 && b1 == 1).then_some((b0 >> 1) & 0x3f)
}

/// The H.264 NAL type when the forbidden bit of `nal` is clear.
fn h264_header(nal: &[u8]) -> Option<u8> {
    let &b0 = nal.first()?;
    (b0 & 0x80 == 0).then_some(b0 & 0x1f)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 176x144 Baseline H.264 SPS and PPS (x264), then an IDR slice header.
    const H264_HEAD: &[u8] = &[
        0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x0b, 0xd9, 0x02, 0xc4, 0xec, 0x04, 0x40, 0x00, 0x00, 0x03,
        0x00, 0x40, 0x00, 0x00, 0x0c, 0x83, 0xc5, 0x0a, 0x92, 0, 0, 0, 1, 0x68, 0xcb, 0x83, 0xcb,
        0x20, 0, 0, 1, 0x65, 0x88, 0x84,
    ];

    #[test]
    fn h264_parameter_sets_are_recognised_as_h264() {
        assert_eq!(annexb_codec(H264_HEAD), Some(Codec::H264));
        // Only a delimiter: the header pattern decides.
        assert_eq!(annexb_codec(&[0, 0, 1, 0x09, 0xf0]), Some(Codec::H264));
    }

    #[test]
    fn hevc_parameter_set_headers_are_recognised_as_hevc() {
        // VPS header then junk: no SPS parses, the VPS header decides.
        assert_eq!(
            annexb_codec(&[0, 0, 0, 1, 0x40, 0x01, 0x0c, 0x01, 0xff]),
            Some(Codec::Hevc)
        );
    }

    #[test]
    fn bytes_without_parameter_sets_have_no_codec() {
        assert_eq!(annexb_codec(b""), None);
        assert_eq!(annexb_codec(b"RIFF\0\0\0\0AVI LIST"), None);
        // A slice alone says nothing about the codec.
        assert_eq!(annexb_codec(&[0, 0, 1, 0x41, 0x9a, 0x02]), None);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_give_an_answer_without_panicking(
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..512)
        ) {
            let _ = annexb_codec(&data);
        }
    }
}
