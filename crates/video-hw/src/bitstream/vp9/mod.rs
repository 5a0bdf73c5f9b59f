//! VP9: frames in container packets (IVF, WebM), superframes ([`superframe`]), the start of
//! the uncompressed frame header ([`header`]) and the `vpcC` record ([`vpcc`]).
//!
//! A VP9 access unit is one packet: a frame, or a superframe of several frames of which at
//! most one is shown (an alternate reference frame travels hidden beside a shown frame).
//! Key frames carry the sequence: size, bit depth, chroma subsampling and colour space.

pub mod header;
pub mod superframe;
pub mod vpcc;

use super::access_unit::AccessUnit;
use super::sps::StreamInfo;
use super::stream_features::{FieldCoding, StreamFeatures};
use super::syntax::{
    CodecSyntax, ConfigRecord, FeatureTrack, Framing, PictureTally, SequenceTrack,
};
use crate::api::codec::{Codec, Dimensions};
use crate::api::color::{ColorDescription, ColorRange, MatrixCoefficients};
use crate::api::error::Result;
use crate::api::frame::CropRect;
pub use header::{ColorConfig, FrameHeader, parse_frame_header};
pub use superframe::split_superframe;

/// The VP9 room.
#[derive(Debug, Clone, Copy)]
pub struct Vp9;

/// The headers of the frames of one packet; frames whose header does not parse are `Err`.
fn frame_headers(unit: &[u8]) -> Vec<Result<FrameHeader>> {
    match split_superframe(unit) {
        Ok(frames) => frames.into_iter().map(parse_frame_header).collect(),
        Err(e) => vec![Err(e)],
    }
}

/// The sequence (colour config and size) of the first frame of `au` that states one.
fn sequence_of(au: &AccessUnit) -> Option<(u8, ColorConfig, Dimensions)> {
    au.nals.iter().find_map(|unit| {
        frame_headers(unit)
            .into_iter()
            .flatten()
            .find_map(|h| h.sequence.map(|(c, d)| (h.profile, c, d)))
    })
}

impl CodecSyntax for Vp9 {
    fn codec(&self) -> Codec {
        Codec::Vp9
    }
    fn framing(&self) -> Framing {
        Framing::Packets
    }
    fn is_keyframe(&self, unit: &[u8]) -> bool {
        frame_headers(unit)
            .first()
            .is_some_and(|h| h.as_ref().is_ok_and(|h| h.key_frame))
    }
    fn is_picture(&self, unit: &[u8]) -> bool {
        !unit.is_empty()
    }
    fn write_decoder_bytes(&self, au: &AccessUnit, out: &mut Vec<u8>) {
        for unit in &au.nals {
            out.extend_from_slice(unit);
        }
    }
    fn picture_tally(&self) -> Box<dyn PictureTally> {
        Box::<Vp9Pictures>::default()
    }
    fn feature_track(&self) -> Box<dyn FeatureTrack> {
        Box::<Vp9Features>::default()
    }
    fn sequence_track(&self) -> Box<dyn SequenceTrack> {
        Box::<Vp9Sequence>::default()
    }
    fn parse_config_record(&self, record: &[u8]) -> Result<ConfigRecord> {
        // The record checks the profile and depth; the size comes with the first key frame.
        vpcc::VpCodecConfigurationRecord::parse(record)?;
        Ok(ConfigRecord {
            headers: Vec::new(),
            length_size: None,
            info: None,
        })
    }
}

/// Shown frames (and frames shown again) are pictures for output; hidden frames are not.
#[derive(Debug, Default)]
struct Vp9Pictures {
    pictures: u64,
    not_output: u64,
}

impl PictureTally for Vp9Pictures {
    fn push(&mut self, au: &AccessUnit) {
        for unit in &au.nals {
            for header in frame_headers(unit) {
                match header {
                    Ok(h) if !h.is_output() => self.not_output = self.not_output.saturating_add(1),
                    // A frame whose header cannot be read is one picture the decoder must
                    // account for.
                    _ => self.pictures = self.pictures.saturating_add(1),
                }
            }
        }
    }
    fn pictures(&self) -> u64 {
        self.pictures
    }
    fn not_output(&self) -> u64 {
        self.not_output
    }
    fn restart(&mut self) {
        *self = Self::default();
    }
}

/// The features a decoder must support, from the latest key-frame (or intra-only) header.
#[derive(Debug, Default)]
struct Vp9Features {
    current: Option<StreamFeatures>,
}

impl FeatureTrack for Vp9Features {
    fn observe(&mut self, au: &AccessUnit) -> Option<&StreamFeatures> {
        let (profile, color, size) = sequence_of(au)?;
        let features = StreamFeatures {
            codec: Codec::Vp9,
            profile_idc: profile,
            bit_depth: color.bit_depth,
            chroma_format_idc: color.chroma_format_idc(),
            coded: size,
            field_coding: FieldCoding::Progressive,
            tools: Vec::new(),
        };
        if self.current.as_ref() == Some(&features) {
            return None;
        }
        self.current = Some(features);
        self.current.as_ref()
    }
    fn current(&self) -> Option<&StreamFeatures> {
        self.current.as_ref()
    }
}

/// The sequence in force, from the latest key-frame (or intra-only) header.
#[derive(Debug, Default)]
struct Vp9Sequence {
    active: Option<StreamInfo>,
}

/// The colour description a VP9 `color_space` and `color_range` state.
pub fn color_description(color: &ColorConfig) -> ColorDescription {
    let matrix = match color.color_space {
        1 | 3 => MatrixCoefficients::Bt601,
        2 => MatrixCoefficients::Bt709,
        5 => MatrixCoefficients::Bt2020Ncl,
        header::CS_RGB => MatrixCoefficients::Identity,
        _ => MatrixCoefficients::Unspecified,
    };
    ColorDescription {
        matrix,
        range: if color.full_range {
            ColorRange::Full
        } else {
            ColorRange::Limited
        },
        ..ColorDescription::default()
    }
}

/// What a frame header with a sequence says, as a [`StreamInfo`].
pub fn stream_info(profile: u8, color: &ColorConfig, size: Dimensions) -> StreamInfo {
    StreamInfo {
        codec: Codec::Vp9,
        sps_id: 0,
        coded: size,
        crop: CropRect::full(size),
        display: size,
        color: color_description(color),
        profile_idc: profile,
        level_idc: 0,
        bit_depth_luma: color.bit_depth,
        bit_depth_chroma: color.bit_depth,
        chroma_format_idc: color.chroma_format_idc(),
        frame_rate: None,
        // Frames come out in decode order: hidden frames are never output later.
        max_num_reorder_frames: Some(0),
        max_dec_frame_buffering: Some(8),
    }
}

impl SequenceTrack for Vp9Sequence {
    fn observe(&mut self, au: &AccessUnit) {
        if let Some((profile, color, size)) = sequence_of(au) {
            self.active = Some(stream_info(profile, &color, size));
        }
    }
    fn active(&self) -> Option<&StreamInfo> {
        self.active.as_ref()
    }
    fn headers(&self) -> Vec<Vec<u8>> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests;
