//! Splitting an Annex-B stream into segments that decode independently, so that several
//! decoders (NVDEC engines) can share one stream.
//!
//! A segment starts at an IDR access unit: H.264 `nal_unit_type` 5, HEVC `IDR_W_RADL` or
//! `IDR_N_LP`. Not at a CRA or BLA picture, whose leading pictures may reference pictures of
//! the segment before. A segment that does not carry the parameter sets in force at its start
//! gets them prepended (the latest VPS/SPS/PPS of each id seen before it).
//!
//! Every picture before an IDR picture in decoding order precedes it in output order (H.264
//! 8.2.5.1 with `no_output_of_prior_pics_flag` 0, HEVC 7.4.3.x / C.5.2.2), so decoding the
//! segments one by one, each to its end, gives the frames of the whole stream in the same
//! order as one decoder does. The exception is an IDR picture with
//! `no_output_of_prior_pics_flag` set, where one decoder drops the pictures still waiting
//! and a segmented decode outputs them.

use super::access_unit::AccessUnit;
use super::nal::{self, h264_type, hevc_type};
use super::param_sets::ParameterSetCache;
use crate::api::codec::Codec;

/// One independently decodable piece of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Position among the segments (0 first).
    pub index: usize,
    /// Index of its first access unit in the whole stream.
    pub first_access_unit: usize,
    /// Access units in it.
    pub access_units: usize,
    /// Annex-B bytes: the parameter sets it lacks, then its access units as they were.
    pub data: Vec<u8>,
    /// Bytes of parameter sets prepended (0 for the first segment and for segments that
    /// carry their own).
    pub prepended: usize,
    /// Access units of the next segment appended to this one's data, so that pictures which
    /// need this segment's pictures as references come out here (HEVC: a CRA picture and its
    /// RASL pictures, see [`super::split_at_random_access`]); 0 for a cut at an IDR picture.
    pub lookahead: usize,
    /// Leading access units of this segment left out of its data (the RASL pictures of the
    /// CRA picture it starts with, which the segment before decodes).
    pub skipped: usize,
    /// Frames to drop at the end of this segment's output (in output order): the appended
    /// CRA picture, which the next segment outputs.
    pub drop_last: usize,
}

/// Whether the access unit holds an IDR picture (a segment may start there).
pub fn is_idr(au: &AccessUnit) -> bool {
    au.nals
        .iter()
        .any(|n| match (au.codec, nal::nal_type(au.codec, n)) {
            (Codec::Hevc, Some(t)) => t == hevc_type::IDR_W_RADL || t == hevc_type::IDR_N_LP,
            (Codec::Hevc, None) => false,
            (_, Some(t)) => t == h264_type::IDR,
            (_, None) => false,
        })
}

/// Cuts `units` (a whole stream, in order) into segments of at least `min_access_units`
/// access units (the last may be shorter), each starting at an IDR access unit. A stream
/// with no IDR picture after its start is one segment.
pub fn split_at_idr(codec: Codec, units: &[AccessUnit], min_access_units: usize) -> Vec<Segment> {
    let mut params = ParameterSetCache::new(codec);
    let mut segments: Vec<Segment> = Vec::new();
    let mut current: Option<Segment> = None;
    for (i, au) in units.iter().enumerate() {
        let long_enough = current
            .as_ref()
            .is_some_and(|s| s.access_units >= min_access_units.max(1));
        if current.is_none() || (long_enough && is_idr(au)) {
            if let Some(done) = current.take() {
                segments.push(done);
            }
            let mut data = Vec::new();
            if !segments.is_empty() {
                for ps in missing_parameter_sets(codec, &params, au) {
                    data.extend_from_slice(&[0, 0, 0, 1]);
                    data.extend_from_slice(&ps);
                }
            }
            current = Some(Segment {
                index: segments.len(),
                first_access_unit: i,
                access_units: 0,
                prepended: data.len(),
                data,
                lookahead: 0,
                skipped: 0,
                drop_last: 0,
            });
        }
        for n in &au.nals {
            if nal::is_parameter_set(codec, n) {
                // One that does not parse is left out of later segments' prefixes; the
                // decoder judges it where it stands.
                let _ = params.insert(n);
            }
        }
        let seg = current.as_mut().expect("set above");
        seg.data.extend_from_slice(&au.to_annexb());
        seg.access_units = seg.access_units.saturating_add(1);
    }
    segments.extend(current);
    segments
}

/// The cached parameter sets, but those the access unit carries itself (byte for byte).
pub(super) fn missing_parameter_sets(
    codec: Codec,
    params: &ParameterSetCache,
    au: &AccessUnit,
) -> Vec<Vec<u8>> {
    let own: Vec<&[u8]> = au
        .nals
        .iter()
        .filter(|n| nal::is_parameter_set(codec, n))
        .map(Vec::as_slice)
        .collect();
    params
        .parameter_sets()
        .into_iter()
        .filter(|p| !own.contains(&p.as_slice()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h264_au(codec: Codec, nals: &[&[u8]]) -> AccessUnit {
        AccessUnit::from_nals(codec, nals.iter().map(|n| n.to_vec()).collect(), None)
    }

    // The SPS and PPS of the conformance stream BA_MW_D.264, and slice heads (splitting
    // reads only NAL types; the parameter sets must parse to be cached).
    const SPS: &[u8] = &[0x67, 0x42, 0xe0, 0x0a, 0x96, 0x52, 0x85, 0x89, 0xc8];
    const PPS: &[u8] = &[0x68, 0xc9, 0x23, 0x88];
    const IDR: &[u8] = &[0x65, 0x88, 0x80, 0x40, 0x01, 0x5c];
    const P: &[u8] = &[0x21, 0x9a, 0x02, 0x05, 0x82, 0xa5];

    fn stream(gops: &[usize], params_once: bool) -> Vec<AccessUnit> {
        let mut units = Vec::new();
        for (g, &len) in gops.iter().enumerate() {
            for i in 0..len {
                let mut nals: Vec<&[u8]> = Vec::new();
                if i == 0 && (g == 0 || !params_once) {
                    nals.extend([SPS, PPS]);
                }
                nals.push(if i == 0 { IDR } else { P });
                units.push(h264_au(Codec::H264, &nals));
            }
        }
        units
    }

    #[test]
    fn segments_start_at_idr_pictures_and_carry_the_parameter_sets() {
        let units = stream(&[3, 2, 4], true);
        let segs = split_at_idr(Codec::H264, &units, 1);
        assert_eq!(segs.len(), 3);
        assert_eq!(
            segs.iter().map(|s| s.access_units).collect::<Vec<_>>(),
            [3, 2, 4]
        );
        assert_eq!(
            segs.iter().map(|s| s.first_access_unit).collect::<Vec<_>>(),
            [0, 3, 5]
        );
        assert_eq!(segs[0].prepended, 0);
        for s in &segs[1..] {
            let nals: Vec<Vec<u8>> = crate::bitstream::split_annexb(&s.data)
                .into_iter()
                .map(|n| n.data)
                .collect();
            assert_eq!(nals[0], SPS, "segment {} starts with the SPS", s.index);
            assert_eq!(nals[1], PPS);
            assert_eq!(nals[2], IDR);
            assert!(s.prepended > 0);
        }
    }

    #[test]
    fn segments_that_carry_their_parameter_sets_get_nothing_prepended() {
        let segs = split_at_idr(Codec::H264, &stream(&[2, 2], false), 1);
        assert_eq!(segs.len(), 2);
        assert!(segs.iter().all(|s| s.prepended == 0));
    }

    #[test]
    fn short_pieces_are_merged_up_to_the_minimum() {
        let units = stream(&[2, 2, 2, 2, 1], true);
        let segs = split_at_idr(Codec::H264, &units, 3);
        assert_eq!(
            segs.iter().map(|s| s.access_units).collect::<Vec<_>>(),
            [4, 4, 1]
        );
    }

    #[test]
    fn a_stream_without_later_idr_pictures_is_one_segment() {
        let units = stream(&[7], true);
        let segs = split_at_idr(Codec::H264, &units, 1);
        assert_eq!(segs.len(), 1);
        assert_eq!(
            segs[0].data,
            units.iter().flat_map(|u| u.to_annexb()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn hevc_cra_pictures_do_not_start_segments() {
        // NAL headers: VPS 32, SPS 33, PPS 34 (payload bytes irrelevant to splitting), IDR_W_RADL
        // 19, CRA 21, TRAIL_R 1.
        let nal = |t: u8| vec![t << 1, 0x01, 0xaf, 0x00];
        let au = |t: u8| AccessUnit::from_nals(Codec::Hevc, vec![nal(t)], None);
        let units = vec![au(19), au(1), au(21), au(1), au(19), au(1)];
        let segs = split_at_idr(Codec::Hevc, &units, 1);
        assert_eq!(
            segs.iter().map(|s| s.first_access_unit).collect::<Vec<_>>(),
            [0, 4]
        );
    }

    proptest! {
        /// Without the prepended parameter sets, the segments put back together are the
        /// stream, whatever the GOP layout and minimum.
        #[test]
        fn segments_concatenate_to_the_stream(
            gops in proptest::collection::vec(1usize..6, 1..8),
            min in 1usize..10,
            params_once: bool,
        ) {
            let units = stream(&gops, params_once);
            let whole: Vec<u8> = units.iter().flat_map(|u| u.to_annexb()).collect();
            let segs = split_at_idr(Codec::H264, &units, min);
            let rebuilt: Vec<u8> = segs.iter().flat_map(|s| s.data[s.prepended..].to_vec()).collect();
            prop_assert_eq!(rebuilt, whole);
            prop_assert_eq!(segs.iter().map(|s| s.access_units).sum::<usize>(), units.len());
            for s in &segs[..segs.len() - 1] {
                prop_assert!(s.access_units >= min);
            }
            for s in &segs {
                prop_assert!(is_idr(&units[s.first_access_unit]));
            }
        }
    }
}
