//! Feeds arbitrary bytes to the MP4 demuxer entry points and reads every sample they offer:
//! the default video track (each sample turned into decoder input), every other listed
//! video track (`with_track`), and the first audio track, copied into an MP4 muxer as
//! `transcode` does. Nothing may panic; errors are typed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = video_hw::container::sniff(data);
    video_hw_fuzz::mp4_read::read_all(data);
});
