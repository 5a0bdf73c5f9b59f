//! `NvencDouble`: a test double of the NVENC calls. It checks OUR logic (ring, reap order,
//! flags, reconfiguration mapping) against the rules the NVENC documentation states; it is
//! not NVENC and proves nothing about the hardware or the driver.
//!
//! Rules it enforces (a violation is an `Err` that fails the test):
//! - a bitstream buffer is not submitted again before it was locked;
//! - a buffer is locked only after `nvEncEncodePicture` reported it complete (success after
//!   its submission, or EOS);
//! - with `frameIntervalP = B + 1` it holds pictures like NVENC's B-frame reordering: the
//!   anchor is coded first, then the held B pictures, written to outputs in submit order.

use super::calls::*;
use super::encoder::{NvencEncoder, NvencOptions, Picture};
use super::ffi::*;
use crate::api::codec::{Codec, Dimensions, Rational, Timestamp};
use crate::api::config::{EncoderConfig, RateControl};
use crate::api::encode_input::EncodeInput;
use crate::api::error::{ErrorKind, Result, VideoError};
use crate::api::frame::PixelFormat;
use crate::backend::EncoderBackend;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

/// A double of the NVENC function table (see the module doc).
#[derive(Default)]
pub(crate) struct NvencDouble {
    next_handle: Handle,
    params: Option<SessionParams>,
    pub reconfigures: Vec<(SessionParams, bool)>,
    /// Flags of every `encode` call, in order.
    pub flags: Vec<u32>,
    /// Outputs submitted and not yet filled, in submit order.
    waiting_outputs: VecDeque<Handle>,
    /// Pictures held (timestamp, forced IDR).
    held: Vec<(u64, bool)>,
    /// Outputs filled and not yet locked: (picture type, timestamp).
    filled: HashMap<Handle, (NV_ENC_PIC_TYPE, u64)>,
    coded: u64,
    /// Most outputs outstanding (submitted, not locked) at any time.
    pub max_outstanding: usize,
    pub mapped: Vec<Handle>,
    pub registered: Vec<Handle>,
    /// Live input buffers and their size.
    pub inputs: HashMap<Handle, (u32, u32)>,
    /// Shared with the test: buffers and registrations alive, and rule violations seen in
    /// calls that cannot return an error (destroy, unregister).
    pub ledger: Rc<RefCell<Ledger>>,
}

/// What outlives the double (it is dropped with the encoder).
#[derive(Default, Debug)]
pub(crate) struct Ledger {
    pub live: i64,
    pub violations: Vec<String>,
}

impl NvencDouble {
    fn handle(&mut self) -> Handle {
        self.next_handle += 16;
        self.next_handle
    }

    fn code_held(&mut self) -> Result<()> {
        // The last held picture is the anchor (coded first), then the others in order.
        let mut order = Vec::new();
        if let Some(last) = self.held.pop() {
            order.push(last);
        }
        order.append(&mut self.held);
        for (ts, forced) in order {
            let out = self.waiting_outputs.pop_front().ok_or_else(|| {
                VideoError::backend("double: a picture was coded with no output buffer waiting")
            })?;
            let ty = if self.coded == 0 || forced {
                NV_ENC_PIC_TYPE_IDR
            } else {
                NV_ENC_PIC_TYPE_P
            };
            self.coded += 1;
            self.filled.insert(out, (ty, ts));
        }
        Ok(())
    }

    fn outstanding(&self) -> usize {
        self.waiting_outputs.len() + self.filled.len()
    }
}

impl NvencCalls for NvencDouble {
    fn initialize(&mut self, p: &SessionParams) -> Result<()> {
        self.params = Some(*p);
        Ok(())
    }

    fn reconfigure(&mut self, p: &SessionParams, reset_idr: bool) -> Result<()> {
        if !self.waiting_outputs.is_empty() || !self.held.is_empty() {
            return Err(VideoError::backend(
                "double: reconfigured with pictures held",
            ));
        }
        self.params = Some(*p);
        self.reconfigures.push((*p, reset_idr));
        Ok(())
    }

    fn create_input(&mut self, w: u32, h: u32, _: NV_ENC_BUFFER_FORMAT) -> Result<Handle> {
        let handle = self.handle();
        self.inputs.insert(handle, (w, h));
        self.ledger.borrow_mut().live += 1;
        Ok(handle)
    }
    fn destroy_input(&mut self, h: Handle) {
        if self.inputs.remove(&h).is_some() {
            self.ledger.borrow_mut().live -= 1;
        }
    }
    fn create_output(&mut self) -> Result<Handle> {
        self.ledger.borrow_mut().live += 1;
        Ok(self.handle())
    }
    fn destroy_output(&mut self, h: Handle) {
        let mut ledger = self.ledger.borrow_mut();
        if self.waiting_outputs.contains(&h) || self.filled.contains_key(&h) {
            ledger
                .violations
                .push(format!("output {h} destroyed while the encoder owns it"));
        }
        ledger.live -= 1;
    }
    fn upload(&mut self, input: Handle, p: &EncodeInput) -> Result<u32> {
        let d = p.dimensions();
        match self.inputs.get(&input) {
            Some(&(w, h)) if (w, h) == (d.width(), d.height()) => Ok(w),
            Some(&(w, h)) => Err(VideoError::backend(format!(
                "double: {d} picture uploaded into a {w}x{h} input buffer"
            ))),
            None => Err(VideoError::backend(
                "double: upload into an unknown input buffer",
            )),
        }
    }
    fn register_cuda(&mut self, _: u64, _: u32, _: u32, _: u32) -> Result<Handle> {
        let h = self.handle();
        self.registered.push(h);
        self.ledger.borrow_mut().live += 1;
        Ok(h)
    }
    fn unregister(&mut self, r: Handle) {
        if !self.mapped.is_empty() {
            self.ledger
                .borrow_mut()
                .violations
                .push("unregistered while a resource is mapped".into());
        }
        self.registered.retain(|h| *h != r);
        self.ledger.borrow_mut().live -= 1;
    }
    fn map(&mut self, _: Handle) -> Result<Handle> {
        let h = self.handle();
        self.mapped.push(h);
        Ok(h)
    }
    fn unmap(&mut self, m: Handle) {
        self.mapped.retain(|h| *h != m);
    }

    fn encode(&mut self, pic: &PicSubmit) -> Result<Submitted> {
        self.flags.push(pic.flags);
        if pic.flags & NV_ENC_PIC_FLAG_EOS != 0 {
            self.code_held()?;
            return Ok(Submitted::Ready);
        }
        if self.waiting_outputs.contains(&pic.output) || self.filled.contains_key(&pic.output) {
            return Err(VideoError::backend(
                "double: output buffer submitted again before it was locked",
            ));
        }
        self.waiting_outputs.push_back(pic.output);
        self.max_outstanding = self.max_outstanding.max(self.outstanding());
        let forced = pic.flags & NV_ENC_PIC_FLAG_FORCEIDR != 0;
        self.held.push((pic.timestamp, forced));
        let b = self.params.map_or(0, |p| p.frame_interval_p - 1) as usize;
        if self.held.len() > b || forced || self.coded == 0 {
            self.code_held()?;
            Ok(Submitted::Ready)
        } else {
            Ok(Submitted::NeedMoreInput)
        }
    }

    fn lock_output(&mut self, output: Handle) -> Result<Locked> {
        let (ty, ts) = self.filled.remove(&output).ok_or_else(|| {
            VideoError::backend("double: locked an output the encoder has not completed")
        })?;
        Ok(Locked {
            data: vec![0, 0, 0, 1, 0x65, ts as u8],
            picture_type: ty,
            timestamp: ts,
        })
    }
}

fn config(b_frames: u32) -> EncoderConfig {
    let mut c = EncoderConfig::new(Codec::H264, Dimensions::new(64, 48).unwrap());
    c.b_frames = b_frames;
    c
}

fn picture(c: &EncoderConfig, i: i64) -> EncodeInput {
    let size = PixelFormat::Nv12.frame_size(c.dimensions);
    EncodeInput::packed(PixelFormat::Nv12, c.dimensions, vec![0u8; size])
        .unwrap()
        .with_pts(Timestamp {
            ticks: i * 3000,
            timebase: c.timebase,
        })
}

fn encoder(c: &EncoderConfig, ring: usize) -> NvencEncoder<NvencDouble> {
    let options = NvencOptions {
        max_in_flight_outputs: ring,
        max_dimensions: None,
    };
    NvencEncoder::new(NvencDouble::default(), c, options, "double".into()).unwrap()
}

#[test]
fn reap_order_is_submit_order_within_the_in_flight_limit() {
    for (b, ring) in [(0, 6), (2, 6), (3, 4), (0, 1)] {
        let c = config(b);
        let mut enc = encoder(&c, ring);
        let mut out = Vec::new();
        for i in 0..40 {
            enc.encode(&picture(&c, i), &mut out).unwrap();
            assert!(enc.in_flight() <= ring.max(b as usize + 1));
        }
        enc.flush(&mut out).unwrap();
        assert_eq!(out.len(), 40, "b={b} ring={ring}");
        assert!(enc.calls().max_outstanding <= ring.max(b as usize + 1));
        // Decode order: dts strictly increasing, one per submitted picture, dts <= pts.
        for w in out.windows(2) {
            assert!(w[0].dts.unwrap().ticks < w[1].dts.unwrap().ticks);
        }
        for chunk in &out {
            assert!(chunk.dts.unwrap().ticks <= chunk.pts.unwrap().ticks);
        }
        let mut pts: Vec<i64> = out.iter().map(|c| c.pts.unwrap().ticks).collect();
        pts.sort_unstable();
        assert_eq!(pts, (0..40).map(|i| i * 3000).collect::<Vec<_>>());
        assert!(out[0].keyframe);
    }
}

#[test]
fn b_frames_come_out_after_their_anchor() {
    let c = config(2);
    let mut enc = encoder(&c, 6);
    let mut out = Vec::new();
    for i in 0..7 {
        enc.encode(&picture(&c, i), &mut out).unwrap();
    }
    enc.flush(&mut out).unwrap();
    let order: Vec<i64> = out.iter().map(|c| c.pts.unwrap().ticks / 3000).collect();
    assert_eq!(order, vec![0, 3, 1, 2, 6, 4, 5]);
}

#[test]
fn eos_drain_returns_every_pending_output_and_the_session_goes_on() {
    let c = config(0);
    let mut enc = encoder(&c, 6);
    let mut out = Vec::new();
    for i in 0..4 {
        enc.encode(&picture(&c, i), &mut out).unwrap();
    }
    assert!(
        out.len() < 4,
        "completed outputs stay in flight before the drain"
    );
    assert!(enc.in_flight() > 0);
    enc.flush(&mut out).unwrap();
    assert_eq!(out.len(), 4);
    assert_eq!(enc.in_flight(), 0);
    assert_ne!(enc.calls().flags.last().unwrap() & NV_ENC_PIC_FLAG_EOS, 0);
    // Flushing again with nothing in flight sends nothing and yields nothing.
    let calls = enc.calls().flags.len();
    enc.flush(&mut out).unwrap();
    assert_eq!(enc.calls().flags.len(), calls);
    // The session is kept: more pictures after the flush encode, starting with an IDR.
    let mut more = Vec::new();
    for i in 4..8 {
        enc.encode(&picture(&c, i), &mut more).unwrap();
    }
    enc.flush(&mut more).unwrap();
    assert_eq!(more.len(), 4);
    assert!(more[0].keyframe);
}

#[test]
fn forced_keyframe_sets_forceidr_and_spspps() {
    let c = config(0);
    let mut enc = encoder(&c, 6);
    let mut out = Vec::new();
    for i in 0..6 {
        let p = picture(&c, i).with_force_keyframe(i == 3);
        enc.encode(&p, &mut out).unwrap();
    }
    enc.flush(&mut out).unwrap();
    let flags = &enc.calls().flags;
    let want = NV_ENC_PIC_FLAG_FORCEIDR | NV_ENC_PIC_FLAG_OUTPUT_SPSPPS;
    assert_eq!(flags[3] & want, want);
    for (i, f) in flags.iter().enumerate().take(6) {
        if i != 3 {
            assert_eq!(f & want, 0, "picture {i}");
        }
    }
    let keys: Vec<bool> = out.iter().map(|c| c.keyframe).collect();
    assert_eq!(keys, vec![true, false, false, true, false, false]);
}

#[test]
fn config_maps_to_preset_tuning_rate_control_and_gop() {
    let mut c = config(2);
    c.low_latency = true;
    c.rate_control = RateControl::Cbr { bitrate: 3_000_000 };
    c.gop_length = 30;
    let p = session_params_of(&c);
    assert_eq!(p.tuning, NV_ENC_TUNING_INFO_LOW_LATENCY);
    assert_eq!(p.rc_mode, NV_ENC_PARAMS_RC_CBR);
    assert_eq!((p.average_bitrate, p.max_bitrate), (3_000_000, 3_000_000));
    assert_eq!(
        (p.gop_length, p.idr_period, p.frame_interval_p),
        (30, 30, 3)
    );
    c.low_latency = false;
    c.rate_control = RateControl::Cqp { qp: 28 };
    c.gop_length = 0;
    let p = session_params_of(&c);
    assert_eq!(p.tuning, NV_ENC_TUNING_INFO_HIGH_QUALITY);
    assert_eq!((p.rc_mode, p.const_qp), (NV_ENC_PARAMS_RC_CONSTQP, 28));
    assert_eq!(p.gop_length, NVENC_INFINITE_GOPLENGTH);
    // NVENC wants frameIntervalP = 1 with an infinite GOP: B-frames then are refused.
    let e = NvencEncoder::new(
        NvencDouble::default(),
        &c,
        NvencOptions::default(),
        "double".into(),
    )
    .err()
    .expect("B-frames with an infinite GOP are refused");
    assert_eq!(e.kind(), ErrorKind::Unsupported);
}

fn session_params_of(c: &EncoderConfig) -> SessionParams {
    super::encoder::session_params(c, c.dimensions)
}

#[test]
fn reconfigure_maps_bitrate_fps_size_and_refuses_the_rest() {
    let c = config(0);
    let options = NvencOptions {
        max_in_flight_outputs: 6,
        max_dimensions: Some(Dimensions::new(128, 96).unwrap()),
    };
    let mut enc = NvencEncoder::new(NvencDouble::default(), &c, options, "double".into()).unwrap();
    let can = enc.in_place();
    assert!(can.bitrate && can.fps);
    assert_eq!(can.max_dimensions, Dimensions::new(128, 96).ok());
    let mut out = Vec::new();
    for i in 0..3 {
        enc.encode(&picture(&c, i), &mut out).unwrap();
    }
    // Bitrate and fps: in place, no reset, pictures may stay in flight.
    let mut n = c.clone();
    n.rate_control = RateControl::Vbr {
        bitrate: 1_000_000,
        max_bitrate: 1_500_000,
    };
    n.fps = Rational { num: 60, den: 1 };
    enc.reconfigure(&n).unwrap();
    let (p, reset) = *enc.calls().reconfigures.last().unwrap();
    assert_eq!(
        (p.average_bitrate, p.max_bitrate, p.fps_num),
        (1_000_000, 1_500_000, 60)
    );
    assert!(!reset);
    // Size within the maximum: drained first, then reset with an IDR.
    let mut s = n.clone();
    s.dimensions = Dimensions::new(128, 96).unwrap();
    enc.reconfigure(&s).unwrap();
    let (p, reset) = *enc.calls().reconfigures.last().unwrap();
    assert_eq!((p.width, p.height, p.max_width), (128, 96, 128));
    assert!(reset);
    assert_eq!(enc.in_flight(), 0);
    assert!(
        enc.calls().inputs.values().all(|&s| s == (128, 96)),
        "input buffers recreated at the new size after the drain"
    );
    assert_eq!(enc.calls().inputs.len(), 6);
    enc.encode(&picture(&s, 3), &mut out).unwrap();
    enc.flush(&mut out).unwrap();
    assert_eq!(out.len(), 4, "the drained chunks are handed out, none lost");
    // Refused: codec, B-frames, GOP, rate-control mode, size above the maximum.
    let refusals: [fn(&mut EncoderConfig); 6] = [
        |c| c.codec = Codec::Hevc,
        |c| c.b_frames = 2,
        |c| c.gop_length = 10,
        |c| c.rate_control = RateControl::Cqp { qp: 20 },
        |c| c.dimensions = Dimensions::new(256, 96).unwrap(),
        |c| c.low_latency = true,
    ];
    let before = enc.calls().reconfigures.len();
    for change in refusals {
        let mut r = s.clone();
        change(&mut r);
        let e = enc.reconfigure(&r).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
        assert!(e.to_string().contains("in place"), "{e}");
    }
    assert_eq!(enc.calls().reconfigures.len(), before);
}

#[test]
fn device_frames_are_registered_once_and_unmapped_when_reaped() {
    let c = config(0);
    let mut enc = encoder(&c, 3);
    let mut out = Vec::new();
    for i in 0..9u64 {
        let pic = Picture::Device {
            ptr: 0x1000 * (1 + i % 3),
            pitch: 64,
            dimensions: c.dimensions,
            pts: None,
            force_keyframe: false,
        };
        enc.submit(pic, &mut out).unwrap();
        assert!(enc.calls().mapped.len() <= 3);
    }
    enc.flush(&mut out).unwrap();
    assert_eq!(out.len(), 9);
    assert_eq!(
        enc.calls().registered.len(),
        3,
        "one registration per surface"
    );
    assert!(enc.calls().mapped.is_empty(), "every mapping released");
}

#[test]
fn unsupported_device_status_is_unsupported_naming_the_cause() {
    for s in [NV_ENC_ERR_UNSUPPORTED_DEVICE, NV_ENC_ERR_NO_ENCODE_DEVICE] {
        let e = status_error(s, "nvEncOpenEncodeSessionEx", "");
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        let text = e.to_string();
        assert!(text.contains(status_name(s)), "{text}");
        assert!(text.contains("no NVENC"), "{text}");
    }
    // Opening a session: any failure but a full device means NVENC is not usable here.
    let e = open_error(NV_ENC_ERR_GENERIC);
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.to_string().contains("NV_ENC_ERR_GENERIC"), "{e}");
    assert_eq!(
        open_error(NV_ENC_ERR_OUT_OF_MEMORY).kind(),
        ErrorKind::Backend
    );
    let e = status_error(NV_ENC_ERR_OUT_OF_MEMORY, "nvEncCreateInputBuffer", "");
    assert_eq!(e.kind(), ErrorKind::Backend);
    assert!(e.to_string().contains("NV_ENC_ERR_OUT_OF_MEMORY"));
}

#[test]
fn drop_locks_in_flight_outputs_then_releases_every_buffer() {
    let c = config(2);
    let double = NvencDouble::default();
    let ledger = double.ledger.clone();
    let mut enc = NvencEncoder::new(double, &c, NvencOptions::default(), "double".into()).unwrap();
    let mut out = Vec::new();
    for i in 0..5 {
        enc.encode(&picture(&c, i), &mut out).unwrap();
    }
    enc.submit(
        Picture::Device {
            ptr: 0x9000,
            pitch: 64,
            dimensions: c.dimensions,
            pts: None,
            force_keyframe: false,
        },
        &mut out,
    )
    .unwrap();
    assert!(enc.in_flight() > 0, "pictures are still in flight at drop");
    assert!(ledger.borrow().live > 0);
    drop(enc);
    let ledger = ledger.borrow();
    assert!(ledger.violations.is_empty(), "{:?}", ledger.violations);
    assert_eq!(ledger.live, 0, "every buffer and registration released");
}
