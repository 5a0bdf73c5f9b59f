//! The start of a VP9 uncompressed frame header (VP9 bitstream specification 6.2): frame
//! type, visibility, and on key frames and intra-only frames the colour config and size.

use crate::api::codec::Dimensions;
use crate::api::error::{Result, VideoError};
use h264_reader::rbsp::{BitRead, BitReader};

/// `frame_sync_code` of key frames and intra-only frames.
const SYNC_CODE: [u8; 3] = [0x49, 0x83, 0x42];
/// `color_space` value of RGB (no subsampling, full range).
pub(crate) const CS_RGB: u8 = 7;

/// What a frame header says about colour and sampling (`color_config()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColorConfig {
    /// 8, 10 or 12.
    pub bit_depth: u8,
    /// `color_space` (0 unknown, 1 BT.601, 2 BT.709, 3 SMPTE 170, 4 SMPTE 240, 5 BT.2020,
    /// 7 RGB).
    pub color_space: u8,
    /// `color_range`: studio (false) or full (true) swing.
    pub full_range: bool,
    /// Horizontal chroma subsampling.
    pub subsampling_x: bool,
    /// Vertical chroma subsampling.
    pub subsampling_y: bool,
}

impl ColorConfig {
    /// Profile 0's implied config: 8-bit 4:2:0 BT.601 studio swing (intra-only frames).
    const PROFILE_0: Self = Self {
        bit_depth: 8,
        color_space: 1,
        full_range: false,
        subsampling_x: true,
        subsampling_y: true,
    };

    /// The `chroma_format_idc` equivalent: 1 for 4:2:0, 2 for 4:2:2, 3 for 4:4:4 and 4:4:0.
    pub fn chroma_format_idc(&self) -> u8 {
        match (self.subsampling_x, self.subsampling_y) {
            (true, true) => 1,
            (true, false) => 2,
            _ => 3,
        }
    }
}

/// The fields of a frame header the library uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// `Profile` (0..=3).
    pub profile: u8,
    /// `show_existing_frame`: the frame repeats a decoded frame for output, nothing else.
    pub show_existing_frame: bool,
    /// A key frame: decoding can start here.
    pub key_frame: bool,
    /// `show_frame`: the frame is output.
    pub show_frame: bool,
    /// Colour config and size, on key frames and intra-only frames.
    pub sequence: Option<(ColorConfig, Dimensions)>,
}

impl FrameHeader {
    /// Whether the frame puts a picture out (shown, or shown again).
    pub fn is_output(&self) -> bool {
        self.show_existing_frame || self.show_frame
    }
}

fn bad(what: impl std::fmt::Display) -> VideoError {
    VideoError::invalid_bitstream(format!("VP9 frame header: {what}"))
}

fn bits(e: h264_reader::rbsp::BitReaderError) -> VideoError {
    bad(format_args!("{e:?}"))
}

/// Parses the start of the uncompressed header of one frame (not a superframe).
pub fn parse_frame_header(frame: &[u8]) -> Result<FrameHeader> {
    let mut r = BitReader::new(frame);
    let marker = r.read::<2, u8>("frame_marker").map_err(bits)?;
    if marker != 2 {
        return Err(bad(format_args!("frame_marker = {marker}, expected 2")));
    }
    let low = r.read::<1, u8>("profile_low_bit").map_err(bits)?;
    let high = r.read::<1, u8>("profile_high_bit").map_err(bits)?;
    let profile = (high << 1) | low;
    if profile == 3 && r.read_bit("reserved_zero").map_err(bits)? {
        return Err(bad("reserved bit after profile 3 is set"));
    }
    let mut header = FrameHeader {
        profile,
        show_existing_frame: r.read_bit("show_existing_frame").map_err(bits)?,
        key_frame: false,
        show_frame: false,
        sequence: None,
    };
    if header.show_existing_frame {
        return Ok(header);
    }
    header.key_frame = !r.read_bit("frame_type").map_err(bits)?;
    header.show_frame = r.read_bit("show_frame").map_err(bits)?;
    let error_resilient = r.read_bit("error_resilient_mode").map_err(bits)?;
    if header.key_frame {
        sync_code(&mut r)?;
        let color = color_config(&mut r, profile)?;
        header.sequence = Some((color, frame_size(&mut r)?));
        return Ok(header);
    }
    let intra_only = if header.show_frame {
        false
    } else {
        r.read_bit("intra_only").map_err(bits)?
    };
    if !error_resilient {
        r.read::<2, u8>("reset_frame_context").map_err(bits)?;
    }
    if intra_only {
        sync_code(&mut r)?;
        let color = if profile > 0 {
            color_config(&mut r, profile)?
        } else {
            ColorConfig::PROFILE_0
        };
        r.read::<8, u8>("refresh_frame_flags").map_err(bits)?;
        header.sequence = Some((color, frame_size(&mut r)?));
    }
    Ok(header)
}

fn sync_code<R: BitRead>(r: &mut R) -> Result<()> {
    for expected in SYNC_CODE {
        let b = r.read::<8, u8>("frame_sync_code").map_err(bits)?;
        if b != expected {
            return Err(bad("frame_sync_code is wrong"));
        }
    }
    Ok(())
}

fn color_config<R: BitRead>(r: &mut R, profile: u8) -> Result<ColorConfig> {
    let bit_depth = if profile >= 2 {
        if r.read_bit("ten_or_twelve_bit").map_err(bits)? {
            12
        } else {
            10
        }
    } else {
        8
    };
    let color_space = r.read::<3, u8>("color_space").map_err(bits)?;
    let odd_profile = profile == 1 || profile == 3;
    if color_space == CS_RGB {
        if !odd_profile {
            return Err(bad(format_args!(
                "RGB colour space in profile {profile} (only profiles 1 and 3 carry 4:4:4)"
            )));
        }
        r.read_bit("reserved_zero").map_err(bits)?;
        return Ok(ColorConfig {
            bit_depth,
            color_space,
            full_range: true,
            subsampling_x: false,
            subsampling_y: false,
        });
    }
    let full_range = r.read_bit("color_range").map_err(bits)?;
    let (subsampling_x, subsampling_y) = if odd_profile {
        let x = r.read_bit("subsampling_x").map_err(bits)?;
        let y = r.read_bit("subsampling_y").map_err(bits)?;
        r.read_bit("reserved_zero").map_err(bits)?;
        if x && y {
            return Err(bad(format_args!(
                "4:2:0 in profile {profile} (4:2:0 is profile {})",
                profile.saturating_sub(1)
            )));
        }
        (x, y)
    } else {
        (true, true)
    };
    Ok(ColorConfig {
        bit_depth,
        color_space,
        full_range,
        subsampling_x,
        subsampling_y,
    })
}

fn frame_size<R: BitRead>(r: &mut R) -> Result<Dimensions> {
    let w = r.read::<16, u32>("frame_width_minus_1").map_err(bits)?;
    let h = r.read::<16, u32>("frame_height_minus_1").map_err(bits)?;
    // 16-bit fields: the sums cannot overflow.
    Dimensions::new(w.saturating_add(1), h.saturating_add(1))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// MSB-first bit writer for building headers.
    #[derive(Default)]
    pub struct Writer {
        pub bytes: Vec<u8>,
        bit: u32,
    }

    impl Writer {
        pub fn put(&mut self, value: u32, n: u32) {
            for i in (0..n).rev() {
                if self.bit.is_multiple_of(8) {
                    self.bytes.push(0);
                }
                let b = ((value >> i) & 1) as u8;
                let last = self.bytes.last_mut().expect("pushed");
                *last |= b << (7 - self.bit % 8);
                self.bit += 1;
            }
        }
    }

    /// A key-frame header: profile, bit depth (profiles 2/3), colour space, range, size.
    pub fn key_frame(profile: u8, ten_or_twelve: bool, cs: u8, w: u32, h: u32) -> Vec<u8> {
        let mut wr = Writer::default();
        wr.put(2, 2);
        wr.put(u32::from(profile & 1), 1);
        wr.put(u32::from(profile >> 1), 1);
        if profile == 3 {
            wr.put(0, 1);
        }
        wr.put(0, 1); // show_existing_frame
        wr.put(0, 1); // key frame
        wr.put(1, 1); // show_frame
        wr.put(0, 1); // error_resilient_mode
        for b in SYNC_CODE {
            wr.put(u32::from(b), 8);
        }
        if profile >= 2 {
            wr.put(u32::from(ten_or_twelve), 1);
        }
        wr.put(u32::from(cs), 3);
        if cs != CS_RGB {
            wr.put(0, 1); // studio range
            if profile == 1 || profile == 3 {
                wr.put(0, 1);
                wr.put(0, 1); // 4:4:4
                wr.put(0, 1);
            }
        } else {
            wr.put(0, 1);
        }
        wr.put(w - 1, 16);
        wr.put(h - 1, 16);
        wr.put(0, 8); // padding: render_size etc.
        wr.bytes
    }

    #[test]
    fn key_frame_header_gives_size_depth_and_sampling() {
        let h = parse_frame_header(&key_frame(2, false, 2, 1920, 1080)).unwrap();
        assert!(h.key_frame && h.show_frame && !h.show_existing_frame);
        let (c, size) = h.sequence.unwrap();
        assert_eq!((size.width(), size.height()), (1920, 1080));
        assert_eq!(
            (c.bit_depth, c.color_space, c.chroma_format_idc()),
            (10, 2, 1)
        );
        let (c, _) = parse_frame_header(&key_frame(1, false, 1, 64, 48))
            .unwrap()
            .sequence
            .unwrap();
        assert_eq!((c.bit_depth, c.chroma_format_idc()), (8, 3));
    }

    #[test]
    fn show_existing_frame_is_output_without_a_sequence() {
        // marker 10, profile 0 (00), show_existing 1, index 000.
        let h = parse_frame_header(&[0b1000_1000]).unwrap();
        assert!(h.show_existing_frame && h.is_output() && !h.key_frame);
        assert_eq!(h.sequence, None);
    }

    #[test]
    fn wrong_marker_and_wrong_sync_code_are_invalid_bitstream() {
        assert!(parse_frame_header(&[0x00, 0x00]).is_err());
        let mut k = key_frame(0, false, 1, 16, 16);
        k[1] ^= 0x40;
        assert!(parse_frame_header(&k).is_err());
        assert!(parse_frame_header(&[]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_or_fail_without_panicking(data in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = parse_frame_header(&data);
        }

        #[test]
        fn key_frames_round_trip_their_size(w in 1u32..=65536, h in 1u32..=65536, profile in 0u8..4) {
            let cs = if profile % 2 == 1 { CS_RGB } else { 2 };
            let (_, size) = parse_frame_header(&key_frame(profile, true, cs, w, h)).unwrap().sequence.unwrap();
            proptest::prop_assert_eq!((size.width(), size.height()), (w, h));
        }
    }
}
