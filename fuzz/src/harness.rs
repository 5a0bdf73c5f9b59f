//! What the bitstream targets run on their input: every parser of the bitstream layer.

use video_hw::Codec;
use video_hw::bitstream::avcc::AvcDecoderConfigurationRecord;
use video_hw::bitstream::hvcc::HevcDecoderConfigurationRecord;
use video_hw::bitstream::sps::{parse_h264_sps, parse_hevc_sps};
use video_hw::bitstream::{AccessUnitAssembler, AnnexBSplitter, layout, split_at_idr};

/// Splits `stream` in chunks of `chunk` bytes, assembles access units for both codecs,
/// converts them, splits at IDRs (the segments must hold every access unit), and parses
/// `stream` as an SPS, a configuration record and length-prefixed data. `selector` picks the
/// segment size and the length size.
pub fn bitstream(selector: u8, stream: &[u8]) {
    let chunk = usize::from(selector).max(1);
    for codec in Codec::ALL {
        let mut splitter = AnnexBSplitter::new();
        let mut assembler = AccessUnitAssembler::new(codec);
        let (mut nals, mut aus) = (Vec::new(), Vec::new());
        for piece in stream.chunks(chunk) {
            splitter.push(piece, &mut nals);
            for nal in nals.drain(..) {
                assembler.push(nal, &mut aus);
            }
        }
        splitter.finish(&mut nals);
        for nal in nals.drain(..) {
            assembler.push(nal, &mut aus);
        }
        assembler.finish(&mut aus);
        for au in &aus {
            let _ = au.to_length_prefixed(4);
            for nal in &au.nals {
                let _ = parse_h264_sps(nal);
                let _ = parse_hevc_sps(nal);
            }
        }
        let segments = split_at_idr(codec, &aus, usize::from(selector % 8));
        assert_eq!(
            segments.iter().map(|s| s.access_units).sum::<usize>(),
            aus.len()
        );
    }
    let _ = parse_h264_sps(stream);
    let _ = parse_hevc_sps(stream);
    records(stream);
    let _ = layout::split_length_prefixed(stream, selector % 5);
}

/// Parses `bytes` as an `avcC` and an `hvcC` payload, writing back what parses.
pub fn records(bytes: &[u8]) {
    if let Ok(rec) = AvcDecoderConfigurationRecord::parse(bytes) {
        let _ = rec.to_bytes();
    }
    if let Ok(rec) = HevcDecoderConfigurationRecord::parse(bytes) {
        let _ = rec.to_bytes();
    }
}
