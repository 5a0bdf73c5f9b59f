//! Where decoded frames go: a raw file, an MD5, or both.

use anyhow::{Context, Result};
use md5::{Digest, Md5};
use std::io::Write;
use std::path::Path;
use video_hw::DecodedFrame;

/// Writes frames as tightly packed planes (cropped) to a file and/or an MD5.
pub struct FrameSink {
    file: Option<Box<dyn Write + Send>>,
    md5: Option<Md5>,
    /// Bytes written.
    pub bytes: u64,
}

impl FrameSink {
    /// A sink writing to `path` (`-` is stdout) when given, hashing when `md5`.
    pub fn new(path: Option<&Path>, md5: bool) -> Result<Self> {
        let file: Option<Box<dyn Write + Send>> = match path {
            None => None,
            Some(p) if p.as_os_str() == "-" => {
                Some(Box::new(std::io::BufWriter::new(std::io::stdout())))
            }
            Some(p) => Some(Box::new(std::io::BufWriter::with_capacity(
                1 << 20,
                std::fs::File::create(p)
                    .with_context(|| format!("cannot create {}", p.display()))?,
            ))),
        };
        Ok(Self {
            file,
            md5: md5.then(Md5::new),
            bytes: 0,
        })
    }

    /// Whether the sink needs pixels at all.
    pub fn wants_pixels(&self) -> bool {
        self.file.is_some() || self.md5.is_some()
    }

    /// Takes one frame.
    pub fn put(&mut self, frame: &DecodedFrame, scratch: &mut Vec<u8>) -> Result<()> {
        if !self.wants_pixels() {
            return Ok(());
        }
        scratch.clear();
        frame.write_planar(scratch)?;
        self.bytes += scratch.len() as u64;
        if let Some(h) = &mut self.md5 {
            h.update(&scratch[..]);
        }
        if let Some(f) = &mut self.file {
            f.write_all(scratch).context("writing frames")?;
        }
        Ok(())
    }

    /// Flushes the file and returns the MD5 as 32 hex digits, if hashing.
    pub fn finish(mut self) -> Result<Option<String>> {
        if let Some(f) = &mut self.file {
            f.flush().context("writing frames")?;
        }
        Ok(self
            .md5
            .map(|h| h.finalize().iter().map(|b| format!("{b:02x}")).collect()))
    }
}
