//! Structure-aware MP4 fuzzing: the input drives a generator of well-formed box trees (one
//! video track, sample table, optional fragments) whose counts, sizes, offsets and times are
//! often out of range; the demuxer then indexes the file and reads every sample, as in the
//! `mp4_demux` target. Raw bytes rarely make a `moov` the MP4 crate accepts; this target
//! starts from one.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use video_hw::container::Mp4Demuxer;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(file) = video_hw_fuzz::mp4_gen::file(&mut u) else {
        return;
    };
    let Ok(mut demux) = Mp4Demuxer::from_bytes(&file) else {
        return;
    };
    while let Ok(Some(sample)) = demux.next_sample() {
        let _ = sample.to_encoded_chunk(demux.track().codec);
        let _ = sample.into_decode_input();
    }
});
