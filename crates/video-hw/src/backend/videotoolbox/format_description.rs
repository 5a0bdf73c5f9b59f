//! Inputs of a `CMVideoFormatDescription`: which parameter sets, in which order, with which
//! NAL length size; and when a new one (so maybe a new decompression session) is needed.
//!
//! `CMVideoFormatDescriptionCreateFromH264ParameterSets` wants at least one SPS and one PPS,
//! `...FromHEVCParameterSets` at least one VPS, SPS and PPS; both take the raw NAL units
//! (header included, emulation prevention in place) in the order VPS, SPS, PPS.

use super::NAL_LENGTH_SIZE;
use crate::api::codec::Codec;
use crate::api::error::Result;
use crate::bitstream::{ParameterSetCache, StreamInfo, nal};

/// What the Apple side passes to `CMVideoFormatDescriptionCreateFrom{H264,HEVC}ParameterSets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FormatInputs {
    /// The codec (selects the H.264 or the HEVC constructor).
    pub codec: Codec,
    /// Raw parameter-set NAL units: VPSs (HEVC), then SPSs, then PPSs, each by ascending id.
    pub parameter_sets: Vec<Vec<u8>>,
    /// `NALUnitHeaderLength`: bytes of the length prefix of every sample.
    pub nal_unit_header_length: i32,
}

impl FormatInputs {
    /// The inputs from whatever `cache` holds, or `None` while a required kind is missing.
    pub(crate) fn from_cache(cache: &ParameterSetCache) -> Option<Self> {
        let codec = cache.codec();
        let (vps, sps, pps) = (
            cache.vps().count(),
            cache.sps().count(),
            cache.pps().count(),
        );
        let complete = sps > 0 && pps > 0 && (codec == Codec::H264 || vps > 0);
        complete.then(|| Self {
            codec,
            parameter_sets: cache.parameter_sets(),
            nal_unit_header_length: i32::from(NAL_LENGTH_SIZE),
        })
    }
}

/// What a parameter-set update means for the decompression session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FormatChange {
    /// Parameter sets are still incomplete: hold the input.
    Incomplete,
    /// The current format description still applies.
    Unchanged,
    /// The parameter sets changed (or arrived): build a new format description and ask the
    /// session whether it accepts it (`VTDecompressionSessionCanAcceptFormatDescription`).
    New(FormatInputs),
}

/// Follows the parameter sets of a stream and says when the format description changes.
#[derive(Debug)]
pub(crate) struct ParameterSetTracker {
    cache: ParameterSetCache,
    current: Option<FormatInputs>,
}

impl ParameterSetTracker {
    /// A tracker with nothing seen yet.
    pub(crate) fn new(codec: Codec) -> Self {
        Self {
            cache: ParameterSetCache::new(codec),
            current: None,
        }
    }

    /// Takes in the parameter sets among `nals` (an access unit, or out-of-band sets);
    /// `InvalidBitstream` when one does not parse (it is then ignored and the current
    /// description stays).
    pub(crate) fn observe(&mut self, nals: &[Vec<u8>]) -> Result<FormatChange> {
        let codec = self.cache.codec();
        let mut first_error = None;
        for n in nals.iter().filter(|n| nal::is_parameter_set(codec, n)) {
            if let Err(e) = self.cache.insert(n) {
                first_error.get_or_insert(e);
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let Some(inputs) = FormatInputs::from_cache(&self.cache) else {
            return Ok(FormatChange::Incomplete);
        };
        if self.current.as_ref() == Some(&inputs) {
            return Ok(FormatChange::Unchanged);
        }
        self.current = Some(inputs.clone());
        Ok(FormatChange::New(inputs))
    }

    /// The description in use, once complete.
    #[cfg(test)]
    pub(crate) fn current(&self) -> Option<&FormatInputs> {
        self.current.as_ref()
    }

    /// What the active SPS says (size, crop, colour, reorder depth).
    pub(crate) fn stream_info(&self) -> Option<&StreamInfo> {
        self.cache.active_stream_info()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bitstream::split_annexb;

    /// SPS and PPS of the JVT conformance stream BA1_Sony_D (Baseline, 176x144).
    pub(crate) const H264_SPS: &[u8] = &[0x27, 0x42, 0xe0, 0x0c, 0x8d, 0x8d, 0x41, 0x62, 0x72];
    pub(crate) const H264_PPS: &[u8] = &[0x28, 0xce, 0x08, 0x15, 0xc8];

    fn nals(list: &[&[u8]]) -> Vec<Vec<u8>> {
        list.iter().map(|n| n.to_vec()).collect()
    }

    fn conformance_params(codec: Codec) -> Option<Vec<Vec<u8>>> {
        let (dir, manifest) = super::super::conformance_manifest()?;
        let want = if codec == Codec::H264 { "h264" } else { "hevc" };
        let file = manifest
            .lines()
            .skip(1)
            .find(|l| l.split('\t').nth(1) == Some(want))?
            .split('\t')
            .next()?
            .to_string();
        let data = std::fs::read(format!("{dir}/{file}")).ok()?;
        Some(
            split_annexb(&data)
                .into_iter()
                .map(|n| n.data)
                .filter(|n| nal::is_parameter_set(codec, n))
                .collect(),
        )
    }

    #[test]
    fn h264_description_waits_for_both_sps_and_pps() {
        let mut t = ParameterSetTracker::new(Codec::H264);
        assert_eq!(
            t.observe(&nals(&[H264_SPS])).unwrap(),
            FormatChange::Incomplete
        );
        let FormatChange::New(inputs) = t.observe(&nals(&[H264_PPS])).unwrap() else {
            panic!("SPS + PPS should complete the description");
        };
        assert_eq!(inputs.parameter_sets, nals(&[H264_SPS, H264_PPS]));
        assert_eq!(inputs.nal_unit_header_length, 4);
        assert_eq!(t.stream_info().unwrap().coded.width(), 176);
    }

    #[test]
    fn repeated_parameter_sets_keep_the_description() {
        let mut t = ParameterSetTracker::new(Codec::H264);
        t.observe(&nals(&[H264_SPS, H264_PPS])).unwrap();
        assert_eq!(
            t.observe(&nals(&[H264_SPS, H264_PPS, &[0x65, 0x88]]))
                .unwrap(),
            FormatChange::Unchanged
        );
    }

    #[test]
    fn a_changed_sps_yields_a_new_description() {
        let mut t = ParameterSetTracker::new(Codec::H264);
        t.observe(&nals(&[H264_SPS, H264_PPS])).unwrap();
        // Same SPS id, level 1.3 instead of 1.2.
        let mut sps = H264_SPS.to_vec();
        sps[3] = 0x0d;
        assert!(matches!(
            t.observe(&[sps.clone()]).unwrap(),
            FormatChange::New(i) if i.parameter_sets[0] == sps
        ));
    }

    #[test]
    fn a_malformed_sps_is_reported_and_the_description_stays() {
        let mut t = ParameterSetTracker::new(Codec::H264);
        t.observe(&nals(&[H264_SPS, H264_PPS])).unwrap();
        let before = t.current().cloned();
        assert!(t.observe(&nals(&[&[0x67]])).is_err());
        assert_eq!(t.current().cloned(), before);
    }

    #[test]
    fn hevc_description_needs_vps_sps_and_pps_in_that_order() {
        let Some(params) = conformance_params(Codec::Hevc) else {
            eprintln!("conformance streams absent: skipping the HEVC format-description test");
            return;
        };
        let mut t = ParameterSetTracker::new(Codec::Hevc);
        let sps_pps: Vec<Vec<u8>> = params
            .iter()
            .filter(|n| nal::nal_type(Codec::Hevc, n) != Some(32))
            .cloned()
            .collect();
        assert_eq!(t.observe(&sps_pps).unwrap(), FormatChange::Incomplete);
        let FormatChange::New(inputs) = t.observe(&params).unwrap() else {
            panic!("VPS + SPS + PPS should complete the description");
        };
        let types: Vec<u8> = inputs
            .parameter_sets
            .iter()
            .filter_map(|n| nal::nal_type(Codec::Hevc, n))
            .collect();
        let mut sorted = types.clone();
        sorted.sort_unstable();
        assert_eq!(types, sorted, "VPS (32), SPS (33), PPS (34) in order");
        assert!(types.contains(&32) && types.contains(&33) && types.contains(&34));
    }

    #[test]
    fn h264_conformance_parameter_sets_complete_a_description() {
        let Some(params) = conformance_params(Codec::H264) else {
            eprintln!("conformance streams absent: skipping the H.264 format-description test");
            return;
        };
        let mut t = ParameterSetTracker::new(Codec::H264);
        assert!(matches!(t.observe(&params).unwrap(), FormatChange::New(_)));
    }
}
