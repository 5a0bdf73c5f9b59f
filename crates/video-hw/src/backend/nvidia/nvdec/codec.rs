//! NVDEC's view of each codec, in one place: the `cudaVideoCodec` it is decoded as, the field
//! codings NVDEC outputs for it, and how one access unit becomes one parser packet. A codec
//! NVDEC gains is a row in each of these three (the probe and the capability table ask NVDEC
//! through [`nv_codec`] for every [`Codec`]).

use super::ffi::{cudaVideoCodec, cudaVideoCodec_H264, cudaVideoCodec_HEVC, cudaVideoCodec_VP9};
use crate::api::codec::{Codec, Dimensions};
use crate::api::error::{Result, VideoError};
use crate::api::frame::CropRect;
use crate::bitstream::stream_features::FieldCoding;
use crate::bitstream::{AccessUnit, syntax};

/// The `cudaVideoCodec` NVDEC decodes `codec` as; `Unsupported` when it has none.
pub(crate) fn nv_codec(codec: Codec) -> Result<cudaVideoCodec> {
    match codec {
        Codec::H264 => Ok(cudaVideoCodec_H264),
        Codec::Hevc => Ok(cudaVideoCodec_HEVC),
        Codec::Vp9 => Ok(cudaVideoCodec_VP9),
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
        // Every other codec codes frames only.
        _ => vec![FieldCoding::Progressive],
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

/// Writes `au` into `out` as the parser's packet for `codec` (what its room says decoders
/// take: Annex-B for NAL-unit codecs, the packet as is otherwise). The decoder's one use of
/// [`AccessUnit`].
pub(crate) fn packet(codec: Codec, au: &AccessUnit, out: &mut Vec<u8>) -> Packet {
    let room = syntax(codec);
    out.clear();
    room.write_decoder_bytes(au, out);
    // A sequence header we cannot parse is left to NVDEC's parser to judge.
    let mut sequence = room.sequence_track();
    sequence.observe(au);
    let crop = sequence.active().map(|info| (info.coded, info.crop));
    Packet { pts: au.pts, crop }
}
