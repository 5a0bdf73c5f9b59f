//! What a `VideoDecoder` reads: a file or bytes in memory, opened with the library's
//! demuxers (the container recognised by content through `container::sniff`, the codec of
//! raw Annex-B through `bitstream::annexb_codec`), as a stream of decoder inputs; MP4 files
//! also give the sample index for random access.

use std::io::{Cursor, Read, Seek};
use std::path::PathBuf;
use std::sync::Arc;
use video_hw::bitstream::{StreamInfo, annexb_codec, assemble_annexb, syntax};
use video_hw::container::{
    self, ContainerKind, IvfReader, MatroskaDemuxer, Mp4Demuxer, Mp4SampleTiming, TsDemuxer,
};
use video_hw::{Codec, DecodeInput, Dimensions, Rational, Result, Timebase, VideoError};

/// Bytes read per Annex-B input: a few pictures. Larger inputs (1 MiB is about 50 pictures
/// at 1080p) leave the session holding every picture of the inputs in flight at the end of
/// the stream, and their pooled buffers with them.
const ANNEXB_CHUNK: usize = 64 << 10;

/// Readers the seeking demuxers use.
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// Shared bytes as a reader's buffer.
#[derive(Clone)]
struct SharedBytes(Arc<[u8]>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Where the compressed video is; opened again for each pass that restarts.
#[derive(Clone)]
pub enum Input {
    /// A file.
    Path(PathBuf),
    /// A whole file in memory.
    Bytes(Arc<[u8]>),
}

impl Input {
    fn reader(&self) -> Result<Box<dyn ReadSeek>> {
        match self {
            Input::Path(p) => {
                let f = std::fs::File::open(p).map_err(|e| {
                    VideoError::invalid_input(format!("cannot open {}: {e}", p.display()))
                })?;
                Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, f)))
            }
            Input::Bytes(b) => Ok(Box::new(Cursor::new(SharedBytes(b.clone())))),
        }
    }

    /// Bytes of the input (`None` when a file's size cannot be read).
    pub fn len(&self) -> Option<u64> {
        match self {
            Input::Path(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            Input::Bytes(b) => Some(b.len() as u64),
        }
    }

    fn describe(&self) -> String {
        match self {
            Input::Path(p) => p.display().to_string(),
            Input::Bytes(b) => format!("<{} bytes>", b.len()),
        }
    }
}

enum Demux {
    Mp4(Box<Mp4Demuxer<Box<dyn ReadSeek>>>),
    Matroska(Box<MatroskaDemuxer<Box<dyn ReadSeek>>>),
    Ts(Box<TsDemuxer<Box<dyn ReadSeek>>>),
    Ivf(IvfReader<Box<dyn ReadSeek>>),
    AnnexB(Box<dyn ReadSeek>),
}

/// An opened input: what the container and the first sequence header say, and its inputs.
pub struct Source {
    /// The codec of the video track.
    pub codec: Codec,
    /// `mp4`, `matroska`, `mpegts`, `ivf` or `annexb`.
    pub container: &'static str,
    /// Timebase of the inputs' timestamps.
    pub timebase: Option<Timebase>,
    /// Visible size, when known before decoding.
    pub size: Option<Dimensions>,
    /// Frames in the track, when the container states it (MP4).
    pub frames: Option<u64>,
    /// Duration in seconds, when the container states it (MP4).
    pub duration: Option<f64>,
    /// The first sequence header (SPS), when one parses before decoding.
    pub stream: Option<StreamInfo>,
    demux: Demux,
}

impl Source {
    /// Opens `input`, recognising its container by content.
    pub fn open(input: &Input) -> Result<Self> {
        let mut reader = input.reader()?;
        let mut head = Vec::new();
        reader
            .by_ref()
            .take(container::SNIFF_LEN.max(64 * 1024) as u64)
            .read_to_end(&mut head)
            .map_err(|e| VideoError::invalid_input(format!("reading {}: {e}", input.describe())))?;
        if head.is_empty() {
            return Err(VideoError::invalid_input(format!(
                "{} is empty",
                input.describe()
            )));
        }
        reader
            .rewind()
            .map_err(|e| VideoError::invalid_input(format!("rewinding: {e}")))?;
        let kind = container::sniff(&head);
        let mut s = match kind {
            Some(ContainerKind::Mp4) => Self::mp4(reader)?,
            Some(ContainerKind::Matroska) => {
                let demux = MatroskaDemuxer::new(reader)?;
                let t = demux.track();
                Self::plain(t.codec, "matroska", Some(t.timebase), t.dimensions, {
                    Demux::Matroska(Box::new(demux))
                })
            }
            Some(ContainerKind::MpegTs) => {
                let demux = TsDemuxer::new(reader)?;
                let codec = demux.stream().codec;
                let tb = Some(Timebase::MPEG_90K);
                Self::plain(codec, "mpegts", tb, None, Demux::Ts(Box::new(demux)))
            }
            Some(ContainerKind::Ivf) => {
                let ivf = IvfReader::new(reader)?;
                let h = ivf.header();
                let codec = h.codec().ok_or_else(|| {
                    VideoError::unsupported(format!(
                        "IVF with codec `{}`, which video-hw does not decode",
                        String::from_utf8_lossy(&h.fourcc)
                    ))
                })?;
                let (tb, size) = (Some(h.timebase), h.dimensions);
                Self::plain(codec, "ivf", tb, size, Demux::Ivf(ivf))
            }
            Some(other) => {
                return Err(VideoError::unsupported(format!(
                    "{} is {other}, which video-hw does not read; remux the video into MP4 \
                     first (no re-encode): ffmpeg -i IN -map 0:v:0 -c copy out.mp4",
                    input.describe()
                )));
            }
            None => {
                let codec = annexb_codec(&head).ok_or_else(|| {
                    VideoError::invalid_bitstream(format!(
                        "{}: no container recognised and no H.264 or HEVC parameter set in \
                         its first {} bytes",
                        input.describe(),
                        head.len()
                    ))
                })?;
                let mut s = Self::plain(codec, "annexb", None, None, Demux::AnnexB(reader));
                s.stream = first_sequence(codec, &head);
                s
            }
        };
        if s.size.is_none() {
            s.size = s.stream.as_ref().map(|i| i.display);
        }
        Ok(s)
    }

    fn plain(
        codec: Codec,
        container: &'static str,
        timebase: Option<Timebase>,
        size: Option<Dimensions>,
        demux: Demux,
    ) -> Self {
        Self {
            codec,
            container,
            timebase,
            size,
            frames: None,
            duration: None,
            stream: None,
            demux,
        }
    }

    fn mp4(reader: Box<dyn ReadSeek>) -> Result<Self> {
        let demux = Mp4Demuxer::new(reader)?;
        let t = demux.track();
        let mut annexb = Vec::new();
        for nal in &t.parameter_sets {
            annexb.extend_from_slice(&[0, 0, 0, 1]);
            annexb.extend_from_slice(nal);
        }
        Ok(Self {
            codec: t.codec,
            container: "mp4",
            timebase: Some(t.timebase),
            size: t.dimensions,
            frames: Some(u64::from(t.frame_count)),
            duration: Some(t.duration.seconds()),
            stream: first_sequence(t.codec, &annexb),
            demux: Demux::Mp4(Box::new(demux)),
        })
    }

    /// Average frame rate: frames over duration (MP4), else the sequence header's timing.
    pub fn frame_rate(&self) -> Option<f64> {
        match (self.frames, self.duration) {
            (Some(n), Some(d)) if n > 0 && d > 0.0 => Some(n as f64 / d),
            _ => self
                .stream
                .as_ref()
                .and_then(|i| i.frame_rate)
                .filter(|r: &Rational| r.den > 0)
                .map(|r| f64::from(r.num) / f64::from(r.den)),
        }
    }

    /// The MP4 sample index (decode order), `None` for other containers.
    pub fn sample_timings(&self) -> Option<Result<Vec<Mp4SampleTiming>>> {
        match &self.demux {
            Demux::Mp4(d) => Some(d.sample_timings()),
            _ => None,
        }
    }

    /// Makes MP4 sample `index` the next input (see `Mp4Demuxer::seek_to_sample`).
    pub fn seek_to_sample(&mut self, index: u32) -> Result<()> {
        match &mut self.demux {
            Demux::Mp4(d) => d.seek_to_sample(index),
            _ => Err(VideoError::unsupported(
                "seeking needs a sample index (MP4/MOV input)",
            )),
        }
    }

    /// The next decoder input, `None` at the end.
    pub fn next_input(&mut self) -> Result<Option<DecodeInput>> {
        Ok(match &mut self.demux {
            Demux::Mp4(d) => d.next_sample()?.map(|s| s.into_decode_input()),
            Demux::Matroska(d) => d.next_frame()?.map(|f| f.into_decode_input()),
            Demux::Ts(d) => d.next_frame()?.map(|f| f.into_decode_input()),
            Demux::Ivf(d) => d.next_frame()?.map(|f| f.into_decode_input()),
            Demux::AnnexB(r) => {
                let mut chunk = Vec::with_capacity(ANNEXB_CHUNK);
                r.by_ref()
                    .take(ANNEXB_CHUNK as u64)
                    .read_to_end(&mut chunk)
                    .map_err(|e| VideoError::invalid_input(format!("reading input: {e}")))?;
                (!chunk.is_empty()).then(|| DecodeInput::annexb(chunk))
            }
        })
    }
}

/// The first sequence header in Annex-B `bytes`, if one parses.
fn first_sequence(codec: Codec, bytes: &[u8]) -> Option<StreamInfo> {
    let mut sequence = syntax(codec).sequence_track();
    for au in assemble_annexb(codec, bytes) {
        sequence.observe(&au);
        if let Some(info) = sequence.active() {
            return Some(info.clone());
        }
    }
    None
}
