//! The decoder's control logic driven by the NVDEC double ([`super::double`]): no GPU, no
//! driver. Each test scripts a stream (see the double's module doc) and checks what comes out
//! and the calls made.

use super::decoder::NvdecDecoder;
use super::double::{Call, DoubleOutput, NvdecDouble, maps_per_surface};
use crate::api::codec::{Codec, Timebase, Timestamp};
use crate::api::config::{DecodeOutput, DecoderConfig, NvidiaOptions};
use crate::api::error::{ErrorKind, Result};
use crate::api::frame::DecodedFrame;
use crate::backend::DecoderBackend;
use crate::bitstream::AccessUnit;

type Decoder = NvdecDecoder<NvdecDouble, DoubleOutput>;

/// An H.264 decoder over `double` and `output`, tuned by `options`.
fn decoder_over(double: &NvdecDouble, output: DoubleOutput, options: NvidiaOptions) -> Decoder {
    let config = DecoderConfig::new(Codec::H264).with_output(DecodeOutput::MetadataOnly);
    NvdecDecoder::with_parts(
        double.clone(),
        output,
        &config,
        options,
        "the double".into(),
    )
    .expect("decoder over the double")
}

fn decoder(display_delay: u32) -> (NvdecDouble, Decoder) {
    let double = NvdecDouble::default();
    let options = NvidiaOptions {
        display_delay,
        ..NvidiaOptions::default()
    };
    let dec = decoder_over(&double, double.output(), options);
    (double, dec)
}

/// One access unit carrying `script` (the double's bitstream) with pts `pts` (90 kHz).
fn au(script: &str, pts: i64) -> AccessUnit {
    AccessUnit {
        codec: Codec::H264,
        nals: vec![script.as_bytes().to_vec()],
        keyframe: script.contains("pic I"),
        offset: 0,
        pts: Some(Timestamp {
            ticks: pts,
            timebase: Timebase::MPEG_90K,
        }),
    }
}

/// Decodes each `(script, pts)`, collecting frames and the result of each call.
fn run(dec: &mut Decoder, packets: &[(&str, i64)], out: &mut Vec<DecodedFrame>) -> Vec<Result<()>> {
    packets
        .iter()
        .map(|(script, pts)| dec.decode(&au(script, *pts), out))
        .collect()
}

fn pts(frames: &[DecodedFrame]) -> Vec<i64> {
    frames
        .iter()
        .map(|f| f.pts.expect("timestamped").ticks)
        .collect()
}

fn sizes(frames: &[DecodedFrame]) -> Vec<(u32, u32)> {
    frames
        .iter()
        .map(|f| (f.coded.width(), f.coded.height()))
        .collect()
}

#[test]
fn nvdec_double_a_new_sequence_copies_out_the_old_pictures_then_reconfigures_or_recreates() {
    let (double, mut dec) = decoder(2);
    let mut out = Vec::new();
    let results = run(
        &mut dec,
        &[
            ("seq 64 48;pic I 0", 0),
            ("pic P 1", 1),
            ("pic P 2", 2),
            // Smaller: within the decoder's size, reconfigured.
            ("seq 32 32;pic I 0", 3),
            ("pic P 1", 4),
            // Larger: the decoder is made again.
            ("seq 128 96;pic I 0", 5),
            ("pic P 1", 6),
        ],
        &mut out,
    );
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    dec.flush(&mut out).expect("flush");
    assert_eq!(pts(&out), (0..7).collect::<Vec<_>>());
    assert_eq!(
        sizes(&out),
        [(64, 48); 3]
            .into_iter()
            .chain([(32, 32); 2])
            .chain([(128, 96); 2])
            .collect::<Vec<_>>()
    );
    let log = double.log();
    let decoders: Vec<_> = log
        .iter()
        .filter(|c| {
            matches!(
                c,
                Call::CreateDecoder { .. } | Call::Reconfigure { .. } | Call::DestroyDecoder
            )
        })
        .copied()
        .collect();
    assert!(
        matches!(
            decoders[..],
            [
                Call::CreateDecoder {
                    width: 64,
                    height: 48,
                    ..
                },
                Call::Reconfigure {
                    width: 32,
                    height: 32
                },
                Call::DestroyDecoder,
                Call::CreateDecoder {
                    width: 128,
                    height: 96,
                    ..
                },
            ]
        ),
        "{decoders:?}"
    );
    // The third picture of the first sequence was mapped before the reconfigure.
    let reconfigure = log
        .iter()
        .position(|c| matches!(c, Call::Reconfigure { .. }))
        .expect("reconfigured");
    let maps_before = log[..reconfigure]
        .iter()
        .filter(|c| matches!(c, Call::Map { .. }))
        .count();
    assert_eq!(maps_before, 3, "{log:?}");
    assert_eq!(double.violations(), Vec::<String>::new());
}

#[test]
fn nvdec_double_b_pictures_come_out_in_display_order_with_their_timestamps() {
    let (double, mut dec) = decoder(1);
    let mut out = Vec::new();
    // Decode order I0 P3 B1 B2 P6 B4 B5; each packet carries its picture's display time.
    let packets = [
        ("seq 64 48 reorder=2;pic I 0", 0),
        ("pic P 3", 3000),
        ("pic B 1", 1000),
        ("pic B 2", 2000),
        ("pic P 6", 6000),
        ("pic B 4", 4000),
        ("pic B 5", 5000),
    ];
    let results = run(&mut dec, &packets, &mut out);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let before_flush = out.len();
    assert!(before_flush > 0, "frames come out while decoding");
    dec.flush(&mut out).expect("flush");
    assert_eq!(
        pts(&out),
        vec![0, 1000, 2000, 3000, 4000, 5000, 6000],
        "display order"
    );
    let keyframes: Vec<bool> = out.iter().map(|f| f.keyframe).collect();
    assert_eq!(keyframes, [true, false, false, false, false, false, false]);
    let decodes = double
        .log()
        .iter()
        .filter(|c| matches!(c, Call::Decode { .. }))
        .count();
    assert_eq!(decodes, 7);
    assert_eq!(double.violations(), Vec::<String>::new());
}

#[test]
fn nvdec_double_a_decode_error_mid_stream_is_reported_and_later_pictures_still_decode() {
    let (double, mut dec) = decoder(0);
    let mut out = Vec::new();
    let results = run(
        &mut dec,
        &[
            ("seq 64 48;pic I 0", 0),
            ("pic P 1", 1),
            ("pic P 2 error", 2),
            ("pic P 3", 3),
            // Data the parser rejects, then the stream goes on.
            ("bogus", 4),
            ("pic P 5", 5),
        ],
        &mut out,
    );
    let kinds: Vec<_> = results
        .iter()
        .map(|r| r.as_ref().err().map(|e| e.kind()))
        .collect();
    assert_eq!(
        kinds,
        [
            None,
            None,
            Some(ErrorKind::InvalidBitstream),
            None,
            Some(ErrorKind::InvalidBitstream),
            None
        ]
    );
    let error = results[2].as_ref().expect_err("decode error");
    assert!(error.to_string().contains("decode error"), "{error}");
    dec.flush(&mut out).expect("flush after errors");
    assert_eq!(pts(&out), vec![0, 1, 3, 5]);
    // The picture in error was never mapped; every mapped one was unmapped.
    let maps = maps_per_surface(&double.log());
    assert!(maps.values().all(|(m, u)| m == u), "{maps:?}");
    assert_eq!(maps.values().map(|(m, _)| m).sum::<usize>(), 4);
    assert_eq!(double.violations(), Vec::<String>::new());
}

#[test]
fn nvdec_double_flush_delivers_every_held_picture_and_the_next_stream_reuses_the_decoder() {
    let (double, mut dec) = decoder(4);
    let mut out = Vec::new();
    let results = run(
        &mut dec,
        &[("seq 64 48;pic I 0", 0), ("pic P 1", 1), ("pic P 2", 2)],
        &mut out,
    );
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert!(out.is_empty(), "a display delay of 4 holds all three");
    dec.flush(&mut out).expect("flush");
    assert_eq!(pts(&out), vec![0, 1, 2]);
    // The next stream, same format: a new parser, the same decoder.
    out.clear();
    let results = run(
        &mut dec,
        &[("seq 64 48;pic I 0", 10), ("pic P 1", 11)],
        &mut out,
    );
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    dec.flush(&mut out).expect("second flush");
    assert_eq!(pts(&out), vec![10, 11]);
    let log = double.log();
    let count = |f: fn(&Call) -> bool| log.iter().filter(|c| f(c)).count();
    assert_eq!(count(|c| matches!(c, Call::CreateParser)), 3);
    assert_eq!(count(|c| matches!(c, Call::DestroyParser)), 2);
    assert_eq!(count(|c| matches!(c, Call::CreateDecoder { .. })), 1);
    assert_eq!(double.violations(), Vec::<String>::new());
}

#[test]
fn nvdec_double_drop_destroys_the_parser_then_the_decoder_then_the_output() {
    let (double, mut dec) = decoder(4);
    let mut out = Vec::new();
    let results = run(
        &mut dec,
        &[("seq 64 48;pic I 0", 0), ("pic P 1", 1)],
        &mut out,
    );
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let before = double.log().len();
    drop(dec);
    let log = double.log();
    assert_eq!(
        log[before..],
        [
            Call::DestroyParser,
            Call::OutputFinish,
            Call::DestroyDecoder,
            Call::OutputDropped
        ]
    );
    assert_eq!(double.violations(), Vec::<String>::new());

    // Without any sequence there is no decoder to destroy.
    let (double, dec) = decoder(0);
    drop(dec);
    assert_eq!(
        double.log(),
        [
            Call::CreateParser,
            Call::DestroyParser,
            Call::OutputFinish,
            Call::OutputDropped
        ]
    );
}

#[test]
fn nvdec_double_a_concealed_picture_is_delivered_and_counted() {
    let (double, mut dec) = decoder(0);
    let mut out = Vec::new();
    let results = run(
        &mut dec,
        &[
            ("seq 64 48;pic I 0", 0),
            ("pic P 1 concealed", 1),
            ("pic P 2", 2),
        ],
        &mut out,
    );
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    dec.flush(&mut out).expect("flush");
    // The concealed picture comes out (NVDEC repaired it) and is counted, not an error.
    assert_eq!(pts(&out), vec![0, 1, 2]);
    assert_eq!(dec.concealed_pictures(), 1);
    assert_eq!(double.violations(), Vec::<String>::new());
}

/// A decoder over `double` whose output keeps idle decoders on the double's shelf.
fn keeping_decoder(double: &NvdecDouble, keep_idle_decoders: bool) -> Decoder {
    let options = NvidiaOptions {
        keep_idle_decoders,
        ..NvidiaOptions::default()
    };
    decoder_over(double, double.output_keeping(), options)
}

/// Decodes each `(script, pts)` and asserts every call succeeded.
fn run_ok(dec: &mut Decoder, packets: &[(&str, i64)], out: &mut Vec<DecodedFrame>) {
    let results = run(dec, packets, out);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
}

fn calls_since(double: &NvdecDouble, from: usize, f: fn(&Call) -> bool) -> usize {
    double.log()[from..].iter().filter(|c| f(c)).count()
}

#[test]
fn nvdec_double_a_session_ending_with_a_flush_leaves_its_decoder_to_the_next_of_the_same_format() {
    let double = NvdecDouble::default();
    let mut first = keeping_decoder(&double, true);
    let mut out = Vec::new();
    let stream = [("seq 64 48;pic I 0", 0), ("pic B 2", 1), ("pic P 1", 2)];
    run_ok(&mut first, &stream, &mut out);
    first.flush(&mut out).expect("flush");
    drop(first);
    assert_eq!(calls_since(&double, 0, |c| *c == Call::DestroyDecoder), 0);
    assert_eq!(calls_since(&double, 0, |c| *c == Call::KeptDecoder), 1);
    assert_eq!(double.kept(), 1);

    // The next session of the same format takes it instead of creating one, and decodes the
    // same frames.
    let from = double.log().len();
    let mut second = keeping_decoder(&double, true);
    let mut again = Vec::new();
    run_ok(&mut second, &stream, &mut again);
    second.flush(&mut again).expect("flush");
    assert_eq!(pts(&again), pts(&out));
    assert_eq!(calls_since(&double, from, |c| *c == Call::TookDecoder), 1);
    assert_eq!(
        calls_since(&double, from, |c| matches!(c, Call::CreateDecoder { .. })),
        0
    );
    assert_eq!(double.kept(), 0);
    drop(second);
    assert_eq!(double.kept(), 1);
    assert_eq!(double.violations(), Vec::<String>::new());
}

#[test]
fn nvdec_double_a_decoder_mid_stream_reconfigured_or_not_to_be_kept_is_destroyed() {
    // Dropped mid-stream: pictures may be in flight.
    let double = NvdecDouble::default();
    let mut dec = keeping_decoder(&double, true);
    let mut out = Vec::new();
    run_ok(
        &mut dec,
        &[("seq 64 48;pic I 0", 0), ("pic P 1", 1)],
        &mut out,
    );
    drop(dec);
    assert_eq!(calls_since(&double, 0, |c| *c == Call::DestroyDecoder), 1);
    assert_eq!(double.kept(), 0);

    // Reconfigured to a smaller size: no longer what it was created for.
    let double = NvdecDouble::default();
    let mut dec = keeping_decoder(&double, true);
    let stream = [("seq 64 48;pic I 0", 0), ("seq 32 32;pic I 0", 1)];
    run_ok(&mut dec, &stream, &mut out);
    dec.flush(&mut out).expect("flush");
    assert_eq!(
        calls_since(&double, 0, |c| matches!(c, Call::Reconfigure { .. })),
        1
    );
    drop(dec);
    assert_eq!(calls_since(&double, 0, |c| *c == Call::DestroyDecoder), 1);
    assert_eq!(double.kept(), 0);

    // Flushed, but the options say not to keep it.
    let double = NvdecDouble::default();
    let mut dec = keeping_decoder(&double, false);
    run_ok(&mut dec, &[("seq 64 48;pic I 0", 0)], &mut out);
    dec.flush(&mut out).expect("flush");
    drop(dec);
    assert_eq!(calls_since(&double, 0, |c| *c == Call::DestroyDecoder), 1);
    assert_eq!(calls_since(&double, 0, |c| *c == Call::KeptDecoder), 0);
    assert_eq!(double.violations(), Vec::<String>::new());
}
