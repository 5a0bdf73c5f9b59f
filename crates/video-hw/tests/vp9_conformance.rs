//! VP9 streams made at test time with libvpx (Debian's ffmpeg), decoded on every backend that
//! decodes VP9 here, against FFmpeg's MD5 of the same file (planar, output order, in the
//! stream's own depth). Streams a backend cannot decode exactly are refused with
//! `Unsupported`, never decoded wrong.

mod common;

use common::*;
use video_hw::{Backend, Codec, DecodeInput, DecodeSession, DecoderConfig, ErrorKind};

/// One stream: name, size, frames, pixel format, libvpx arguments.
type Recipe = (
    &'static str,
    &'static str,
    u32,
    &'static str,
    &'static [&'static str],
);

const EXACT: &[Recipe] = &[
    (
        "vp9-8bit-superframes",
        "352x288",
        40,
        "yuv420p",
        &[
            "-b:v",
            "300k",
            "-g",
            "15",
            "-auto-alt-ref",
            "1",
            "-lag-in-frames",
            "12",
        ],
    ),
    (
        "vp9-8bit-odd-size",
        "177x131",
        20,
        "yuv420p",
        &["-crf", "30", "-b:v", "0"],
    ),
    (
        "vp9-10bit-profile2",
        "176x144",
        24,
        "yuv420p10le",
        &["-crf", "28", "-b:v", "0"],
    ),
    (
        "vp9-8bit-error-resilient-tiles",
        "640x360",
        16,
        "yuv420p",
        &[
            "-b:v",
            "400k",
            "-error-resilient",
            "1",
            "-tile-columns",
            "2",
            "-row-mt",
            "1",
        ],
    ),
    (
        "vp9-8bit-lossless",
        "128x128",
        8,
        "yuv420p",
        &["-lossless", "1"],
    ),
];

fn backends() -> Vec<Backend> {
    [Backend::Software, Backend::Nvidia]
        .into_iter()
        .filter(|b| usable(*b, Codec::Vp9, true))
        .collect()
}

#[test]
fn vp9_streams_decode_to_ffmpegs_md5_on_every_backend() {
    let backends = backends();
    for (name, size, frames, pix_fmt, args) in EXACT {
        let Some((ivf, md5)) = vp9_stream(name, size, *frames, pix_fmt, args) else {
            return;
        };
        for b in &backends {
            let out = decode_inputs(*b, Codec::Vp9, ivf_packets(&ivf));
            assert!(out.errors.is_empty(), "{name} on {b}: {:?}", out.errors);
            assert_eq!(out.frames.len() as u32, *frames, "{name} on {b}");
            assert_eq!(out.md5(), md5, "{name} on {b} ({})", out.implementation);
        }
    }
}

/// Two streams of different sizes one after the other: the second key frame starts a new
/// sequence, and the decoder follows (NVDEC reconfigures).
#[test]
fn vp9_size_change_at_a_key_frame_decodes_both_sequences() {
    let backends = backends();
    let Some((first, md5_first)) = vp9_stream(
        "vp9-seq-a",
        "320x240",
        10,
        "yuv420p",
        &["-crf", "30", "-b:v", "0"],
    ) else {
        return;
    };
    let Some((second, md5_second)) = vp9_stream(
        "vp9-seq-b",
        "176x144",
        10,
        "yuv420p",
        &["-crf", "30", "-b:v", "0"],
    ) else {
        return;
    };
    for b in backends {
        let mut inputs = ivf_packets(&first);
        inputs.extend(ivf_packets(&second));
        let out = decode_inputs(b, Codec::Vp9, inputs);
        assert!(out.errors.is_empty(), "{b}: {:?}", out.errors);
        assert_eq!(out.frames.len(), 20, "{b}");
        let mut second_half = out;
        let first_half = Decoded {
            frames: second_half.frames.drain(..10).collect(),
            ..Default::default()
        };
        assert_eq!(first_half.md5(), md5_first, "{b}: first sequence");
        assert_eq!(second_half.md5(), md5_second, "{b}: second sequence");
    }
}

/// 4:4:4 (profile 1) is outside what the software and NVDEC paths put out: refused with
/// `Unsupported` naming the format, never decoded wrong.
#[test]
fn vp9_444_is_refused_with_unsupported_naming_the_format() {
    for b in backends() {
        let Some((ivf, _)) = vp9_stream(
            "vp9-444",
            "64x64",
            4,
            "yuv444p",
            &["-crf", "30", "-b:v", "0"],
        ) else {
            return;
        };
        let out = decode_inputs(b, Codec::Vp9, ivf_packets(&ivf));
        assert!(out.frames.is_empty(), "{b}: no frame of a refused stream");
        let refusal = out
            .errors
            .iter()
            .find(|e| e.kind() == ErrorKind::Unsupported)
            .unwrap_or_else(|| panic!("{b}: {:?}", out.errors));
        assert!(refusal.to_string().contains("4:4:4"), "{refusal}");
    }
}

/// Frames of a damaged packet are skipped and reported; the stream goes on at the next key
/// frame, nothing hangs.
#[test]
fn vp9_truncated_packets_are_reported_and_decoding_goes_on() {
    for b in backends() {
        let Some((ivf, _)) = vp9_stream(
            "vp9-cut",
            "192x128",
            20,
            "yuv420p",
            &["-g", "5", "-crf", "30", "-b:v", "0"],
        ) else {
            return;
        };
        let inputs: Vec<DecodeInput> = ivf_packets(&ivf)
            .into_iter()
            .enumerate()
            .map(|(i, p)| match p {
                DecodeInput::Packet { mut data, pts } if i == 7 => {
                    data.truncate(data.len() / 3);
                    DecodeInput::Packet { data, pts }
                }
                p => p,
            })
            .collect();
        let mut session = DecodeSession::new(b, DecoderConfig::new(Codec::Vp9)).unwrap();
        let mut out = Decoded::default();
        submit_all(&mut session, inputs, &mut out);
        finish(&mut session, &mut out);
        let s = session.summary();
        assert!(out.frames.len() >= 15, "{b}: {} frames", out.frames.len());
        // A picture that did not come out is reported, never lost in silence: as an error, or
        // (OnError::Skip, the default) as a damaged unit in the summary.
        assert!(
            out.frames.len() == 20 || !out.errors.is_empty() || s.damaged_units > 0,
            "{b}: {} frames, no error, no damage counted",
            out.frames.len()
        );
    }
}

/// NVDEC decodes VP9 from 128x128 up: a smaller stream is refused once with `Unsupported`
/// naming the limit, and its pictures are not reported lost as well.
#[test]
fn vp9_below_nvdecs_minimum_size_is_refused_once_naming_the_limit() {
    if !usable(Backend::Nvidia, Codec::Vp9, true) {
        return;
    }
    let Some((ivf, _)) = vp9_stream(
        "vp9-small",
        "96x64",
        6,
        "yuv420p",
        &["-crf", "30", "-b:v", "0"],
    ) else {
        return;
    };
    let out = decode_inputs(Backend::Nvidia, Codec::Vp9, ivf_packets(&ivf));
    assert!(out.frames.is_empty());
    assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
    assert_eq!(out.errors[0].kind(), ErrorKind::Unsupported);
    assert!(
        out.errors[0].to_string().contains("128x128"),
        "{}",
        out.errors[0]
    );
}
