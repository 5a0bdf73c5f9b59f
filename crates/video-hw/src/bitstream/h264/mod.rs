//! H.264 / AVC: NAL units (shared machinery in [`super::nal`], [`super::access_unit`]...),
//! the SPS ([`super::sps`]) and the `avcC` record ([`avcc`]).

pub mod avcc;

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
use avcc::AvcDecoderConfigurationRecord;

/// The H.264 room.
#[derive(Debug, Clone, Copy)]
pub struct H264;

impl CodecSyntax for H264 {
    fn codec(&self) -> Codec {
        Codec::H264
    }
    fn framing(&self) -> Framing {
        Framing::NalUnits
    }
    fn is_keyframe(&self, unit: &[u8]) -> bool {
        nal::is_keyframe(Codec::H264, unit)
    }
    fn is_picture(&self, unit: &[u8]) -> bool {
        nal::is_vcl(Codec::H264, unit)
    }
    fn write_decoder_bytes(&self, au: &AccessUnit, out: &mut Vec<u8>) {
        au.write_annexb(out);
    }
    fn picture_tally(&self) -> Box<dyn PictureTally> {
        Box::new(PictureCounter::new(Codec::H264))
    }
    fn feature_track(&self) -> Box<dyn FeatureTrack> {
        Box::new(StreamFeatureTracker::new(Codec::H264))
    }
    fn sequence_track(&self) -> Box<dyn SequenceTrack> {
        Box::new(ParameterSetCache::new(Codec::H264))
    }
    fn parse_config_record(&self, record: &[u8]) -> Result<ConfigRecord> {
        let avcc = AvcDecoderConfigurationRecord::parse(record)?;
        let info = avcc
            .sps()
            .first()
            .and_then(|s| super::sps::parse_h264_sps(s).ok());
        Ok(ConfigRecord {
            headers: avcc.parameter_sets(),
            length_size: Some(avcc.length_size()),
            info,
        })
    }
}
