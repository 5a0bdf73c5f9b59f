//! Where encoded chunks go: an MP4 for .mp4/.m4v/.mov, Annex-B for .h264/.264/.h265/.265
//! (the name's codec must be the encoder's), a fragmented MP4 with `--fragmented` (the only
//! MP4 that can go to stdout). Matroska names are refused, and so is any other name unless
//! `--format` says what to write.

use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::Path;
use video_hw::container::Mp4Muxer;
use video_hw::{Codec, EncodedChunk};

/// What `--format` asks to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// MP4 (fragmented with --fragmented or on stdout).
    Mp4,
    /// Annex-B H.264.
    H264,
    /// Annex-B HEVC.
    Hevc,
}

/// The container an output gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutputKind {
    Mp4,
    Fragmented,
    AnnexB,
}

/// Refuses an output name (or `--format`) that [`ChunkOut::create`] would refuse, so that a
/// command can check it before any work starts.
pub fn check_output(
    path: &Path,
    fragmented: bool,
    format: Option<OutputFormat>,
    codec: Codec,
) -> Result<()> {
    output_kind(path, fragmented, format, codec).map(drop)
}

/// The container for `path`: from `--format` when given, else the name's extension (`-`,
/// stdout, is Annex-B unless fragmented). Refuses Matroska names, names that say nothing,
/// and an Annex-B name or format of another codec than `codec`, before any work starts.
fn output_kind(
    path: &Path,
    fragmented: bool,
    format: Option<OutputFormat>,
    codec: Codec,
) -> Result<OutputKind> {
    let stdout = path.as_os_str() == "-";
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let named = match format {
        Some(OutputFormat::Mp4) => Some((OutputKind::Mp4, None)),
        Some(OutputFormat::H264) => Some((OutputKind::AnnexB, Some(Codec::H264))),
        Some(OutputFormat::Hevc) => Some((OutputKind::AnnexB, Some(Codec::Hevc))),
        None if stdout => Some((OutputKind::AnnexB, None)),
        None => match ext.as_str() {
            "mp4" | "m4v" | "mov" => Some((OutputKind::Mp4, None)),
            "h264" | "264" => Some((OutputKind::AnnexB, Some(Codec::H264))),
            "h265" | "265" | "hevc" => Some((OutputKind::AnnexB, Some(Codec::Hevc))),
            "mkv" | "webm" => bail!(
                "{}: video-hw does not write Matroska/WebM; write .mp4 and remux it if \
                 needed: ffmpeg -i out.mp4 -c copy {}",
                path.display(),
                path.display()
            ),
            _ => None,
        },
    };
    let Some((kind, of_codec)) = named else {
        bail!(
            "{}: cannot tell what to write from the name; use .mp4/.m4v/.mov (MP4) or \
             .h264/.h265 (Annex-B), or pass --format mp4|h264|hevc",
            path.display()
        );
    };
    if let Some(c) = of_codec.filter(|c| *c != codec) {
        bail!(
            "{}: the output names {c}, but the encoder writes {codec}; name it .{} or pass \
             --format {}",
            path.display(),
            if codec == Codec::Hevc { "h265" } else { "h264" },
            if codec == Codec::Hevc { "hevc" } else { "h264" },
        );
    }
    match kind {
        OutputKind::AnnexB if fragmented && format.is_some() => {
            bail!("--fragmented writes MP4, but --format asks for Annex-B")
        }
        OutputKind::AnnexB if fragmented && !stdout => bail!(
            "--fragmented writes MP4, but {} names Annex-B; name it .mp4",
            path.display()
        ),
        OutputKind::AnnexB if fragmented => Ok(OutputKind::Fragmented),
        OutputKind::Mp4 if fragmented || stdout => Ok(OutputKind::Fragmented),
        k => Ok(k),
    }
}

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
    /// Opens `path` (`-` is stdout) for chunks of `codec`, as the name or `format` asks
    /// (see the module documentation).
    pub fn create(
        path: &Path,
        fragmented: bool,
        format: Option<OutputFormat>,
        codec: Codec,
    ) -> Result<Self> {
        let stdout = path.as_os_str() == "-";
        let kind = output_kind(path, fragmented, format, codec)?;
        if kind == OutputKind::Mp4 {
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
        if kind == OutputKind::Fragmented {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str, fragmented: bool, format: Option<OutputFormat>) -> Result<OutputKind> {
        output_kind(Path::new(name), fragmented, format, Codec::H264)
    }

    #[test]
    fn output_names_pick_mp4_or_annexb_and_refuse_the_rest() {
        assert_eq!(kind("a.mp4", false, None).unwrap(), OutputKind::Mp4);
        assert_eq!(kind("a.MOV", false, None).unwrap(), OutputKind::Mp4);
        assert_eq!(kind("a.m4v", true, None).unwrap(), OutputKind::Fragmented);
        assert_eq!(kind("a.264", false, None).unwrap(), OutputKind::AnnexB);
        assert_eq!(kind("-", false, None).unwrap(), OutputKind::AnnexB);
        assert_eq!(kind("-", true, None).unwrap(), OutputKind::Fragmented);
        assert_eq!(
            kind("-", false, Some(OutputFormat::Mp4)).unwrap(),
            OutputKind::Fragmented
        );
        let e = kind("a.mkv", false, None).unwrap_err().to_string();
        assert!(e.contains("does not write Matroska"), "{e}");
        let e = kind("a.out", false, None).unwrap_err().to_string();
        assert!(e.contains("--format"), "{e}");
        assert_eq!(
            kind("a.out", false, Some(OutputFormat::H264)).unwrap(),
            OutputKind::AnnexB
        );
        let e = kind("a.h265", false, None).unwrap_err().to_string();
        assert!(e.contains("names hevc") && e.contains(".h264"), "{e}");
        assert!(kind("a.h264", true, None).is_err());
    }
}
