//! IVF: the simple frame container of libvpx (a 32-byte file header, then each frame as a
//! 12-byte header and its bytes). It carries VP8, VP9 and AV1.

use crate::api::codec::{Codec, Dimensions, Rational, Timebase, Timestamp};
use crate::api::error::{Result, VideoError};
use crate::api::packet::DecodeInput;
use std::io::Read;

/// The file signature.
pub const IVF_MAGIC: &[u8; 4] = b"DKIF";
/// Largest frame read (a 8192x8192 12-bit 4:4:4 intra frame fits many times over): a frame
/// header naming more is damaged.
pub const MAX_FRAME_BYTES: u32 = 256 << 20;

/// What an IVF file header states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvfHeader {
    /// The codec's four-character code (`VP90`, `VP80`, `AV01`).
    pub fourcc: [u8; 4],
    /// Picture size, when non-zero.
    pub dimensions: Option<Dimensions>,
    /// The length of a timestamp tick.
    pub timebase: Timebase,
    /// Frames, as the header states (writers that cannot seek leave it wrong or zero).
    pub frame_count: u32,
}

impl IvfHeader {
    /// The codec the four-character code names, when the library decodes it.
    pub fn codec(&self) -> Option<Codec> {
        match &self.fourcc {
            b"VP90" => Some(Codec::Vp9),
            _ => None,
        }
    }
}

/// One frame of an IVF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvfFrame {
    /// The frame bytes (a VP9 frame or superframe).
    pub data: Vec<u8>,
    /// Its presentation time.
    pub pts: Timestamp,
}

impl IvfFrame {
    /// The frame as decoder input (one packet).
    pub fn into_decode_input(self) -> DecodeInput {
        DecodeInput::Packet {
            data: self.data,
            pts: Some(self.pts),
        }
    }
}

/// Reads an IVF stream frame by frame, from any `Read` (no seeking).
#[derive(Debug)]
pub struct IvfReader<R> {
    reader: R,
    header: IvfHeader,
    frames: u64,
}

fn bad(what: impl std::fmt::Display) -> VideoError {
    VideoError::invalid_bitstream(format!("IVF: {what}"))
}

/// Fills `buf`; `Ok(false)` at a clean end of stream before its first byte.
fn read_full(reader: &mut impl Read, buf: &mut [u8], what: &str) -> Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(bad(format_args!("{what} cut short"))),
            Ok(n) => filled = filled.saturating_add(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(super::read_error(&format!("reading IVF {what}"), e)),
        }
    }
    Ok(true)
}

#[allow(
    clippy::arithmetic_side_effects,
    reason = "constant offsets into fixed-size header arrays"
)]
fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

#[allow(
    clippy::arithmetic_side_effects,
    reason = "constant offsets into fixed-size header arrays"
)]
fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl<R: Read> IvfReader<R> {
    /// Reads the file header.
    #[allow(
        clippy::arithmetic_side_effects,
        reason = "constant offsets into a fixed 32-byte array"
    )]
    pub fn new(mut reader: R) -> Result<Self> {
        let mut h = [0u8; 32];
        if !read_full(&mut reader, &mut h, "file header")? {
            return Err(bad("empty file"));
        }
        if &h[0..4] != IVF_MAGIC {
            return Err(bad("no DKIF signature"));
        }
        let header_len = le16(&h, 6);
        if header_len < 32 {
            return Err(bad(format_args!("header length {header_len} < 32")));
        }
        // Header bytes beyond the 32 defined ones are skipped.
        let mut extra = vec![0u8; usize::from(header_len) - 32];
        if !extra.is_empty() && !read_full(&mut reader, &mut extra, "file header")? {
            return Err(bad("file header cut short"));
        }
        let (rate, scale) = (le32(&h, 16), le32(&h, 20));
        let timebase = Rational::new(scale.max(1), rate.max(1)).map(Timebase)?;
        let dimensions = Dimensions::new(u32::from(le16(&h, 12)), u32::from(le16(&h, 14))).ok();
        Ok(Self {
            reader,
            header: IvfHeader {
                fourcc: [h[8], h[9], h[10], h[11]],
                dimensions,
                timebase,
                frame_count: le32(&h, 24),
            },
            frames: 0,
        })
    }

    /// The file header.
    pub fn header(&self) -> &IvfHeader {
        &self.header
    }

    /// Frames read so far.
    pub fn frames_read(&self) -> u64 {
        self.frames
    }

    /// The next frame, `None` at the end. A frame header that names more than
    /// [`MAX_FRAME_BYTES`] or a frame cut short is `InvalidBitstream`; memory grows with
    /// the bytes actually read, never with a size the file states.
    pub fn next_frame(&mut self) -> Result<Option<IvfFrame>> {
        let mut fh = [0u8; 12];
        if !read_full(&mut self.reader, &mut fh, "frame header")? {
            return Ok(None);
        }
        let size = le32(&fh, 0);
        if size > MAX_FRAME_BYTES {
            return Err(bad(format_args!(
                "frame {} of {size} bytes (at most {MAX_FRAME_BYTES})",
                self.frames
            )));
        }
        let ticks = i64::from_le_bytes(fh[4..12].try_into().unwrap_or([0; 8]));
        let mut data = Vec::new();
        let got = (&mut self.reader)
            .take(u64::from(size))
            .read_to_end(&mut data)
            .map_err(|e| super::read_error("reading an IVF frame", e))?;
        if got != data.len() || u64::try_from(got).ok() != Some(u64::from(size)) {
            return Err(bad(format_args!(
                "frame {} cut short: {got} of {size} bytes",
                self.frames
            )));
        }
        self.frames = self.frames.saturating_add(1);
        Ok(Some(IvfFrame {
            data,
            pts: Timestamp {
                ticks,
                timebase: self.header.timebase,
            },
        }))
    }
}

impl<R: Read> Iterator for IvfReader<R> {
    type Item = Result<IvfFrame>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_frame().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ivf(frames: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(IVF_MAGIC);
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&32u16.to_le_bytes());
        out.extend_from_slice(b"VP90");
        out.extend_from_slice(&320u16.to_le_bytes());
        out.extend_from_slice(&240u16.to_le_bytes());
        out.extend_from_slice(&30u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&(frames.len() as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        for (i, f) in frames.iter().enumerate() {
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(&(i as u64).to_le_bytes());
            out.extend_from_slice(f);
        }
        out
    }

    #[test]
    fn ivf_frames_come_out_with_their_timestamps() {
        let data = ivf(&[b"abc", b"", b"defg"]);
        let mut r = IvfReader::new(&data[..]).unwrap();
        assert_eq!(r.header().codec(), Some(Codec::Vp9));
        assert_eq!(
            r.header().dimensions.map(|d| (d.width(), d.height())),
            Some((320, 240))
        );
        assert_eq!(r.header().timebase.0, Rational { num: 1, den: 30 });
        let frames: Vec<IvfFrame> = r.by_ref().collect::<Result<_>>().unwrap();
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[2].data, b"defg");
        assert_eq!(frames[2].pts.ticks, 2);
        assert_eq!(r.frames_read(), 3);
    }

    #[test]
    fn ivf_cut_short_or_oversized_is_invalid_bitstream() {
        let data = ivf(&[b"abcdef"]);
        let cut = &data[..data.len() - 2];
        let err = IvfReader::new(cut).unwrap().next_frame().unwrap_err();
        assert_eq!(err.kind(), crate::api::error::ErrorKind::InvalidBitstream);
        let mut huge = ivf(&[]);
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        huge.extend_from_slice(&[0; 8]);
        assert!(IvfReader::new(&huge[..]).unwrap().next_frame().is_err());
        assert!(IvfReader::new(&b"RIFF0000"[..]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_read_or_fail_without_panicking(tail in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let mut data = ivf(&[]);
            data.extend_from_slice(&tail);
            if let Ok(r) = IvfReader::new(&data[..]) {
                let read: usize = r.take(64).filter_map(|f| f.ok()).map(|f| f.data.len()).sum();
                proptest::prop_assert!(read <= tail.len());
            }
        }
    }
}
