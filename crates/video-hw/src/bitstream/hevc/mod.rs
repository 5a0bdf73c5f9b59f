//! H.265 / HEVC: NAL units (shared machinery in [`super::nal`], [`super::access_unit`]...),
//! the SPS ([`super::sps`]) and the `hvcC` record ([`hvcc`]).

pub mod hvcc;

use super::access_unit::AccessUnit;
use super::nal;
use super::param_sets::ParameterSetCache;
use super::picture_count::PictureCounter;
use super::stream_features::StreamFeatureTracker;
use super::syntax::{
    CodecSyntax, ConfigRecord, FeatureTrack, Framing, PictureTally, SequenceTrack,
};
use crate::api::codec::Codec;
use crate::api::error::Result;
use hvcc::HevcDecoderConfigurationRecord;

/// The HEVC room.
#[derive(Debug, Clone, Copy)]
pub struct Hevc;

impl CodecSyntax for Hevc {
    fn codec(&self) -> Codec {
        Codec::Hevc
    }
    fn framing(&self) -> Framing {
        Framing::NalUnits
    }
    fn is_keyframe(&self, unit: &[u8]) -> bool {
        nal::is_keyframe(Codec::Hevc, unit)
    }
    fn is_picture(&self, unit: &[u8]) -> bool {
        nal::is_vcl(Codec::Hevc, unit)
    }
    fn write_decoder_bytes(&self, au: &AccessUnit, out: &mut Vec<u8>) {
        au.write_annexb(out);
    }
    fn picture_tally(&self) -> Box<dyn PictureTally> {
        Box::new(PictureCounter::new(Codec::Hevc))
    }
    fn feature_track(&self) -> Box<dyn FeatureTrack> {
        Box::new(StreamFeatureTracker::new(Codec::Hevc))
    }
    fn sequence_track(&self) -> Box<dyn SequenceTrack> {
        Box::new(ParameterSetCache::new(Codec::Hevc))
    }
    fn parse_config_record(&self, record: &[u8]) -> Result<ConfigRecord> {
        let hvcc = HevcDecoderConfigurationRecord::parse(record)?;
        let info = hvcc
            .sps()
            .next()
            .and_then(|s| super::sps::parse_hevc_sps(s).ok());
        Ok(ConfigRecord {
            headers: hvcc.parameter_sets(),
            length_size: Some(hvcc.length_size()),
            info,
        })
    }
}
