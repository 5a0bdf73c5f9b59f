//! Recognising a container from its first bytes.

use std::path::Path;

/// Bytes of a file's head that [`sniff`] looks at (reading fewer is fine).
pub const SNIFF_LEN: usize = 16;

/// A container format recognised by [`sniff`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContainerKind {
    /// ISO base media file: MP4, MOV, M4V (demuxed by [`super::Mp4Demuxer`]).
    Mp4,
    /// Matroska or WebM (EBML header); recognised but not demuxed.
    Matroska,
    /// IVF (`DKIF`), read by [`super::IvfReader`].
    Ivf,
}

/// Top-level box types that can open an ISO base media file.
const LEADING_BOXES: [&[u8; 4]; 8] = [
    b"ftyp", b"styp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot",
];

/// The container of a file from its first bytes, or `None` for anything else (a raw
/// Annex-B stream, for instance). Looks at no more than [`SNIFF_LEN`] bytes.
pub fn sniff(head: &[u8]) -> Option<ContainerKind> {
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some(ContainerKind::Matroska);
    }
    if head.starts_with(super::ivf::IVF_MAGIC) {
        return Some(ContainerKind::Ivf);
    }
    let box_type = head.get(4..8)?;
    let size = u32::from_be_bytes(head.get(0..4)?.try_into().ok()?);
    // 0 = to end of file, 1 = 64-bit size follows; otherwise at least a header.
    let plausible_size = size <= 1 || size >= 8;
    (plausible_size && LEADING_BOXES.iter().any(|t| t.as_slice() == box_type))
        .then_some(ContainerKind::Mp4)
}

/// Whether an output file name asks for MP4 (`.mp4`, `.m4v` or `.mov`, any case).
pub fn is_mp4_path(path: impl AsRef<Path>) -> bool {
    path.as_ref()
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| {
            ["mp4", "m4v", "mov"]
                .iter()
                .any(|x| e.eq_ignore_ascii_case(x))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_recognises_mp4_mov_and_matroska_heads() {
        assert_eq!(
            sniff(b"\0\0\0\x20ftypisom\0\0\x02\0"),
            Some(ContainerKind::Mp4)
        );
        assert_eq!(sniff(b"\0\0\0\x08wide\0\0\0\0"), Some(ContainerKind::Mp4));
        assert_eq!(
            sniff(&[0x1A, 0x45, 0xDF, 0xA3, 0x9F]),
            Some(ContainerKind::Matroska)
        );
    }

    #[test]
    fn sniff_rejects_annexb_and_short_heads() {
        assert_eq!(sniff(b"\0\0\0\x01\x67\x42\0\x1e"), None);
        assert_eq!(sniff(b"\0\0\0\x01"), None);
        assert_eq!(sniff(b""), None);
        // A plausible type with an impossible size is not taken for MP4.
        assert_eq!(sniff(b"\0\0\0\x04ftyp"), None);
    }

    #[test]
    fn mp4_output_names_are_recognised_by_extension() {
        assert!(is_mp4_path("out.mp4"));
        assert!(is_mp4_path("dir/clip.M4V"));
        assert!(is_mp4_path("a.mov"));
        assert!(!is_mp4_path("out.h264"));
        assert!(!is_mp4_path("mp4"));
    }
}
