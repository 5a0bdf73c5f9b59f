//! A frame taken out of a stream container (Matroska/WebM, MPEG-TS), ready for a decoder.

use crate::api::codec::Timestamp;
use crate::api::packet::DecodeInput;

/// How the bytes of a [`DemuxedFrame`] are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameLayout {
    /// NAL units with big-endian length prefixes of this many bytes (Matroska H.264/HEVC).
    LengthPrefixed(u8),
    /// NAL units with start codes (MPEG-TS); may hold part of an access unit or several.
    AnnexB,
    /// One whole frame of a packet codec (VP9 frame or superframe).
    Packet,
}

/// One frame (block, or PES packet) of the video track.
#[derive(Clone, PartialEq, Eq)]
pub struct DemuxedFrame {
    /// The frame bytes.
    pub data: Vec<u8>,
    /// How `data` is laid out.
    pub layout: FrameLayout,
    /// Presentation time, when the container states one.
    pub pts: Option<Timestamp>,
    /// Whether the container marks it a keyframe (`None`: it does not say).
    pub keyframe: Option<bool>,
    /// Byte offset in the file of the block or packet it came from.
    pub offset: u64,
}

impl std::fmt::Debug for DemuxedFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemuxedFrame")
            .field("len", &self.data.len())
            .field("layout", &self.layout)
            .field("pts", &self.pts.map(|t| t.ticks))
            .field("keyframe", &self.keyframe)
            .field("offset", &self.offset)
            .finish()
    }
}

impl DemuxedFrame {
    /// The frame as decoder input.
    pub fn into_decode_input(self) -> DecodeInput {
        match self.layout {
            FrameLayout::LengthPrefixed(length_size) => DecodeInput::LengthPrefixed {
                data: self.data,
                length_size,
                pts: self.pts,
            },
            FrameLayout::AnnexB => DecodeInput::AnnexB {
                data: self.data,
                pts: self.pts,
            },
            FrameLayout::Packet => DecodeInput::Packet {
                data: self.data,
                pts: self.pts,
            },
        }
    }
}

/// `nals` with `length_size`-byte big-endian length prefixes, then `tail`.
pub(crate) fn prefix_parameter_sets(nals: &[Vec<u8>], length_size: u8, tail: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        tail.len()
            .saturating_add(nals.iter().map(Vec::len).sum::<usize>())
            .saturating_add(nals.len().saturating_mul(4)),
    );
    for nal in nals {
        let len = nal.len().to_be_bytes();
        out.extend_from_slice(&len[len.len().saturating_sub(usize::from(length_size))..]);
        out.extend_from_slice(nal);
    }
    out.extend_from_slice(tail);
    out
}
