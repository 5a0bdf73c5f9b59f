//! `OnError` on a decode session: under `Skip` (the default) a damaged access unit is
//! counted in the summary and the rest of the stream decodes; under `Stop` it is an error.

mod common;

use common::*;
use video_hw::{Backend, Codec, DecodeInput, DecodeSession, DecoderConfig, Dimensions, OnError};

/// 120 pictures from the software encoder with the payload of the 61st slice scrambled.
fn damaged_stream() -> Option<Vec<u8>> {
    let mut data = reference_stream(Codec::H264, Dimensions::new(320, 240).unwrap(), 120)?;
    let starts: Vec<usize> = data
        .windows(3)
        .enumerate()
        .filter(|(_, w)| *w == [0, 0, 1])
        .map(|(i, _)| i)
        .collect();
    let slices: Vec<usize> = starts
        .iter()
        .copied()
        .filter(|&i| matches!(data[i + 3] & 0x1f, 1 | 5))
        .collect();
    let at = slices[60];
    let end = starts
        .iter()
        .copied()
        .find(|&i| i > at)
        .unwrap_or(data.len());
    for b in &mut data[at + 8..(at + 48).min(end - 2)] {
        *b ^= 0xA5;
    }
    Some(data)
}

fn decode(data: &[u8], on_error: OnError) -> Decoded {
    let config = DecoderConfig::new(Codec::H264).with_on_error(on_error);
    let mut session = DecodeSession::new(Backend::Software, config).expect("decoder opens");
    let mut out = Decoded::default();
    submit_all(&mut session, [DecodeInput::annexb(data.to_vec())], &mut out);
    finish(&mut session, &mut out);
    out.summary = session.summary();
    out
}

#[test]
fn skip_counts_the_damaged_unit_and_decodes_the_rest_without_an_error() {
    let Some(data) = damaged_stream() else {
        eprintln!("SKIPPED: no software H.264 encoder in this build");
        return;
    };
    let out = decode(&data, OnError::Skip);
    let s = &out.summary;
    assert!(out.errors.is_empty(), "errors under Skip: {:?}", out.errors);
    assert!(
        out.frames.len() >= 110,
        "{} frames of 120",
        out.frames.len()
    );
    assert!(
        s.damaged_units + s.pictures_concealed >= 1,
        "damage not counted: {s:?}"
    );
    assert!(
        s.damaged_units <= 1,
        "one damaged unit counted as {}",
        s.damaged_units
    );
    assert_eq!(s.damage.len() as u64, s.damaged_units);
    assert_eq!(
        s.pictures_lost,
        s.pictures - out.frames.len() as u64,
        "lost pictures still counted"
    );
}

#[test]
fn stop_delivers_the_damage_as_errors() {
    let Some(data) = damaged_stream() else {
        eprintln!("SKIPPED: no software H.264 encoder in this build");
        return;
    };
    let out = decode(&data, OnError::Stop);
    assert!(!out.errors.is_empty(), "no error under Stop");
    assert_eq!(out.summary.damaged_units, 0);
}

#[test]
fn an_undamaged_stream_reports_no_damage_under_either_policy() {
    let Some(data) = reference_stream(Codec::H264, Dimensions::new(320, 240).unwrap(), 30) else {
        eprintln!("SKIPPED: no software H.264 encoder in this build");
        return;
    };
    for policy in [OnError::Skip, OnError::Stop] {
        let out = decode(&data, policy);
        assert!(out.errors.is_empty(), "{policy:?}: {:?}", out.errors);
        assert_eq!(out.frames.len(), 30);
        assert_eq!(out.summary.damaged_units, 0);
        assert_eq!(out.summary.pictures_concealed, 0);
    }
}
