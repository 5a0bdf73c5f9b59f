//! The edit list (`edts`/`elst`): how a track's media time maps to presentation time.

use crate::api::error::{Result, VideoError};
use shiguredo_mp4::boxes::EdtsBox;

/// How media time maps to presentation time under an edit list.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct EditMapping {
    /// Added to media times (track timescale).
    pub(super) shift: i64,
    /// Presented duration (track timescale), where the edit list says.
    pub(super) presented: Option<u64>,
    /// More than one media edit: only the first is honoured.
    pub(super) simplified: bool,
}

impl EditMapping {
    /// Leading empty edits delay presentation; the first media edit's `media_time` is
    /// presented at that point (ISO/IEC 14496-12 8.6.6).
    pub(super) fn from_edts(
        edts: Option<&EdtsBox>,
        movie_scale: u32,
        media_scale: u32,
    ) -> Result<Self> {
        let Some(elst) = edts.and_then(|e| e.elst_box.as_ref()) else {
            return Ok(Self::default());
        };
        let to_media = |d: u64| -> Option<i64> {
            // u64 x u32 fits u128; the divisor is at least 1.
            let v = u128::from(d)
                .saturating_mul(u128::from(media_scale))
                .checked_div(u128::from(movie_scale.max(1)))?;
            i64::try_from(v).ok()
        };
        let overflow = || VideoError::invalid_bitstream("MP4 edit list duration overflows");
        let mut delay = 0i64;
        let mut mapping = Self::default();
        let mut seen_media = false;
        let mut presented = 0i64;
        for entry in &elst.entries {
            let dur = to_media(entry.edit_duration).ok_or_else(overflow)?;
            if entry.media_time == -1 {
                if !seen_media {
                    delay = delay.checked_add(dur).ok_or_else(overflow)?;
                }
                continue;
            }
            if seen_media {
                mapping.simplified = true;
                continue;
            }
            seen_media = true;
            mapping.shift = delay.checked_sub(entry.media_time).ok_or_else(overflow)?;
            presented = dur;
        }
        if seen_media && presented > 0 {
            mapping.presented = u64::try_from(presented.saturating_add(delay)).ok();
        }
        Ok(mapping)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shiguredo_mp4::FixedPointNumber;
    use shiguredo_mp4::boxes::{ElstBox, ElstEntry};

    fn edts(entries: &[(u64, i64)]) -> EdtsBox {
        EdtsBox {
            elst_box: Some(ElstBox {
                entries: entries
                    .iter()
                    .map(|&(edit_duration, media_time)| ElstEntry {
                        edit_duration,
                        media_time,
                        media_rate: FixedPointNumber::new(1, 0),
                    })
                    .collect(),
            }),
            unknown_boxes: Vec::new(),
        }
    }

    #[test]
    fn single_edit_media_time_shifts_presentation_earlier() {
        // movie timescale 1000, media 12800: 2 s presented from media time 1024.
        let m = EditMapping::from_edts(Some(&edts(&[(2000, 1024)])), 1000, 12800).unwrap();
        assert_eq!(m.shift, -1024);
        assert_eq!(m.presented, Some(25600));
        assert!(!m.simplified);
    }

    #[test]
    fn leading_empty_edit_delays_presentation() {
        let m = EditMapping::from_edts(Some(&edts(&[(500, -1), (1000, 0)])), 1000, 90000).unwrap();
        assert_eq!(m.shift, 45000);
        assert_eq!(m.presented, Some(135000));
    }

    #[test]
    fn extra_media_edits_are_reported_as_simplified() {
        let m =
            EditMapping::from_edts(Some(&edts(&[(1000, 0), (1000, 5000)])), 1000, 1000).unwrap();
        assert!(m.simplified);
        assert_eq!(m.shift, 0);
    }
}
