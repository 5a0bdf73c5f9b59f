//! Feeds arbitrary bytes to the MP4 demuxer entry point and reads every sample it offers,
//! turning each into decoder input. Nothing may panic; errors are typed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use video_hw::container::Mp4Demuxer;

fuzz_target!(|data: &[u8]| {
    let _ = video_hw::container::sniff(data);
    let Ok(mut demux) = Mp4Demuxer::from_bytes(data) else {
        return;
    };
    let _ = demux.track();
    while let Ok(Some(sample)) = demux.next_sample() {
        let _ = sample.to_encoded_chunk(demux.track().codec);
        let _ = sample.into_decode_input();
    }
});
