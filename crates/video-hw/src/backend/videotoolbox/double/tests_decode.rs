//! The VideoToolbox decoder's control logic against the double (`vt_double_*`). Reference
//! pictures come from the software decoder on the same stream: the double decodes with it, so
//! any difference is the adapter's (order, copies, padding, recreation, duplicates).

use super::*;
use crate::api::codec::Timestamp;
use crate::api::config::{DecodeOutput, OnError};
use crate::api::error::ErrorKind;
use crate::api::frame::{DecodedFrame, FrameData};
use crate::backend::software::test_support::{ffmpeg_cli_available, frames_md5};
use crate::backend::videotoolbox::calls::{DECODER_BAD_DATA, INVALID_SESSION};
use crate::bitstream::{AccessUnit, assemble_annexb};
use crate::{DecodeInput, DecodeSession};

const W: u32 = 64;
const H: u32 = 48;

/// An H.264 stream from the software encoder (no B-frames), keyframe every `gop`.
fn baseline(n: usize, gop: u32) -> Vec<AccessUnit> {
    let mut config = EncoderConfig::new(Codec::H264, Dimensions::new(W, H).unwrap());
    config.gop_length = gop;
    let mut enc = crate::backend::software::encoder_factory(&config).unwrap()().unwrap();
    let chunks = crate::backend::software::test_support::encode_pattern(&mut *enc, W, H, n);
    let bytes: Vec<u8> = chunks.into_iter().flat_map(|c| c.data).collect();
    with_display_pts(assemble_annexb(Codec::H264, &bytes))
}

/// An H.264 stream with two B-frames between anchors (libx264), or `None` without ffmpeg.
fn with_b_frames(n: usize) -> Option<Vec<AccessUnit>> {
    if !ffmpeg_cli_available() {
        return None;
    }
    let path = std::env::temp_dir().join(format!(
        "vt-double-b-{}-{:?}.h264",
        std::process::id(),
        std::thread::current().id()
    ));
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc=size={W}x{H}:rate=25"))
        .args([
            "-frames:v",
            &n.to_string(),
            "-c:v",
            "libx264",
            "-bf",
            "2",
            "-g",
            "12",
        ])
        .args([
            "-x264-params",
            "b-pyramid=none:scenecut=0",
            "-pix_fmt",
            "yuv420p",
            "-f",
            "h264",
        ])
        .arg(&path)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg could not make the B-frame stream");
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(path);
    Some(with_display_pts(assemble_annexb(Codec::H264, &bytes)))
}

/// Gives each access unit its presentation time (display rank * 3600), found by decoding
/// with the software decoder and decode-order tokens as timestamps.
fn with_display_pts(mut units: Vec<AccessUnit>) -> Vec<AccessUnit> {
    for (i, u) in units.iter_mut().enumerate() {
        u.pts = Some(Timestamp::mpeg(i as i64));
    }
    let frames = software(&units);
    let mut rank = vec![0i64; units.len()];
    for (r, f) in frames.iter().enumerate() {
        rank[f.pts.unwrap().ticks as usize] = r as i64;
    }
    for (i, u) in units.iter_mut().enumerate() {
        u.pts = Some(Timestamp::mpeg(3600 * rank[i]));
    }
    units
}

/// The software decoder's pictures (the reference).
fn software(units: &[AccessUnit]) -> Vec<DecodedFrame> {
    let config = DecoderConfig::new(Codec::H264).with_output(DecodeOutput::Cpu(PixelFormat::I420));
    let mut dec = crate::backend::software::decoder_factory(&config).unwrap()().unwrap();
    let mut frames = Vec::new();
    for u in units {
        dec.decode(u, &mut frames).unwrap();
    }
    dec.flush(&mut frames).unwrap();
    frames
}

/// What one run of the adapter gave.
struct Run {
    frames: Vec<DecodedFrame>,
    errors: Vec<crate::VideoError>,
    log: Arc<Mutex<Log>>,
    recreated: u64,
    fallbacks: u64,
}

fn run(script: Script, output: DecodeOutput, units: &[AccessUnit]) -> Run {
    let log = Arc::new(Mutex::new(Log::default()));
    let shared = (Arc::new(script), log.clone());
    let config = DecoderConfig::new(Codec::H264).with_output(output);
    let mut dec = decoder(&shared, config).unwrap();
    let (mut frames, mut errors) = (Vec::new(), Vec::new());
    for u in units {
        if let Err(e) = dec.decode(u, &mut frames) {
            errors.push(e);
        }
    }
    if let Err(e) = dec.flush(&mut frames) {
        errors.push(e);
    }
    let (recreated, fallbacks) = (dec.recreated(), dec.conversion_fallbacks());
    drop(dec);
    Run {
        frames,
        errors,
        log,
        recreated,
        fallbacks,
    }
}

fn nv12() -> DecodeOutput {
    DecodeOutput::Native
}

fn pts(frames: &[DecodedFrame]) -> Vec<i64> {
    frames.iter().map(|f| f.pts.unwrap().ticks).collect()
}

fn ascending(n: usize) -> Vec<i64> {
    (0..n as i64).map(|i| 3600 * i).collect()
}

#[test]
fn vt_double_callbacks_run_on_another_thread_then_frames_leave_in_presentation_order() {
    let Some(units) = with_b_frames(30) else {
        return;
    };
    let script = Script {
        order: Order::Decode,
        ..Script::default()
    };
    let r = run(script, nv12(), &units);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let log = r.log.lock().unwrap();
    assert!(!log.callback_threads.is_empty());
    assert!(
        !log.callback_threads.contains(&std::thread::current().id()),
        "the output callback ran on the adapter's thread"
    );
    // The callbacks came out of presentation order (B-frames in decode order)...
    let delivered: Vec<i64> = log
        .deliveries
        .iter()
        .map(|(s, _)| units[*s as usize - 1].pts.unwrap().ticks)
        .collect();
    assert!(delivered.windows(2).any(|w| w[1] < w[0]), "{delivered:?}");
    // ...and the frames leave in it, with the software decoder's pictures.
    assert_eq!(pts(&r.frames), ascending(30));
    assert_eq!(frames_md5(&r.frames), frames_md5(&software(&units)));
}

#[test]
fn vt_double_b_frame_callbacks_in_decode_or_display_order_give_the_same_frames() {
    let Some(units) = with_b_frames(24) else {
        return;
    };
    let decode = run(
        Script {
            order: Order::Decode,
            ..Script::default()
        },
        nv12(),
        &units,
    );
    let display = run(Script::default(), nv12(), &units);
    assert_eq!(pts(&decode.frames), pts(&display.frames));
    assert_eq!(frames_md5(&decode.frames), frames_md5(&display.frames));
    assert_eq!(decode.frames.len(), 24);
}

#[test]
fn vt_double_keyframe_flag_travels_with_the_frame_refcon() {
    let units = baseline(20, 8);
    let r = run(Script::default(), DecodeOutput::MetadataOnly, &units);
    let keys: Vec<bool> = r.frames.iter().map(|f| f.keyframe).collect();
    let want: Vec<bool> = units.iter().map(|u| u.keyframe).collect();
    assert_eq!(keys, want);
    assert!(keys[0] && keys[8] && !keys[1]);
}

#[test]
fn vt_double_invalid_session_at_a_call_is_recreated_from_the_last_keyframe() {
    let units = baseline(20, 8);
    // Call 12 is the 4th picture after the keyframe at 8 (unit index 8 = call 9).
    let script = Script {
        interruption: Some(Interruption::AtCall(12)),
        ..Script::default()
    };
    let r = run(script, nv12(), &units);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.recreated, 1);
    let log = r.log.lock().unwrap();
    assert_eq!(log.sessions_created, 2);
    // The new session decoded the GOP again from its keyframe: units 8..=11 once more.
    let calls = log
        .calls
        .iter()
        .filter(|c| c.contains("DecodeFrame"))
        .count();
    assert_eq!(calls, 20 + 4);
    assert_eq!(pts(&r.frames), ascending(20));
    assert_eq!(frames_md5(&r.frames), frames_md5(&software(&units)));
}

#[test]
fn vt_double_invalid_session_in_a_callback_is_recreated_and_nothing_is_handed_out_twice() {
    let units = baseline(24, 8);
    let script = Script {
        interruption: Some(Interruption::InCallback(19)),
        ..Script::default()
    };
    let r = run(script, nv12(), &units);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.recreated, 1);
    assert!(
        r.log
            .lock()
            .unwrap()
            .deliveries
            .iter()
            .any(|(_, s)| *s == INVALID_SESSION)
    );
    assert_eq!(pts(&r.frames), ascending(24), "each frame exactly once");
    assert_eq!(frames_md5(&r.frames), frames_md5(&software(&units)));
}

#[test]
fn vt_double_invalid_session_in_flush_is_recreated_and_every_frame_comes_out() {
    let units = baseline(10, 30);
    let script = Script {
        interruption: Some(Interruption::InCallback(10)),
        ..Script::default()
    };
    let r = run(script, nv12(), &units);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.recreated, 1);
    assert_eq!(pts(&r.frames), ascending(10));
}

#[test]
fn vt_double_interruption_with_b_frames_recovers_in_presentation_order() {
    let Some(units) = with_b_frames(30) else {
        return;
    };
    let script = Script {
        order: Order::Decode,
        interruption: Some(Interruption::AtCall(17)),
        ..Script::default()
    };
    let r = run(script, nv12(), &units);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(pts(&r.frames), ascending(30));
    assert_eq!(frames_md5(&r.frames), frames_md5(&software(&units)));
}

#[test]
fn vt_double_bad_data_mid_stream_is_an_invalid_bitstream_error_and_decoding_goes_on() {
    let units = baseline(16, 30);
    let script = Script {
        bad_data: [6].into(),
        ..Script::default()
    };
    let r = run(script, nv12(), &units);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert_eq!(r.errors[0].kind(), ErrorKind::InvalidBitstream);
    assert!(
        r.errors[0]
            .to_string()
            .contains("kVTVideoDecoderBadDataErr"),
        "{}",
        r.errors[0]
    );
    let mut want = ascending(16);
    want.remove(5);
    assert_eq!(pts(&r.frames), want);
    assert!(
        r.log
            .lock()
            .unwrap()
            .deliveries
            .iter()
            .any(|(_, s)| *s == DECODER_BAD_DATA)
    );
}

/// Decodes `units` through a session on the double with `script`.
fn session_run(
    script: Script,
    on_error: OnError,
    units: &[AccessUnit],
) -> (usize, Vec<crate::VideoError>, crate::DecodeSummary) {
    let (_guard, _log) = install(script);
    let mut config =
        DecoderConfig::new(Codec::H264).with_output(DecodeOutput::Cpu(PixelFormat::I420));
    config.on_error = on_error;
    let mut s = DecodeSession::new(Backend::VideoToolbox, config).unwrap();
    assert_eq!(s.backend(), Backend::VideoToolbox);
    let (mut frames, mut errors) = (0, Vec::new());
    let mut reap = |s: &mut DecodeSession| loop {
        match s.try_reap() {
            Ok(Some(_)) => frames += 1,
            Ok(None) => break,
            Err(e) => errors.push(e),
        }
    };
    for u in units {
        let input = DecodeInput::AccessUnit {
            nals: u.nals.clone(),
            pts: u.pts,
        };
        s.submit(input).map_err(|r| r.error).unwrap();
        reap(&mut s);
    }
    s.flush().unwrap();
    reap(&mut s);
    (frames, errors, s.summary())
}

#[test]
fn vt_double_bad_data_is_skipped_and_counted_as_damage_by_the_session() {
    let units = baseline(16, 30);
    let script = Script {
        bad_data: [6].into(),
        ..Script::default()
    };
    let (frames, errors, summary) = session_run(script, OnError::Skip, &units);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(frames, 15);
    assert_eq!(summary.damaged_units, 1);
    assert!(
        summary.damage[0].contains("kVTVideoDecoderBadDataErr"),
        "{:?}",
        summary.damage
    );
}

#[test]
fn vt_double_bad_data_under_on_error_stop_is_delivered() {
    let units = baseline(16, 30);
    let script = Script {
        bad_data: [6].into(),
        ..Script::default()
    };
    let (frames, errors, summary) = session_run(script, OnError::Stop, &units);
    assert!(
        errors
            .iter()
            .any(|e| e.kind() == ErrorKind::InvalidBitstream),
        "{errors:?}"
    );
    assert_eq!(frames, 15);
    assert_eq!(summary.damaged_units, 0);
}

#[test]
fn vt_double_session_on_the_double_decodes_every_picture() {
    let units = baseline(20, 8);
    let (frames, errors, summary) = session_run(Script::default(), OnError::Skip, &units);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(frames, 20);
    assert_eq!(summary.origin.implementation, "videotoolbox");
    assert_eq!(summary.pictures_lost, 0);
}

#[test]
fn vt_double_dropped_frame_flag_is_reported_never_silent() {
    let units = baseline(12, 30);
    let script = Script {
        dropped: [4].into(),
        ..Script::default()
    };
    let r = run(script, nv12(), &units);
    assert_eq!(r.frames.len(), 11);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert!(
        r.errors[0].to_string().contains("dropped 1 frame"),
        "{}",
        r.errors[0]
    );
}

#[test]
fn vt_double_row_padding_is_copied_with_its_stride_and_pictures_are_exact() {
    let units = baseline(10, 30);
    let script = Script {
        row_padding: 100,
        ..Script::default()
    };
    let r = run(script, nv12(), &units);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let FrameData::Cpu(planes) = &r.frames[0].data else {
        panic!("no CPU planes")
    };
    assert_eq!(
        planes[0].stride,
        64 + 100,
        "Core Video's padded stride is kept"
    );
    assert_eq!(r.frames[0].format, PixelFormat::Nv12);
    assert_eq!(frames_md5(&r.frames), frames_md5(&software(&units)));
}

#[test]
fn vt_double_flush_drains_every_delayed_frame_and_the_decoder_goes_on() {
    let units = baseline(16, 8);
    let log = Arc::new(Mutex::new(Log::default()));
    let shared = (
        Arc::new(Script {
            order: Order::Decode,
            ..Script::default()
        }),
        log,
    );
    let mut dec = decoder(&shared, DecoderConfig::new(Codec::H264)).unwrap();
    let mut frames = Vec::new();
    for u in &units[..8] {
        dec.decode(u, &mut frames).unwrap();
    }
    dec.flush(&mut frames).unwrap();
    assert_eq!(frames.len(), 8, "flush hands out every frame submitted");
    dec.flush(&mut frames).unwrap();
    assert_eq!(frames.len(), 8);
    for u in &units[8..] {
        dec.decode(u, &mut frames).unwrap();
    }
    dec.flush(&mut frames).unwrap();
    assert_eq!(pts(&frames), ascending(16));
}

#[test]
fn vt_double_flush_on_an_empty_decoder_yields_nothing_and_opens_no_session() {
    let r = run(Script::default(), nv12(), &[]);
    assert!(r.frames.is_empty() && r.errors.is_empty());
    assert_eq!(r.log.lock().unwrap().sessions_created, 0);
}

#[test]
fn vt_double_pictures_before_parameter_sets_are_held_then_decoded() {
    let units = baseline(6, 30);
    // The parameter sets arrive on their own after the first picture's slices.
    let (sets, slices): (Vec<Vec<u8>>, Vec<Vec<u8>>) = units[0]
        .nals
        .iter()
        .cloned()
        .partition(|n| crate::bitstream::nal::is_parameter_set(Codec::H264, n));
    let mut reordered = vec![
        AccessUnit::from_nals(Codec::H264, slices, units[0].pts),
        AccessUnit::from_nals(Codec::H264, sets, None),
    ];
    reordered.extend(units[1..].iter().cloned());
    let r = run(Script::default(), nv12(), &reordered);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(pts(&r.frames), ascending(6));
}

#[test]
fn vt_double_pictures_that_never_get_parameter_sets_are_reported_at_flush() {
    let units = baseline(4, 30);
    let slices: Vec<AccessUnit> = units[1..]
        .iter()
        .map(|u| AccessUnit::from_nals(Codec::H264, u.nals.clone(), u.pts))
        .collect();
    let r = run(Script::default(), nv12(), &slices);
    assert!(r.frames.is_empty());
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].kind(), ErrorKind::InvalidBitstream);
}

#[test]
fn vt_double_metal_converts_packed_rgb_when_it_works() {
    let units = baseline(6, 30);
    let r = run(
        Script {
            metal: MetalScript::Works,
            ..Script::default()
        },
        DecodeOutput::Cpu(PixelFormat::Rgba),
        &units,
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.fallbacks, 0);
    assert_eq!(r.log.lock().unwrap().metal_frames, 6);
    assert!(r.frames.iter().all(|f| f.format == PixelFormat::Rgba));
}

#[test]
fn vt_double_metal_failure_falls_back_to_the_cpu_with_the_path_counted() {
    let units = baseline(6, 30);
    let rgba = DecodeOutput::Cpu(PixelFormat::Rgba);
    let works = run(
        Script {
            metal: MetalScript::Works,
            ..Script::default()
        },
        rgba,
        &units,
    );
    let fails = run(
        Script {
            metal: MetalScript::Fails,
            ..Script::default()
        },
        rgba,
        &units,
    );
    assert!(fails.errors.is_empty(), "{:?}", fails.errors);
    assert_eq!(fails.fallbacks, 6, "every CPU-converted frame is counted");
    assert_eq!(
        fails.log.lock().unwrap().metal_calls,
        6,
        "Metal was tried first"
    );
    assert!(fails.frames.iter().all(|f| f.format == PixelFormat::Rgba));
    assert_eq!(frames_md5(&fails.frames), frames_md5(&works.frames));
}

#[test]
fn vt_double_without_a_metal_device_converts_on_the_cpu_and_counts_it() {
    let units = baseline(5, 30);
    let r = run(
        Script::default(),
        DecodeOutput::Cpu(PixelFormat::Bgra),
        &units,
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.fallbacks, 5);
    assert_eq!(r.log.lock().unwrap().metal_calls, 0);
    assert!(r.frames.iter().all(|f| f.format == PixelFormat::Bgra));
}

#[test]
fn vt_double_gpu_output_hands_out_core_video_surfaces_with_their_pitches() {
    let units = baseline(3, 30);
    let r = run(
        Script {
            row_padding: 36,
            ..Script::default()
        },
        DecodeOutput::Gpu,
        &units,
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    for f in &r.frames {
        let FrameData::Gpu(s) = &f.data else {
            panic!("not a surface")
        };
        assert_eq!(s.api, crate::api::frame::GpuApi::CoreVideo);
        assert_eq!(s.pitches, vec![100, 100]);
    }
}

#[test]
fn vt_double_metadata_only_copies_nothing() {
    let units = baseline(4, 30);
    let r = run(Script::default(), DecodeOutput::MetadataOnly, &units);
    assert_eq!(r.frames.len(), 4);
    assert!(
        r.frames
            .iter()
            .all(|f| matches!(f.data, FrameData::MetadataOnly))
    );
    assert_eq!(r.frames[0].dimensions(), Dimensions::new(W, H).unwrap());
}

#[test]
fn vt_double_garbage_parameter_sets_are_an_invalid_bitstream() {
    let mut units = baseline(3, 30);
    for n in &mut units[0].nals {
        if crate::bitstream::nal::nal_type(Codec::H264, n) == Some(7) {
            n.truncate(2);
        }
    }
    let r = run(Script::default(), nv12(), &units);
    assert!(!r.errors.is_empty());
    assert!(
        r.errors
            .iter()
            .all(|e| e.kind() == ErrorKind::InvalidBitstream),
        "{:?}",
        r.errors
    );
}

#[test]
fn vt_double_dropping_the_decoder_invalidates_its_session() {
    let units = baseline(3, 30);
    let r = run(Script::default(), nv12(), &units);
    let log = r.log.lock().unwrap();
    assert_eq!(log.sessions_created, 1);
    assert_eq!(log.invalidations, 1);
    assert_eq!(
        log.calls.last().map(String::as_str),
        Some("VTDecompressionSessionInvalidate")
    );
}
