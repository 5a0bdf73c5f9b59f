//! Stream containers as decoder input: Matroska/WebM and MPEG-TS (M2TS), through the
//! library's demuxers, with what they skipped reported as notes and warnings.

use crate::decode_source::ReadSeek;
use anyhow::{Context, Result};
use std::io::Read;
use std::path::Path;
use video_hw::container::{MatroskaDemuxer, TsDemuxer};
use video_hw::{Codec, DecodeInput, Dimensions, Timebase};

/// An opened stream container.
pub struct Opened {
    /// The codec of the video track the container states.
    pub codec: Codec,
    /// `matroska`, `webm`, `mpegts` or `m2ts`.
    pub container: &'static str,
    /// Timebase of the timestamps.
    pub timebase: Timebase,
    /// Picture size, when the container states it.
    pub size: Option<Dimensions>,
    /// What was found and skipped.
    pub notes: Vec<String>,
    /// The demuxer.
    pub demux: StreamDemux,
}

/// The demuxer of an [`Opened`] container.
pub enum StreamDemux {
    /// Matroska or WebM.
    Matroska(Box<MatroskaDemuxer<Box<dyn ReadSeek>>>),
    /// MPEG-TS or M2TS.
    Ts {
        /// The demuxer.
        demux: Box<TsDemuxer<Box<dyn Read + Send>>>,
        /// The file, for the damage warning.
        path: String,
        /// Whether the end was reached (the warning is given once).
        ended: bool,
    },
}

/// `path` as a seekable reader: the file, or stdin read whole after `head`.
fn seekable(
    path: &Path,
    head: Vec<u8>,
    mut reader: Box<dyn Read + Send>,
) -> Result<Box<dyn ReadSeek>> {
    if path.as_os_str() == "-" {
        let mut all = head;
        reader.read_to_end(&mut all).context("reading stdin")?;
        return Ok(Box::new(std::io::Cursor::new(all)));
    }
    // Unbuffered: the Matroska reader buffers itself (its seeks would empty a `BufReader`).
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(Box::new(f))
}

/// Opens a Matroska or WebM file (recognised by its EBML header).
pub fn open_matroska(path: &Path, head: Vec<u8>, reader: Box<dyn Read + Send>) -> Result<Opened> {
    let demux = MatroskaDemuxer::new(seekable(path, head, reader)?)
        .with_context(|| format!("reading Matroska/WebM {}", path.display()))?;
    let track = demux.track();
    let s = demux.summary();
    let mut notes = vec![format!(
        "{} video track {} ({})",
        track.doc_type, track.track_number, track.codec_id
    )];
    if s.audio_tracks_skipped > 0 {
        notes.push(format!("{} audio track(s) skipped", s.audio_tracks_skipped));
    }
    if s.other_tracks_skipped > 0 {
        notes.push(format!("{} other track(s) skipped", s.other_tracks_skipped));
    }
    Ok(Opened {
        codec: track.codec,
        container: if track.doc_type == "webm" {
            "webm"
        } else {
            "matroska"
        },
        timebase: track.timebase,
        size: track.dimensions,
        notes,
        demux: StreamDemux::Matroska(Box::new(demux)),
    })
}

/// Opens an MPEG transport stream (recognised by its sync bytes).
pub fn open_ts(path: &Path, head: Vec<u8>, reader: Box<dyn Read + Send>) -> Result<Opened> {
    let chained: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(head).chain(reader));
    let demux =
        TsDemuxer::new(chained).with_context(|| format!("reading MPEG-TS {}", path.display()))?;
    let stream = demux.stream().clone();
    let mut notes = vec![format!(
        "MPEG-TS video stream pid {} ({}-byte packets)",
        stream.pid, stream.packet_size
    )];
    let skipped = &demux.summary().streams_skipped;
    if !skipped.is_empty() {
        notes.push(format!(
            "{} other stream(s) skipped: {}",
            skipped.len(),
            skipped.join(", ")
        ));
    }
    Ok(Opened {
        codec: stream.codec,
        container: if stream.packet_size == 192 {
            "m2ts"
        } else {
            "mpegts"
        },
        timebase: Timebase::MPEG_90K,
        size: None,
        notes,
        demux: StreamDemux::Ts {
            demux: Box::new(demux),
            path: path.display().to_string(),
            ended: false,
        },
    })
}

impl StreamDemux {
    /// The next decoder input; a damaged MPEG-TS gives a warning with what was skipped when
    /// it ends.
    pub fn next_input(&mut self, path: &Path) -> Option<Result<DecodeInput>> {
        match self {
            StreamDemux::Matroska(demux) => match demux.next_frame() {
                Ok(frame) => frame.map(|f| Ok(f.into_decode_input())),
                Err(e) => Some(Err(
                    anyhow::Error::new(e).context(format!("{}", path.display()))
                )),
            },
            StreamDemux::Ts { demux, path, ended } => match demux.next_frame() {
                Ok(Some(frame)) => Some(Ok(frame.into_decode_input())),
                Ok(None) => {
                    if !*ended {
                        *ended = true;
                        warn_ts_damage(path, demux.summary());
                    }
                    None
                }
                Err(e) => Some(Err(anyhow::Error::new(e).context(path.clone()))),
            },
        }
    }
}

/// Prints what a damaged transport stream lost.
fn warn_ts_damage(path: &str, s: &video_hw::container::TsSummary) {
    let Some(at) = s.first_damage_at else { return };
    let mut what = Vec::new();
    if s.resyncs > 0 {
        what.push(format!("sync lost {} time(s)", s.resyncs));
    }
    if s.pes_dropped > 0 {
        what.push(format!(
            "{} video PES packet(s) dropped (missing packets)",
            s.pes_dropped
        ));
    }
    if s.truncated_tail > 0 {
        what.push(format!(
            "the last packet is cut short ({} bytes): the file is truncated",
            s.truncated_tail
        ));
    }
    eprintln!(
        "warning: {path} is damaged from byte {at}: {}; {} bytes skipped",
        what.join(", "),
        s.bytes_skipped
    );
}
