//! Annex-B <-> length-prefixed conversion.

use crate::api::error::Result;

/// Splits a length-prefixed sample into its NAL units; `InvalidBitstream` when a length runs
/// past the end, `InvalidInput` for a prefix size other than 1, 2 or 4.
pub fn split_length_prefixed(data: &[u8], length_size: u8) -> Result<Vec<Vec<u8>>> {
    let _ = (data, length_size);
    todo!("bitstream helper")
}
