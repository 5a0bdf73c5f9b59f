//! Finding and reading the `moov` box among the top-level boxes of the file.

use super::super::{mp4_error, read_error};
use crate::api::error::{Result, VideoError};
use shiguredo_mp4::boxes::{MoofBox, MoovBox};
use shiguredo_mp4::{BoxHeader, Decode};
use std::io::{Read, Seek, SeekFrom};

/// Largest `moov` box read into memory (a sample table of several million samples).
const MAX_MOOV_BYTES: u64 = 256 << 20;

/// Walks the top-level boxes and decodes `moov`.
pub(super) fn read_moov<R: Read + Seek>(reader: &mut R, file_len: u64) -> Result<MoovBox> {
    let mut offset = 0u64;
    let mut saw_moof = false;
    while offset < file_len {
        let mut head = [0u8; BoxHeader::MAX_SIZE];
        // offset < file_len (the loop condition).
        let remaining = file_len.saturating_sub(offset);
        let available = remaining.min(head.len() as u64) as usize;
        reader
            .seek(SeekFrom::Start(offset))
            .map_err(|e| read_error("MP4 box header", e))?;
        reader
            .read_exact(&mut head[..available])
            .map_err(|e| read_error("MP4 box header", e))?;
        let (header, header_len) = BoxHeader::decode(&head[..available])
            .map_err(|e| mp4_error(&format!("MP4 box header at {offset}"), e))?;
        let size = match header.box_size.get() {
            0 => remaining,
            n => n,
        };
        if size < header_len as u64 || size > remaining {
            return Err(VideoError::invalid_bitstream(format!(
                "MP4 box `{}` at {offset} claims {size} bytes but {remaining} remain: truncated or corrupt",
                header.box_type,
            )));
        }
        if header.box_type == MoovBox::TYPE {
            if size > MAX_MOOV_BYTES {
                return Err(VideoError::unsupported(format!(
                    "MP4 moov box of {size} bytes is larger than {MAX_MOOV_BYTES}"
                )));
            }
            let mut bytes = vec![0u8; size as usize];
            reader
                .seek(SeekFrom::Start(offset))
                .map_err(|e| read_error("MP4 moov", e))?;
            reader
                .read_exact(&mut bytes)
                .map_err(|e| read_error("MP4 moov", e))?;
            let (moov, _) = MoovBox::decode(&bytes).map_err(|e| mp4_error("MP4 moov", e))?;
            return Ok(moov);
        }
        saw_moof |= header.box_type == MoofBox::TYPE;
        // size <= remaining: the sum stays <= file_len.
        offset = offset.saturating_add(size);
    }
    Err(if saw_moof {
        VideoError::unsupported("fragmented MP4 input without a moov box is not demuxed")
    } else {
        VideoError::invalid_bitstream("MP4 has no moov box (truncated or not an MP4 file)")
    })
}
