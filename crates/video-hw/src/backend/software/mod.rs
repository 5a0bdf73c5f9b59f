//! The software backend: OpenH264 (H.264, feature `sw-openh264`) and FFmpeg's libraries
//! (H.264 and HEVC, feature `sw-ffmpeg`).
//!
//! # Which implementation serves a session
//! When both are built:
//! - decoding uses FFmpeg (it handles every H.264 profile, B-frames and HEVC);
//! - H.264 encoding uses OpenH264 unless the configuration asks for B-frames, which only
//!   FFmpeg's libx264 provides; HEVC encoding uses FFmpeg's libx265.
//!
//! Two environment variables override the choice (read when a session is created):
//! - `VIDEO_HW_SW_DECODER=openh264|ffmpeg`
//! - `VIDEO_HW_SW_ENCODER=openh264|ffmpeg`
//!
//! Naming an implementation this build lacks, or one that cannot serve the configuration
//! (OpenH264 with HEVC or B-frames), is an `Unsupported` error; an unknown name is
//! `InvalidInput`.
//!
//! Decoded frames are I420 (I010/I012, LSB-aligned, for 10/12-bit FFmpeg output) in CPU
//! memory; encoded chunks are Annex-B.

use super::{Backend, BackendReport, DecoderFactory, EncoderFactory};
use crate::api::codec::Codec;
use crate::api::config::{DecoderConfig, EncoderConfig};
use crate::api::error::{Result, VideoError};

mod capability;
#[cfg(feature = "sw-ffmpeg")]
mod ffmpeg;
#[cfg(any(feature = "sw-openh264", feature = "sw-ffmpeg"))]
pub(crate) mod i420_input;
#[cfg(feature = "sw-openh264")]
mod openh264;

/// Environment variable that picks the software decoder.
pub const DECODER_ENV: &str = "VIDEO_HW_SW_DECODER";
/// Environment variable that picks the software encoder.
pub const ENCODER_ENV: &str = "VIDEO_HW_SW_ENCODER";

/// A software codec library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Implementation {
    OpenH264,
    Ffmpeg,
}

impl Implementation {
    fn name(self) -> &'static str {
        match self {
            Implementation::OpenH264 => "openh264",
            Implementation::Ffmpeg => "ffmpeg",
        }
    }

    fn feature(self) -> &'static str {
        match self {
            Implementation::OpenH264 => "sw-openh264",
            Implementation::Ffmpeg => "sw-ffmpeg",
        }
    }

    fn built(self) -> bool {
        match self {
            Implementation::OpenH264 => cfg!(feature = "sw-openh264"),
            Implementation::Ffmpeg => cfg!(feature = "sw-ffmpeg"),
        }
    }

    /// The implementation named by environment variable `var`, if set.
    fn from_env(var: &str) -> Result<Option<Self>> {
        Self::parse(var, std::env::var(var).ok().as_deref())
    }

    /// The implementation named by `value` (of variable `var`, for the error message).
    fn parse(var: &str, value: Option<&str>) -> Result<Option<Self>> {
        let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        match v.to_ascii_lowercase().as_str() {
            "openh264" => Ok(Some(Implementation::OpenH264)),
            "ffmpeg" => Ok(Some(Implementation::Ffmpeg)),
            other => Err(VideoError::invalid_input(format!(
                "{var}=`{other}` is not a software implementation (known: openh264, ffmpeg)"
            ))),
        }
    }

    /// `Unsupported` when this build lacks the implementation.
    fn require_built(self, why: &str) -> Result<Self> {
        if self.built() {
            Ok(self)
        } else {
            Err(VideoError::unsupported(format!(
                "{} ({why}) is not in this build: enable feature `{}`",
                self.name(),
                self.feature()
            )))
        }
    }
}

/// Joins raw NAL units into an Annex-B byte string (4-byte start codes), replacing `out`.
#[cfg_attr(
    not(any(feature = "sw-openh264", feature = "sw-ffmpeg")),
    allow(dead_code)
)]
fn write_annexb(nals: &[Vec<u8>], out: &mut Vec<u8>) {
    out.clear();
    for nal in nals {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(nal);
    }
}

fn no_software_codec() -> String {
    "no software codec in this build (enable feature `sw-openh264` or `sw-ffmpeg`)".to_owned()
}

/// What the software backend offers in this build.
pub(crate) fn probe() -> BackendReport {
    #[allow(unused_mut)]
    let mut report = BackendReport::unavailable(Backend::Software, no_software_codec());
    #[allow(unused_mut)]
    let mut notes: Vec<String> = Vec::new();
    #[cfg(feature = "sw-ffmpeg")]
    {
        let ff = ffmpeg::probe();
        report
            .decode_capabilities
            .extend(ff.decode_capabilities.iter().cloned());
        report.decode.extend(ff.decode);
        report.encode.extend(ff.encode);
        notes.push(ff.detail);
    }
    #[cfg(feature = "sw-openh264")]
    {
        use super::CodecSupport;
        let implementation = format!(
            "openh264 {} (built from source)",
            openh264::OPENH264_VERSION
        );
        report.decode_capabilities.push(capability::openh264());
        report.decode.push(CodecSupport {
            codec: Codec::H264,
            max_width: None,
            max_height: None,
            bit_depths: vec![8],
            implementation: implementation.clone(),
        });
        // Preferred for H.264 encode without B-frames: list it first.
        report.encode.insert(
            0,
            CodecSupport {
                codec: Codec::H264,
                max_width: Some(3840),
                max_height: Some(2160),
                bit_depths: vec![8],
                implementation,
            },
        );
        notes.push(format!(
            "openh264 {}: H.264 decode and encode (no B-frames, even sizes)",
            openh264::OPENH264_VERSION
        ));
    }
    if !notes.is_empty() {
        report.available = !report.decode.is_empty() || !report.encode.is_empty();
        report.detail = notes.join("; ");
    }
    report
}

/// Picks the decoder implementation for `codec`.
fn choose_decoder(codec: Codec) -> Result<Implementation> {
    if let Some(imp) = Implementation::from_env(DECODER_ENV)? {
        let imp = imp.require_built(&format!("requested by {DECODER_ENV}"))?;
        if imp == Implementation::OpenH264 && codec != Codec::H264 {
            return Err(VideoError::unsupported(format!(
                "openh264 (requested by {DECODER_ENV}) decodes H.264 only, not {codec}"
            )));
        }
        return Ok(imp);
    }
    if Implementation::Ffmpeg.built() {
        Ok(Implementation::Ffmpeg)
    } else if Implementation::OpenH264.built() {
        if codec == Codec::H264 {
            Ok(Implementation::OpenH264)
        } else {
            Err(VideoError::unsupported(format!(
                "software {codec} decoding needs FFmpeg (feature `sw-ffmpeg`); OpenH264 decodes H.264 only"
            )))
        }
    } else {
        Err(VideoError::unsupported(no_software_codec()))
    }
}

/// Picks the encoder implementation for `config`.
fn choose_encoder(config: &EncoderConfig) -> Result<Implementation> {
    if let Some(imp) = Implementation::from_env(ENCODER_ENV)? {
        return imp.require_built(&format!("requested by {ENCODER_ENV}"));
    }
    let openh264_fits = config.codec == Codec::H264 && config.b_frames == 0;
    if Implementation::OpenH264.built() && (openh264_fits || !Implementation::Ffmpeg.built()) {
        Ok(Implementation::OpenH264)
    } else if Implementation::Ffmpeg.built() {
        Ok(Implementation::Ffmpeg)
    } else {
        Err(VideoError::unsupported(no_software_codec()))
    }
}

/// A factory for a software decoder.
pub(crate) fn decoder_factory(config: &DecoderConfig) -> Result<DecoderFactory> {
    let codec = config.codec;
    // Metadata-only sessions skip the pixel copy altogether.
    #[allow(unused_variables)]
    let pixels = config.output != crate::api::config::DecodeOutput::MetadataOnly;
    #[allow(unused_variables)]
    let conceal = config.on_error == crate::api::config::OnError::Skip;
    match choose_decoder(codec)? {
        #[cfg(feature = "sw-openh264")]
        Implementation::OpenH264 => Ok(Box::new(move || {
            let mut dec = openh264::OpenH264Decoder::new()?;
            if conceal {
                dec = dec.concealing()?;
            }
            if !pixels {
                dec = dec.without_pixels();
            }
            Ok(Box::new(dec) as Box<dyn super::DecoderBackend>)
        })),
        #[cfg(feature = "sw-ffmpeg")]
        Implementation::Ffmpeg => Ok(Box::new(move || {
            let mut dec = ffmpeg::FfmpegDecoder::new(codec, !conceal)?;
            if !pixels {
                dec = dec.without_pixels();
            }
            Ok(Box::new(dec) as Box<dyn super::DecoderBackend>)
        })),
        #[allow(unreachable_patterns)]
        other => Err(VideoError::unsupported(format!(
            "{} is not in this build",
            other.name()
        ))),
    }
}

/// A factory for a software encoder.
pub(crate) fn encoder_factory(config: &EncoderConfig) -> Result<EncoderFactory> {
    match choose_encoder(config)? {
        #[cfg(feature = "sw-openh264")]
        Implementation::OpenH264 => {
            // Typed errors (HEVC, B-frames, odd sizes) at session creation, not on the worker.
            openh264::check_encoder_config(config)?;
            let config = config.clone();
            Ok(Box::new(move || {
                Ok(Box::new(openh264::OpenH264Encoder::new(&config)?)
                    as Box<dyn super::EncoderBackend>)
            }))
        }
        #[cfg(feature = "sw-ffmpeg")]
        Implementation::Ffmpeg => {
            ffmpeg::check_encoder_config(config)?;
            let config = config.clone();
            Ok(Box::new(move || {
                Ok(Box::new(ffmpeg::FfmpegEncoder::new(&config)?)
                    as Box<dyn super::EncoderBackend>)
            }))
        }
        #[allow(unreachable_patterns)]
        other => Err(VideoError::unsupported(format!(
            "{} is not in this build",
            other.name()
        ))),
    }
}

#[cfg(all(test, any(feature = "sw-openh264", feature = "sw-ffmpeg")))]
pub(crate) mod test_support;
#[cfg(all(test, feature = "sw-openh264"))]
mod tests;

#[cfg(all(test, not(any(feature = "sw-openh264", feature = "sw-ffmpeg"))))]
mod tests_without_codecs {
    use super::*;
    use crate::api::error::ErrorKind;

    #[test]
    fn probe_without_codecs_is_unavailable_with_the_features_to_enable() {
        let report = probe();
        assert!(!report.available);
        assert!(report.detail.contains("sw-openh264"), "{}", report.detail);
        let err = decoder_factory(&DecoderConfig::new(Codec::H264))
            .err()
            .unwrap();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    }
}
