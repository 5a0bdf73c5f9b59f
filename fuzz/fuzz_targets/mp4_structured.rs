//! Structure-aware MP4 fuzzing: the input drives a generator of well-formed box trees (one
//! track, sample table, optional fragments whose data base is given three ways) whose
//! counts, sizes, offsets and times are often out of range; the demuxer then indexes the
//! file and reads every sample of every track, as in the `mp4_demux` target. Raw bytes
//! rarely make a `moov` the MP4 crate accepts; this target starts from one.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(file) = video_hw_fuzz::mp4_gen::file(&mut u) else {
        return;
    };
    video_hw_fuzz::mp4_read::read_all(&file);
});
