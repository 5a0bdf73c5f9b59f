//! Recognising a container from its first bytes.

use std::path::Path;

/// Bytes of a file's head that [`sniff`] looks at (reading fewer is fine; MPEG-TS is only
/// recognised with three packets' worth).
pub const SNIFF_LEN: usize = 1024;

/// A container format recognised by [`sniff`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContainerKind {
    /// ISO base media file: MP4, MOV, M4V (demuxed by [`super::Mp4Demuxer`]).
    Mp4,
    /// Matroska or WebM (EBML header), demuxed by [`super::MatroskaDemuxer`].
    Matroska,
    /// IVF (`DKIF`), read by [`super::IvfReader`].
    Ivf,
    /// MPEG transport stream: 188-byte packets, or 192-byte ones with a 4-byte time code
    /// in front (M2TS, Blu-ray); demuxed by [`super::TsDemuxer`].
    MpegTs,
    /// AVI (`RIFF` ... `AVI `): recognised, not demuxed.
    Avi,
    /// MPEG program stream (pack header `00 00 01 BA`, VOB/MPG): recognised, not demuxed.
    MpegPs,
    /// Flash video (`FLV`): recognised, not demuxed.
    Flv,
    /// Ogg (`OggS`): recognised, not demuxed.
    Ogg,
    /// ASF / WMV (its header GUID): recognised, not demuxed.
    Asf,
}

impl ContainerKind {
    /// The container's usual name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            ContainerKind::Mp4 => "MP4/MOV",
            ContainerKind::Matroska => "Matroska/WebM",
            ContainerKind::Ivf => "IVF",
            ContainerKind::MpegTs => "MPEG-TS",
            ContainerKind::Avi => "AVI",
            ContainerKind::MpegPs => "MPEG program stream",
            ContainerKind::Flv => "FLV",
            ContainerKind::Ogg => "Ogg",
            ContainerKind::Asf => "ASF/WMV",
        }
    }

    /// Whether this library reads the container (the others are only recognised, so that a
    /// refusal can name them).
    pub fn is_demuxed(self) -> bool {
        matches!(
            self,
            ContainerKind::Mp4
                | ContainerKind::Matroska
                | ContainerKind::Ivf
                | ContainerKind::MpegTs
        )
    }
}

impl std::fmt::Display for ContainerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The first 16 bytes of an ASF header object's GUID.
const ASF_GUID: [u8; 16] = [
    0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE, 0x6C,
];

/// MPEG-TS sync byte.
const TS_SYNC: u8 = 0x47;

/// The TS packet size (188, or 192 for M2TS) when `head` starts with three packets whose
/// sync bytes line up (fewer when the head is shorter but holds at least one whole packet).
pub(crate) fn ts_packet_size(head: &[u8]) -> Option<usize> {
    [(188usize, 0usize), (192, 4)]
        .into_iter()
        .find_map(|(size, lead)| {
            let hits = (0..3usize)
                .map_while(|k| head.get(k.checked_mul(size)?.checked_add(lead)?))
                .collect::<Vec<_>>();
            let whole = head.len() >= size;
            (whole && !hits.is_empty() && hits.iter().all(|&&b| b == TS_SYNC)).then_some(size)
        })
}

/// Top-level box types that can open an ISO base media file.
const LEADING_BOXES: [&[u8; 4]; 8] = [
    b"ftyp", b"styp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot",
];

/// The container of a file from its first bytes (never its name), or `None` for anything
/// else (a raw Annex-B stream, for instance: see [`crate::bitstream::annexb_codec`]). Looks
/// at no more than [`SNIFF_LEN`] bytes.
pub fn sniff(head: &[u8]) -> Option<ContainerKind> {
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some(ContainerKind::Matroska);
    }
    if head.starts_with(super::ivf::IVF_MAGIC) {
        return Some(ContainerKind::Ivf);
    }
    if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"AVI ") {
        return Some(ContainerKind::Avi);
    }
    if head.starts_with(&[0, 0, 1, 0xBA]) {
        return Some(ContainerKind::MpegPs);
    }
    if head.starts_with(b"FLV\x01") {
        return Some(ContainerKind::Flv);
    }
    if head.starts_with(b"OggS\0") {
        return Some(ContainerKind::Ogg);
    }
    if head.starts_with(&ASF_GUID) {
        return Some(ContainerKind::Asf);
    }
    if ts_packet_size(head).is_some() {
        return Some(ContainerKind::MpegTs);
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
    fn sniff_recognises_ts_m2ts_and_the_containers_it_only_names() {
        let mut ts = vec![0u8; 188 * 3];
        for k in 0..3 {
            ts[k * 188] = 0x47;
        }
        assert_eq!(sniff(&ts), Some(ContainerKind::MpegTs));
        assert_eq!(ts_packet_size(&ts), Some(188));
        let mut m2ts = vec![0u8; 192 * 3];
        for k in 0..3 {
            m2ts[k * 192 + 4] = 0x47;
        }
        assert_eq!(ts_packet_size(&m2ts), Some(192));
        // One sync byte out of line: not TS.
        ts[188] = 0;
        assert_eq!(sniff(&ts), None);
        assert_eq!(sniff(b"RIFF\x10\0\0\0AVI LIST"), Some(ContainerKind::Avi));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(&[0, 0, 1, 0xBA, 0x44]), Some(ContainerKind::MpegPs));
        assert_eq!(sniff(b"FLV\x01\x05"), Some(ContainerKind::Flv));
        assert_eq!(sniff(b"OggS\0\x02"), Some(ContainerKind::Ogg));
        assert_eq!(sniff(&ASF_GUID), Some(ContainerKind::Asf));
        assert!(!ContainerKind::Avi.is_demuxed());
        assert!(ContainerKind::MpegTs.is_demuxed());
    }

    proptest::proptest! {
        #[test]
        fn sniff_never_panics_on_any_head(
            head in proptest::collection::vec(proptest::num::u8::ANY, 0..1024)
        ) {
            let _ = sniff(&head);
        }
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
