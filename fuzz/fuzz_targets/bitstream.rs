//! Feeds arbitrary bytes to every bitstream parser: the Annex-B splitter (in chunks whose size
//! the first byte picks) and the access-unit assembler for both codecs, the SPS parsers, the
//! avcC/hvcC parsers, the length-prefixed splitter and the segment splitters (at IDR pictures,
//! and at random-access pictures). None may panic, and the segments always hold every access
//! unit.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    video_hw_fuzz::harness::bitstream(first, rest);
});
