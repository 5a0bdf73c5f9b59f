//! What the NAL-unit codecs (H.264, HEVC) share behind the room traits of [`super::syntax`]:
//! one room type ([`NalSyntax`], one value per codec in its folder) and one parameter-set
//! cache, picture counter and feature tracker for both.

use super::access_unit::AccessUnit;
use super::nal;
use super::param_sets::ParameterSetCache;
use super::picture_count::PictureCounter;
use super::sps::StreamInfo;
use super::stream_features::{StreamFeatureTracker, StreamFeatures};
use super::syntax::{
    CodecSyntax, ConfigRecord, FeatureTrack, Framing, PictureTally, SequenceTrack,
};
use crate::api::codec::Codec;
use crate::api::error::Result;

/// The room of a NAL-unit codec: the shared machinery, plus the codec's own configuration
/// record parser.
#[derive(Debug)]
pub struct NalSyntax {
    pub(crate) codec: Codec,
    pub(crate) parse_record: fn(&[u8]) -> Result<ConfigRecord>,
}

impl CodecSyntax for NalSyntax {
    fn codec(&self) -> Codec {
        self.codec
    }
    fn framing(&self) -> Framing {
        Framing::NalUnits
    }
    fn is_keyframe(&self, unit: &[u8]) -> bool {
        nal::is_keyframe(self.codec, unit)
    }
    fn is_picture(&self, unit: &[u8]) -> bool {
        nal::is_vcl(self.codec, unit)
    }
    fn write_decoder_bytes(&self, au: &AccessUnit, out: &mut Vec<u8>) {
        au.write_annexb(out);
    }
    fn picture_tally(&self) -> Box<dyn PictureTally> {
        Box::new(PictureCounter::new(self.codec))
    }
    fn feature_track(&self) -> Box<dyn FeatureTrack> {
        Box::new(StreamFeatureTracker::new(self.codec))
    }
    fn sequence_track(&self) -> Box<dyn SequenceTrack> {
        Box::new(ParameterSetCache::new(self.codec))
    }
    fn parse_config_record(&self, record: &[u8]) -> Result<ConfigRecord> {
        (self.parse_record)(record)
    }
}

impl PictureTally for PictureCounter {
    fn push(&mut self, au: &AccessUnit) {
        PictureCounter::push(self, au);
    }
    fn pictures(&self) -> u64 {
        PictureCounter::pictures(self)
    }
    fn not_output(&self) -> u64 {
        PictureCounter::not_output(self)
    }
    fn restart(&mut self) {
        PictureCounter::restart(self);
    }
}

impl FeatureTrack for StreamFeatureTracker {
    fn observe(&mut self, au: &AccessUnit) -> Option<&StreamFeatures> {
        StreamFeatureTracker::observe(self, au)
    }
    fn current(&self) -> Option<&StreamFeatures> {
        StreamFeatureTracker::current(self)
    }
}

impl SequenceTrack for ParameterSetCache {
    fn observe(&mut self, au: &AccessUnit) {
        let codec = self.codec();
        for n in au.nals.iter().filter(|n| nal::is_parameter_set(codec, n)) {
            // A malformed parameter set is the decoder's to report.
            let _ = self.insert(n);
        }
    }
    fn active(&self) -> Option<&StreamInfo> {
        self.active_stream_info()
    }
    fn headers(&self) -> Vec<Vec<u8>> {
        self.parameter_sets()
    }
}
