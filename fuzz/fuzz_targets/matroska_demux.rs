//! Feeds arbitrary bytes to the Matroska/WebM demuxer (EBML parsing by `matroska-demuxer`,
//! track choice, `CodecPrivate`, block timestamps). None may panic or hang, and the frames
//! read never hold more bytes than the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    video_hw_fuzz::harness::matroska(data);
});
