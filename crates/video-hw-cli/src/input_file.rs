//! A file or stdin as bytes: opening it, reading it in pieces, and recognising the codec of an
//! Annex-B stream (by its content; a name or `--codec` that disagrees gives way, with a warning).

use anyhow::{Context, Result, bail};
use std::io::Read;
use std::path::Path;
use video_hw::Codec;
use video_hw::bitstream::annexb_codec;

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

/// The codec a file name's extension suggests (`.h264`, `.265`...), if any.
pub fn codec_from_extension(path: &Path) -> Option<Codec> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "h264" | "264" | "avc" | "jsv" | "26l" | "jvt" => Some(Codec::H264),
        "h265" | "265" | "hevc" | "bit" => Some(Codec::Hevc),
        _ => None,
    }
}

/// The codec of a raw Annex-B stream: what its NAL headers say, else `--codec`, else the
/// file extension. When `--codec` or the extension names another codec than the stream's
/// parameter sets, the stream wins and the returned warning says so.
pub fn detect_codec(
    explicit: Option<Codec>,
    path: &Path,
    head: &[u8],
) -> Result<(Codec, Option<String>)> {
    let named = explicit
        .map(|c| (c, "--codec".to_owned()))
        .or_else(|| codec_from_extension(path).map(|c| (c, "the file name".to_owned())));
    match (annexb_codec(head), named) {
        (Some(found), Some((said, by))) if found != said => Ok((
            found,
            Some(format!(
                "{by} says {said}, but the parameter sets of {} are {found}: decoding it as \
                 {found}",
                path.display()
            )),
        )),
        (Some(found), _) => Ok((found, None)),
        (None, Some((said, _))) => Ok((said, None)),
        (None, None) => bail!(
            "cannot tell the codec of {}: no H.264 or HEVC parameter set in its first {} \
             bytes and no container recognised; pass --codec h264|hevc",
            path.display(),
            head.len()
        ),
    }
}
