//! Compressed input for `decode` and `transcode`: an Annex-B stream read in chunks, the
//! first video track of an MP4/MOV, Matroska/WebM or MPEG-TS file, or the frames of an IVF
//! file (the container recognised by content, never by name; the codec the stream states
//! wins over `--codec` and the extension, with a warning).

use crate::input_file;
use crate::stream_demux::{self, StreamDemux};
use anyhow::{Context, Result, bail};
use std::io::{Read, Seek};
use std::path::Path;
use video_hw::bitstream::{assemble_annexb, syntax};
use video_hw::container::{self, ContainerKind, IvfReader, Mp4Demuxer};
use video_hw::{Codec, DecodeInput, Dimensions, Timebase};

/// Readers the MP4 demuxer can use.
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// An opened input: what it is, and an iterator over its decoder inputs.
pub struct Source {
    /// The codec of the stream.
    pub codec: Codec,
    /// `annexb`, `mp4`, `ivf`, `matroska`, `webm`, `mpegts` or `m2ts`.
    pub container: &'static str,
    /// Timebase of the timestamps the inputs carry (MP4 track timescale).
    pub timebase: Option<Timebase>,
    /// Picture size, when known before decoding (first SPS, or the MP4 track).
    pub size: Option<Dimensions>,
    /// Frame count, when known up front (MP4).
    pub frames: Option<u64>,
    /// Notes for the summary (skipped audio tracks...).
    pub notes: Vec<String>,
    /// The tracks of an MP4/MOV input (empty for other containers).
    pub mp4_tracks: Vec<container::Mp4Track>,
    inner: Inner,
}

enum Inner {
    AnnexB {
        reader: Box<dyn Read + Send>,
        pending: Option<Vec<u8>>,
        chunk_size: usize,
    },
    Mp4(Box<Mp4Demuxer<Box<dyn ReadSeek>>>),
    Ivf(IvfReader<Box<dyn Read + Send>>),
    Stream {
        demux: StreamDemux,
        path: std::path::PathBuf,
    },
}

/// The codec to decode: the one the container states; a different `--codec` gives way with
/// a warning.
fn stream_wins(path: &Path, stated: Codec, explicit: Option<Codec>, container: &str) -> Codec {
    if let Some(c) = explicit.filter(|c| *c != stated) {
        eprintln!(
            "warning: --codec {c} given, but the {container} file {} holds {stated}: decoding \
             it as {stated}",
            path.display()
        );
    }
    stated
}

impl Source {
    /// Opens `path` (`-` is stdin), recognising MP4 by its `ftyp` box.
    pub fn open(path: &Path, explicit: Option<Codec>, chunk_size: usize) -> Result<Self> {
        Self::open_track(path, explicit, chunk_size, None)
    }

    /// [`Source::open`], reading the MP4/MOV video track with id `track` (`--track`).
    pub fn open_track(
        path: &Path,
        explicit: Option<Codec>,
        chunk_size: usize,
        track: Option<u32>,
    ) -> Result<Self> {
        let mut reader = input_file::open(path)?;
        let head = input_file::read_up_to(&mut *reader, 64 * 1024)?;
        if head.is_empty() {
            bail!("{} is empty", path.display());
        }
        match container::sniff(&head) {
            Some(ContainerKind::Mp4) => Self::open_mp4(path, head, reader, explicit, track),
            _ if track.is_some() => bail!(
                "--track picks a track of an MP4/MOV file; {} is not one",
                path.display()
            ),
            Some(ContainerKind::Ivf) => Self::open_ivf(path, head, reader, explicit),
            Some(ContainerKind::Matroska) => Self::from_stream(
                path,
                explicit,
                stream_demux::open_matroska(path, head, reader)?,
            ),
            Some(ContainerKind::MpegTs) => {
                Self::from_stream(path, explicit, stream_demux::open_ts(path, head, reader)?)
            }
            Some(kind) => bail!(
                "{} is {kind}, which video-hw does not read; remux the video into MP4 first \
                 (no re-encode): ffmpeg -i {} -map 0:v:0 -c copy out.mp4",
                path.display(),
                path.display()
            ),
            None => {
                let (codec, warning) = input_file::detect_codec(explicit, path, &head)?;
                if let Some(w) = warning {
                    eprintln!("warning: {w}");
                }
                Ok(Self {
                    codec,
                    container: "annexb",
                    timebase: None,
                    size: first_sps_size(codec, &head),
                    frames: None,
                    notes: Vec::new(),
                    mp4_tracks: Vec::new(),
                    inner: Inner::AnnexB {
                        reader,
                        pending: Some(head),
                        chunk_size,
                    },
                })
            }
        }
    }

    fn from_stream(
        path: &Path,
        explicit: Option<Codec>,
        opened: stream_demux::Opened,
    ) -> Result<Self> {
        Ok(Self {
            codec: stream_wins(path, opened.codec, explicit, opened.container),
            container: opened.container,
            timebase: Some(opened.timebase),
            size: opened.size,
            frames: None,
            notes: opened.notes,
            mp4_tracks: Vec::new(),
            inner: Inner::Stream {
                demux: opened.demux,
                path: path.to_path_buf(),
            },
        })
    }

    fn open_ivf(
        path: &Path,
        head: Vec<u8>,
        reader: Box<dyn Read + Send>,
        explicit: Option<Codec>,
    ) -> Result<Self> {
        let chained: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(head).chain(reader));
        let ivf =
            IvfReader::new(chained).with_context(|| format!("reading IVF {}", path.display()))?;
        let header = ivf.header();
        let fourcc = String::from_utf8_lossy(&header.fourcc).into_owned();
        let Some(codec) = header.codec() else {
            bail!(
                "{} is IVF with codec `{fourcc}`, which video-hw does not decode",
                path.display()
            );
        };
        Ok(Self {
            codec: stream_wins(path, codec, explicit, "IVF"),
            container: "ivf",
            timebase: Some(header.timebase),
            size: header.dimensions,
            frames: None,
            notes: Vec::new(),
            mp4_tracks: Vec::new(),
            inner: Inner::Ivf(ivf),
        })
    }

    fn open_mp4(
        path: &Path,
        head: Vec<u8>,
        mut reader: Box<dyn Read + Send>,
        explicit: Option<Codec>,
        track: Option<u32>,
    ) -> Result<Self> {
        let seekable: Box<dyn ReadSeek> = if path.as_os_str() == "-" {
            let mut all = head;
            reader
                .read_to_end(&mut all)
                .context("reading MP4 from stdin")?;
            Box::new(std::io::Cursor::new(all))
        } else {
            let f = std::fs::File::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            Box::new(std::io::BufReader::with_capacity(1 << 20, f))
        };
        let demux = match track {
            Some(id) => Mp4Demuxer::with_track(seekable, id),
            None => Mp4Demuxer::new(seekable),
        }
        .with_context(|| format!("reading MP4 {}", path.display()))?;
        let track = demux.track();
        stream_wins(path, track.codec, explicit, "MP4");
        let s = demux.summary();
        let mut notes = Vec::new();
        if s.audio_tracks_skipped > 0 {
            notes.push(format!("{} audio track(s) skipped", s.audio_tracks_skipped));
        }
        if s.other_tracks_skipped > 0 {
            notes.push(format!("{} other track(s) skipped", s.other_tracks_skipped));
        }
        if s.video_tracks > 1 {
            notes.push(format!(
                "video track {} of {} read (--track picks another)",
                demux.track().track_id,
                s.video_tracks
            ));
        }
        if let Some(t) = &s.truncated {
            // Shown at once, even with -q: the output is incomplete.
            eprintln!("video-hw: warning: {}: {t}", path.display());
        }
        Ok(Self {
            codec: track.codec,
            container: "mp4",
            timebase: Some(track.timebase),
            size: track.dimensions,
            frames: Some(u64::from(track.frame_count)),
            notes,
            mp4_tracks: s.tracks.clone(),
            inner: Inner::Mp4(Box::new(demux)),
        })
    }
}

impl Iterator for Source {
    type Item = Result<DecodeInput>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::AnnexB {
                reader,
                pending,
                chunk_size,
            } => {
                if let Some(head) = pending.take() {
                    return Some(Ok(DecodeInput::annexb(head)));
                }
                match input_file::read_up_to(&mut **reader, *chunk_size) {
                    Ok(c) if c.is_empty() => None,
                    Ok(c) => Some(Ok(DecodeInput::annexb(c))),
                    Err(e) => Some(Err(e)),
                }
            }
            Inner::Ivf(ivf) => match ivf.next_frame() {
                Ok(Some(frame)) => Some(Ok(frame.into_decode_input())),
                Ok(None) => None,
                Err(e) => Some(Err(e.into())),
            },
            Inner::Stream { demux, path } => demux.next_input(path),
            Inner::Mp4(demux) => match demux.next_sample() {
                Ok(Some(sample)) => Some(Ok(sample.into_decode_input())),
                Ok(None) => None,
                Err(e) => Some(Err(e.into())),
            },
        }
    }
}

/// The visible size of the first sequence header in `head`, if one parses.
fn first_sps_size(codec: Codec, head: &[u8]) -> Option<Dimensions> {
    let mut sequence = syntax(codec).sequence_track();
    for au in assemble_annexb(codec, head) {
        sequence.observe(&au);
        if let Some(info) = sequence.active() {
            return Some(info.display);
        }
    }
    None
}
