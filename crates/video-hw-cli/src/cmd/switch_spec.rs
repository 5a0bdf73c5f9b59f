//! `--switch FRAME:key=value[,key=value...]`: session switches scheduled by frame number.

use std::str::FromStr;
use video_hw::{
    Codec, Dimensions, EncoderConfig, RateControl, Rational, SessionSwitchRequest, SwitchMode,
};

/// One scheduled switch: at input frame `frame`, apply `changes` with `mode`.
#[derive(Debug, Clone, PartialEq)]
pub struct SwitchSpec {
    /// Input frame number (0-based) before which the switch is requested.
    pub frame: u64,
    /// New bitrate in bits per second.
    pub bitrate: Option<u32>,
    /// New frame rate.
    pub fps: Option<Rational>,
    /// New picture size.
    pub size: Option<Dimensions>,
    /// New codec.
    pub codec: Option<Codec>,
    /// New GOP length.
    pub gop: Option<u32>,
    /// When the switch takes effect (default: immediate).
    pub mode: SwitchMode,
}

impl FromStr for SwitchSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (frame, rest) = s
            .split_once(':')
            .ok_or_else(|| format!("`{s}`: expected FRAME:key=value[,key=value...]"))?;
        let frame = frame
            .trim()
            .parse()
            .map_err(|_| format!("`{frame}` is not a frame number"))?;
        let mut spec = SwitchSpec {
            frame,
            bitrate: None,
            fps: None,
            size: None,
            codec: None,
            gop: None,
            mode: SwitchMode::Immediate,
        };
        for pair in rest.split(',').filter(|p| !p.trim().is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{pair}`: expected key=value"))?;
            let v = v.trim();
            let e = |e: video_hw::VideoError| e.to_string();
            match k.trim() {
                "bitrate" => spec.bitrate = Some(super::parse_bitrate(v)?),
                "fps" => spec.fps = Some(v.parse().map_err(e)?),
                "size" => spec.size = Some(v.parse().map_err(e)?),
                "codec" => spec.codec = Some(v.parse().map_err(e)?),
                "gop" => {
                    spec.gop = Some(
                        v.parse()
                            .map_err(|_| format!("`{v}` is not a GOP length"))?,
                    )
                }
                "mode" => spec.mode = v.parse().map_err(e)?,
                other => {
                    return Err(format!(
                        "unknown switch key `{other}` (bitrate, fps, size, codec, gop, mode)"
                    ));
                }
            }
        }
        Ok(spec)
    }
}

impl SwitchSpec {
    /// The request that applies this spec on top of `current`.
    pub fn request(&self, current: &EncoderConfig) -> SessionSwitchRequest {
        let mut config = current.clone();
        if let Some(b) = self.bitrate {
            config.rate_control = match config.rate_control {
                RateControl::Cbr { .. } => RateControl::Cbr { bitrate: b },
                RateControl::Vbr { .. } | RateControl::Cqp { .. } => RateControl::Vbr {
                    bitrate: b,
                    max_bitrate: b.saturating_mul(2),
                },
            };
        }
        if let Some(f) = self.fps {
            config.fps = f;
        }
        if let Some(s) = self.size {
            config.dimensions = s;
        }
        if let Some(c) = self.codec {
            config.codec = c;
        }
        if let Some(g) = self.gop {
            config.gop_length = g;
        }
        SessionSwitchRequest {
            config,
            mode: self.mode,
            force_idr_on_activate: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_examples() {
        let a: SwitchSpec = "150:bitrate=1M".parse().unwrap();
        assert_eq!(
            (a.frame, a.bitrate, a.mode),
            (150, Some(1_000_000), SwitchMode::Immediate)
        );
        let b: SwitchSpec = "300:size=640x360,mode=drain".parse().unwrap();
        assert_eq!(b.size, Some(Dimensions::new(640, 360).unwrap()));
        assert_eq!(b.mode, SwitchMode::DrainThenSwap);
        let c: SwitchSpec = "10:codec=hevc,gop=30,fps=25,mode=keyframe".parse().unwrap();
        assert_eq!(
            (c.codec, c.gop, c.mode),
            (Some(Codec::Hevc), Some(30), SwitchMode::OnNextKeyframe)
        );
    }

    #[test]
    fn rejects_malformed_specs_with_a_reason() {
        assert!(
            "bitrate=1M"
                .parse::<SwitchSpec>()
                .unwrap_err()
                .contains("FRAME:")
        );
        assert!("x:bitrate=1M".parse::<SwitchSpec>().is_err());
        assert!(
            "5:speed=2"
                .parse::<SwitchSpec>()
                .unwrap_err()
                .contains("unknown switch key")
        );
        assert!("5:size=0x10".parse::<SwitchSpec>().is_err());
    }

    #[test]
    fn request_keeps_unchanged_fields() {
        let base = EncoderConfig::new(Codec::H264, Dimensions::new(320, 240).unwrap());
        let r = "3:bitrate=500k"
            .parse::<SwitchSpec>()
            .unwrap()
            .request(&base);
        assert_eq!(r.config.dimensions, base.dimensions);
        assert_eq!(r.config.rate_control.bitrate(), Some(500_000));
    }
}
