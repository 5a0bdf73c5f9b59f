//! Access-unit assembly for H.264 and HEVC.

use super::annexb::Nal;
use crate::api::codec::{Codec, Timestamp};
use crate::api::error::Result;

/// The NAL units of one coded picture (plus the parameter sets and SEI before it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessUnit {
    /// The codec.
    pub codec: Codec,
    /// The NAL units in stream order, without start codes.
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
        let _ = (codec, nals, pts);
        todo!("bitstream helper")
    }

    /// The access unit as an Annex-B byte string (4-byte start codes).
    pub fn to_annexb(&self) -> Vec<u8> {
        todo!("bitstream helper")
    }

    /// The access unit with `length_size`-byte big-endian length prefixes.
    pub fn to_length_prefixed(&self, length_size: u8) -> Result<Vec<u8>> {
        let _ = length_size;
        todo!("bitstream helper")
    }
}

/// Groups NAL units into access units.
#[derive(Debug)]
pub struct AccessUnitAssembler {}

impl AccessUnitAssembler {
    /// An assembler for `codec`.
    pub fn new(codec: Codec) -> Self {
        let _ = codec;
        todo!("bitstream helper")
    }

    /// Feeds one NAL unit; each access unit it completes is appended to `out`.
    pub fn push(&mut self, nal: Nal, out: &mut Vec<AccessUnit>) {
        let _ = (nal, out);
        todo!("bitstream helper")
    }

    /// Ends the stream: the pending access unit, if any, is appended to `out`.
    pub fn finish(&mut self, out: &mut Vec<AccessUnit>) {
        let _ = out;
        todo!("bitstream helper")
    }
}
