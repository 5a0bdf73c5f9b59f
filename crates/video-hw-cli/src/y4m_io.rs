//! YUV4MPEG2 (`.y4m`, FFmpeg's `-f yuv4mpegpipe`) in and out, through the `y4m` crate: the
//! header carries the picture size, frame rate and sample format, so that frames piped to
//! and from FFmpeg need no flags.

use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::path::Path;
use video_hw::{Dimensions, PixelFormat, Rational, Timestamp};

/// Whether `path` names a Y4M file by its extension.
pub fn is_y4m_path(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("y4m"))
}

/// Whether `head` starts like a Y4M stream.
pub fn sniff(head: &[u8]) -> bool {
    head.starts_with(b"YUV4MPEG2 ")
}

fn y4m_error(e: y4m::Error) -> anyhow::Error {
    anyhow::anyhow!("Y4M: {e:?}")
}

/// Frames read from a Y4M stream, as packed I420 (or I010/I012) pictures.
pub struct Y4mReader {
    decoder: y4m::Decoder<Box<dyn Read + Send>>,
    /// The picture size from the header.
    pub size: Dimensions,
    /// The frame rate from the header.
    pub rate: Rational,
    /// The sample format from the header (4:2:0 only).
    pub format: PixelFormat,
}

impl Y4mReader {
    /// Reads the stream header.
    pub fn new(reader: Box<dyn Read + Send>, path: &Path) -> Result<Self> {
        let decoder = y4m::Decoder::new(reader)
            .map_err(y4m_error)
            .with_context(|| format!("reading the Y4M header of {}", path.display()))?;
        let format = match decoder.get_colorspace() {
            y4m::Colorspace::C420
            | y4m::Colorspace::C420jpeg
            | y4m::Colorspace::C420paldv
            | y4m::Colorspace::C420mpeg2 => PixelFormat::I420,
            y4m::Colorspace::C420p10 => PixelFormat::I010,
            y4m::Colorspace::C420p12 => PixelFormat::I012,
            other => bail!(
                "{} is Y4M {other:?}; video-hw encodes 4:2:0 (convert with ffmpeg -pix_fmt yuv420p)",
                path.display()
            ),
        };
        let (w, h) = (decoder.get_width(), decoder.get_height());
        let size = u32::try_from(w)
            .ok()
            .zip(u32::try_from(h).ok())
            .and_then(|(w, h)| Dimensions::new(w, h).ok())
            .with_context(|| format!("Y4M picture size {w}x{h} is not usable"))?;
        let r = decoder.get_framerate();
        let rate = u32::try_from(r.num)
            .ok()
            .zip(u32::try_from(r.den).ok())
            .and_then(|(n, d)| Rational::new(n, d).ok())
            .with_context(|| format!("Y4M frame rate {}:{} is not usable", r.num, r.den))?;
        Ok(Self {
            decoder,
            size,
            rate,
            format,
        })
    }

    /// The next picture as packed planes, or `None` at the end of the stream.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>> {
        match self.decoder.read_frame() {
            Ok(f) => {
                let mut buf = Vec::with_capacity(self.format.frame_size(self.size));
                buf.extend_from_slice(f.get_y_plane());
                buf.extend_from_slice(f.get_u_plane());
                buf.extend_from_slice(f.get_v_plane());
                Ok(Some(buf))
            }
            Err(y4m::Error::EOF) => Ok(None),
            Err(y4m::Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                bail!("the Y4M stream ends inside a frame")
            }
            Err(e) => Err(y4m_error(e)).context("reading a Y4M frame"),
        }
    }
}

/// The Y4M colour space for planar frames of `format`, or why Y4M cannot hold them.
fn colorspace(format: PixelFormat) -> Result<y4m::Colorspace> {
    Ok(match format {
        PixelFormat::I420 | PixelFormat::Nv12 => y4m::Colorspace::C420jpeg,
        PixelFormat::I010 => y4m::Colorspace::C420p10,
        PixelFormat::I012 => y4m::Colorspace::C420p12,
        other => bail!(
            "Y4M holds planar 4:2:0 YUV, not {other}: use --to i420 (or i010/i012), or a raw output"
        ),
    })
}

/// One picture waiting for the header (the rate comes from the second frame's timestamp).
struct First {
    bytes: Vec<u8>,
    size: Dimensions,
    format: PixelFormat,
    pts: Option<Timestamp>,
}

/// Writes decoded frames as a Y4M stream. The header is written with the second frame (or at
/// the end): the frame rate is the difference of the first two timestamps when the input has
/// timing (MP4, IVF), else 25 fps, FFmpeg's assumption for a raw stream.
pub struct Y4mWriter {
    out: Option<Box<dyn Write + Send>>,
    encoder: Option<y4m::Encoder<Box<dyn Write + Send>>>,
    first: Option<First>,
    timed: bool,
    size: Option<Dimensions>,
}

impl Y4mWriter {
    /// A writer to `out`, which should be unbuffered (the encoder cannot be flushed).
    pub fn new(out: Box<dyn Write + Send>, timed: bool) -> Self {
        Self {
            out: Some(out),
            encoder: None,
            first: None,
            timed,
            size: None,
        }
    }

    /// Takes one planar picture (`bytes` from [`video_hw::DecodedFrame::write_planar`]).
    pub fn put(
        &mut self,
        bytes: &[u8],
        size: Dimensions,
        format: PixelFormat,
        pts: Option<Timestamp>,
    ) -> Result<()> {
        if let Some(s) = self.size.filter(|s| *s != size) {
            bail!(
                "the stream changes picture size from {s} to {size}, which one Y4M stream cannot hold"
            );
        }
        self.size = Some(size);
        let Some(encoder) = &mut self.encoder else {
            let Some(first) = self.first.take() else {
                colorspace(format)?;
                self.first = Some(First {
                    bytes: bytes.to_vec(),
                    size,
                    format,
                    pts,
                });
                return Ok(());
            };
            let rate = self.rate(first.pts, pts);
            self.start(&first, rate)?;
            return self.put(bytes, size, format, pts);
        };
        write_planes(encoder, bytes, size, format)
    }

    fn rate(&self, a: Option<Timestamp>, b: Option<Timestamp>) -> y4m::Ratio {
        let fallback = y4m::Ratio::new(25, 1);
        let (Some(a), Some(b)) = (a, b) else {
            return fallback;
        };
        let delta = b.ticks - a.ticks;
        let tb = a.timebase.0;
        if !self.timed || delta <= 0 || tb.num == 0 {
            return fallback;
        }
        let (num, den) = (u64::from(tb.den), u64::from(tb.num) * delta as u64);
        let g = gcd(num, den);
        y4m::Ratio::new((num / g) as usize, (den / g) as usize)
    }

    fn start(&mut self, first: &First, rate: y4m::Ratio) -> Result<()> {
        let out = self.out.take().context("Y4M output already started")?;
        let mut encoder = y4m::encode(
            first.size.width() as usize,
            first.size.height() as usize,
            rate,
        )
        .with_colorspace(colorspace(first.format)?)
        .write_header(out)
        .map_err(y4m_error)
        .context("writing the Y4M header")?;
        write_planes(&mut encoder, &first.bytes, first.size, first.format)?;
        self.encoder = Some(encoder);
        Ok(())
    }

    /// Writes what is still held (a stream of one frame).
    pub fn finish(&mut self) -> Result<()> {
        if let Some(first) = self.first.take() {
            self.start(&first, y4m::Ratio::new(25, 1))?;
        }
        Ok(())
    }
}

fn write_planes(
    encoder: &mut y4m::Encoder<Box<dyn Write + Send>>,
    bytes: &[u8],
    size: Dimensions,
    format: PixelFormat,
) -> Result<()> {
    let b = if format == PixelFormat::I010 || format == PixelFormat::I012 {
        2
    } else {
        1
    };
    let (w, h) = (size.width() as usize, size.height() as usize);
    let y = w * h * b;
    let c = w.div_ceil(2) * h.div_ceil(2) * b;
    if bytes.len() != y + 2 * c {
        bail!(
            "a {size} {format} picture of {} bytes does not fit Y4M",
            bytes.len()
        );
    }
    let frame = y4m::Frame::new([&bytes[..y], &bytes[y..y + c], &bytes[y + c..]], None);
    encoder
        .write_frame(&frame)
        .map_err(y4m_error)
        .context("writing a Y4M frame")
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}
