//! Test helpers for the software adapters: synthetic pictures, PSNR, a small Annex-B
//! access-unit splitter (the bitstream layer is tested on its own), conformance streams,
//! and the ffmpeg command-line check.

use crate::api::codec::{Codec, Dimensions, Timestamp};
use crate::api::encode_input::EncodeInput;
use crate::api::frame::{DecodedFrame, PixelFormat};
use crate::api::packet::EncodedChunk;
use crate::backend::{DecoderBackend, EncoderBackend};
use crate::bitstream::AccessUnit;
use std::path::PathBuf;

/// A smooth pattern that moves by `t`: tightly packed I420 of `w`x`h`.
pub(crate) fn moving_i420(w: usize, h: usize, t: usize) -> Vec<u8> {
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut out = Vec::with_capacity(w * h + 2 * cw * ch);
    for y in 0..h {
        for x in 0..w {
            let v = 128.0
                + 60.0 * (((x + 2 * t) as f64) / 19.0).sin()
                + 40.0 * (((y + t) as f64) / 13.0).cos();
            out.push(v as u8);
        }
    }
    for (phase, amp) in [(0.0, 40.0), (1.5, 30.0)] {
        for y in 0..ch {
            for x in 0..cw {
                let v = 128.0 + amp * (((x + y + t) as f64) / 11.0 + phase).sin();
                out.push(v as u8);
            }
        }
    }
    out
}

/// The `t`-th picture of the moving pattern as encoder input with pts `t * 3000` (90 kHz).
pub(crate) fn moving_input(w: u32, h: u32, t: usize) -> EncodeInput {
    let d = Dimensions::new(w, h).expect("test size");
    EncodeInput::packed(PixelFormat::I420, d, moving_i420(w as usize, h as usize, t))
        .expect("packed I420")
        .with_pts(Timestamp::mpeg(t as i64 * 3000))
}

/// The visible picture as packed I420 (via `write_planar`).
pub(crate) fn planar(frame: &DecodedFrame) -> Vec<u8> {
    let mut out = Vec::new();
    frame.write_planar(&mut out).expect("CPU frame");
    out
}

/// PSNR in dB between two equally long 8-bit buffers.
pub(crate) fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len(), "PSNR needs equal sizes");
    let mse = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    if mse == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

/// Splits an Annex-B byte string into NAL units (start codes removed).
pub(crate) fn split_nals(data: &[u8]) -> Vec<Vec<u8>> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(data.len(), |n| n - 3);
        while end > s && data[end - 1] == 0 {
            end -= 1;
        }
        nals.push(data[s..end].to_vec());
    }
    nals
}

/// Groups NAL units into access units (enough for single-layer test streams without ASO).
pub(crate) fn access_units(codec: Codec, data: &[u8]) -> Vec<AccessUnit> {
    let mut units: Vec<AccessUnit> = Vec::new();
    let mut current: Vec<Vec<u8>> = Vec::new();
    let mut has_vcl = false;
    let mut keyframe = false;
    for nal in split_nals(data) {
        if nal.is_empty() {
            continue;
        }
        let (vcl, first_slice, prefix, key) = match codec {
            Codec::H264 => {
                let t = nal[0] & 0x1f;
                let vcl = (1..=5).contains(&t);
                (
                    vcl,
                    vcl && nal.get(1).is_some_and(|b| b & 0x80 != 0),
                    matches!(t, 6..=9 | 14 | 15),
                    t == 5,
                )
            }
            _ => {
                let t = (nal[0] >> 1) & 0x3f;
                let vcl = t < 32;
                (
                    vcl,
                    vcl && nal.get(2).is_some_and(|b| b & 0x80 != 0),
                    matches!(t, 32..=35 | 39),
                    (16..=23).contains(&t),
                )
            }
        };
        if has_vcl && (prefix || first_slice) {
            units.push(AccessUnit {
                codec,
                nals: std::mem::take(&mut current),
                keyframe,
                offset: 0,
                pts: None,
            });
            has_vcl = false;
            keyframe = false;
        }
        has_vcl |= vcl;
        keyframe |= key;
        current.push(nal);
    }
    if !current.is_empty() {
        units.push(AccessUnit {
            codec,
            nals: current,
            keyframe,
            offset: 0,
            pts: None,
        });
    }
    units
}

/// The access unit carried by one encoded chunk, with the chunk's pts.
pub(crate) fn chunk_unit(codec: Codec, chunk: &EncodedChunk) -> AccessUnit {
    AccessUnit {
        codec,
        nals: split_nals(&chunk.data),
        keyframe: chunk.keyframe,
        offset: 0,
        pts: chunk.pts,
    }
}

/// Encodes `n` pictures of the moving pattern and flushes.
pub(crate) fn encode_pattern(
    enc: &mut dyn EncoderBackend,
    w: u32,
    h: u32,
    n: usize,
) -> Vec<EncodedChunk> {
    let mut chunks = Vec::new();
    for t in 0..n {
        enc.encode(&moving_input(w, h, t), &mut chunks)
            .expect("encode");
    }
    enc.flush(&mut chunks).expect("flush");
    chunks
}

/// Decodes every chunk and flushes.
pub(crate) fn decode_chunks(
    dec: &mut dyn DecoderBackend,
    codec: Codec,
    chunks: &[EncodedChunk],
) -> Vec<DecodedFrame> {
    let mut frames = Vec::new();
    for c in chunks {
        dec.decode(&chunk_unit(codec, c), &mut frames)
            .expect("decode");
    }
    dec.flush(&mut frames).expect("flush");
    frames
}

/// The conformance folder, or `None` (with a message) when it is absent.
pub(crate) fn conformance_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("VIDEO_HW_CONFORMANCE").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance"),
        PathBuf::from,
    );
    if dir.join("manifest.tsv").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var("VIDEO_HW_REQUIRE_CONFORMANCE").as_deref() != Ok("1"),
        "conformance streams required but {} has no manifest.tsv",
        dir.display()
    );
    eprintln!(
        "skipping: conformance streams not found at {} (set VIDEO_HW_CONFORMANCE)",
        dir.display()
    );
    None
}

/// (frames, md5) of a conformance stream from the manifest.
pub(crate) fn manifest_entry(dir: &std::path::Path, file: &str) -> (usize, String) {
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).expect("manifest");
    let line = manifest
        .lines()
        .find(|l| l.split('\t').next() == Some(file))
        .unwrap_or_else(|| panic!("{file} not in manifest"));
    let cols: Vec<&str> = line.split('\t').collect();
    (cols[3].parse().expect("frames column"), cols[7].to_owned())
}

/// MD5 (hex) of the frames' visible pictures, concatenated.
pub(crate) fn frames_md5(frames: &[DecodedFrame]) -> String {
    use md5::{Digest, Md5};
    let mut h = Md5::new();
    for f in frames {
        h.update(planar(f));
    }
    format!("{:x}", h.finalize())
}

/// Whether the ffmpeg command is installed; prints why a test skips when it is not, and
/// panics instead when `VIDEO_HW_REQUIRE_FFMPEG=1`.
pub(crate) fn ffmpeg_cli_available() -> bool {
    let probe = std::process::Command::new("ffmpeg")
        .arg("-version")
        .output();
    if probe.is_ok_and(|o| o.status.success()) {
        return true;
    }
    assert!(
        std::env::var("VIDEO_HW_REQUIRE_FFMPEG").as_deref() != Ok("1"),
        "ffmpeg required (VIDEO_HW_REQUIRE_FFMPEG=1) but not found"
    );
    eprintln!("skipping: the ffmpeg command is not installed");
    false
}

/// Whether `ffmpeg -v error -i FILE -f null -` accepts the stream; `None` when ffmpeg is
/// absent (skip), a panic when it is absent but `VIDEO_HW_REQUIRE_FFMPEG=1`.
pub(crate) fn ffmpeg_accepts(data: &[u8], ext: &str) -> Option<std::result::Result<(), String>> {
    if !ffmpeg_cli_available() {
        return None;
    }
    let path = std::env::temp_dir().join(format!(
        "video-hw-sw-{}-{:?}.{ext}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&path, data).expect("write temp stream");
    let out = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-i"])
        .arg(&path)
        .args(["-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    let _ = std::fs::remove_file(&path);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    Some(if out.status.success() && stderr.trim().is_empty() {
        Ok(())
    } else {
        Err(stderr)
    })
}
