//! Codecs, sizes, rationals and timestamps.

use super::error::{Result, VideoError};
use std::fmt;
use std::num::NonZeroU32;

/// A compressed video format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Codec {
    /// H.264 / AVC.
    H264,
    /// H.265 / HEVC.
    Hevc,
    /// VP9 (decode only).
    Vp9,
}

impl Codec {
    /// Every codec this crate knows.
    pub const ALL: [Codec; 3] = [Codec::H264, Codec::Hevc, Codec::Vp9];

    /// Lower-case name (`h264`, `hevc`, `vp9`).
    pub fn name(self) -> &'static str {
        match self {
            Codec::H264 => "h264",
            Codec::Hevc => "hevc",
            Codec::Vp9 => "vp9",
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Codec {
    type Err = VideoError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "h264" | "avc" | "h.264" => Ok(Codec::H264),
            "hevc" | "h265" | "h.265" => Ok(Codec::Hevc),
            "vp9" => Ok(Codec::Vp9),
            other => Err(VideoError::unsupported(format!(
                "unknown codec `{other}` (known: h264, hevc, vp9)"
            ))),
        }
    }
}

/// A picture size whose width and height are both non-zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Dimensions {
    width: NonZeroU32,
    height: NonZeroU32,
}

impl Dimensions {
    /// A size, or `InvalidInput` when either side is zero.
    pub fn new(width: u32, height: u32) -> Result<Self> {
        match (NonZeroU32::new(width), NonZeroU32::new(height)) {
            (Some(width), Some(height)) => Ok(Self { width, height }),
            _ => Err(VideoError::invalid_input(format!(
                "dimensions must be non-zero, got {width}x{height}"
            ))),
        }
    }

    /// Width in pixels.
    pub fn width(self) -> u32 {
        self.width.get()
    }

    /// Height in pixels.
    pub fn height(self) -> u32 {
        self.height.get()
    }

    /// Number of pixels.
    pub fn area(self) -> usize {
        self.width() as usize * self.height() as usize
    }
}

impl fmt::Display for Dimensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

impl std::str::FromStr for Dimensions {
    type Err = VideoError;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || VideoError::invalid_input(format!("size `{s}` is not WIDTHxHEIGHT"));
        let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
        Dimensions::new(
            w.trim().parse().map_err(|_| bad())?,
            h.trim().parse().map_err(|_| bad())?,
        )
    }
}

/// A positive rational number (frame rates, timebases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Rational {
    /// Numerator.
    pub num: u32,
    /// Denominator (never zero in a value built by [`Rational::new`]).
    pub den: u32,
}

impl Rational {
    /// `num/den`, or `InvalidInput` when either is zero.
    pub fn new(num: u32, den: u32) -> Result<Self> {
        if num == 0 || den == 0 {
            return Err(VideoError::invalid_input(format!(
                "rational {num}/{den} must have a non-zero numerator and denominator"
            )));
        }
        Ok(Self { num, den })
    }

    /// The value as a float.
    pub fn as_f64(self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }
}

impl fmt::Display for Rational {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

impl std::str::FromStr for Rational {
    type Err = VideoError;
    fn from_str(s: &str) -> Result<Self> {
        let bad =
            || VideoError::invalid_input(format!("`{s}` is not a rate like 30 or 30000/1001"));
        match s.split_once('/') {
            Some((n, d)) => Rational::new(
                n.trim().parse().map_err(|_| bad())?,
                d.trim().parse().map_err(|_| bad())?,
            ),
            None => Rational::new(s.trim().parse().map_err(|_| bad())?, 1),
        }
    }
}

/// Ticks per second of a timestamp: a timebase of `1/90000` means one tick is 1/90000 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Timebase(pub Rational);

impl Timebase {
    /// The MPEG 90 kHz clock, the default everywhere.
    pub const MPEG_90K: Timebase = Timebase(Rational {
        num: 1,
        den: 90_000,
    });

    /// Seconds per tick.
    pub fn seconds_per_tick(self) -> f64 {
        self.0.as_f64()
    }

    /// Ticks of this timebase in one frame at `fps`, rounded to the nearest tick (at least 1).
    pub fn ticks_per_frame(self, fps: Rational) -> i64 {
        let ticks = f64::from(self.0.den) * f64::from(fps.den)
            / (f64::from(self.0.num) * f64::from(fps.num));
        (ticks.round() as i64).max(1)
    }
}

impl Default for Timebase {
    fn default() -> Self {
        Self::MPEG_90K
    }
}

/// A point in time: `ticks` of a [`Timebase`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Timestamp {
    /// The count of ticks.
    pub ticks: i64,
    /// The length of a tick.
    pub timebase: Timebase,
}

impl Timestamp {
    /// A timestamp in the 90 kHz timebase.
    pub fn mpeg(ticks: i64) -> Self {
        Self {
            ticks,
            timebase: Timebase::MPEG_90K,
        }
    }

    /// The time in seconds.
    pub fn seconds(self) -> f64 {
        self.ticks as f64 * self.timebase.seconds_per_tick()
    }

    /// The same instant in another timebase, rounded to the nearest tick.
    pub fn rescale(self, to: Timebase) -> Timestamp {
        if to == self.timebase {
            return self;
        }
        let num = i128::from(self.ticks) * i128::from(self.timebase.0.num) * i128::from(to.0.den);
        let den = i128::from(self.timebase.0.den) * i128::from(to.0.num);
        let rounded = (num * 2 + den.signum() * den) / (2 * den);
        Timestamp {
            ticks: rounded as i64,
            timebase: to,
        }
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let a = i128::from(self.ticks)
            * i128::from(self.timebase.0.num)
            * i128::from(other.timebase.0.den);
        let b = i128::from(other.ticks)
            * i128::from(other.timebase.0.num)
            * i128::from(self.timebase.0.den);
        a.cmp(&b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_dimensions_are_rejected() {
        assert_eq!(
            Dimensions::new(0, 10).unwrap_err().kind(),
            crate::ErrorKind::InvalidInput
        );
        assert_eq!(
            Dimensions::new(10, 0).unwrap_err().kind(),
            crate::ErrorKind::InvalidInput
        );
        assert_eq!(Dimensions::new(10, 20).unwrap().to_string(), "10x20");
    }

    #[test]
    fn dimensions_and_rates_parse() {
        assert_eq!(
            "640x360".parse::<Dimensions>().unwrap(),
            Dimensions::new(640, 360).unwrap()
        );
        assert!("640".parse::<Dimensions>().is_err());
        assert_eq!(
            "30000/1001".parse::<Rational>().unwrap(),
            Rational::new(30000, 1001).unwrap()
        );
        assert_eq!(
            "25".parse::<Rational>().unwrap(),
            Rational::new(25, 1).unwrap()
        );
        assert!("0".parse::<Rational>().is_err());
    }

    #[test]
    fn timestamps_rescale_and_compare_across_timebases() {
        let ms = Timebase(Rational::new(1, 1000).unwrap());
        let t = Timestamp {
            ticks: 40,
            timebase: ms,
        };
        assert_eq!(t.rescale(Timebase::MPEG_90K).ticks, 3600);
        assert!(Timestamp::mpeg(3601) > t);
        assert_eq!(
            Timebase::MPEG_90K.ticks_per_frame(Rational::new(30000, 1001).unwrap()),
            3003
        );
    }
}
