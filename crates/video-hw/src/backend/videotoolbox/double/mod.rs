//! A double of the VideoToolbox calls (tests, and the contract suite's "videotoolbox
//! (double)" row through the `vt-double` feature): it runs the adapters' control logic on
//! any platform against what Apple documents (each modelled behaviour cites its page in
//! `decode.rs`, `encode.rs` and `image.rs`). It is not VideoToolbox and proves nothing about
//! Apple's decoders or encoders: pictures are decoded and encoded by the software backend.
//!
//! A [`Script`] says what goes wrong and when (bad data, dropped frames, an interruption that
//! invalidates the session, properties the encoder refuses, Metal failing); a [`Log`] records
//! what the adapter called and on which threads the callbacks ran.
// Outside the unit tests the double only serves the contract suite's row.
#![cfg_attr(
    not(all(test, any(feature = "sw-openh264", feature = "sw-ffmpeg"))),
    allow(dead_code)
)]

mod decode;
mod encode;
mod image;
// The tests need the software codecs the double decodes and encodes with.
#[cfg(all(test, any(feature = "sw-openh264", feature = "sw-ffmpeg")))]
mod tests_decode;
#[cfg(all(test, any(feature = "sw-openh264", feature = "sw-ffmpeg")))]
mod tests_encode;

use super::calls::MetalCalls;
use super::decoder::VtDecoder;
use super::encoder::VtEncoder;
use super::properties::{PropertyKey, PropertyValue};
use crate::api::codec::{Codec, Dimensions};
use crate::api::config::{DecoderConfig, EncoderConfig};
use crate::api::error::{Result, VideoError};
use crate::api::frame::PixelFormat;
use crate::backend::{
    Backend, BackendReport, CodecSupport, DecoderBackend, DecoderFactory, EncoderBackend,
    EncoderFactory,
};
use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

pub(crate) use decode::DoubleDecodeCalls;
pub(crate) use encode::DoubleEncodeCalls;
pub(crate) use image::Image;

/// The order in which the double's decompression callback hands out frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Order {
    /// Display order, as temporal processing asks for.
    #[default]
    Display,
    /// Decode order: out of presentation order when the stream has B-frames.
    Decode,
}

/// When the session dies (an interruption).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interruption {
    /// `VTDecompressionSessionDecodeFrame` number `n` (1-based) returns
    /// `kVTInvalidSessionErr`; pending frames are lost.
    AtCall(usize),
    /// The callback of frame number `n` reports `kVTInvalidSessionErr`; later calls return it.
    InCallback(usize),
}

/// What the Metal device does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum MetalScript {
    /// There is none (`MTLCreateSystemDefaultDevice` returns nil).
    #[default]
    Absent,
    /// It converts.
    Works,
    /// Its command buffers fail.
    Fails,
}

/// What goes wrong, and when (call numbers are 1-based, counted per adapter).
#[derive(Debug, Clone, Default)]
pub(crate) struct Script {
    pub order: Order,
    pub interruption: Option<Interruption>,
    /// Decode calls whose frame the callback reports as `kVTVideoDecoderBadDataErr`.
    pub bad_data: HashSet<usize>,
    /// Decode or encode calls whose frame is dropped (`kVTDecodeInfo_FrameDropped`).
    pub dropped: HashSet<usize>,
    /// Extra bytes per row beyond Core Video's 64-byte alignment.
    pub row_padding: usize,
    /// Properties `VTSessionSetProperty` refuses with `kVTPropertyNotSupportedErr`.
    pub unsupported_properties: Vec<PropertyKey>,
    /// Refuse them only on a running session (after `PrepareToEncodeFrames`): a change the
    /// encoder cannot take mid-stream.
    pub refuse_only_mid_stream: bool,
    pub metal: MetalScript,
}

/// What the adapter did to the double.
#[derive(Debug, Default)]
pub(crate) struct Log {
    /// Every call, in order (`VTDecompressionSessionDecodeFrame #3`, ...).
    pub calls: Vec<String>,
    pub sessions_created: u64,
    pub invalidations: u64,
    /// Threads the output callbacks ran on.
    pub callback_threads: HashSet<ThreadId>,
    /// (submission, status) of every decode callback, in callback order.
    pub deliveries: Vec<(u64, i32)>,
    /// Picture format of the last decompression session.
    pub session_format: Option<(Dimensions, u8, u8)>,
    /// Properties set successfully, in order.
    pub properties: Vec<(PropertyKey, PropertyValue)>,
    /// The colour attachments of the last encoder pixel buffer.
    pub attachments: [Option<&'static str>; 3],
    pub metal_calls: u64,
    pub metal_frames: u64,
}

/// The double's shared state: the script and the log.
pub(crate) type Shared = (Arc<Script>, Arc<Mutex<Log>>);

/// A decoder adapter over the double.
pub(crate) fn decoder(
    shared: &Shared,
    config: DecoderConfig,
) -> Result<VtDecoder<DoubleDecodeCalls>> {
    let (script, log) = shared.clone();
    let metal = script.metal;
    let metal_log = log.clone();
    let opener = Box::new(move |target: PixelFormat| match metal {
        MetalScript::Absent => Err(VideoError::unsupported("no Metal device")),
        MetalScript::Works | MetalScript::Fails => Ok(Box::new(image::DoubleMetal {
            target,
            fail: metal == MetalScript::Fails,
            log: metal_log,
        }) as Box<dyn MetalCalls<Image>>),
    });
    VtDecoder::new(DoubleDecodeCalls::new(script, log.clone()), config, opener)
}

/// An encoder adapter over the double.
pub(crate) fn encoder(
    shared: &Shared,
    config: EncoderConfig,
) -> Result<VtEncoder<DoubleEncodeCalls>> {
    let (script, log) = shared.clone();
    VtEncoder::new(DoubleEncodeCalls::new(script, log), config)
}

thread_local! {
    static ACTIVE: RefCell<Option<Shared>> = const { RefCell::new(None) };
}

/// The double serving `Backend::VideoToolbox` on this thread, if one is installed.
pub(crate) fn active() -> Option<Shared> {
    ACTIVE.with(|a| a.borrow().clone())
}

/// Makes `Backend::VideoToolbox` sessions opened from this thread run on a double with
/// `script` until the guard is dropped; the log records what they did.
pub(crate) fn install(script: Script) -> (VtDoubleGuard, Arc<Mutex<Log>>) {
    let log = Arc::new(Mutex::new(Log::default()));
    let shared = (Arc::new(script), log.clone());
    let previous = ACTIVE.with(|a| a.borrow_mut().replace(shared));
    (VtDoubleGuard { previous }, log)
}

/// Keeps the VideoToolbox double installed on this thread (see [`on_this_thread`]).
pub struct VtDoubleGuard {
    previous: Option<Shared>,
}

impl Drop for VtDoubleGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        ACTIVE.with(|a| *a.borrow_mut() = previous);
    }
}

/// Makes `Backend::VideoToolbox` run on the double (nothing going wrong) for sessions opened
/// from this thread, until the guard is dropped. For the contract suite's
/// "videotoolbox (double)" row; not part of the API.
pub fn on_this_thread() -> VtDoubleGuard {
    install(Script::default()).0
}

/// What the double offers: what VideoToolbox offers (H.264 and HEVC), where the software
/// engine can serve the codec.
pub(crate) fn probe() -> BackendReport {
    let software = crate::backend::probe_one(Backend::Software);
    let support = |codec| CodecSupport {
        codec,
        max_width: None,
        max_height: None,
        bit_depths: vec![8],
        implementation: "VideoToolbox (double)".to_string(),
    };
    let codecs = [Codec::H264, Codec::Hevc];
    BackendReport {
        backend: Backend::VideoToolbox,
        available: true,
        detail: "VideoToolbox double (tests only; pictures by the software backend)".into(),
        decode: codecs
            .iter()
            .filter(|c| software.decodes(**c))
            .map(|c| support(*c))
            .collect(),
        encode: codecs
            .iter()
            .filter(|c| software.encodes(**c))
            .map(|c| support(*c))
            .collect(),
        decode_capabilities: codecs
            .iter()
            .map(|c| super::capability::decode_capability(*c))
            .collect(),
        gpus: Vec::new(),
    }
}

/// A factory building a double decoder adapter on the worker thread.
pub(crate) fn decoder_factory(shared: Shared, config: &DecoderConfig) -> Result<DecoderFactory> {
    let config = config.clone();
    Ok(Box::new(move || {
        Ok(Box::new(decoder(&shared, config)?) as Box<dyn DecoderBackend>)
    }))
}

/// A factory building a double encoder adapter on the worker thread.
pub(crate) fn encoder_factory(shared: Shared, config: &EncoderConfig) -> Result<EncoderFactory> {
    config.validate()?;
    super::sample::output_layout(config.codec, config.layout)?;
    let config = config.clone();
    Ok(Box::new(move || {
        Ok(Box::new(encoder(&shared, config)?) as Box<dyn EncoderBackend>)
    }))
}
