//! Byte-level reading and writing shared by the decoder configuration records
//! (`avcC`, `hvcC`, `vpcC`).

use crate::api::error::{Result, VideoError};

fn bad(what: String) -> VideoError {
    VideoError::invalid_bitstream(what)
}

/// A cursor over record bytes whose reads fail with `InvalidBitstream` past the end.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8], what: &'static str) -> Self {
        Self { data, what }
    }
    pub(crate) fn remaining(&self) -> usize {
        self.data.len()
    }
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.data.len() < n {
            return Err(bad(format!("{} truncated", self.what)));
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Ok(head)
    }
    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.bytes(1)?[0])
    }
    pub(crate) fn u16(&mut self) -> Result<u16> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    /// A `u16` length followed by that many bytes.
    pub(crate) fn nal(&mut self) -> Result<Vec<u8>> {
        let len = usize::from(self.u16()?);
        Ok(self.bytes(len)?.to_vec())
    }
}

/// Appends a `u16` length and the NAL unit; `InvalidInput` when it is longer than 65535.
pub(crate) fn put_nal(out: &mut Vec<u8>, nal: &[u8]) -> Result<()> {
    let len = u16::try_from(nal.len()).map_err(|_| {
        VideoError::invalid_input(format!(
            "parameter set of {} bytes does not fit a 16-bit length",
            nal.len()
        ))
    })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(nal);
    Ok(())
}
