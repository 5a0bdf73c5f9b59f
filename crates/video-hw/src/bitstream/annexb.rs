//! Incremental Annex-B splitting.

/// One NAL unit cut out of a byte stream: header included, start code and trailing zero
/// bytes removed, emulation-prevention bytes kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nal {
    /// The NAL unit bytes.
    pub data: Vec<u8>,
    /// Offset in the whole stream of the first byte of this NAL's start code.
    pub offset: u64,
}

/// Splits an Annex-B byte stream fed in chunks of any size into NAL units.
#[derive(Debug, Default)]
pub struct AnnexBSplitter {}

impl AnnexBSplitter {
    /// A splitter at the start of a stream.
    pub fn new() -> Self {
        todo!("bitstream helper")
    }

    /// Feeds the next chunk; every NAL unit completed by it is appended to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<Nal>) {
        let _ = (chunk, out);
        todo!("bitstream helper")
    }

    /// Ends the stream: the last NAL unit, if any, is appended to `out`.
    pub fn finish(&mut self, out: &mut Vec<Nal>) {
        let _ = out;
        todo!("bitstream helper")
    }
}
