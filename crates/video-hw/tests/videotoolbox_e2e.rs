//! End-to-end tests of the VideoToolbox backend through the public API.
//!
//! They exist only on macOS with `backend-vt`; elsewhere this file compiles to nothing (the
//! backend's Apple-independent parts are unit-tested in `backend::videotoolbox`).
//! CI type-checks them for `aarch64-apple-darwin` (`scripts/check-macos.sh`); they have not
//! yet run on a Mac. On a Mac, `VIDEO_HW_REQUIRE_VT=1` turns "VideoToolbox unavailable" from
//! a skip into a failure.

#[cfg(all(target_os = "macos", feature = "backend-vt"))]
mod common;

#[cfg(all(target_os = "macos", feature = "backend-vt"))]
mod mac {
    use super::common::{self, decode_annexb, encode_pattern, usable};
    use video_hw::bitstream::layout::split_length_prefixed;
    use video_hw::bitstream::nal;
    use video_hw::{
        Backend, BitstreamLayout, Codec, DecodeInput, DecodeOutput, DecodeSession, DecoderConfig,
        Dimensions, EncoderConfig, FrameData, PixelFormat, RateControl, SessionSwitchRequest,
        SwitchMode, pattern,
    };

    const VT: Backend = Backend::VideoToolbox;

    /// 8-bit 4:2:0 progressive conformance streams decode bit-exact (MD5 of the manifest).
    #[test]
    fn vt_decodes_conformance_streams_bit_exact() {
        let Some(dir) = common::conformance_dir() else {
            return;
        };
        let mut checked = 0;
        for row in common::manifest(&dir) {
            if !row.notes.contains("progressive") || !usable(VT, row.codec, true) {
                continue;
            }
            let data = std::fs::read(dir.join(&row.file)).expect("stream readable");
            let out = decode_annexb(VT, row.codec, &data, 4096);
            assert!(out.errors.is_empty(), "{}: {:?}", row.file, out.errors);
            assert_eq!(out.frames.len() as u64, row.frames, "{}", row.file);
            assert_eq!(out.md5(), row.md5, "{}", row.file);
            checked += 1;
        }
        eprintln!("{checked} conformance streams decoded bit-exact by VideoToolbox");
    }

    /// Native output is NV12 with the stream's size and a colour description.
    #[test]
    fn vt_native_frames_are_nv12_with_size_and_pts() {
        let Some(dir) = common::conformance_dir() else {
            return;
        };
        let Some(row) = common::manifest(&dir)
            .into_iter()
            .find(|r| r.codec == Codec::H264 && r.notes.contains("progressive"))
        else {
            return;
        };
        if !usable(VT, Codec::H264, true) {
            return;
        }
        let data = std::fs::read(dir.join(&row.file)).expect("stream readable");
        let mut session = DecodeSession::new(VT, DecoderConfig::new(Codec::H264)).expect("opens");
        session.submit(DecodeInput::annexb(data)).expect("submit");
        let frames = session.drain().expect("drain");
        assert_eq!(frames.len() as u64, row.frames);
        let mut last = None;
        for f in &frames {
            assert_eq!(f.format, PixelFormat::Nv12);
            assert_eq!(
                f.dimensions(),
                Dimensions::new(row.width, row.height).unwrap()
            );
            assert!(matches!(f.data, FrameData::Cpu(_)));
            let pts = f.pts.expect("pts");
            assert!(last.is_none_or(|l| pts > l), "pts increase in output order");
            last = Some(pts);
        }
    }

    /// An encoded pattern comes back length-prefixed, keyframes self-contained, and decodes
    /// to pictures close to the input.
    #[test]
    fn vt_encodes_a_pattern_that_decodes_back() {
        for codec in Codec::ALL {
            if !usable(VT, codec, false) || !usable(VT, codec, true) {
                continue;
            }
            let size = Dimensions::new(320, 240).unwrap();
            let mut config = EncoderConfig::new(codec, size);
            let layout = BitstreamLayout::length_prefixed(codec).expect("a NAL-unit codec");
            config.layout = layout;
            config.gop_length = 10;
            let chunks = encode_pattern(VT, config, 30);
            assert_eq!(chunks.len(), 30, "{codec}");
            assert!(chunks[0].keyframe, "{codec}: first chunk is a keyframe");
            for c in &chunks {
                assert_eq!(c.layout, layout);
                let nals = split_length_prefixed(&c.data, 4).expect("4-byte prefixes");
                if c.keyframe {
                    assert!(
                        nals.iter().any(|n| nal::is_parameter_set(codec, n)),
                        "{codec}: keyframe chunk carries its parameter sets"
                    );
                }
                assert!(c.dts <= c.pts, "{codec}: dts after pts");
            }
            let config =
                DecoderConfig::new(codec).with_output(DecodeOutput::Cpu(PixelFormat::I420));
            let mut session = DecodeSession::new(VT, config).expect("decoder opens");
            for c in &chunks {
                session
                    .submit(DecodeInput::LengthPrefixed {
                        data: c.data.clone(),
                        length_size: 4,
                        pts: c.pts,
                    })
                    .expect("submit");
            }
            let frames = session.drain().expect("drain");
            assert_eq!(frames.len(), 30, "{codec}");
            for (i, f) in frames.iter().enumerate() {
                let mut got = Vec::new();
                f.write_planar(&mut got).expect("CPU frame");
                let psnr = pattern::psnr(&pattern::i420_frame(size, i as u64), &got).unwrap();
                assert!(psnr > 28.0, "{codec} frame {i}: PSNR {psnr:.1} dB");
            }
        }
    }

    /// A CBR bitrate change is applied in place; a VBR one opens a new session.
    #[test]
    fn vt_bitrate_switch_in_place_for_cbr_new_session_for_vbr() {
        if !usable(VT, Codec::H264, false) {
            return;
        }
        let size = Dimensions::new(320, 240).unwrap();
        let mut config = EncoderConfig::new(Codec::H264, size);
        config.rate_control = RateControl::Cbr { bitrate: 1_000_000 };
        let mut session = video_hw::EncodeSession::new(VT, config.clone()).expect("opens");
        let switch = |session: &mut video_hw::EncodeSession, rc| {
            let mut new = session.config().clone();
            new.rate_control = rc;
            session
                .request_session_switch(SessionSwitchRequest {
                    config: new,
                    mode: SwitchMode::Immediate,
                    force_idr_on_activate: false,
                })
                .expect("switch accepted");
        };
        let mut frame = 0;
        let mut feed = |session: &mut video_hw::EncodeSession, n| {
            for _ in 0..n {
                session
                    .submit(pattern::encode_input(size, frame).unwrap())
                    .expect("submit");
                frame += 1;
            }
            session.drain().expect("drain")
        };
        feed(&mut session, 5);
        switch(&mut session, RateControl::Cbr { bitrate: 500_000 });
        feed(&mut session, 5);
        let stats = session.summary().switches;
        assert_eq!(
            (stats.in_place, stats.sessions_created),
            (1, 1),
            "{stats:?}"
        );
        switch(
            &mut session,
            RateControl::Vbr {
                bitrate: 500_000,
                max_bitrate: 800_000,
            },
        );
        let chunks = feed(&mut session, 5);
        let stats = session.summary().switches;
        assert_eq!(stats.sessions_created, 2, "{stats:?}");
        assert!(chunks.iter().all(|c| c.generation == 2), "{chunks:?}");
    }
}
