//! Structure-aware bitstream fuzzing: the input drives a generator of valid-looking NAL
//! units (real headers; SPS/PPS/slice fields in the standards' syntax with values often out
//! of range) and `avcC`/`hvcC` records with wrong counts, which then go through the same
//! parsers as the `bitstream` target. Raw fuzzing rarely gets past the first SPS fields;
//! this reaches the late ones (reference picture sets, VUI, PCM, scaling lists).
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use video_hw_fuzz::{harness, nal_gen};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(selector) = u.arbitrary::<u8>() else {
        return;
    };
    let hevc = selector & 0x80 != 0;
    if let Ok(stream) = nal_gen::annexb_stream(&mut u, hevc) {
        harness::bitstream(selector, &stream);
    }
    if let Ok(rec) = nal_gen::avcc(&mut u) {
        harness::records(&rec);
    }
    if let Ok(rec) = nal_gen::hvcc(&mut u) {
        harness::records(&rec);
    }
});
