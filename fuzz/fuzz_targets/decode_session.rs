//! The whole decode session on the software backend (OpenH264): Annex-B input, raw or
//! generated (valid-looking H.264 parameter sets and slices, see `nal_gen`), submitted in
//! chunks whose size the input picks, frames reaped, then a flush. Every error must be a
//! typed error; a panic (ours, on any thread) or a crash in OpenH264's C++ (built with the
//! fuzzer's coverage flags by scripts/fuzz.sh, so its branches guide the fuzzer) is a finding.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use std::time::Duration;
use video_hw::{Backend, Codec, DecodeInput, DecodeSession, DecoderConfig};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let stream = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        match video_hw_fuzz::nal_gen::annexb_stream(&mut Unstructured::new(rest), false) {
            Ok(s) => s,
            Err(_) => return,
        }
    };
    let chunk = (usize::from(mode >> 1) * 64).max(16);
    let mut config = DecoderConfig::new(Codec::H264);
    // Small queues keep backpressure in play.
    config.max_in_flight = 2;
    config.output_queue = 2;
    let Ok(mut session) = DecodeSession::new(Backend::Software, config) else {
        return;
    };
    for piece in stream.chunks(chunk) {
        let mut input = DecodeInput::annexb(piece);
        loop {
            match session.submit(input) {
                Ok(()) => break,
                Err(rejected) => {
                    input = rejected.input;
                    let _ = session.reap_timeout(Duration::from_millis(1));
                }
            }
        }
        while let Ok(Some(_)) = session.try_reap() {}
    }
    let _ = session.flush();
    while let Ok(Some(_)) = session.try_reap() {}
});
