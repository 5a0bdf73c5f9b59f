//! The software backend through the public `EncodeSession` API.

#![cfg(any(feature = "sw-openh264", feature = "sw-ffmpeg"))]

use video_hw::{
    Backend, BitstreamLayout, Codec, Dimensions, EncodeInput, EncodeSession, EncoderConfig,
    ErrorKind, PixelFormat, RateControl, Timestamp,
};

fn picture(w: u32, h: u32, t: usize) -> EncodeInput {
    let d = Dimensions::new(w, h).unwrap();
    let data: Vec<u8> = (0..PixelFormat::Rgba.frame_size(d))
        .map(|i| ((i / 4 + t * 3) % 251) as u8)
        .collect();
    EncodeInput::packed(PixelFormat::Rgba, d, data)
        .unwrap()
        .with_pts(Timestamp::mpeg(t as i64 * 3000))
}

fn config(codec: Codec, b_frames: u32) -> EncoderConfig {
    let mut c = EncoderConfig::new(codec, Dimensions::new(128, 96).unwrap());
    c.rate_control = RateControl::Cbr { bitrate: 800_000 };
    c.b_frames = b_frames;
    c
}

fn nal_types(data: &[u8]) -> Vec<u8> {
    data.windows(4)
        .filter(|w| w[..3] == [0, 0, 1])
        .map(|w| w[3] & 0x1f)
        .collect()
}

#[test]
fn software_h264_session_encodes_rgba_into_annexb_with_parameter_sets_first() {
    let mut session = EncodeSession::new(Backend::Software, config(Codec::H264, 0)).unwrap();
    assert_eq!(session.backend(), Backend::Software);
    for t in 0..8 {
        session
            .submit(picture(128, 96, t).with_force_keyframe(t == 4))
            .unwrap();
    }
    let chunks = session.drain().unwrap();
    assert_eq!(chunks.len(), 8, "pictures in == chunks out");
    let first = nal_types(&chunks[0].data);
    assert!(
        first.contains(&7) && first.contains(&8),
        "SPS/PPS first: {first:?}"
    );
    assert!(
        chunks[0].keyframe && chunks[4].keyframe,
        "first and forced keyframes"
    );
    for (t, c) in chunks.iter().enumerate() {
        assert_eq!(c.layout, BitstreamLayout::AnnexB);
        assert_eq!(c.codec, Codec::H264);
        assert_eq!(c.pts, Some(Timestamp::mpeg(t as i64 * 3000)));
        assert_eq!(c.dts, c.pts, "no B-frames: dts equals pts");
    }
    let summary = session.summary();
    assert_eq!((summary.frames_in, summary.chunks_out), (8, 8));
}

#[test]
fn software_session_rejects_a_picture_of_the_wrong_size() {
    let mut session = EncodeSession::new(Backend::Software, config(Codec::H264, 0)).unwrap();
    let rejected = session.submit(picture(64, 48, 0)).unwrap_err();
    assert_eq!(rejected.kind(), ErrorKind::InvalidInput);
}

#[test]
fn software_probe_reports_h264_and_b_frames_need_ffmpeg() {
    let report = video_hw::backend::probe_one(Backend::Software);
    assert!(report.available, "{}", report.detail);
    assert!(report.encodes(Codec::H264));
    let b_frames = EncodeSession::new(Backend::Software, config(Codec::H264, 2));
    if cfg!(feature = "sw-ffmpeg") {
        assert!(report.encodes(Codec::Hevc));
        assert!(b_frames.is_ok(), "libx264 serves B-frames");
    } else {
        assert_eq!(b_frames.err().unwrap().kind(), ErrorKind::Unsupported);
    }
}
