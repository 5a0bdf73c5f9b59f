//! Feeds arbitrary bytes to every bitstream parser: the Annex-B splitter (in chunks whose size
//! the first byte picks) and the access-unit assembler for both codecs, the SPS parsers, the
//! avcC/hvcC parsers, the length-prefixed splitter and the IDR segment splitter. None may
//! panic, and the segments always hold every access unit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use video_hw::Codec;
use video_hw::bitstream::avcc::AvcDecoderConfigurationRecord;
use video_hw::bitstream::hvcc::HevcDecoderConfigurationRecord;
use video_hw::bitstream::sps::{parse_h264_sps, parse_hevc_sps};
use video_hw::bitstream::{AccessUnitAssembler, AnnexBSplitter, layout, split_at_idr};

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first).max(1);
    for codec in Codec::ALL {
        let mut splitter = AnnexBSplitter::new();
        let mut assembler = AccessUnitAssembler::new(codec);
        let (mut nals, mut aus) = (Vec::new(), Vec::new());
        for piece in rest.chunks(chunk) {
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
        }
        let segments = split_at_idr(codec, &aus, usize::from(first % 8));
        assert_eq!(
            segments.iter().map(|s| s.access_units).sum::<usize>(),
            aus.len()
        );
    }
    let _ = parse_h264_sps(rest);
    let _ = parse_hevc_sps(rest);
    if let Ok(rec) = AvcDecoderConfigurationRecord::parse(rest) {
        let _ = rec.to_bytes();
    }
    if let Ok(rec) = HevcDecoderConfigurationRecord::parse(rest) {
        let _ = rec.to_bytes();
    }
    let _ = layout::split_length_prefixed(rest, first % 5);
});
