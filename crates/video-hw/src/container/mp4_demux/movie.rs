//! Finding and reading the `moov` box: the movie header, the fragment defaults (`mvex`), and
//! each track on its own, so that one track the MP4 crate cannot read (a QuickTime sound
//! description, an unusual timecode track) is skipped instead of failing the whole file.

use super::super::{describe_mp4_error, mp4_error, read_at};
use crate::api::error::{Result, VideoError};
use shiguredo_mp4::boxes::{MoofBox, MoovBox, MvexBox, MvhdBox, SampleEntry, TrakBox};
use shiguredo_mp4::{BoxHeader, Decode};
use std::io::{Read, Seek};
use std::num::NonZeroU32;
use std::ops::Range;

/// Largest `moov` box read into memory (a sample table of several million samples).
const MAX_MOOV_BYTES: u64 = 256 << 20;

/// Sample-entry type put in place of an entry the MP4 crate cannot decode, so the rest of
/// the track still decodes; the entry's own bytes are kept in [`MovieTrack::raw_entries`].
const PLACEHOLDER: [u8; 4] = *b"vhw?";

/// The movie: timescale, fragment defaults and tracks.
pub(super) struct Movie {
    /// `mvhd` timescale (edit-list durations).
    pub(super) timescale: NonZeroU32,
    /// Present in a fragmented file.
    pub(super) mvex: Option<MvexBox>,
    /// Every `trak`, in file order.
    pub(super) tracks: Vec<MovieTrack>,
}

/// One `trak` box.
pub(super) struct MovieTrack {
    /// Handler type (`vide`, `soun`, `tmcd`, `meta`...), read by hand so that it is known
    /// even when the track does not decode.
    pub(super) handler: [u8; 4],
    /// Track id from `tkhd` (0 when unreadable).
    pub(super) track_id: u32,
    /// The decoded track, or why it could not be decoded.
    pub(super) trak: std::result::Result<TrakBox, VideoError>,
    /// The sample descriptions as they are in the file (whole boxes), in `stsd` order.
    pub(super) raw_entries: Vec<Vec<u8>>,
}

impl MovieTrack {
    /// The handler type as text (`vide`, `soun`...).
    pub(super) fn handler_name(&self) -> String {
        String::from_utf8_lossy(&self.handler).into_owned()
    }
}

/// One box inside a byte slice: its type, where its payload lies, and its end.
#[derive(Debug, Clone)]
pub(super) struct BoxSpan {
    pub(super) kind: [u8; 4],
    pub(super) header: Range<usize>,
    pub(super) payload: Range<usize>,
}

/// The boxes laid end to end in `bytes[range]` (a container's payload); stops at the first
/// box that does not fit.
pub(super) fn child_boxes(bytes: &[u8], range: Range<usize>) -> Vec<BoxSpan> {
    let mut out = Vec::new();
    let mut at = range.start;
    while at < range.end {
        let Some(rest) = bytes.get(at..range.end) else {
            break;
        };
        let Some(size32) = rest.get(..4).and_then(|b| b.try_into().ok()) else {
            break;
        };
        let Some(kind) = rest.get(4..8).and_then(|b| b.try_into().ok()) else {
            break;
        };
        let (header_len, size) = match u32::from_be_bytes(size32) {
            0 => (8usize, rest.len() as u64),
            1 => match rest.get(8..16).and_then(|b| b.try_into().ok()) {
                Some(large) => (16, u64::from_be_bytes(large)),
                None => break,
            },
            n => (8, u64::from(n)),
        };
        let Ok(size) = usize::try_from(size) else {
            break;
        };
        if size < header_len || size > rest.len() {
            break;
        }
        // size <= rest.len() = range.end - at.
        let end = at.saturating_add(size);
        out.push(BoxSpan {
            kind,
            header: at..at.saturating_add(header_len),
            payload: at.saturating_add(header_len)..end,
        });
        at = end;
    }
    out
}

/// The first child box of type `kind` in `bytes[range]`.
pub(super) fn find_child(bytes: &[u8], range: Range<usize>, kind: &[u8; 4]) -> Option<BoxSpan> {
    child_boxes(bytes, range)
        .into_iter()
        .find(|b| &b.kind == kind)
}

/// Follows `path` down from the payload `range` (each step the first child of that type).
fn find_path(bytes: &[u8], range: Range<usize>, path: &[&[u8; 4]]) -> Option<BoxSpan> {
    let mut current: Option<BoxSpan> = None;
    let mut within = range;
    for kind in path {
        let found = find_child(bytes, within, kind)?;
        within = found.payload.clone();
        current = Some(found);
    }
    current
}

/// Walks the top-level boxes and reads `moov`. Errors name the box and its byte offset.
pub(super) fn read_movie<R: Read + Seek>(reader: &mut R, file_len: u64) -> Result<Movie> {
    let mut offset = 0u64;
    let mut saw_moof = false;
    while offset < file_len {
        let mut head = [0u8; BoxHeader::MAX_SIZE];
        // offset < file_len (the loop condition).
        let remaining = file_len.saturating_sub(offset);
        let available = remaining.min(head.len() as u64) as usize;
        read_at(reader, offset, &mut head[..available], "MP4 box header")?;
        let (header, header_len) = BoxHeader::decode(&head[..available])
            .map_err(|e| mp4_error(&format!("MP4 box header at byte {offset}"), e))?;
        let size = match header.box_size.get() {
            0 => remaining,
            n => n,
        };
        if size < header_len as u64 {
            return Err(VideoError::invalid_bitstream(format!(
                "MP4 box `{}` at byte {offset} claims {size} bytes, less than its header",
                header.box_type,
            )));
        }
        if header.box_type == MoovBox::TYPE {
            if size > remaining {
                return Err(VideoError::invalid_bitstream(format!(
                    "MP4 box `moov` at byte {offset} claims {size} bytes but the file ends \
                     {remaining} bytes after it starts: the file is truncated"
                )));
            }
            if size > MAX_MOOV_BYTES {
                return Err(VideoError::unsupported(format!(
                    "MP4 box `moov` at byte {offset} has {size} bytes, more than {MAX_MOOV_BYTES}"
                )));
            }
            let mut bytes = vec![0u8; size as usize];
            read_at(reader, offset, &mut bytes, "MP4 moov")?;
            return parse_moov(&mut bytes, offset, header_len);
        }
        saw_moof |= header.box_type == MoofBox::TYPE;
        if size > remaining {
            // A box after which nothing more can be found (mdat cut short, usually).
            break;
        }
        offset = offset.saturating_add(size);
    }
    Err(if saw_moof {
        VideoError::unsupported(
            "fragmented MP4 without a moov box (a media segment alone) is not demuxed: \
             the init segment must come first",
        )
    } else {
        VideoError::invalid_bitstream(
            "MP4 has no moov box (truncated before its index, or not an MP4 file)",
        )
    })
}

/// Reads the children of `moov` (whole box in `bytes`, at `file_offset` in the file).
fn parse_moov(bytes: &mut [u8], file_offset: u64, header_len: usize) -> Result<Movie> {
    let at = |pos: usize| file_offset.saturating_add(pos as u64);
    let mut mvhd = None;
    let mut mvex = None;
    let mut tracks = Vec::new();
    for child in child_boxes(bytes, header_len..bytes.len()) {
        let whole = child.header.start..child.payload.end;
        match &child.kind {
            b"mvhd" => {
                let (b, _) = MvhdBox::decode(&bytes[whole.clone()]).map_err(|e| {
                    mp4_error(&format!("MP4 box `mvhd` at byte {}", at(whole.start)), e)
                })?;
                mvhd = Some(b);
            }
            b"mvex" => {
                let (b, _) = MvexBox::decode(&bytes[whole.clone()]).map_err(|e| {
                    mp4_error(&format!("MP4 box `mvex` at byte {}", at(whole.start)), e)
                })?;
                mvex = Some(b);
            }
            b"trak" => tracks.push(read_trak(bytes, &child, at(whole.start))),
            _ => {}
        }
    }
    let mvhd = mvhd.ok_or_else(|| {
        VideoError::invalid_bitstream(format!(
            "MP4 box `moov` at byte {file_offset} has no `mvhd` box"
        ))
    })?;
    Ok(Movie {
        timescale: mvhd.timescale,
        mvex,
        tracks,
    })
}

/// Reads one `trak`: handler and id by hand, sample descriptions kept raw, and the box
/// decoded with every sample description the MP4 crate cannot decode renamed first.
fn read_trak(bytes: &mut [u8], trak: &BoxSpan, file_offset: u64) -> MovieTrack {
    let payload = trak.payload.clone();
    let handler = find_path(bytes, payload.clone(), &[b"mdia", b"hdlr"])
        .and_then(|h| {
            bytes.get(h.payload.start.saturating_add(8)..h.payload.start.saturating_add(12))
        })
        .and_then(|b| b.try_into().ok())
        .unwrap_or(*b"????");
    let track_id = find_child(bytes, payload.clone(), b"tkhd")
        .and_then(|t| {
            let version = *bytes.get(t.payload.start)?;
            let id_at = t
                .payload
                .start
                .saturating_add(if version == 1 { 20 } else { 12 });
            Some(u32::from_be_bytes(
                bytes.get(id_at..id_at.saturating_add(4))?.try_into().ok()?,
            ))
        })
        .unwrap_or(0);
    let mut raw_entries = Vec::new();
    if let Some(stsd) = find_path(bytes, payload, &[b"mdia", b"minf", b"stbl", b"stsd"]) {
        // version/flags (4) and entry_count (4) come before the entries.
        let entries = stsd.payload.start.saturating_add(8)..stsd.payload.end;
        for entry in child_boxes(bytes, entries) {
            let whole = entry.header.start..entry.payload.end;
            raw_entries.push(bytes[whole.clone()].to_vec());
            if SampleEntry::decode(&bytes[whole]).is_err() {
                let type_at = entry.header.start.saturating_add(4);
                if let Some(t) = bytes.get_mut(type_at..type_at.saturating_add(4)) {
                    t.copy_from_slice(&PLACEHOLDER);
                }
            }
        }
    }
    let whole = trak.header.start..trak.payload.end;
    let trak = TrakBox::decode(&bytes[whole]).map(|(t, _)| t).map_err(|e| {
        let kind = e.kind;
        let message = format!(
            "MP4 track {track_id} (`trak` at byte {file_offset}): {}",
            describe_mp4_error(&e)
        );
        if kind == shiguredo_mp4::ErrorKind::Unsupported {
            VideoError::unsupported(message)
        } else {
            VideoError::invalid_bitstream(message)
        }
    });
    MovieTrack {
        handler,
        track_id,
        trak,
        raw_entries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = u32::try_from(payload.len() + 8)
            .unwrap()
            .to_be_bytes()
            .to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn child_boxes_stop_at_the_first_box_that_does_not_fit() {
        let bytes = [
            mp4_box(b"free", &[1, 2]),
            mp4_box(b"skip", &[]),
            vec![0, 0, 0, 99, b'm', b'd', b'a', b't'],
        ]
        .concat();
        let boxes = child_boxes(&bytes, 0..bytes.len());
        assert_eq!(boxes.len(), 2);
        assert_eq!(&boxes[0].kind, b"free");
        assert_eq!(boxes[0].payload, 8..10);
        assert_eq!(boxes[1].header, 10..18);
    }

    #[test]
    fn a_file_cut_inside_moov_says_truncated_and_where() {
        let moov = mp4_box(b"moov", &[0; 40]);
        let bytes = [mp4_box(b"ftyp", b"isom\0\0\0\0"), moov[..20].to_vec()].concat();
        let err = read_movie(&mut std::io::Cursor::new(&bytes), bytes.len() as u64)
            .err()
            .unwrap();
        let text = err.to_string();
        assert!(text.contains("`moov` at byte 16"), "{text}");
        assert!(text.contains("truncated"), "{text}");
    }
}
