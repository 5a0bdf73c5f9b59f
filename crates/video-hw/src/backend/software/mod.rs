//! The software backend: OpenH264 (H.264) and, with `sw-ffmpeg`, FFmpeg's libraries.

use super::{Backend, BackendReport, DecoderFactory, EncoderFactory};
use crate::api::config::{DecoderConfig, EncoderConfig};
use crate::api::error::{Result, VideoError};

/// What the software backend offers in this build.
pub(crate) fn probe() -> BackendReport {
    let _ = Backend::Software;
    todo!("software helper")
}

/// A factory for a software decoder.
pub(crate) fn decoder_factory(config: &DecoderConfig) -> Result<DecoderFactory> {
    let _ = config;
    Err(VideoError::unsupported("software helper"))
}

/// A factory for a software encoder.
pub(crate) fn encoder_factory(config: &EncoderConfig) -> Result<EncoderFactory> {
    let _ = config;
    Err(VideoError::unsupported("software helper"))
}
