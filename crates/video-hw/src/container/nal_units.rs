//! The few NAL-unit operations the container layer needs: splitting Annex-B and
//! length-prefixed access units, writing 4-byte length prefixes, and telling parameter
//! sets apart. (Private; the bitstream layer offers the general versions.)

use crate::api::codec::Codec;
use crate::api::error::{Result, VideoError};
use crate::api::packet::BitstreamLayout;

/// Which parameter set a NAL unit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ParamSetKind {
    /// HEVC video parameter set.
    Vps,
    /// Sequence parameter set.
    Sps,
    /// Picture parameter set.
    Pps,
}

/// The parameter-set kind of `nal`, or `None` for other NAL units.
pub(super) fn param_set_kind(codec: Codec, nal: &[u8]) -> Option<ParamSetKind> {
    let first = *nal.first()?;
    match codec {
        Codec::H264 => match first & 0x1F {
            7 => Some(ParamSetKind::Sps),
            8 => Some(ParamSetKind::Pps),
            _ => None,
        },
        Codec::Hevc => match (first >> 1) & 0x3F {
            32 => Some(ParamSetKind::Vps),
            33 => Some(ParamSetKind::Sps),
            34 => Some(ParamSetKind::Pps),
            _ => None,
        },
    }
}

/// The NAL units of one Annex-B access unit (start codes and trailing zero bytes removed).
pub(super) fn split_annexb(data: &[u8]) -> Vec<&[u8]> {
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
    let mut nals = Vec::with_capacity(starts.len());
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(data.len(), |&next| next - 3);
        let mut nal = &data[start..end];
        while let [rest @ .., 0] = nal {
            nal = rest;
        }
        if !nal.is_empty() {
            nals.push(nal);
        }
    }
    nals
}

/// The NAL units of one length-prefixed access unit; `InvalidBitstream` when a prefix
/// runs past the end.
pub(super) fn split_length_prefixed(data: &[u8], length_size: u8) -> Result<Vec<&[u8]>> {
    let n = usize::from(length_size);
    if !matches!(n, 1 | 2 | 4) {
        return Err(VideoError::invalid_input(format!(
            "length prefix of {n} bytes (must be 1, 2 or 4)"
        )));
    }
    let mut nals = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let (prefix, tail) = rest.split_at_checked(n).ok_or_else(|| {
            VideoError::invalid_bitstream(format!(
                "{} trailing byte(s) are too short for a {n}-byte length prefix",
                rest.len()
            ))
        })?;
        let len = prefix
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        let (nal, tail) = tail.split_at_checked(len).ok_or_else(|| {
            VideoError::invalid_bitstream(format!(
                "NAL unit of {len} bytes runs past the end of its sample ({} left)",
                tail.len()
            ))
        })?;
        if !nal.is_empty() {
            nals.push(nal);
        }
        rest = tail;
    }
    Ok(nals)
}

/// The NAL units of an access unit in `layout`.
pub(super) fn split_access_unit(data: &[u8], layout: BitstreamLayout) -> Result<Vec<&[u8]>> {
    match layout.length_size() {
        None => Ok(split_annexb(data)),
        Some(n) => split_length_prefixed(data, n),
    }
}

/// Appends `nal` with a 4-byte big-endian length prefix.
pub(super) fn push_length_prefixed(out: &mut Vec<u8>, nal: &[u8]) -> Result<()> {
    let len = u32::try_from(nal.len()).map_err(|_| {
        VideoError::invalid_input(format!("NAL unit of {} bytes is too large", nal.len()))
    })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(nal);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annexb_split_handles_3_and_4_byte_start_codes_and_trailing_zeros() {
        let data = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 0, 1, 0x65, 4,
        ];
        let nals = split_annexb(&data);
        assert_eq!(
            nals,
            vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4][..]]
        );
    }

    #[test]
    fn length_prefixed_split_rejects_overruns() {
        assert_eq!(
            split_length_prefixed(&[0, 0, 0, 2, 9, 9, 0, 1, 7], 4)
                .unwrap_err()
                .kind(),
            crate::ErrorKind::InvalidBitstream
        );
        assert_eq!(
            split_length_prefixed(&[0, 2, 9, 9, 0, 1, 7], 2).unwrap(),
            vec![&[9, 9][..], &[7][..]]
        );
        assert_eq!(
            split_length_prefixed(&[0, 0, 9], 4).unwrap_err().kind(),
            crate::ErrorKind::InvalidBitstream
        );
    }

    #[test]
    fn parameter_sets_are_recognised_per_codec() {
        assert_eq!(
            param_set_kind(Codec::H264, &[0x67]),
            Some(ParamSetKind::Sps)
        );
        assert_eq!(
            param_set_kind(Codec::H264, &[0x68]),
            Some(ParamSetKind::Pps)
        );
        assert_eq!(param_set_kind(Codec::H264, &[0x65]), None);
        assert_eq!(
            param_set_kind(Codec::Hevc, &[0x40, 1]),
            Some(ParamSetKind::Vps)
        );
        assert_eq!(
            param_set_kind(Codec::Hevc, &[0x42, 1]),
            Some(ParamSetKind::Sps)
        );
        assert_eq!(
            param_set_kind(Codec::Hevc, &[0x44, 1]),
            Some(ParamSetKind::Pps)
        );
        assert_eq!(param_set_kind(Codec::Hevc, &[0x26, 1]), None);
    }
}
