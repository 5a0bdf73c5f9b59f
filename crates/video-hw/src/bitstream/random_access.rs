//! Cutting a stream for several decoders at every random-access point, not only at IDR
//! pictures: HEVC streams with open GOPs (x265's default) start their GOPs at CRA pictures
//! and may hold a single IDR picture.
//!
//! A CRA picture's leading pictures follow it in decoding order and precede it in output
//! order (HEVC 7.4.3.x). RADL pictures reference only the CRA picture and its followers; RASL
//! pictures may also reference pictures before the CRA picture, so a decoder that starts at
//! the CRA picture cannot decode them (it drops them: `NoRaslOutputFlag`, 8.1.3). A cut at
//! a CRA picture `C` whose leading pictures are all RASL pictures (RADL pictures would come
//! out twice; such a CRA picture is not a cut) therefore goes:
//! - the segment before decodes its own pictures, then `C` and `C`'s RASL pictures
//!   ([`Segment::lookahead`]), and drops its last frame in output order, which is `C` (every
//!   picture before `C` in decoding order precedes it in output order, and so do its leading
//!   pictures) ([`Segment::drop_last`]);
//! - the segment that starts at `C` leaves the RASL pictures out ([`Segment::skipped`]): no
//!   decoder sees a picture it cannot decode, and no trailing picture references a RASL
//!   picture (8.3.2).
//!
//! Every picture of the stream thus comes out exactly once, in the stream's output order.
//! Assumed, as encoders write: the CRA picture is output (`pic_output_flag` 1).

use super::access_unit::AccessUnit;
use super::nal::{self, hevc_type};
use super::param_sets::ParameterSetCache;
use super::segment::{Segment, is_idr, missing_parameter_sets};
use crate::api::codec::Codec;

/// HEVC `RADL_N`..=`RADL_R` and `RASL_N`..=`RASL_R`.
const RADL: std::ops::RangeInclusive<u8> = 6..=7;
const RASL: std::ops::RangeInclusive<u8> = 8..=9;

/// What kind of cut an access unit allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// Not a cut.
    None,
    /// An IDR picture (or a CRA picture without leading pictures): nothing crosses it.
    Clean,
    /// A CRA picture followed by this many RASL pictures (and no RADL picture).
    Cra { rasl: usize },
}

/// The VCL `nal_unit_type` of an HEVC access unit.
fn vcl_type(au: &AccessUnit) -> Option<u8> {
    au.nals
        .iter()
        .filter_map(|n| nal::nal_type(Codec::Hevc, n))
        .find(|t| *t <= hevc_type::LAST_VCL)
}

/// The cut `units[i]` allows.
fn cut_at(codec: Codec, units: &[AccessUnit], i: usize) -> Cut {
    if is_idr(&units[i]) {
        return Cut::Clean;
    }
    if codec != Codec::Hevc || vcl_type(&units[i]) != Some(hevc_type::CRA) {
        return Cut::None;
    }
    let mut rasl = 0usize;
    for au in units.iter().skip(i.saturating_add(1)) {
        match vcl_type(au) {
            Some(t) if RASL.contains(&t) => rasl = rasl.saturating_add(1),
            Some(t) if RADL.contains(&t) => return Cut::None,
            _ => break,
        }
    }
    if rasl == 0 {
        Cut::Clean
    } else {
        Cut::Cra { rasl }
    }
}

/// Cuts `units` (a whole stream, in order) into segments of at least `min_access_units`
/// access units of their own (the last may be shorter), each starting at an IDR picture or,
/// in HEVC, at a CRA picture (see the module's notes for what crosses such a cut). A segment
/// that does not carry the parameter sets in force at its start gets them prepended. For
/// H.264, and HEVC with IDR pictures only, this is [`super::split_at_idr`].
pub fn split_at_random_access(
    codec: Codec,
    units: &[AccessUnit],
    min_access_units: usize,
) -> Vec<Segment> {
    // Where segments start, and the cut there.
    let mut starts: Vec<(usize, Cut)> = Vec::new();
    for i in 0..units.len() {
        // Never inside the leading pictures of the CRA picture the segment starts at (a
        // damaged stream may put an IDR slice there).
        let long_enough = starts.last().is_none_or(|(s, cut)| {
            let leading = match cut {
                Cut::Cra { rasl } => *rasl,
                _ => 0,
            };
            i.saturating_sub(*s) >= min_access_units.max(1).max(leading.saturating_add(1))
        });
        if starts.is_empty() {
            starts.push((0, Cut::Clean));
        } else if long_enough {
            let cut = cut_at(codec, units, i);
            if cut != Cut::None {
                starts.push((i, cut));
            }
        }
    }
    let mut params = ParameterSetCache::new(codec);
    let mut segments = Vec::with_capacity(starts.len());
    for (k, &(start, cut)) in starts.iter().enumerate() {
        let next_start = starts.get(k.saturating_add(1));
        let end = next_start.map_or(units.len(), |(e, _)| *e);
        let mut data = Vec::new();
        if k > 0 {
            for ps in missing_parameter_sets(codec, &params, &units[start]) {
                data.extend_from_slice(&[0, 0, 0, 1]);
                data.extend_from_slice(&ps);
            }
        }
        let prepended = data.len();
        let skipped = match cut {
            Cut::Cra { rasl } if k > 0 => rasl,
            _ => 0,
        };
        for (i, au) in units[start..end].iter().enumerate() {
            for n in &au.nals {
                if nal::is_parameter_set(codec, n) {
                    let _ = params.insert(n);
                }
            }
            if i == 0 || i > skipped {
                data.extend_from_slice(&au.to_annexb());
            }
        }
        let lookahead = match next_start {
            Some(&(next, Cut::Cra { rasl })) => {
                let taken = rasl.saturating_add(1);
                for au in units.iter().skip(next).take(taken) {
                    data.extend_from_slice(&au.to_annexb());
                }
                taken
            }
            _ => 0,
        };
        segments.push(Segment {
            index: k,
            first_access_unit: start,
            access_units: end
                .saturating_sub(start)
                .saturating_sub(skipped)
                .saturating_add(lookahead),
            data,
            prepended,
            lookahead,
            skipped,
            drop_last: usize::from(lookahead > 0),
        });
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An HEVC access unit of one slice of type `t` (layer 0, temporal id 0); parameter
    /// sets are not needed to cut.
    fn au(t: u8, tag: u8) -> AccessUnit {
        AccessUnit::from_nals(
            Codec::Hevc,
            vec![vec![t << 1, 0x01, 0x10 + tag, 0xaf]],
            None,
        )
    }

    const IDR: u8 = 19;
    const CRA: u8 = 21;
    const TRAIL: u8 = 1;
    const RASL_N: u8 = 8;
    const RADL_N: u8 = 6;

    fn units_of(seg: &Segment) -> Vec<Vec<u8>> {
        crate::bitstream::split_annexb(&seg.data[seg.prepended..])
            .into_iter()
            .map(|n| n.data)
            .collect()
    }

    #[test]
    fn a_cra_cut_moves_its_rasl_pictures_to_the_segment_before() {
        // IDR T T | CRA RASL RASL T T
        let units = [
            au(IDR, 0),
            au(TRAIL, 1),
            au(TRAIL, 2),
            au(CRA, 3),
            au(RASL_N, 4),
            au(RASL_N, 5),
            au(TRAIL, 6),
            au(TRAIL, 7),
        ];
        let segs = split_at_random_access(Codec::Hevc, &units, 2);
        assert_eq!(segs.len(), 2);
        let tags = |s: &Segment| units_of(s).iter().map(|n| n[2] - 0x10).collect::<Vec<_>>();
        assert_eq!(
            tags(&segs[0]),
            [0, 1, 2, 3, 4, 5],
            "own pictures, then CRA + RASL"
        );
        assert_eq!((segs[0].lookahead, segs[0].drop_last), (3, 1));
        assert_eq!(
            tags(&segs[1]),
            [3, 6, 7],
            "CRA and trailing pictures, no RASL"
        );
        assert_eq!((segs[1].skipped, segs[1].first_access_unit), (2, 3));
        assert_eq!(segs[1].access_units, 3);
        assert_eq!(segs[0].access_units, 6);
    }

    #[test]
    fn a_cra_with_radl_pictures_is_not_a_cut() {
        let units = [
            au(IDR, 0),
            au(TRAIL, 1),
            au(CRA, 2),
            au(RADL_N, 3),
            au(TRAIL, 4),
        ];
        assert_eq!(split_at_random_access(Codec::Hevc, &units, 1).len(), 1);
    }

    #[test]
    fn a_cra_without_leading_pictures_is_a_clean_cut() {
        let units = [au(IDR, 0), au(TRAIL, 1), au(CRA, 2), au(TRAIL, 3)];
        let segs = split_at_random_access(Codec::Hevc, &units, 1);
        assert_eq!(segs.len(), 2);
        assert!(segs.iter().all(|s| s.lookahead == 0 && s.drop_last == 0));
        assert_eq!(segs[1].skipped, 0);
    }

    proptest! {
        /// Whatever the GOPs (IDR or CRA, with RASL pictures or none) and the minimum, every
        /// access unit is decoded for output by exactly one segment: its own pictures but
        /// the skipped RASL pictures, plus the RASL pictures of the lookahead; and every
        /// segment starts at a random-access picture.
        #[test]
        fn every_picture_is_output_by_exactly_one_segment(
            gops in proptest::collection::vec((any::<bool>(), 0usize..4, 0usize..5), 1..8),
            min in 1usize..8,
        ) {
            let mut units = Vec::new();
            for (g, (cra, rasl, trail)) in gops.iter().enumerate() {
                let lead = if g > 0 && *cra { *rasl } else { 0 };
                units.push(au(if g > 0 && *cra { CRA } else { IDR }, 0));
                units.extend((0..lead).map(|_| au(RASL_N, 0)));
                units.extend((0..*trail).map(|_| au(TRAIL, 0)));
            }
            let segs = split_at_random_access(Codec::Hevc, &units, min);
            let mut output = vec![0u32; units.len()];
            for s in &segs {
                let start = s.first_access_unit;
                let own_end = segs.get(s.index + 1).map_or(units.len(), |n| n.first_access_unit);
                for (i, o) in output.iter_mut().enumerate().take(own_end).skip(start) {
                    let leading_skipped = i > start && i <= start + s.skipped;
                    if !leading_skipped { *o += 1; }
                }
                // The lookahead's RASL pictures come out here; its CRA picture is dropped.
                for o in output.iter_mut().skip(own_end + 1).take(s.lookahead.saturating_sub(1)) {
                    *o += 1;
                }
                prop_assert_eq!(s.drop_last, usize::from(s.lookahead > 0));
                let t = vcl_type(&units[start]);
                prop_assert!(t == Some(IDR) || t == Some(CRA));
            }
            prop_assert!(output.iter().all(|&n| n == 1), "{:?}", output);
        }
    }
}
