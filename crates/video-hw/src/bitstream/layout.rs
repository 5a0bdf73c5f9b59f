//! Annex-B <-> length-prefixed conversion.

use super::annexb::split_annexb;
use crate::api::error::{Result, VideoError};

/// Checks that `length_size` is 1, 2 or 4.
pub(crate) fn check_length_size(length_size: u8) -> Result<()> {
    match length_size {
        1 | 2 | 4 => Ok(()),
        n => Err(VideoError::invalid_input(format!(
            "NAL length prefix of {n} bytes (must be 1, 2 or 4)"
        ))),
    }
}

/// Appends `nal` to `out` with a `length_size`-byte big-endian length prefix;
/// `InvalidInput` when the NAL unit is too long for the prefix.
pub(crate) fn push_length_prefixed(out: &mut Vec<u8>, nal: &[u8], length_size: u8) -> Result<()> {
    let len = nal.len() as u64;
    let bits = u32::from(length_size).saturating_mul(8);
    let max = 1u64
        .checked_shl(bits)
        .map_or(u64::MAX, |m| m.saturating_sub(1));
    if len > max {
        return Err(VideoError::invalid_input(format!(
            "NAL unit of {len} bytes does not fit a {length_size}-byte length prefix"
        )));
    }
    let prefix = len.to_be_bytes();
    let skip = prefix.len().saturating_sub(usize::from(length_size));
    out.extend_from_slice(&prefix[skip..]);
    out.extend_from_slice(nal);
    Ok(())
}

/// Splits a length-prefixed sample into its NAL units; `InvalidBitstream` when a length runs
/// past the end, `InvalidInput` for a prefix size other than 1, 2 or 4.
pub fn split_length_prefixed(data: &[u8], length_size: u8) -> Result<Vec<Vec<u8>>> {
    check_length_size(length_size)?;
    let n = usize::from(length_size);
    let mut nals = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if rest.len() < n {
            return Err(VideoError::invalid_bitstream(format!(
                "{} trailing bytes, too few for a {n}-byte NAL length",
                rest.len()
            )));
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        rest = &rest[n..];
        if len > rest.len() {
            return Err(VideoError::invalid_bitstream(format!(
                "NAL length {len} runs past the end of the sample ({} bytes left)",
                rest.len()
            )));
        }
        nals.push(rest[..len].to_vec());
        rest = &rest[len..];
    }
    Ok(nals)
}

/// Converts an Annex-B buffer into `length_size`-byte length-prefixed NAL units.
pub fn annexb_to_length_prefixed(data: &[u8], length_size: u8) -> Result<Vec<u8>> {
    check_length_size(length_size)?;
    let mut out = Vec::with_capacity(data.len().saturating_add(16));
    for nal in split_annexb(data) {
        push_length_prefixed(&mut out, &nal.data, length_size)?;
    }
    Ok(out)
}

/// Converts length-prefixed NAL units into Annex-B with 4-byte start codes.
pub fn length_prefixed_to_annexb(data: &[u8], length_size: u8) -> Result<Vec<u8>> {
    let nals = split_length_prefixed(data, length_size)?;
    let mut out = Vec::with_capacity(data.len().saturating_add(nals.len().saturating_mul(4)));
    for nal in nals {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(&nal);
    }
    Ok(out)
}

/// The Annex-B bytes of one decoder input of an H.264 or HEVC stream (4-byte start codes
/// before NAL units that had none), so that inputs of any layout join into one byte stream.
pub fn input_to_annexb(input: crate::api::packet::DecodeInput) -> Result<Vec<u8>> {
    use crate::api::packet::DecodeInput;
    let with_start_codes = |nals: &[Vec<u8>]| {
        let mut out = Vec::with_capacity(nals.iter().fold(0usize, |acc, n| {
            acc.saturating_add(n.len().saturating_add(4))
        }));
        for nal in nals {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(nal);
        }
        out
    };
    Ok(match input {
        DecodeInput::AnnexB { data, .. } | DecodeInput::Packet { data, .. } => data,
        DecodeInput::AccessUnit { nals, .. } => with_start_codes(&nals),
        DecodeInput::LengthPrefixed {
            data, length_size, ..
        } => length_prefixed_to_annexb(&data, length_size)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::error::ErrorKind;
    use proptest::prelude::*;

    #[test]
    fn split_reads_every_prefix_size() {
        assert_eq!(
            split_length_prefixed(&[2, 0x65, 1, 1, 0x41], 1).unwrap(),
            vec![vec![0x65, 1], vec![0x41]]
        );
        assert_eq!(
            split_length_prefixed(&[0, 1, 0x09], 2).unwrap(),
            vec![vec![0x09]]
        );
        assert_eq!(
            split_length_prefixed(&[0, 0, 0, 2, 0x67, 0x42], 4).unwrap(),
            vec![vec![0x67, 0x42]]
        );
    }

    #[test]
    fn bad_prefix_sizes_and_overruns_are_typed_errors() {
        assert_eq!(
            split_length_prefixed(&[], 3).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            split_length_prefixed(&[0, 0, 0, 9, 1], 4)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidBitstream
        );
        assert_eq!(
            split_length_prefixed(&[0, 0], 4).unwrap_err().kind(),
            ErrorKind::InvalidBitstream
        );
        assert_eq!(
            annexb_to_length_prefixed(&[0, 0, 1, 0x65], 0)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn nal_too_long_for_one_byte_prefix_is_rejected() {
        let mut data = vec![0, 0, 1];
        data.extend(std::iter::repeat_n(0x55u8, 300));
        assert_eq!(
            annexb_to_length_prefixed(&data, 1).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(annexb_to_length_prefixed(&data, 2).unwrap().len(), 302);
    }

    proptest! {
        #[test]
        fn annexb_and_length_prefixed_round_trip(
            nals in proptest::collection::vec(
                proptest::collection::vec(prop_oneof![Just(0u8), Just(3u8), 4u8..=255], 1..50)
                    .prop_map(|mut n| {
                        // A valid NAL unit: non-zero header, no start code inside, no trailing zero.
                        n[0] = n[0].max(1);
                        let mut clean: Vec<u8> = Vec::new();
                        for b in n {
                            let l = clean.len();
                            if b <= 3 && l >= 2 && clean[l - 1] == 0 && clean[l - 2] == 0 {
                                clean.push(3);
                            }
                            clean.push(b);
                        }
                        if clean.last() == Some(&0) { clean.push(0x80); }
                        clean
                    }),
                0..10),
            size in prop_oneof![Just(1u8), Just(2u8), Just(4u8)],
        ) {
            let mut annexb = Vec::new();
            for n in &nals { annexb.extend_from_slice(&[0, 0, 1]); annexb.extend_from_slice(n); }
            let lp = annexb_to_length_prefixed(&annexb, size).unwrap();
            prop_assert_eq!(split_length_prefixed(&lp, size).unwrap(), nals.clone());
            let back = length_prefixed_to_annexb(&lp, size).unwrap();
            prop_assert_eq!(annexb_to_length_prefixed(&back, size).unwrap(), lp);
        }

        #[test]
        fn split_length_prefixed_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200), size in 0u8..6) {
            let _ = split_length_prefixed(&data, size);
            let _ = length_prefixed_to_annexb(&data, size);
            let _ = annexb_to_length_prefixed(&data, size);
        }
    }
}
