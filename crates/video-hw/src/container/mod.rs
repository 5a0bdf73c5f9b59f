//! Containers: MP4/MOV demuxing and MP4 muxing (ISO/IEC 14496-12/-15), Matroska/WebM and
//! MPEG-TS demuxing, IVF reading.
//!
//! Plain types without hidden I/O: [`Mp4Demuxer`] reads from any `Read + Seek`,
//! [`Mp4Muxer`] writes to any `Write + Seek` (or only `Write` when fragmented). Box
//! parsing and writing is done by the `shiguredo_mp4` crate; this module maps its boxes to
//! the crate's vocabulary ([`crate::DecodeInput`], [`crate::EncodedChunk`], [`crate::Timestamp`]).
//!
//! - [`MatroskaDemuxer`] (through the `matroska-demuxer` crate) and [`TsDemuxer`] (through
//!   `mpeg2ts-reader`) give the first H.264/HEVC (and, in Matroska, VP9) video track as
//!   [`DemuxedFrame`]s; other tracks are skipped and counted.
//! - [`sniff`] recognises a container from the first bytes of a file (not its name).
//! - [`is_mp4_path`] says whether an output name asks for MP4 (`.mp4`, `.m4v`, `.mov`).

// Everything here reads bytes from outside: arithmetic on what was read must be checked
// (issue #21). Exceptions carry `#[allow(clippy::arithmetic_side_effects, reason = "...")]`
// on the smallest scope. Unit tests build fixtures from constants and are left out.
#![cfg_attr(not(test), warn(clippy::arithmetic_side_effects))]

mod audio_entry;
mod codec_config;
mod demuxed;
mod ivf;
mod matroska;
mod mp4_demux;
mod mp4_mux;
mod mpeg_ts;
mod mux_audio;
mod sample_bounds;
mod sniff;
mod tracked_reader;

pub use audio_entry::AudioCodec;
pub use demuxed::{DemuxedFrame, FrameLayout};
pub use ivf::{IvfFrame, IvfHeader, IvfReader};
pub use matroska::{MatroskaDemuxer, MatroskaSummary, MatroskaTrackInfo};
pub use mp4_demux::{
    DemuxSummary, Mp4AudioReader, Mp4AudioSample, Mp4AudioTrackInfo, Mp4Demuxer, Mp4Sample,
    Mp4SampleTiming, Mp4Track, Mp4TrackInfo, Mp4Truncation,
};
pub use mp4_mux::{Mp4Muxer, MuxSummary};
pub use mpeg_ts::{MAX_PES_BYTES, MAX_PROBE_BYTES, TsDemuxer, TsStreamInfo, TsSummary};
pub use sniff::{ContainerKind, SNIFF_LEN, is_mp4_path, sniff};

use crate::api::error::VideoError;

/// Maps an error of the MP4 crate to a [`VideoError`] (`Unsupported` for what the crate
/// does not handle, `InvalidBitstream` for malformed data). The message names the box and
/// what went wrong, never where in the crate's source the error was made.
fn mp4_error(what: &str, e: shiguredo_mp4::Error) -> VideoError {
    let message = format!("{what}: {}", describe_mp4_error(&e));
    match e.kind {
        shiguredo_mp4::ErrorKind::Unsupported => VideoError::unsupported(message),
        _ => VideoError::invalid_bitstream(message),
    }
}

/// An MP4 crate error in words: the box it was decoding, and why (no source location).
fn describe_mp4_error(e: &shiguredo_mp4::Error) -> String {
    use shiguredo_mp4::ErrorKind;
    let why = match (e.kind, e.reason.is_empty()) {
        (ErrorKind::InsufficientBuffer, _) => {
            "the box ends before its fields do (truncated or malformed)".to_string()
        }
        (ErrorKind::Unsupported, true) => "not supported".to_string(),
        (_, true) => "malformed".to_string(),
        (_, false) => e.reason.clone(),
    };
    match e.box_type {
        Some(t) => format!("box `{t}`: {why}"),
        None => why,
    }
}

/// Maps an I/O error while reading a container: a short read is a truncated file.
fn read_error(what: &str, e: std::io::Error) -> VideoError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        VideoError::invalid_bitstream(format!("{what}: file is truncated"))
    } else {
        VideoError::invalid_input(format!("{what}: {e}")).with_source(e)
    }
}

/// Fills `buf` from `reader` at byte `offset`; a short file is a truncated `what`
/// ([`read_error`]).
fn read_at(
    reader: &mut (impl std::io::Read + std::io::Seek),
    offset: u64,
    buf: &mut [u8],
    what: &str,
) -> Result<(), VideoError> {
    reader
        .seek(std::io::SeekFrom::Start(offset))
        .and_then(|_| reader.read_exact(buf))
        .map_err(|e| read_error(what, e))
}

/// Maps an I/O error while writing a container.
fn write_error(what: &str, e: std::io::Error) -> VideoError {
    VideoError::invalid_input(format!("{what}: {e}")).with_source(e)
}
