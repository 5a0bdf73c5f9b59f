//! Where decoded frames go: a raw file, a Y4M stream, an MD5, or several of these.

use crate::frame_layout;
use crate::output_file::{PendingFile, is_std};
use crate::y4m_io::Y4mWriter;
use anyhow::{Context, Result, bail};
use md5::{Digest, Md5};
use std::io::Write;
use std::path::Path;
use video_hw::{DecodedFrame, PixelFormat};

/// How frames are laid out in the output.
#[derive(Debug, Clone, Copy, Default)]
pub struct Layout {
    /// The format `--to` asked for: frames are written in it ([`frame_layout::write_frame`]).
    pub to: Option<PixelFormat>,
    /// A Y4M stream instead of raw frames.
    pub y4m: bool,
    /// Whether the frames' timestamps are real (container input): the Y4M frame rate.
    pub timed: bool,
}

enum Out {
    None,
    Raw(Box<dyn Write + Send>),
    Y4m(Y4mWriter),
}

/// Writes frames (cropped, in output order) to a file and/or an MD5. A file is written under
/// a temporary name and appears under its own at [`FrameSink::finish`].
pub struct FrameSink {
    out: Out,
    pending: Option<PendingFile>,
    md5: Option<Md5>,
    layout: Layout,
    /// Bytes of pictures written.
    pub bytes: u64,
}

impl FrameSink {
    /// A sink writing frames in `layout` to `path` (`-` is stdout) when given, hashing when
    /// `md5`.
    pub fn with_layout(path: Option<&Path>, md5: bool, layout: Layout) -> Result<Self> {
        if layout.y4m
            && let Some(f) = layout.to
            && !matches!(f, PixelFormat::I420 | PixelFormat::I010 | PixelFormat::I012)
        {
            bail!(
                "Y4M holds planar 4:2:0 YUV, not {f}: use --to i420 (or i010/i012), or a raw output"
            );
        }
        let (pending, writer): (Option<PendingFile>, Option<Box<dyn Write + Send>>) = match path {
            None => (None, None),
            Some(p) if is_std(p) => (None, Some(Box::new(std::io::stdout()))),
            Some(p) => {
                let pending = PendingFile::new(p);
                let file = pending.create()?;
                (Some(pending), Some(Box::new(file)))
            }
        };
        let out = match writer {
            None => Out::None,
            // The Y4M encoder cannot be flushed: it writes straight to the file.
            Some(w) if layout.y4m => Out::Y4m(Y4mWriter::new(w, layout.timed)),
            Some(w) => Out::Raw(Box::new(std::io::BufWriter::with_capacity(1 << 20, w))),
        };
        Ok(Self {
            out,
            pending,
            md5: md5.then(Md5::new),
            layout,
            bytes: 0,
        })
    }

    /// Whether the sink needs pixels at all.
    pub fn wants_pixels(&self) -> bool {
        !matches!(self.out, Out::None) || self.md5.is_some()
    }

    /// Takes one frame.
    pub fn put(&mut self, frame: &DecodedFrame, scratch: &mut Vec<u8>) -> Result<()> {
        if !self.wants_pixels() {
            return Ok(());
        }
        if let Out::Raw(f) = &mut self.out {
            // Straight from the frame's buffers to the file (and the digest): no copy of the
            // whole frame first.
            let mut tee = Tee {
                out: Some(f),
                md5: self.md5.as_mut(),
                bytes: 0,
            };
            frame_layout::write_frame(frame, self.layout.to, &mut tee).context("writing frames")?;
            self.bytes += tee.bytes;
            return Ok(());
        }
        scratch.clear();
        frame_layout::write_frame(frame, self.layout.to, scratch)?;
        self.bytes += scratch.len() as u64;
        if let Some(h) = &mut self.md5 {
            h.update(&scratch[..]);
        }
        match &mut self.out {
            Out::None | Out::Raw(_) => {}
            Out::Y4m(y) => {
                // write_planar turns NV12 into I420.
                let format = match frame.format {
                    PixelFormat::Nv12 => PixelFormat::I420,
                    f => f,
                };
                y.put(scratch, frame.dimensions(), format, frame.pts)?;
            }
        }
        Ok(())
    }

    /// Flushes the output, moves a file to its final name (none when no frame was written),
    /// and returns the MD5 as 32 hex digits, if hashing.
    pub fn finish(mut self) -> Result<Option<String>> {
        match &mut self.out {
            Out::None => {}
            Out::Raw(f) => f.flush().context("writing frames")?,
            Out::Y4m(y) => {
                y.finish()?;
                std::io::stdout().flush().context("writing frames")?;
            }
        }
        drop(std::mem::replace(&mut self.out, Out::None));
        // No frame, no file: the temporary one is removed when `pending` drops.
        if let Some(p) = self.pending.take()
            && self.bytes > 0
        {
            p.commit()?;
        }
        Ok(self
            .md5
            .take()
            .map(|h| h.finalize().iter().map(|b| format!("{b:02x}")).collect()))
    }
}

/// A writer that hashes what it passes on and counts it.
struct Tee<'a> {
    out: Option<&'a mut Box<dyn Write + Send>>,
    md5: Option<&'a mut Md5>,
    bytes: u64,
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = match &mut self.out {
            Some(out) => out.write(buf)?,
            None => buf.len(),
        };
        if let Some(h) = &mut self.md5 {
            h.update(&buf[..n]);
        }
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.out {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }
}
