//! Where encoded chunks go: an Annex-B file, or an MP4 when the output name ends in
//! .mp4/.m4v/.mov (fragmented MP4 on stdout).

use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;
use video_hw::EncodedChunk;
use video_hw::container::{self, Mp4Muxer};

/// An output for encoded chunks.
pub enum ChunkOut {
    /// Raw Annex-B (or the chunks' own layout) written back to back.
    Raw(Box<dyn Write + Send>),
    /// An MP4 with the moov at the end.
    Mp4(Box<Mp4Muxer<std::io::BufWriter<std::fs::File>>>),
    /// A fragmented MP4 (live output, e.g. stdout).
    Fragmented(Box<Mp4Muxer<Box<dyn Write + Send>>>),
}

impl ChunkOut {
    /// Opens `path` (`-` is stdout): an MP4 when the name ends in .mp4/.m4v/.mov, a
    /// fragmented MP4 when `fragmented` (the only MP4 that can go to stdout), else Annex-B.
    pub fn create(path: &Path, fragmented: bool) -> Result<Self> {
        let stdout = path.as_os_str() == "-";
        if container::is_mp4_path(path) && !stdout && !fragmented {
            let f = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            return Ok(ChunkOut::Mp4(Box::new(Mp4Muxer::new(
                std::io::BufWriter::new(f),
            )?)));
        }
        let w: Box<dyn Write + Send> = if stdout {
            Box::new(std::io::BufWriter::new(std::io::stdout()))
        } else {
            Box::new(std::io::BufWriter::with_capacity(
                1 << 20,
                std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?,
            ))
        };
        if fragmented {
            return Ok(ChunkOut::Fragmented(Box::new(Mp4Muxer::fragmented(w)?)));
        }
        Ok(ChunkOut::Raw(w))
    }

    /// `mp4`, `fmp4` or `annexb`.
    pub fn kind(&self) -> &'static str {
        match self {
            ChunkOut::Raw(_) => "annexb",
            ChunkOut::Mp4(_) => "mp4",
            ChunkOut::Fragmented(_) => "fmp4",
        }
    }

    /// The MP4 muxer of a regular MP4 output (to add an audio track to).
    pub fn mp4_muxer(&mut self) -> Option<&mut Mp4Muxer<std::io::BufWriter<std::fs::File>>> {
        match self {
            ChunkOut::Mp4(m) => Some(m),
            _ => None,
        }
    }

    /// Writes one chunk.
    pub fn write(&mut self, chunk: &EncodedChunk) -> Result<()> {
        match self {
            ChunkOut::Raw(w) => w.write_all(&chunk.data).context("writing output"),
            ChunkOut::Mp4(m) => Ok(m.write_chunk(chunk)?),
            ChunkOut::Fragmented(m) => Ok(m.write_chunk(chunk)?),
        }
    }

    /// Finishes the file (MP4 sample tables, flush).
    pub fn finish(self) -> Result<()> {
        match self {
            ChunkOut::Raw(mut w) => w.flush().context("writing output"),
            ChunkOut::Mp4(m) => {
                let (mut w, _) = m.finish()?;
                w.flush().context("writing output")
            }
            ChunkOut::Fragmented(m) => {
                let (mut w, _) = m.finish()?;
                w.flush().context("writing output")
            }
        }
    }
}
