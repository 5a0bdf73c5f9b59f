//! Session generations: switching encoder configuration mid-stream.
//!
//! The state machine is shared by every backend; an adapter only declares what it can change
//! in place ([`InPlace`]). Everything else drains the old adapter and opens a new one; a
//! failed activation keeps the active generation.

use crate::api::config::EncoderConfig;
use crate::api::error::{Result, VideoError};
use crate::backend::InPlace;

/// When a requested switch takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchMode {
    /// From the next submitted picture.
    Immediate,
    /// At the next keyframe boundary: the end of the current GOP or a forced keyframe.
    OnNextKeyframe,
    /// Drain the old generation completely (every chunk out), then activate.
    DrainThenSwap,
}

impl std::str::FromStr for SwitchMode {
    type Err = VideoError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "immediate" => Ok(SwitchMode::Immediate),
            "keyframe" | "on-next-keyframe" | "on_next_keyframe" => Ok(SwitchMode::OnNextKeyframe),
            "drain" | "drain-then-swap" | "drain_then_swap" => Ok(SwitchMode::DrainThenSwap),
            other => Err(VideoError::invalid_input(format!(
                "unknown switch mode `{other}` (immediate, keyframe, drain)"
            ))),
        }
    }
}

/// A request to move an encode session to a new configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSwitchRequest {
    /// The configuration of the new generation.
    pub config: EncoderConfig,
    /// When it takes effect.
    pub mode: SwitchMode,
    /// Make the first picture of the new generation a keyframe even when the change could
    /// be applied without one.
    pub force_idr_on_activate: bool,
}

/// What switching has done so far, reported in the session summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SwitchStats {
    /// The generation producing output now.
    pub active_generation: u64,
    /// Requests received.
    pub requested: u64,
    /// Requests that became active.
    pub activated: u64,
    /// Pending requests replaced by a newer one before they activated.
    pub replaced: u64,
    /// Activations that failed and rolled back.
    pub failed: u64,
    /// Activations applied in place (same adapter).
    pub in_place: u64,
    /// Adapters opened, the first one included (so 1 for a session that never switched).
    pub sessions_created: u64,
    /// Why the last failed activation failed.
    pub switch_fail_reason: Option<String>,
}

/// How a switch from `old` to `new` is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activation {
    /// Nothing differs.
    Nothing,
    /// The adapter reconfigures itself.
    InPlace,
    /// Drain, open a new adapter, swap.
    NewSession,
}

/// Decides how to move from `old` to `new` given what the adapter can do in place.
pub(crate) fn plan(old: &EncoderConfig, new: &EncoderConfig, can: InPlace) -> Activation {
    if old == new {
        return Activation::Nothing;
    }
    let rate_same_mode =
        std::mem::discriminant(&old.rate_control) == std::mem::discriminant(&new.rate_control);
    let size_ok = old.dimensions == new.dimensions
        || can.max_dimensions.is_some_and(|m| {
            new.dimensions.width() <= m.width() && new.dimensions.height() <= m.height()
        });
    let rest_same = old.codec == new.codec
        && old.gop_length == new.gop_length
        && old.b_frames == new.b_frames
        && old.low_latency == new.low_latency
        && old.layout == new.layout
        && old.timebase == new.timebase;
    let bitrate_ok = old.rate_control == new.rate_control || (can.bitrate && rate_same_mode);
    let fps_ok = old.fps == new.fps || can.fps;
    if rest_same && size_ok && bitrate_ok && fps_ok {
        Activation::InPlace
    } else {
        Activation::NewSession
    }
}

/// Whether a change means the decoder needs new parameter sets (and so a keyframe).
pub(crate) fn changes_stream_parameters(old: &EncoderConfig, new: &EncoderConfig) -> bool {
    old.codec != new.codec || old.dimensions != new.dimensions || old.b_frames != new.b_frames
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::codec::{Codec, Dimensions};
    use crate::api::config::RateControl;

    fn base() -> EncoderConfig {
        EncoderConfig::new(Codec::H264, Dimensions::new(320, 240).unwrap())
    }

    #[test]
    fn identical_configs_need_nothing() {
        assert_eq!(
            plan(&base(), &base(), InPlace::default()),
            Activation::Nothing
        );
    }

    #[test]
    fn bitrate_change_is_in_place_only_when_the_adapter_can() {
        let mut new = base();
        new.rate_control = RateControl::Vbr {
            bitrate: 1_000_000,
            max_bitrate: 2_000_000,
        };
        assert_eq!(
            plan(&base(), &new, InPlace::default()),
            Activation::NewSession
        );
        let can = InPlace {
            bitrate: true,
            ..Default::default()
        };
        assert_eq!(plan(&base(), &new, can), Activation::InPlace);
        new.rate_control = RateControl::Cqp { qp: 20 };
        assert_eq!(
            plan(&base(), &new, can),
            Activation::NewSession,
            "a new rate-control mode is not in place"
        );
    }

    #[test]
    fn resolution_change_is_in_place_up_to_the_maximum() {
        let can = InPlace {
            max_dimensions: Some(Dimensions::new(640, 480).unwrap()),
            ..Default::default()
        };
        let mut new = base();
        new.dimensions = Dimensions::new(640, 360).unwrap();
        assert_eq!(plan(&base(), &new, can), Activation::InPlace);
        new.dimensions = Dimensions::new(1280, 720).unwrap();
        assert_eq!(plan(&base(), &new, can), Activation::NewSession);
        assert!(changes_stream_parameters(&base(), &new));
    }

    #[test]
    fn codec_change_always_needs_a_new_session() {
        let can = InPlace {
            bitrate: true,
            fps: true,
            max_dimensions: Some(Dimensions::new(4096, 4096).unwrap()),
        };
        let mut new = base();
        new.codec = Codec::Hevc;
        assert_eq!(plan(&base(), &new, can), Activation::NewSession);
    }

    #[test]
    fn switch_modes_parse_from_cli_words() {
        assert_eq!(
            "keyframe".parse::<SwitchMode>().unwrap(),
            SwitchMode::OnNextKeyframe
        );
        assert_eq!(
            "drain".parse::<SwitchMode>().unwrap(),
            SwitchMode::DrainThenSwap
        );
        assert!("later".parse::<SwitchMode>().is_err());
    }
}
