//! The VideoToolbox encoder's control logic against the double (`vt_double_*`).

use super::*;
use crate::api::config::RateControl;
use crate::api::error::ErrorKind;
use crate::api::packet::{BitstreamLayout, EncodedChunk};
use crate::backend::software::test_support::{moving_i420, moving_input, planar, psnr};
use crate::backend::videotoolbox::properties::session_properties;
use crate::bitstream::assemble_annexb;
use crate::{EncodeSession, SessionSwitchRequest, SwitchMode};

const W: u32 = 64;
const H: u32 = 48;

fn config() -> EncoderConfig {
    let mut c = EncoderConfig::new(Codec::H264, Dimensions::new(W, H).unwrap());
    c.gop_length = 10;
    c
}

fn shared(script: Script) -> Shared {
    (Arc::new(script), Arc::new(Mutex::new(Log::default())))
}

/// Encodes `n` moving pictures and flushes: chunks and errors.
fn encode(
    shared: &Shared,
    c: EncoderConfig,
    n: usize,
) -> (Vec<EncodedChunk>, Vec<crate::VideoError>) {
    let mut enc = encoder(shared, c).unwrap();
    let (mut chunks, mut errors) = (Vec::new(), Vec::new());
    for t in 0..n {
        if let Err(e) = enc.encode(&moving_input(W, H, t), &mut chunks) {
            errors.push(e);
        }
    }
    if let Err(e) = enc.flush(&mut chunks) {
        errors.push(e);
    }
    (chunks, errors)
}

/// Decodes Annex-B chunks with the software decoder; PSNR of each picture against the input.
fn decoded_psnr(chunks: &[EncodedChunk]) -> Vec<f64> {
    let bytes: Vec<u8> = chunks.iter().flat_map(|c| c.data.clone()).collect();
    let config = DecoderConfig::new(Codec::H264)
        .with_output(crate::api::config::DecodeOutput::Cpu(PixelFormat::I420));
    let mut dec = crate::backend::software::decoder_factory(&config).unwrap()().unwrap();
    let mut frames = Vec::new();
    for u in assemble_annexb(Codec::H264, &bytes) {
        dec.decode(&u, &mut frames).unwrap();
    }
    dec.flush(&mut frames).unwrap();
    frames
        .iter()
        .enumerate()
        .map(|(t, f)| psnr(&planar(f), &moving_i420(W as usize, H as usize, t)))
        .collect()
}

#[test]
fn vt_double_encoder_samples_become_self_contained_annexb_chunks() {
    let s = shared(Script::default());
    let (chunks, errors) = encode(&s, config(), 20);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(chunks.len(), 20);
    for c in &chunks {
        assert_eq!(c.layout, BitstreamLayout::AnnexB);
        assert!(c.data.starts_with(&[0, 0, 0, 1]));
        let nals = crate::bitstream::split_annexb(&c.data);
        let has_sps = nals
            .iter()
            .any(|n| crate::bitstream::nal::nal_type(Codec::H264, &n.data) == Some(7));
        assert_eq!(has_sps, c.keyframe, "parameter sets exactly on keyframes");
    }
    assert!(chunks[0].keyframe && chunks[10].keyframe && !chunks[1].keyframe);
    let p = decoded_psnr(&chunks);
    assert_eq!(p.len(), 20);
    assert!(p.iter().all(|p| *p > 30.0), "{p:?}");
}

#[test]
fn vt_double_encoder_callbacks_run_on_another_thread() {
    let s = shared(Script::default());
    let (chunks, _) = encode(&s, config(), 5);
    assert_eq!(chunks.len(), 5);
    let log = s.1.lock().unwrap();
    assert!(!log.callback_threads.is_empty());
    assert!(!log.callback_threads.contains(&std::thread::current().id()));
}

#[test]
fn vt_double_encoder_sets_the_session_properties_in_order_then_prepares() {
    let s = shared(Script::default());
    let c = config();
    let (_, errors) = encode(&s, c.clone(), 2);
    assert!(errors.is_empty(), "{errors:?}");
    let log = s.1.lock().unwrap();
    assert_eq!(log.properties, session_properties(&c));
    let prepare = log
        .calls
        .iter()
        .position(|c| c.contains("Prepare"))
        .unwrap();
    let last_set = log
        .calls
        .iter()
        .rposition(|c| c.contains("SetProperty"))
        .unwrap();
    assert!(last_set < prepare);
}

#[test]
fn vt_double_property_not_supported_on_open_is_unsupported() {
    let s = shared(Script {
        unsupported_properties: vec![PropertyKey::ProfileLevel],
        ..Script::default()
    });
    let e = encoder(&s, config()).err().expect("the open fails");
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.to_string().contains("kVTPropertyNotSupportedErr"), "{e}");
}

fn cbr(bitrate: u32) -> EncoderConfig {
    let mut c = config();
    c.rate_control = RateControl::Cbr { bitrate };
    c
}

/// Submits `n` pictures from `t0` and reaps what is ready.
fn feed(
    s: &mut EncodeSession,
    t0: usize,
    n: usize,
    out: &mut Vec<std::result::Result<EncodedChunk, crate::VideoError>>,
) {
    for t in t0..t0 + n {
        s.submit(moving_input(W, H, t))
            .map_err(|r| r.error)
            .unwrap();
        while let Some(item) = s
            .reap_timeout(std::time::Duration::from_millis(1))
            .transpose()
        {
            out.push(item);
        }
    }
}

fn finish(
    s: &mut EncodeSession,
    out: &mut Vec<std::result::Result<EncodedChunk, crate::VideoError>>,
) {
    s.flush().unwrap();
    loop {
        match s.try_reap() {
            Ok(Some(c)) => out.push(Ok(c)),
            Ok(None) => break,
            Err(e) => out.push(Err(e)),
        }
    }
}

#[test]
fn vt_double_property_not_supported_on_a_switch_rolls_the_generation_back() {
    let (_guard, log) = install(Script {
        unsupported_properties: vec![PropertyKey::AverageBitRate],
        refuse_only_mid_stream: true,
        ..Script::default()
    });
    let mut s = EncodeSession::new(Backend::VideoToolbox, cbr(400_000)).unwrap();
    let mut out = Vec::new();
    feed(&mut s, 0, 5, &mut out);
    let request = SessionSwitchRequest {
        config: cbr(800_000),
        mode: SwitchMode::Immediate,
        force_idr_on_activate: false,
    };
    let generation = s.request_session_switch(request).unwrap();
    assert_eq!(generation, 1);
    feed(&mut s, 5, 5, &mut out);
    finish(&mut s, &mut out);
    let errors: Vec<_> = out.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].to_string().contains("generation 0 stays active"),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].to_string().contains("kVTPropertyNotSupportedErr"),
        "{}",
        errors[0]
    );
    let chunks: Vec<_> = out.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(chunks.len(), 10);
    assert!(chunks.iter().all(|c| c.generation == 0));
    let summary = s.summary();
    assert_eq!(summary.switches.failed, 1);
    assert_eq!(summary.switches.active_generation, 0);
    let bitrates: Vec<_> = log
        .lock()
        .unwrap()
        .properties
        .iter()
        .filter(|(k, _)| *k == PropertyKey::AverageBitRate)
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(
        bitrates,
        vec![PropertyValue::Int(400_000)],
        "the session kept its bitrate"
    );
}

#[test]
fn vt_double_a_refused_change_puts_back_the_properties_already_changed() {
    let s = shared(Script {
        unsupported_properties: vec![PropertyKey::AverageBitRate],
        refuse_only_mid_stream: true,
        ..Script::default()
    });
    let mut enc = encoder(&s, cbr(400_000)).unwrap();
    let mut new = cbr(800_000);
    new.fps = crate::api::codec::Rational::new(50, 1).unwrap();
    let e = enc.reconfigure(&new).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    let log = s.1.lock().unwrap();
    let fps: Vec<_> = log
        .properties
        .iter()
        .filter(|(k, _)| *k == PropertyKey::ExpectedFrameRate)
        .map(|(_, v)| *v)
        .collect();
    // Set at open, changed to 50, put back to the old rate.
    assert_eq!(fps.len(), 3, "{fps:?}");
    assert_eq!(fps[0], fps[2]);
    assert_ne!(fps[0], fps[1]);
}

#[test]
fn vt_double_drain_then_swap_completes_every_frame_before_the_change() {
    let (_guard, log) = install(Script::default());
    let mut s = EncodeSession::new(Backend::VideoToolbox, cbr(400_000)).unwrap();
    let mut out = Vec::new();
    feed(&mut s, 0, 6, &mut out);
    let request = SessionSwitchRequest {
        config: cbr(900_000),
        mode: SwitchMode::DrainThenSwap,
        force_idr_on_activate: false,
    };
    s.request_session_switch(request).unwrap();
    feed(&mut s, 6, 4, &mut out);
    finish(&mut s, &mut out);
    let chunks: Vec<&EncodedChunk> = out.iter().map(|r| r.as_ref().unwrap()).collect();
    let generations: Vec<u64> = chunks.iter().map(|c| c.generation).collect();
    assert_eq!(generations, [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    let log = log.lock().unwrap();
    let complete = log
        .calls
        .iter()
        .position(|c| c.contains("CompleteFrames"))
        .unwrap();
    let set = log
        .calls
        .iter()
        .rposition(|c| c.contains("AverageBitRate"))
        .unwrap();
    let seventh = log
        .calls
        .iter()
        .position(|c| c.ends_with("EncodeFrame #7"))
        .unwrap();
    assert!(complete < set && set < seventh, "{:?}", log.calls);
    assert_eq!(s.summary().switches.in_place, 1);
}

#[test]
fn vt_double_encoder_dropped_frame_is_reported() {
    let s = shared(Script {
        dropped: [3].into(),
        ..Script::default()
    });
    let (chunks, errors) = encode(&s, config(), 6);
    assert_eq!(chunks.len(), 5);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].to_string().contains("dropped 1 frame"),
        "{}",
        errors[0]
    );
}

#[test]
fn vt_double_encoder_uploads_into_padded_rows_exactly() {
    let s = shared(Script {
        row_padding: 72,
        ..Script::default()
    });
    let (chunks, errors) = encode(&s, config(), 8);
    assert!(errors.is_empty(), "{errors:?}");
    let p = decoded_psnr(&chunks);
    assert_eq!(p.len(), 8);
    assert!(p.iter().all(|p| *p > 30.0), "{p:?}");
}

#[test]
fn vt_double_encoder_flush_completes_frames_and_the_encoder_goes_on() {
    let s = shared(Script::default());
    let mut enc = encoder(&s, config()).unwrap();
    let mut chunks = Vec::new();
    enc.flush(&mut chunks).unwrap();
    assert!(chunks.is_empty());
    for t in 0..3 {
        enc.encode(&moving_input(W, H, t), &mut chunks).unwrap();
    }
    enc.flush(&mut chunks).unwrap();
    assert_eq!(chunks.len(), 3);
    for t in 3..5 {
        enc.encode(&moving_input(W, H, t), &mut chunks).unwrap();
    }
    enc.flush(&mut chunks).unwrap();
    assert_eq!(chunks.len(), 5);
    let pts: Vec<i64> = chunks.iter().map(|c| c.pts.unwrap().ticks).collect();
    assert!(pts.windows(2).all(|w| w[1] > w[0]), "{pts:?}");
}

#[test]
fn vt_double_encoder_tags_pixel_buffers_with_the_colour_to_signal() {
    let s = shared(Script::default());
    encode(&s, config(), 1);
    let want = crate::backend::videotoolbox::color::to_attachments(
        crate::backend::videotoolbox::color::encode_color(H),
    );
    assert_eq!(
        s.1.lock().unwrap().attachments,
        [want.matrix, want.primaries, want.transfer]
    );
}

#[test]
fn vt_double_encoder_avcc_layout_with_two_byte_prefixes() {
    let s = shared(Script::default());
    let mut c = config();
    c.layout = BitstreamLayout::Avcc { length_size: 2 };
    let (chunks, errors) = encode(&s, c, 4);
    assert!(errors.is_empty(), "{errors:?}");
    for ch in &chunks {
        assert_eq!(ch.layout, BitstreamLayout::Avcc { length_size: 2 });
        let nals = crate::bitstream::layout::split_length_prefixed(&ch.data, 2).unwrap();
        assert!(!nals.is_empty());
    }
}

#[test]
fn vt_double_dropping_the_encoder_invalidates_its_session() {
    let s = shared(Script::default());
    encode(&s, config(), 2);
    let log = s.1.lock().unwrap();
    assert_eq!(log.invalidations, 1);
    assert_eq!(
        log.calls.last().map(String::as_str),
        Some("VTCompressionSessionInvalidate")
    );
}
