//! Feeds arbitrary bytes to the IVF reader and the VP9 room (superframe index, frame
//! header, picture count, sequence and feature trackers, `vpcC`). None may panic, and the
//! frames read never hold more bytes than the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    video_hw_fuzz::harness::vp9_ivf(data);
});
