//! The trackers of the NAL-unit codecs (H.264, HEVC), behind the room traits of
//! [`super::syntax`]: one parameter-set cache, picture counter and feature tracker serve both.

use super::access_unit::AccessUnit;
use super::nal;
use super::param_sets::ParameterSetCache;
use super::picture_count::PictureCounter;
use super::sps::StreamInfo;
use super::stream_features::{StreamFeatureTracker, StreamFeatures};
use super::syntax::{FeatureTrack, PictureTally, SequenceTrack};

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
