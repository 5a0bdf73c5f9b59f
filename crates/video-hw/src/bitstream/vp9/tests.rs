use super::header::tests::{Writer, key_frame};
use super::*;
use crate::bitstream::syntax::syntax;

fn au(units: Vec<Vec<u8>>) -> AccessUnit {
    AccessUnit::from_nals(Codec::Vp9, units, None)
}

/// An inter frame header: shown or hidden.
fn inter_frame(show: bool) -> Vec<u8> {
    let mut w = Writer::default();
    w.put(2, 2);
    w.put(0, 2); // profile 0
    w.put(0, 1); // show_existing_frame
    w.put(1, 1); // inter
    w.put(u32::from(show), 1);
    w.put(0, 1); // error_resilient_mode
    if !show {
        w.put(0, 1); // intra_only
    }
    w.put(0, 2);
    w.put(0, 16);
    w.bytes
}

fn superframe(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = frames.concat();
    let marker = 0xc0 | (1 << 3) | (frames.len() as u8 - 1);
    out.push(marker);
    for f in frames {
        out.extend_from_slice(&(f.len() as u16).to_le_bytes());
    }
    out.push(marker);
    out
}

#[test]
fn vp9_key_frame_starts_a_sequence_with_size_depth_and_colour() {
    let room = syntax(Codec::Vp9);
    let key = key_frame(2, false, 2, 1280, 720);
    assert!(room.is_keyframe(&key));
    assert!(!room.is_keyframe(&inter_frame(true)));
    let mut seq = room.sequence_track();
    seq.observe(&au(vec![key.clone()]));
    let info = seq.active().unwrap();
    assert_eq!((info.display.width(), info.display.height()), (1280, 720));
    assert_eq!((info.bit_depth_luma, info.chroma_format_idc), (10, 1));
    assert_eq!(info.color.matrix, MatrixCoefficients::Bt709);
    let mut features = room.feature_track();
    assert!(features.observe(&au(vec![key.clone()])).is_some());
    assert!(
        features.observe(&au(vec![key])).is_none(),
        "same sequence: no change"
    );
}

#[test]
fn vp9_hidden_frames_in_superframes_are_not_counted_as_pictures() {
    let mut tally = syntax(Codec::Vp9).picture_tally();
    tally.push(&au(vec![key_frame(0, false, 1, 64, 64)]));
    tally.push(&au(vec![superframe(&[
        inter_frame(false),
        inter_frame(true),
    ])]));
    tally.push(&au(vec![vec![0b1000_1000]])); // show_existing_frame
    assert_eq!((tally.pictures(), tally.not_output()), (3, 1));
    tally.restart();
    assert_eq!(tally.pictures(), 0);
}

#[test]
fn vp9_packets_go_to_decoders_unchanged() {
    let sf = superframe(&[inter_frame(false), inter_frame(true)]);
    assert_eq!(syntax(Codec::Vp9).decoder_bytes(&au(vec![sf.clone()])), sf);
}
