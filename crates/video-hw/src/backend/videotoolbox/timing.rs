//! `CMTime` <-> [`Timestamp`].
//!
//! A `CMTime` is `value / timescale` seconds (timescale: a positive `i32`); our timestamps
//! are `ticks * num / den` seconds.

use crate::api::codec::{Rational, Timebase, Timestamp};

/// The parts of a valid `CMTime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CmTimeParts {
    /// `value`.
    pub value: i64,
    /// `timescale` (positive).
    pub timescale: i32,
}

/// `ts` as a `CMTime`: exact when the timebase's denominator fits a timescale and the value
/// does not overflow, else rescaled to a 90 kHz timescale.
pub(crate) fn to_cmtime(ts: Timestamp) -> CmTimeParts {
    let Rational { num, den } = ts.timebase.0;
    if let (Ok(timescale), Some(value)) = (i32::try_from(den), ts.ticks.checked_mul(i64::from(num)))
        && timescale > 0
    {
        return CmTimeParts { value, timescale };
    }
    let mpeg = ts.rescale(Timebase::MPEG_90K);
    CmTimeParts {
        value: mpeg.ticks,
        timescale: 90_000,
    }
}

/// A `CMTime` as a timestamp in `timebase`; `None` when it is not a valid time
/// (`kCMTimeFlags_Valid` clear, or a non-positive timescale).
pub(crate) fn from_cmtime(
    value: i64,
    timescale: i32,
    valid: bool,
    timebase: Timebase,
) -> Option<Timestamp> {
    if !valid || timescale <= 0 {
        return None;
    }
    let exact = Timestamp {
        ticks: value,
        timebase: Timebase(Rational {
            num: 1,
            den: u32::try_from(timescale).ok()?,
        }),
    };
    Some(exact.rescale(timebase))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpeg_timestamps_are_exact_cmtimes() {
        let t = to_cmtime(Timestamp::mpeg(123_456));
        assert_eq!(
            t,
            CmTimeParts {
                value: 123_456,
                timescale: 90_000
            }
        );
        assert_eq!(
            from_cmtime(t.value, t.timescale, true, Timebase::MPEG_90K),
            Some(Timestamp::mpeg(123_456))
        );
    }

    #[test]
    fn timebase_with_a_numerator_scales_the_value() {
        // 1001/30000 s per tick: 10 ticks are 10010 / 30000 s.
        let tb = Timebase(Rational {
            num: 1001,
            den: 30_000,
        });
        let t = to_cmtime(Timestamp {
            ticks: 10,
            timebase: tb,
        });
        assert_eq!(
            t,
            CmTimeParts {
                value: 10_010,
                timescale: 30_000
            }
        );
        assert_eq!(
            from_cmtime(t.value, t.timescale, true, tb),
            Some(Timestamp {
                ticks: 10,
                timebase: tb
            })
        );
    }

    #[test]
    fn cmtimes_are_rescaled_to_the_session_timebase() {
        // 1 s at timescale 600 is 90000 ticks of 90 kHz.
        assert_eq!(
            from_cmtime(600, 600, true, Timebase::MPEG_90K),
            Some(Timestamp::mpeg(90_000))
        );
    }

    #[test]
    fn invalid_cmtimes_have_no_timestamp() {
        assert_eq!(from_cmtime(5, 600, false, Timebase::MPEG_90K), None);
        assert_eq!(from_cmtime(5, 0, true, Timebase::MPEG_90K), None);
    }

    #[test]
    fn oversized_timebase_falls_back_to_90khz() {
        let tb = Timebase(Rational {
            num: 1,
            den: u32::MAX,
        });
        let t = to_cmtime(Timestamp {
            ticks: u32::MAX as i64,
            timebase: tb,
        });
        assert_eq!(
            t,
            CmTimeParts {
                value: 90_000,
                timescale: 90_000
            }
        );
    }
}
