//! The `VTCompressionSession` property map: which properties an [`EncoderConfig`] sets, and
//! which of them VideoToolbox honours when changed on a running session.
//!
//! `AverageBitRate` and `ExpectedFrameRate` take effect on a running session. Apple documents
//! `DataRateLimits` as settable, but encoders may ignore a change after the first frame, and
//! frame reordering, keyframe interval, profile and real-time mode shape the stream: those
//! need a new session (through the session-generation state machine).

use crate::api::codec::Codec;
use crate::api::config::{EncoderConfig, RateControl};
use crate::api::error::{Result, VideoError};
use crate::backend::InPlace;

/// One `kVTCompressionPropertyKey_*` the backend sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum PropertyKey {
    /// `kVTCompressionPropertyKey_RealTime`.
    RealTime,
    /// `kVTCompressionPropertyKey_ProfileLevel`.
    ProfileLevel,
    /// `kVTCompressionPropertyKey_AllowFrameReordering`.
    AllowFrameReordering,
    /// `kVTCompressionPropertyKey_MaxKeyFrameInterval`.
    MaxKeyFrameInterval,
    /// `kVTCompressionPropertyKey_ExpectedFrameRate`.
    ExpectedFrameRate,
    /// `kVTCompressionPropertyKey_AverageBitRate`.
    AverageBitRate,
    /// `kVTCompressionPropertyKey_DataRateLimits`.
    DataRateLimits,
    /// `kVTCompressionPropertyKey_Quality` (constant-quality mode).
    Quality,
}

/// Whether a changed property can be applied to a running session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Apply {
    /// `VTSessionSetProperty` on the running session.
    InPlace,
    /// Drain and open a new session.
    NewSession,
}

impl PropertyKey {
    /// How a change of this property is carried out.
    pub(crate) fn apply(self) -> Apply {
        match self {
            PropertyKey::AverageBitRate | PropertyKey::ExpectedFrameRate => Apply::InPlace,
            PropertyKey::DataRateLimits
            | PropertyKey::Quality
            | PropertyKey::RealTime
            | PropertyKey::ProfileLevel
            | PropertyKey::AllowFrameReordering
            | PropertyKey::MaxKeyFrameInterval => Apply::NewSession,
        }
    }
}

/// `kVTProfileLevel_*_AutoLevel` values the backend uses (the level is always automatic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProfileLevel {
    /// `kVTProfileLevel_H264_High_AutoLevel`.
    H264High,
    /// `kVTProfileLevel_H264_Main_AutoLevel`.
    H264Main,
    /// `kVTProfileLevel_HEVC_Main_AutoLevel`.
    HevcMain,
}

/// A property value, typed as VideoToolbox wants it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum PropertyValue {
    /// `CFBoolean`.
    Bool(bool),
    /// `CFNumber` (SInt64).
    Int(i64),
    /// `CFNumber` (Float64).
    Float(f64),
    /// `CFArray [bytes: CFNumber, seconds: CFNumber]`.
    DataRateLimit {
        /// Bytes allowed per window.
        bytes: i64,
        /// Window length in seconds.
        seconds: f64,
    },
    /// A `kVTProfileLevel_*` string.
    Profile(ProfileLevel),
}

/// Every property a new session gets for `config`, in the order they are set.
pub(crate) fn session_properties(config: &EncoderConfig) -> Vec<(PropertyKey, PropertyValue)> {
    let profile = match (config.codec, config.low_latency) {
        (Codec::H264, true) => ProfileLevel::H264Main,
        (Codec::H264, false) => ProfileLevel::H264High,
        // VideoToolbox encodes H.264 and HEVC; the session refuses other codecs earlier.
        _ => ProfileLevel::HevcMain,
    };
    let mut props = vec![
        (
            PropertyKey::RealTime,
            PropertyValue::Bool(config.low_latency),
        ),
        (PropertyKey::ProfileLevel, PropertyValue::Profile(profile)),
        (
            PropertyKey::AllowFrameReordering,
            PropertyValue::Bool(config.b_frames > 0),
        ),
        (
            PropertyKey::MaxKeyFrameInterval,
            PropertyValue::Int(i64::from(config.gop_length)),
        ),
        (
            PropertyKey::ExpectedFrameRate,
            PropertyValue::Float(config.fps.as_f64()),
        ),
    ];
    props.extend(rate_properties(config.rate_control));
    props
}

fn rate_properties(rc: RateControl) -> Vec<(PropertyKey, PropertyValue)> {
    match rc {
        RateControl::Cbr { bitrate } => vec![(
            PropertyKey::AverageBitRate,
            PropertyValue::Int(i64::from(bitrate)),
        )],
        RateControl::Vbr {
            bitrate,
            max_bitrate,
        } => vec![
            (
                PropertyKey::AverageBitRate,
                PropertyValue::Int(i64::from(bitrate)),
            ),
            (
                PropertyKey::DataRateLimits,
                PropertyValue::DataRateLimit {
                    bytes: i64::from(max_bitrate / 8),
                    seconds: 1.0,
                },
            ),
        ],
        // VideoToolbox has no QP control; quality 1.0 is best, QP 51 is worst.
        RateControl::Cqp { qp } => vec![(
            PropertyKey::Quality,
            PropertyValue::Float(1.0 - f64::from(qp.min(51)) / 51.0),
        )],
    }
}

/// What a session running `config` can change without a new session: the frame rate always;
/// the bitrate only in CBR mode, where it is `AverageBitRate` alone (VBR also sets
/// `DataRateLimits`, which needs a new session).
pub(crate) fn in_place(config: &EncoderConfig) -> InPlace {
    InPlace {
        bitrate: matches!(config.rate_control, RateControl::Cbr { .. }),
        fps: true,
        max_dimensions: None,
    }
}

/// The property changes that move a running session from `old` to `new`;
/// `Unsupported` when any of them needs a new session.
pub(crate) fn reconfigure_changes(
    old: &EncoderConfig,
    new: &EncoderConfig,
) -> Result<Vec<(PropertyKey, PropertyValue)>> {
    let before = session_properties(old);
    let after = session_properties(new);
    let mut changes = Vec::new();
    for (key, value) in &after {
        let previous = before.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        if previous == Some(value) {
            continue;
        }
        if key.apply() == Apply::NewSession || previous.is_none() {
            return Err(VideoError::unsupported(format!(
                "VideoToolbox needs a new session to change {key:?}"
            )));
        }
        changes.push((*key, *value));
    }
    if let Some((key, _)) = before
        .iter()
        .find(|(k, _)| !after.iter().any(|(a, _)| a == k))
    {
        return Err(VideoError::unsupported(format!(
            "VideoToolbox needs a new session to drop {key:?}"
        )));
    }
    if old.dimensions != new.dimensions || old.codec != new.codec || old.layout != new.layout {
        return Err(VideoError::unsupported(
            "VideoToolbox needs a new session for a new codec, size or layout",
        ));
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::codec::{Dimensions, Rational};

    fn base() -> EncoderConfig {
        EncoderConfig::new(Codec::H264, Dimensions::new(640, 360).unwrap())
    }

    fn value(props: &[(PropertyKey, PropertyValue)], key: PropertyKey) -> Option<PropertyValue> {
        props.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    #[test]
    fn session_properties_follow_the_config() {
        let mut c = base();
        c.b_frames = 2;
        c.gop_length = 30;
        c.fps = Rational { num: 25, den: 1 };
        c.rate_control = RateControl::Vbr {
            bitrate: 1_000_000,
            max_bitrate: 1_600_000,
        };
        let p = session_properties(&c);
        assert_eq!(
            value(&p, PropertyKey::AllowFrameReordering),
            Some(PropertyValue::Bool(true))
        );
        assert_eq!(
            value(&p, PropertyKey::MaxKeyFrameInterval),
            Some(PropertyValue::Int(30))
        );
        assert_eq!(
            value(&p, PropertyKey::ExpectedFrameRate),
            Some(PropertyValue::Float(25.0))
        );
        assert_eq!(
            value(&p, PropertyKey::AverageBitRate),
            Some(PropertyValue::Int(1_000_000))
        );
        assert_eq!(
            value(&p, PropertyKey::DataRateLimits),
            Some(PropertyValue::DataRateLimit {
                bytes: 200_000,
                seconds: 1.0
            })
        );
        assert_eq!(
            value(&p, PropertyKey::ProfileLevel),
            Some(PropertyValue::Profile(ProfileLevel::H264High))
        );
    }

    #[test]
    fn no_b_frames_means_no_reordering_and_cqp_maps_to_quality() {
        let mut c = base();
        c.rate_control = RateControl::Cqp { qp: 51 };
        let p = session_properties(&c);
        assert_eq!(
            value(&p, PropertyKey::AllowFrameReordering),
            Some(PropertyValue::Bool(false))
        );
        assert_eq!(
            value(&p, PropertyKey::Quality),
            Some(PropertyValue::Float(0.0))
        );
        assert_eq!(value(&p, PropertyKey::AverageBitRate), None);
    }

    #[test]
    fn cbr_bitrate_and_fps_changes_are_applied_in_place() {
        let mut old = base();
        old.rate_control = RateControl::Cbr { bitrate: 2_000_000 };
        let mut new = old.clone();
        new.rate_control = RateControl::Cbr { bitrate: 1_000_000 };
        new.fps = Rational { num: 60, den: 1 };
        assert!(in_place(&old).bitrate && in_place(&old).fps);
        let changes = reconfigure_changes(&old, &new).unwrap();
        assert_eq!(
            changes,
            vec![
                (PropertyKey::ExpectedFrameRate, PropertyValue::Float(60.0)),
                (PropertyKey::AverageBitRate, PropertyValue::Int(1_000_000)),
            ]
        );
    }

    #[test]
    fn vbr_changes_touch_data_rate_limits_and_need_a_new_session() {
        let old = base();
        let mut new = old.clone();
        new.rate_control = RateControl::Vbr {
            bitrate: 1_000_000,
            max_bitrate: 2_000_000,
        };
        assert!(!in_place(&old).bitrate);
        assert!(reconfigure_changes(&old, &new).is_err());
    }

    #[test]
    fn fps_change_under_vbr_is_still_in_place() {
        let old = base();
        let mut new = old.clone();
        new.fps = Rational { num: 50, den: 1 };
        assert!(in_place(&old).fps);
        assert_eq!(
            reconfigure_changes(&old, &new).unwrap(),
            vec![(PropertyKey::ExpectedFrameRate, PropertyValue::Float(50.0))]
        );
    }

    #[test]
    fn structural_changes_are_refused_in_place() {
        let old = base();
        for change in [
            |c: &mut EncoderConfig| c.b_frames = 2,
            |c: &mut EncoderConfig| c.gop_length = 10,
            |c: &mut EncoderConfig| c.low_latency = true,
            |c: &mut EncoderConfig| c.dimensions = Dimensions::new(320, 240).unwrap(),
        ] {
            let mut new = old.clone();
            change(&mut new);
            assert!(reconfigure_changes(&old, &new).is_err(), "{new:?}");
        }
    }

    #[test]
    fn only_bitrate_and_frame_rate_apply_in_place() {
        let in_place: Vec<PropertyKey> = [
            PropertyKey::RealTime,
            PropertyKey::ProfileLevel,
            PropertyKey::AllowFrameReordering,
            PropertyKey::MaxKeyFrameInterval,
            PropertyKey::ExpectedFrameRate,
            PropertyKey::AverageBitRate,
            PropertyKey::DataRateLimits,
            PropertyKey::Quality,
        ]
        .into_iter()
        .filter(|k| k.apply() == Apply::InPlace)
        .collect();
        assert_eq!(
            in_place,
            vec![PropertyKey::ExpectedFrameRate, PropertyKey::AverageBitRate]
        );
    }
}
