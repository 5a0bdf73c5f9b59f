//! One room per codec: what the library knows of a codec's bitstream without a decoder.
//!
//! Each codec implements [`CodecSyntax`] in its own folder (`h264/`, `hevc/`, `vp9/`), and
//! [`syntax`] finds it. Sessions, containers and backends work on codec-neutral
//! [`AccessUnit`]s plus what a room reports: keyframes, the sequence in force (size, crop,
//! colour, profile, bit depth), the pictures for output, the features a decoder must support,
//! and the decoder configuration record of the container.

use super::access_unit::AccessUnit;
use super::sps::StreamInfo;
use super::stream_features::StreamFeatures;
use crate::api::codec::Codec;
use crate::api::error::Result;

/// How the access units of a codec travel in a byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// NAL units (Annex-B start codes or length prefixes), grouped into access units by the
    /// library (H.264, HEVC).
    NalUnits,
    /// Whole frames, one container packet per access unit (VP9: a frame or a superframe).
    /// Each such packet is one unit of its access unit.
    Packets,
}

/// Counts the pictures a stream holds for output, access unit by access unit.
pub trait PictureTally: Send + std::fmt::Debug {
    /// Counts the pictures of `au`.
    fn push(&mut self, au: &AccessUnit);
    /// Pictures counted for output since the start or the last [`Self::restart`].
    fn pictures(&self) -> u64;
    /// Pictures the stream marks as not for output.
    fn not_output(&self) -> u64;
    /// Starts a new stream (after a flush).
    fn restart(&mut self);
}

/// Follows the features of a stream that decide whether a decoder decodes it exactly.
pub trait FeatureTrack: Send + std::fmt::Debug {
    /// Reads `au`; the features when they changed (a new sequence, or a coding tool new to
    /// it), so that the decoder can be checked again before the access unit is decoded.
    fn observe(&mut self, au: &AccessUnit) -> Option<&StreamFeatures>;
    /// The features known so far.
    fn current(&self) -> Option<&StreamFeatures>;
}

/// Follows the sequence headers of a stream (parameter sets, key-frame headers).
pub trait SequenceTrack: Send + std::fmt::Debug {
    /// Notes the sequence headers `au` carries. A malformed one is the decoder's to report.
    fn observe(&mut self, au: &AccessUnit);
    /// What the sequence in force says (size, crop, colour...).
    fn active(&self) -> Option<&StreamInfo>;
    /// Units a decoder must see again before a picture it is given out of stream order
    /// (NAL codecs: every known parameter set; empty where frames carry their own).
    fn headers(&self) -> Vec<Vec<u8>>;
}

/// What a decoder configuration record (`avcC`, `hvcC`, `vpcC`) holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigRecord {
    /// Units to hand the decoder before the first sample (parameter sets), in order.
    pub headers: Vec<Vec<u8>>,
    /// Bytes of each length prefix in the samples (NAL codecs), `None` for packet codecs.
    pub length_size: Option<u8>,
    /// What the record states about the stream, when it states enough.
    pub info: Option<StreamInfo>,
}

/// A codec's bitstream knowledge. Implementations are stateless; state lives in the
/// trackers they make.
pub trait CodecSyntax: Sync {
    /// The codec.
    fn codec(&self) -> Codec;
    /// How access units travel.
    fn framing(&self) -> Framing;
    /// Whether decoding can start at the unit (an IDR/IRAP NAL unit, a VP9 key frame).
    fn is_keyframe(&self, unit: &[u8]) -> bool;
    /// Whether the unit carries coded picture data.
    fn is_picture(&self, unit: &[u8]) -> bool;
    /// Appends the access unit as its decoders take it (Annex-B for NAL codecs, the packet
    /// as is for packet codecs) to `out`.
    fn write_decoder_bytes(&self, au: &AccessUnit, out: &mut Vec<u8>);
    /// [`Self::write_decoder_bytes`] into a new buffer.
    fn decoder_bytes(&self, au: &AccessUnit) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_decoder_bytes(au, &mut out);
        out
    }
    /// A picture counter at the start of a stream.
    fn picture_tally(&self) -> Box<dyn PictureTally>;
    /// A feature tracker at the start of a stream.
    fn feature_track(&self) -> Box<dyn FeatureTrack>;
    /// A sequence tracker at the start of a stream.
    fn sequence_track(&self) -> Box<dyn SequenceTrack>;
    /// Parses the container's decoder configuration record.
    fn parse_config_record(&self, record: &[u8]) -> Result<ConfigRecord>;
}

/// The room of `codec`.
pub fn syntax(codec: Codec) -> &'static dyn CodecSyntax {
    match codec {
        Codec::H264 => &super::h264::H264,
        Codec::Hevc => &super::hevc::HEVC,
        Codec::Vp9 => &super::vp9::Vp9,
    }
}
