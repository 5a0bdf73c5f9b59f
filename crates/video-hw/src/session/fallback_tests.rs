//! Contract tests of the fallback (no GPU): a chain of test backends, each OpenH264 behind a
//! declared capability, where the first refuses the stream at the first SPS or at a
//! mid-stream SPS change. The frames out must equal one clean decode, none lost or
//! duplicated, and the hops must be recorded.

use super::decode::DecodeSession;
use crate::api::codec::{Codec, Dimensions};
use crate::api::config::{DecoderConfig, EncoderConfig};
use crate::api::error::{ErrorKind, Result, VideoError};
use crate::api::frame::DecodedFrame;
use crate::api::packet::DecodeInput;
use crate::backend::capability::formats;
use crate::backend::{
    Backend, Candidate, CodingTool, DecodeCapability, DecoderBackend, DecoderFactory, InexactTool,
    Selection,
};
use crate::bitstream::AccessUnit;
use crate::bitstream::stream_features::FieldCoding;
use crate::session::EncodeSession;

/// A real decoder (OpenH264) that declares `capability` instead of its own.
struct Declared {
    inner: Box<dyn DecoderBackend>,
    capability: DecodeCapability,
}

impl DecoderBackend for Declared {
    fn decode(&mut self, au: &AccessUnit, out: &mut Vec<DecodedFrame>) -> Result<()> {
        self.inner.decode(au, out)
    }
    fn flush(&mut self, out: &mut Vec<DecodedFrame>) -> Result<()> {
        self.inner.flush(out)
    }
    fn implementation(&self) -> String {
        self.capability.implementation.clone()
    }
    fn capability(&self) -> DecodeCapability {
        self.capability.clone()
    }
}

/// OpenH264 declaring pictures up to `max` (8-bit 4:2:0 progressive) as `name`.
fn declared(backend: Backend, name: &str, max: (u32, u32)) -> Candidate {
    declared_without(backend, name, max, &[])
}

/// [`declared`], refusing `tools` in every profile.
fn declared_without(
    backend: Backend,
    name: &str,
    max: (u32, u32),
    tools: &[CodingTool],
) -> Candidate {
    let inexact = tools
        .iter()
        .map(|&tool| InexactTool {
            tool,
            profiles: Vec::new(),
        })
        .collect();
    let capability = DecodeCapability {
        backend,
        implementation: name.to_owned(),
        codec: Codec::H264,
        profiles: Vec::new(),
        formats: formats(&[8], &[1], max),
        field_coding: vec![FieldCoding::Progressive],
        inexact,
        remedy: "use the next one".to_owned(),
    };
    let factory: DecoderFactory = Box::new(move || {
        let inner = crate::backend::software::decoder_factory(&DecoderConfig::new(Codec::H264))?()?;
        Ok(Box::new(Declared { inner, capability }) as Box<dyn DecoderBackend>)
    });
    Candidate { backend, factory }
}

/// An Annex-B stream: for each `(width, height, frames)`, a new encoder (a new SPS and IDR),
/// GOPs of 8 pictures.
fn stream(parts: &[(u32, u32, u64)]) -> Vec<u8> {
    let mut out = Vec::new();
    for &(w, h, n) in parts {
        let size = Dimensions::new(w, h).unwrap();
        let mut config = EncoderConfig::new(Codec::H264, size);
        config.gop_length = 8;
        let mut enc = EncodeSession::new(Backend::Software, config).expect("OpenH264 encoder");
        for i in 0..n {
            let input = crate::pattern::encode_input(size, i).unwrap();
            enc.submit(input).map_err(|r| r.error).expect("submit");
        }
        for chunk in enc.drain().expect("drain") {
            out.extend_from_slice(&chunk.data);
        }
    }
    out
}

struct Run {
    frames: Vec<DecodedFrame>,
    errors: Vec<VideoError>,
    selection: Selection,
    damaged_units: u64,
}

/// Decodes `data` in small chunks on a session over `chain`.
fn run(chain: Vec<Candidate>, data: &[u8]) -> Run {
    run_with(DecoderConfig::new(Codec::H264), chain, data)
}

/// [`run`] with `config`.
fn run_with(config: DecoderConfig, chain: Vec<Candidate>, data: &[u8]) -> Run {
    let selection = Selection {
        backend: chain[0].backend,
        reason: "test chain".into(),
        hops: Vec::new(),
    };
    let mut dec = DecodeSession::with_chain(selection, config, chain).expect("session");
    let (mut frames, mut errors) = (Vec::new(), Vec::new());
    let mut take = |dec: &mut DecodeSession| {
        loop {
            match dec.try_reap() {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(e) => errors.push(e),
            }
        }
    };
    for chunk in data.chunks(997) {
        let mut input = DecodeInput::annexb(chunk);
        while let Err(rejected) = dec.submit(input) {
            input = rejected.input;
            take(&mut dec);
        }
        take(&mut dec);
    }
    dec.flush().expect("flush");
    take(&mut dec);
    Run {
        frames,
        errors,
        selection: dec.selection().clone(),
        damaged_units: dec.summary().damaged_units,
    }
}

/// The planes and timestamps of every frame, to compare two decodes.
fn fingerprint(frames: &[DecodedFrame]) -> Vec<(String, Option<i64>, Vec<u8>)> {
    frames
        .iter()
        .map(|f| {
            let pixels = f
                .planes()
                .map(|p| p.iter().flat_map(|p| p.data.iter().copied()).collect())
                .unwrap_or_default();
            (f.dimensions().to_string(), f.pts.map(|p| p.ticks), pixels)
        })
        .collect()
}

fn clean(data: &[u8]) -> Run {
    let r = run(
        vec![declared(Backend::Software, "clean", (4096, 4096))],
        data,
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    r
}

#[test]
fn a_refusal_at_the_first_sps_hands_the_whole_stream_to_the_next_backend() {
    let data = stream(&[(64, 64, 20)]);
    let want = clean(&data);
    let got = run(
        vec![
            declared(Backend::Nvidia, "tiny", (32, 32)),
            declared(Backend::Software, "roomy", (4096, 4096)),
        ],
        &data,
    );
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert_eq!(got.frames.len(), 20);
    assert!(fingerprint(&got.frames) == fingerprint(&want.frames));
    let hops = &got.selection.hops;
    assert_eq!(hops.len(), 1, "{hops:?}");
    assert_eq!(
        (hops[0].from, hops[0].to),
        (Backend::Nvidia, Backend::Software)
    );
    assert!(
        hops[0]
            .reason
            .contains("tiny decodes h264 8-bit 4:2:0 up to 32x32")
    );
    assert_eq!(hops[0].at_access_unit, 0);
    assert_eq!(got.selection.backend, Backend::Software);
}

#[test]
fn a_refusal_at_a_mid_stream_sps_change_replays_from_the_idr_without_loss_or_duplicates() {
    // 64x64 for 20 pictures, then 128x128 for 20: the first backend takes 64x64 only.
    let data = stream(&[(64, 64, 20), (128, 128, 20)]);
    let want = clean(&data);
    assert_eq!(want.frames.len(), 40);
    let got = run(
        vec![
            declared(Backend::Nvidia, "small", (64, 64)),
            declared(Backend::Software, "roomy", (4096, 4096)),
        ],
        &data,
    );
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert_eq!(got.frames.len(), 40);
    assert!(fingerprint(&got.frames) == fingerprint(&want.frames));
    let hops = &got.selection.hops;
    assert_eq!(hops.len(), 1, "{hops:?}");
    assert!(
        hops[0].reason.contains("this stream is 128x128"),
        "{hops:?}"
    );
    assert!(hops[0].at_access_unit >= 20, "{hops:?}");
}

#[test]
fn hops_chain_through_several_backends_and_skip_one_that_refuses_too() {
    let data = stream(&[(64, 64, 10), (128, 128, 10)]);
    let want = clean(&data);
    let got = run(
        vec![
            declared(Backend::Nvidia, "tiny", (32, 32)),
            declared(Backend::VideoToolbox, "small", (64, 64)),
            declared(Backend::Software, "roomy", (4096, 4096)),
        ],
        &data,
    );
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert!(fingerprint(&got.frames) == fingerprint(&want.frames));
    let hops: Vec<_> = got.selection.hops.iter().map(|h| (h.from, h.to)).collect();
    assert_eq!(
        hops,
        [
            (Backend::Nvidia, Backend::VideoToolbox),
            (Backend::VideoToolbox, Backend::Software)
        ]
    );
}

#[test]
fn without_a_next_backend_a_refusal_is_one_unsupported_error_naming_the_feature() {
    let data = stream(&[(64, 64, 10), (128, 128, 10)]);
    let got = run(vec![declared(Backend::Software, "small", (64, 64))], &data);
    assert_eq!(got.frames.len(), 10, "the accepted sequence is decoded");
    assert_eq!(got.errors.len(), 1, "{:?}", got.errors);
    assert_eq!(got.errors[0].kind(), ErrorKind::Unsupported);
    assert_eq!(
        got.errors[0].to_string(),
        "unsupported: small decodes h264 8-bit 4:2:0 up to 64x64, this stream is 128x128; \
         use the next one"
    );
    assert!(got.selection.hops.is_empty());
}

#[test]
fn a_refusal_at_the_first_b_picture_mid_gop_replays_without_loss_or_duplicates() {
    if !crate::backend::software::test_support::ffmpeg_cli_available() {
        return;
    }
    // libx264 Main with B-frames: the first B-slice comes after the IDR and a P picture,
    // some of whose frames the first backend has already delivered.
    let path = std::env::temp_dir().join(format!("video-hw-fallback-{}.h264", std::process::id()));
    let made = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=96x64:rate=25:duration=1.6")
        .args([
            "-c:v",
            "libx264",
            "-profile:v",
            "main",
            "-bf",
            "2",
            "-g",
            "12",
        ])
        .args(["-pix_fmt", "yuv420p", "-f", "h264"])
        .arg(&path)
        .status()
        .expect("ffmpeg runs");
    assert!(made.success());
    let data = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let want = clean(&data);
    assert_eq!(want.frames.len(), 40);
    let got = run(
        vec![
            declared_without(
                Backend::Nvidia,
                "no-b",
                (4096, 4096),
                &[CodingTool::BPictures],
            ),
            declared(Backend::Software, "roomy", (4096, 4096)),
        ],
        &data,
    );
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert_eq!(got.frames.len(), 40);
    assert!(fingerprint(&got.frames) == fingerprint(&want.frames));
    let hops = &got.selection.hops;
    assert_eq!(hops.len(), 1, "{hops:?}");
    assert!(
        hops[0].reason.contains("Main-profile B-pictures"),
        "{hops:?}"
    );
    assert!(hops[0].at_access_unit > 0, "mid-GOP: {hops:?}");
}

/// OpenH264 whose flush also reports bad data, as an asynchronous decoder (VideoToolbox)
/// reports a damaged unit only when its callback comes, which may be at the flush.
struct DamagedAtFlush(Box<dyn DecoderBackend>);

impl DecoderBackend for DamagedAtFlush {
    fn decode(&mut self, au: &AccessUnit, out: &mut Vec<DecodedFrame>) -> Result<()> {
        self.0.decode(au, out)
    }
    fn flush(&mut self, out: &mut Vec<DecodedFrame>) -> Result<()> {
        self.0.flush(out)?;
        Err(VideoError::invalid_bitstream("bad data found at the flush"))
    }
    fn implementation(&self) -> String {
        "damaged at flush".to_owned()
    }
    fn capability(&self) -> DecodeCapability {
        self.0.capability()
    }
}

fn damaged_at_flush() -> Candidate {
    let factory: DecoderFactory = Box::new(|| {
        let inner = crate::backend::software::decoder_factory(&DecoderConfig::new(Codec::H264))?()?;
        Ok(Box::new(DamagedAtFlush(inner)) as Box<dyn DecoderBackend>)
    });
    Candidate {
        backend: Backend::Software,
        factory,
    }
}

#[test]
fn damage_reported_at_the_flush_is_counted_under_skip_and_delivered_under_stop() {
    let data = stream(&[(64, 48, 10)]);
    let skip = run_with(
        DecoderConfig::new(Codec::H264).with_on_error(crate::OnError::Skip),
        vec![damaged_at_flush()],
        &data,
    );
    assert!(skip.errors.is_empty(), "{:?}", skip.errors);
    assert_eq!(skip.damaged_units, 1);
    assert_eq!(skip.frames.len(), 10);
    let stop = run_with(
        DecoderConfig::new(Codec::H264).with_on_error(crate::OnError::Stop),
        vec![damaged_at_flush()],
        &data,
    );
    assert_eq!(stop.errors.len(), 1, "{:?}", stop.errors);
    assert_eq!(stop.errors[0].kind(), ErrorKind::InvalidBitstream);
    assert_eq!(stop.damaged_units, 0);
}
