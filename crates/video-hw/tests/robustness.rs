//! Bad input never panics a session: random bytes, truncated and corrupted real streams all
//! end in frames or typed errors, and the session stays usable afterwards.

mod common;

use common::*;
use proptest::prelude::*;
use video_hw::{
    Backend, Codec, DecodeInput, DecodeOutput, DecodeSession, DecoderConfig, ErrorKind, PixelFormat,
};

fn decode_bytes(data: Vec<u8>, chunk: usize, codec: Codec) -> Decoded {
    let config = DecoderConfig::new(codec).with_output(DecodeOutput::Cpu(PixelFormat::I420));
    let mut s = DecodeSession::new(Backend::Software, config).expect("decoder opens");
    let mut out = Decoded::default();
    submit_all(
        &mut s,
        data.chunks(chunk.max(1))
            .map(|c| DecodeInput::annexb(c.to_vec())),
        &mut out,
    );
    finish(&mut s, &mut out);
    out
}

fn assert_typed(out: &Decoded) {
    for e in &out.errors {
        assert!(
            matches!(
                e.kind(),
                ErrorKind::InvalidBitstream | ErrorKind::Unsupported
            ),
            "unexpected error kind {:?}: {e}",
            e.kind()
        );
    }
}

/// A small real stream: the software encoder's, else a short conformance stream.
fn seed_stream() -> Option<Vec<u8>> {
    if let Some(s) = reference_stream(Codec::H264, video_hw::Dimensions::new(64, 48).unwrap(), 6) {
        return Some(s);
    }
    std::fs::read(conformance_dir()?.join("h264/SVA_BA2_D.264")).ok()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_the_decoder(data in proptest::collection::vec(any::<u8>(), 0..3000), chunk in 1usize..700) {
        if !usable(Backend::Software, Codec::H264, true) {
            return Ok(());
        }
        // Sprinkle start codes so that the bytes reach the decoder as NAL units.
        let mut data = data;
        for i in (0..data.len()).step_by(97) {
            if i + 3 < data.len() {
                data[i..i + 3].copy_from_slice(&[0, 0, 1]);
            }
        }
        let out = decode_bytes(data, chunk, Codec::H264);
        assert_typed(&out);
    }

    #[test]
    fn corrupted_real_streams_never_panic_the_decoder(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..40), cut in any::<prop::sample::Index>()) {
        if !usable(Backend::Software, Codec::H264, true) {
            return Ok(());
        }
        let Some(mut data) = seed_stream() else { return Ok(()) };
        for (at, byte) in flips {
            let i = at.index(data.len());
            data[i] ^= byte;
        }
        let end = cut.index(data.len() + 1);
        data.truncate(end.max(1));
        let out = decode_bytes(data, 1024, Codec::H264);
        assert_typed(&out);
    }
}

#[test]
fn the_session_decodes_normally_after_corrupt_input() {
    if !usable(Backend::Software, Codec::H264, true) {
        return;
    }
    let Some(good) = seed_stream() else { return };
    let config = DecoderConfig::new(Codec::H264).with_output(DecodeOutput::Cpu(PixelFormat::I420));
    let mut s = DecodeSession::new(Backend::Software, config).unwrap();
    let mut bad = good.clone();
    for i in (20..bad.len()).step_by(13) {
        bad[i] ^= 0x5a;
    }
    let mut junk = Decoded::default();
    submit_all(&mut s, [DecodeInput::annexb(bad)], &mut junk);
    finish(&mut s, &mut junk);
    assert_typed(&junk);
    let mut out = Decoded::default();
    submit_all(&mut s, [DecodeInput::annexb(good.clone())], &mut out);
    finish(&mut s, &mut out);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let fresh = decode_bytes(good, 4096, Codec::H264);
    assert_eq!(
        out.md5(),
        fresh.md5(),
        "output after corrupt input equals a fresh session's"
    );
}
