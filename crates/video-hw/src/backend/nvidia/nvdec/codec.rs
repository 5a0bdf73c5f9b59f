//! NVDEC's view of each codec, in one place: the `cudaVideoCodec` it is decoded as, the field
//! codings NVDEC outputs for it, and how one access unit becomes one parser packet. A codec
//! NVDEC gains is a row in each of these three (the probe and the capability table ask NVDEC
//! through [`nv_codec`] for every [`Codec`]).

use super::ffi::{cudaVideoCodec, cudaVideoCodec_H264, cudaVideoCodec_HEVC};
use crate::api::codec::{Codec, Dimensions};
use crate::api::error::{Result, VideoError};
use crate::api::frame::CropRect;
use crate::bitstream::stream_features::FieldCoding;
use crate::bitstream::{AccessUnit, nal, sps};

/// The `cudaVideoCodec` NVDEC decodes `codec` as; `Unsupported` when it has none.
pub(crate) fn nv_codec(codec: Codec) -> Result<cudaVideoCodec> {
    match codec {
        Codec::H264 => Ok(cudaVideoCodec_H264),
        Codec::Hevc => Ok(cudaVideoCodec_HEVC),
        #[allow(unreachable_patterns)]
        other => Err(VideoError::unsupported(format!(
            "NVDEC backend has no {other} decoder"
        ))),
    }
}

/// The field codings NVDEC decodes exactly for `codec` (interlaced content comes out woven).
pub(crate) fn field_coding(codec: Codec) -> Vec<FieldCoding> {
    match codec {
        Codec::H264 => vec![
            FieldCoding::Progressive,
            FieldCoding::Fields,
            FieldCoding::Mbaff,
        ],
        Codec::Hevc => vec![FieldCoding::Progressive],
    }
}

/// What one access unit gives the parser: its packet bytes, its presentation time, and the
/// coded size and crop of a sequence header it carries (NVDEC's parser reports the display
/// area's right/bottom edges but drops the left/top crop offsets, so the crop is read here).
pub(crate) struct Packet {
    /// The timestamp of the access unit, when known.
    pub pts: Option<crate::api::codec::Timestamp>,
    /// Coded size and crop of the sequence header in this access unit, if one parsed.
    pub crop: Option<(Dimensions, CropRect)>,
}

/// Writes `au` into `out` as the parser's packet for `codec` (H.264/HEVC: Annex-B, each NAL
/// unit behind a 4-byte start code). The decoder's one use of [`AccessUnit`].
pub(crate) fn packet(codec: Codec, au: &AccessUnit, out: &mut Vec<u8>) -> Packet {
    out.clear();
    let mut crop = None;
    for nal in &au.nals {
        if nal::is_parameter_set(codec, nal) {
            let info = match (codec, nal::nal_type(codec, nal)) {
                (Codec::H264, Some(7)) => Some(sps::parse_h264_sps(nal)),
                (Codec::Hevc, Some(33)) => Some(sps::parse_hevc_sps(nal)),
                _ => None,
            };
            // A sequence header we cannot parse is left to NVDEC's parser to judge.
            if let Some(Ok(info)) = info {
                crop = Some((info.coded, info.crop));
            }
        }
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(nal);
    }
    Packet { pts: au.pts, crop }
}
