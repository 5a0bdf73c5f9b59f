//! Compressed data going into a decoder and coming out of an encoder.

use super::codec::{Codec, Timestamp};
use std::fmt;

/// How the NAL units of a packet are delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BitstreamLayout {
    /// Start codes (`00 00 01` / `00 00 00 01`) before each NAL unit (H.264/H.265 Annex B).
    AnnexB,
    /// Big-endian length prefix before each NAL unit, H.264 (ISO/IEC 14496-15 `avc1`).
    Avcc {
        /// Bytes in each length prefix: 1, 2 or 4.
        length_size: u8,
    },
    /// Big-endian length prefix before each NAL unit, HEVC (ISO/IEC 14496-15 `hvc1`).
    Hvcc {
        /// Bytes in each length prefix: 1, 2 or 4.
        length_size: u8,
    },
}

impl BitstreamLayout {
    /// The length-prefixed layout of `codec` with 4-byte prefixes; `None` for codecs
    /// without NAL units.
    pub fn length_prefixed(codec: Codec) -> Option<Self> {
        Self::length_prefixed_sized(codec, 4)
    }

    /// The length-prefixed layout of `codec` with `length_size`-byte prefixes; `None` for
    /// codecs without NAL units.
    pub fn length_prefixed_sized(codec: Codec, length_size: u8) -> Option<Self> {
        match codec {
            Codec::H264 => Some(BitstreamLayout::Avcc { length_size }),
            Codec::Hevc => Some(BitstreamLayout::Hvcc { length_size }),
            _ => None,
        }
    }

    /// The length-prefix size, or `None` for Annex-B.
    pub fn length_size(self) -> Option<u8> {
        match self {
            BitstreamLayout::AnnexB => None,
            BitstreamLayout::Avcc { length_size } | BitstreamLayout::Hvcc { length_size } => {
                Some(length_size)
            }
        }
    }
}

/// Compressed input for a decoder.
#[derive(Clone)]
#[non_exhaustive]
pub enum DecodeInput {
    /// Any slice of an Annex-B byte stream: chunk boundaries may fall anywhere, even inside
    /// a start code. Access units are assembled by the session.
    AnnexB {
        /// The bytes.
        data: Vec<u8>,
        /// Presentation time of the first access unit that starts in this chunk.
        pts: Option<Timestamp>,
    },
    /// One complete access unit as raw NAL units (no start codes, no length prefixes).
    AccessUnit {
        /// The NAL units, in order.
        nals: Vec<Vec<u8>>,
        /// Presentation time.
        pts: Option<Timestamp>,
    },
    /// One complete access unit in length-prefixed form (an MP4 sample).
    LengthPrefixed {
        /// The sample bytes.
        data: Vec<u8>,
        /// Bytes in each length prefix: 1, 2 or 4.
        length_size: u8,
        /// Presentation time.
        pts: Option<Timestamp>,
    },
    /// One complete access unit as a container stores it: for packet codecs (VP9) one
    /// frame or superframe, for NAL-unit codecs one access unit in Annex-B form.
    Packet {
        /// The packet bytes.
        data: Vec<u8>,
        /// Presentation time.
        pts: Option<Timestamp>,
    },
}

impl DecodeInput {
    /// An Annex-B chunk without a timestamp.
    pub fn annexb(data: impl Into<Vec<u8>>) -> Self {
        DecodeInput::AnnexB {
            data: data.into(),
            pts: None,
        }
    }

    /// The presentation time attached to this input.
    pub fn pts(&self) -> Option<Timestamp> {
        match self {
            DecodeInput::AnnexB { pts, .. }
            | DecodeInput::AccessUnit { pts, .. }
            | DecodeInput::LengthPrefixed { pts, .. }
            | DecodeInput::Packet { pts, .. } => *pts,
        }
    }

    /// Payload bytes carried (for metrics).
    pub fn byte_len(&self) -> usize {
        match self {
            DecodeInput::AnnexB { data, .. }
            | DecodeInput::LengthPrefixed { data, .. }
            | DecodeInput::Packet { data, .. } => data.len(),
            DecodeInput::AccessUnit { nals, .. } => nals.iter().map(Vec::len).sum(),
        }
    }
}

impl fmt::Debug for DecodeInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeInput::AnnexB { data, pts } => f
                .debug_struct("AnnexB")
                .field("len", &data.len())
                .field("pts", pts)
                .finish(),
            DecodeInput::Packet { data, pts } => f
                .debug_struct("Packet")
                .field("len", &data.len())
                .field("pts", pts)
                .finish(),
            DecodeInput::AccessUnit { nals, pts } => f
                .debug_struct("AccessUnit")
                .field("nals", &nals.len())
                .field("pts", pts)
                .finish(),
            DecodeInput::LengthPrefixed {
                data,
                length_size,
                pts,
            } => f
                .debug_struct("LengthPrefixed")
                .field("len", &data.len())
                .field("length_size", length_size)
                .field("pts", pts)
                .finish(),
        }
    }
}

/// One encoded access unit.
#[derive(Clone)]
pub struct EncodedChunk {
    /// The codec of `data`.
    pub codec: Codec,
    /// How the NAL units in `data` are delimited.
    pub layout: BitstreamLayout,
    /// Presentation time.
    pub pts: Option<Timestamp>,
    /// Decode time (equals `pts` without B-frames).
    pub dts: Option<Timestamp>,
    /// Whether this access unit is a random-access point (IDR/IRAP).
    pub keyframe: bool,
    /// The session generation that produced it (see session switching); 0 for the first.
    pub generation: u64,
    /// The bytes.
    pub data: Vec<u8>,
}

impl fmt::Debug for EncodedChunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncodedChunk")
            .field("codec", &self.codec)
            .field("layout", &self.layout)
            .field("pts", &self.pts)
            .field("dts", &self.dts)
            .field("keyframe", &self.keyframe)
            .field("generation", &self.generation)
            .field("len", &self.data.len())
            .finish()
    }
}
