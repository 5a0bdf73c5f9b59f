//! H.264 and HEVC through the system's FFmpeg libraries (`ffmpeg-next`).
//!
//! - Decoding: FFmpeg's native decoders, frame-threaded over every core. Each access unit is
//!   one packet whose pts is a tag that maps back to the caller's pts and keyframe flag, so
//!   frames come out in presentation order with their own timestamps. FFmpeg applies the SPS
//!   crop (with `AV_CODEC_FLAG_UNALIGNED`, so odd left/top crops are exact). 8-bit 4:2:0 comes
//!   out as I420 (`yuvj420p` as full range); 10- and 12-bit 4:2:0 as I010 / I012 (planar,
//!   LSB-aligned: FFmpeg's own `yuv420p10le` / `yuv420p12le`); other layouts are `Unsupported`.
//!   H.264 is decoded with `strict_std_compliance = strict`: the reorder depth comes from the
//!   SPS (its VUI, else the level's DPB size) from the first picture on. Without it, a stream
//!   that does not signal `max_num_reorder_frames` makes FFmpeg learn the depth as pictures
//!   arrive and drop the ones already overtaken ("no picture ooo"), without an error; the
//!   `ffmpeg` command escapes that only because it probes the stream first.
//! - Encoding: libx264 (H.264) and libx265 (HEVC), B-frames allowed, headers in band, Annex-B.
//!   `flush` drains the encoder; the next picture opens a fresh encoder (starting with an IDR).
//!
//! FFmpeg's own log is lowered to errors when the first adapter is created: failures come
//! back as typed errors instead.

mod decode;
mod encode;
mod logs;
mod plane_pool;

pub(crate) use decode::FfmpegDecoder;
pub(crate) use encode::{FfmpegEncoder, check_encoder_config};

use crate::api::codec::Codec;
use crate::api::error::{Result, VideoError};
use crate::backend::{BackendReport, CodecSupport};
use ffmpeg_next as ff;
use std::sync::Once;

/// Access units whose picture may still be inside the decoder.
const MAX_PENDING: usize = 256;

fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // Only registers error strings on FFmpeg 5+; cannot fail there.
        let _ = ff::init();
        logs::forward_ffmpeg_log();
    });
}

/// `libavcodec MAJOR.MINOR.MICRO` of the library loaded at run time.
fn libavcodec_version() -> String {
    let v = ff::codec::version();
    format!("libavcodec {}.{}.{}", v >> 16, (v >> 8) & 0xff, v & 0xff)
}

fn codec_id(codec: Codec) -> ff::codec::Id {
    match codec {
        Codec::H264 => ff::codec::Id::H264,
        Codec::Hevc => ff::codec::Id::HEVC,
        Codec::Vp9 => ff::codec::Id::VP9,
    }
}

/// The libavcodec encoder of `codec`, when there is one here (H.264, HEVC).
fn encoder_name(codec: Codec) -> Option<&'static str> {
    match codec {
        Codec::H264 => Some("libx264"),
        Codec::Hevc => Some("libx265"),
        _ => None,
    }
}

/// [`encoder_name`], or `Unsupported` naming what this backend encodes.
fn encoder_for(codec: Codec) -> Result<&'static str> {
    encoder_name(codec).ok_or_else(|| {
        VideoError::unsupported(format!(
            "FFmpeg encodes H.264 (libx264) and HEVC (libx265) here, not {codec}"
        ))
    })
}

fn is_again(e: &ff::Error) -> bool {
    matches!(e, ff::Error::Other { errno } if *errno == ff::error::EAGAIN)
}

fn ff_error(what: &str, e: ff::Error) -> VideoError {
    match e {
        ff::Error::InvalidData => VideoError::invalid_bitstream(format!("{what}: {e}")),
        _ => VideoError::backend(format!("{what}: {e}")),
    }
}

/// What FFmpeg offers in this process (decoders and the libx264/libx265 encoders).
pub(crate) fn probe() -> BackendReport {
    init();
    let version = libavcodec_version();
    let mut report = BackendReport::unavailable(crate::backend::Backend::Software, "");
    for codec in Codec::ALL {
        if ff::decoder::find(codec_id(codec)).is_some() {
            report
                .decode_capabilities
                .push(super::capability::ffmpeg(codec, &version));
            report.decode.push(CodecSupport {
                codec,
                max_width: None,
                max_height: None,
                bit_depths: vec![8, 10],
                implementation: format!("ffmpeg {version}"),
            });
        }
        if let Some(name) = encoder_name(codec)
            && ff::encoder::find_by_name(name).is_some()
        {
            report.encode.push(CodecSupport {
                codec,
                max_width: None,
                max_height: None,
                bit_depths: vec![8],
                implementation: format!("ffmpeg {version} ({name})"),
            });
        }
    }
    let encoders: Vec<&str> = Codec::ALL
        .iter()
        .filter_map(|c| encoder_name(*c))
        .filter(|n| ff::encoder::find_by_name(n).is_some())
        .collect();
    report.detail = format!(
        "ffmpeg {version}: decode {}; encode {}",
        report
            .decode
            .iter()
            .map(|c| c.codec.name())
            .collect::<Vec<_>>()
            .join(", "),
        if encoders.is_empty() {
            "none (no libx264/libx265)".to_owned()
        } else {
            encoders.join(", ")
        }
    );
    report
}

#[cfg(test)]
mod tests;
