//! Feeds arbitrary bytes to the MPEG-TS demuxer (packet sync and resync, PAT/PMT and PES
//! reassembly by `mpeg2ts-reader`, continuity, PTS unwrapping). None may panic or hang, and
//! the PES packets read never hold more bytes than the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    video_hw_fuzz::harness::mpeg_ts(data);
});
