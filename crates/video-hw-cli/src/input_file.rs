//! A file or stdin as bytes: opening it, reading it in pieces, and recognising the codec of an
//! Annex-B stream.

use anyhow::{Context, Result, bail};
use std::io::Read;
use std::path::Path;
use video_hw::Codec;
use video_hw::bitstream::{AnnexBSplitter, Nal};

/// Opens `path` for reading; `-` is stdin.
pub fn open(path: &Path) -> Result<Box<dyn Read + Send>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(std::io::stdin()));
    }
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, f)))
}

/// Reads up to `n` bytes (fewer only at the end of input).
pub fn read_up_to(r: &mut dyn Read, n: usize) -> Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(n);
    r.take(n as u64)
        .read_to_end(&mut buf)
        .context("reading input")?;
    Ok(buf)
}

/// The codec of a stream: from `--codec`, else the file extension, else the NAL headers of
/// the first bytes.
pub fn detect_codec(explicit: Option<Codec>, path: &Path, head: &[u8]) -> Result<Codec> {
    if let Some(c) = explicit {
        return Ok(c);
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "h264" | "264" | "avc" | "jsv" | "26l" | "jvt" => return Ok(Codec::H264),
        "h265" | "265" | "hevc" | "bit" => return Ok(Codec::Hevc),
        _ => {}
    }
    sniff(head).with_context(|| {
        format!(
            "cannot tell the codec of {}: pass --codec h264|hevc",
            path.display()
        )
    })
}

/// Guesses H.264 or HEVC from the parameter-set NAL headers at the start of a stream.
pub fn sniff(head: &[u8]) -> Result<Codec> {
    let mut nals: Vec<Nal> = Vec::new();
    let mut splitter = AnnexBSplitter::new();
    splitter.push(head, &mut nals);
    for nal in nals.iter().take(16) {
        let (Some(&b0), b1) = (nal.data.first(), nal.data.get(1)) else {
            continue;
        };
        // HEVC: VPS/SPS/PPS are types 32..34 in bits 1..6 with layer id 0 and tid 1.
        if b0 & 0x81 == 0 && (32..=34).contains(&((b0 >> 1) & 0x3f)) && b1 == Some(&1) {
            return Ok(Codec::Hevc);
        }
        // H.264: SPS (7) / PPS (8) / AUD (9) with the forbidden bit clear.
        if b0 & 0x80 == 0 && matches!(b0 & 0x1f, 7..=9) {
            return Ok(Codec::H264);
        }
    }
    bail!(
        "no H.264 or HEVC parameter set in the first {} bytes",
        head.len()
    )
}
