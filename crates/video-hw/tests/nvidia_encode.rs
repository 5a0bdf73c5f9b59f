//! NVENC encode on a real NVIDIA GPU.
//!
//! Without an NVIDIA GPU every test says so and passes; `VIDEO_HW_REQUIRE_GPU=1` makes that a
//! failure. On a GPU without NVENC (the H100) the expected result is a clean `Unsupported`
//! naming the missing NVENC, a probe with decode and no encode, and `Backend::Auto` passing
//! NVIDIA over for encode. On a GPU with NVENC a test pattern is encoded and decoded back.
#![cfg(all(
    feature = "backend-nvidia",
    any(target_os = "linux", target_os = "windows")
))]

use video_hw::{
    Backend, Codec, DecodeInput, DecodeSession, DecoderConfig, Dimensions, EncodeSession,
    EncoderConfig, ErrorKind, pattern,
};

fn gpu() -> bool {
    let report = DecodeSession::capabilities(Backend::Nvidia);
    if report.available {
        return true;
    }
    if std::env::var("VIDEO_HW_REQUIRE_GPU").as_deref() == Ok("1") {
        panic!(
            "NVIDIA backend unavailable but VIDEO_HW_REQUIRE_GPU=1: {}",
            report.detail
        );
    }
    eprintln!(
        "**** SKIPPED: no usable NVIDIA GPU/driver here ({}) ****",
        report.detail
    );
    false
}

#[test]
fn nvenc_encodes_and_decodes_back_or_is_unsupported_naming_nvenc() {
    if !gpu() {
        return;
    }
    let report = EncodeSession::capabilities(Backend::Nvidia);
    let size = Dimensions::new(320, 240).unwrap();
    let config = EncoderConfig::new(Codec::H264, size);
    match video_hw::diagnostics::nvenc_open_check(Codec::H264) {
        Err(e) => {
            eprintln!("NVENC unavailable on this GPU: {e}");
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
            assert!(e.to_string().contains("NVENC"), "{e}");
            assert!(
                report.decodes(Codec::H264),
                "NVDEC still decodes: {report:?}"
            );
            assert!(
                !report.encodes(Codec::H264),
                "no encode without NVENC: {report:?}"
            );
            let err = EncodeSession::new(Backend::Nvidia, config)
                .err()
                .expect("an NVIDIA encoder without NVENC must not open");
            assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
            assert!(err.to_string().contains("NVENC"), "{err}");
        }
        Ok(()) => {
            assert!(report.encodes(Codec::H264), "{report:?}");
            let mut enc = EncodeSession::new(Backend::Nvidia, config).expect("NVENC session");
            for i in 0..30 {
                enc.submit(pattern::encode_input(size, i).unwrap())
                    .map_err(|r| r.error)
                    .unwrap();
            }
            let chunks = enc.drain().unwrap();
            assert_eq!(chunks.len(), 30);
            assert!(chunks[0].keyframe);
            let mut dec =
                DecodeSession::new(Backend::Nvidia, DecoderConfig::new(Codec::H264)).unwrap();
            for c in &chunks {
                dec.submit(DecodeInput::annexb(c.data.clone()))
                    .map_err(|r| r.error)
                    .unwrap();
            }
            let frames = dec.drain().unwrap();
            assert_eq!(frames.len(), 30);
            assert_eq!(frames[0].dimensions(), size);
        }
    }
}

#[test]
fn auto_encodes_elsewhere_when_nvidia_cannot_encode() {
    if !gpu() || video_hw::diagnostics::nvenc_open_check(Codec::H264).is_ok() {
        eprintln!("**** SKIPPED: needs an NVIDIA GPU without NVENC ****");
        return;
    }
    if !EncodeSession::capabilities(Backend::Software).encodes(Codec::H264) {
        eprintln!("**** SKIPPED: this build has no software H.264 encoder to fall back to ****");
        return;
    }
    let size = Dimensions::new(64, 64).unwrap();
    let enc = EncodeSession::new(Backend::Auto, EncoderConfig::new(Codec::H264, size))
        .expect("auto finds another encoder");
    assert_ne!(enc.backend(), Backend::Nvidia);
    let reason = &enc.selection().reason;
    assert!(reason.contains("nvidia"), "{reason}");
}
