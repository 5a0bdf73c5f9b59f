//! `NvdecDecoder`: the NVDEC parser and decoder behind the [`DecoderBackend`] contract.
//!
//! Each access unit goes to the parser as one packet ([`super::codec::packet`];
//! `CUVID_PKT_ENDOFPICTURE` unless [`NvidiaOptions::end_of_picture`] is off, timestamped).
//! The parser calls back on this thread ([`super::callbacks`]): *sequence* creates the
//! decoder or reconfigures it on a size change ([`super::sequence`]), *decode* queues the
//! picture on the engine, *display* records the picture in a queue. After the parse call
//! returns, `decode` maps each queued picture and hands it to the [`Output`] to copy out
//! ([`super::display`]), then hands out the frames that are complete. A display delay
//! ([`NvidiaOptions::display_delay`]) keeps the engine busy with later pictures while earlier
//! ones are copied.
//!
//! The decoder is generic over its NVDEC calls and its output, so that the double of both
//! (`double.rs`) drives this same control logic in tests without a GPU.

use super::callbacks::{on_decode, on_display, on_sequence};
use super::calls::{LibraryCalls, NvdecCalls};
use super::codec;
use super::ffi::*;
use super::options;
use super::output::{CudaOutput, Output};
use super::state::{MAX_SURFACES, State};
use crate::api::config::{DecoderConfig, NvidiaOptions};
use crate::api::error::{Result, VideoError};
use crate::api::frame::DecodedFrame;
use crate::backend::DecoderBackend;
use crate::backend::nvidia::stats::{self, COUNTERS};
use crate::bitstream::AccessUnit;
use std::collections::VecDeque;
use std::time::Instant;

/// The NVDEC decoder adapter of one session.
pub(crate) struct NvdecDecoder<C: NvdecCalls = LibraryCalls, O: Output = CudaOutput> {
    parser: CUvideoparser,
    /// The state, owned through a raw pointer (from `Box::leak`) because the parser
    /// callbacks reach it through `pUserData`; freed in `Drop` after the parser.
    state: std::ptr::NonNull<State<C, O>>,
}

impl NvdecDecoder {
    /// A decoder for `config` on device `config.gpu` (runs on the session's worker thread),
    /// tuned by `config.nvidia` with the environment's overrides.
    pub fn new(lib: &'static Nvcuvid, config: &DecoderConfig, gpu_name: String) -> Result<Self> {
        codec::nv_codec(config.codec)?;
        let t = Instant::now();
        let options = options::effective(&config.nvidia);
        let output = CudaOutput::new(config, &options)?;
        let dec = Self::with_parts(LibraryCalls::new(lib), output, config, options, gpu_name)?;
        stats::add(&COUNTERS.sessions_opened, 1);
        stats::trace("session: context, streams, parser", t);
        Ok(dec)
    }
}

impl<C: NvdecCalls, O: Output> NvdecDecoder<C, O> {
    /// A decoder for `config` over `calls` and `output`, tuned by `options` as given.
    pub(super) fn with_parts(
        calls: C,
        output: O,
        config: &DecoderConfig,
        options: NvidiaOptions,
        gpu_name: String,
    ) -> Result<Self> {
        codec::nv_codec(config.codec)?;
        let state = Box::new(State {
            calls,
            codec: config.codec,
            timebase: config.timebase,
            gpu_name,
            gpu: config.gpu,
            options,
            decoder: None,
            queue: VecDeque::new(),
            intra: [false; MAX_SURFACES as usize],
            errors: Vec::new(),
            pts_seen: false,
            packet: Vec::new(),
            sps_crop: None,
            frames: 0,
            errors_seen: 0,
            idle: false,
            concealed: 0,
            output,
        });
        let mut dec = Self {
            parser: std::ptr::null_mut(),
            state: std::ptr::NonNull::from(Box::leak(state)),
        };
        dec.create_parser()?;
        Ok(dec)
    }

    fn state(&mut self) -> &mut State<C, O> {
        // SAFETY: the pointer comes from `Box::leak` and is freed only in `Drop`; callbacks
        // run only inside parser calls, during which no reference from here is alive.
        unsafe { self.state.as_mut() }
    }

    fn state_ref(&self) -> &State<C, O> {
        // SAFETY: as in `state`.
        unsafe { self.state.as_ref() }
    }

    fn create_parser(&mut self) -> Result<()> {
        let user: *mut State<C, O> = self.state.as_ptr();
        let s = self.state();
        let mut params = CUVIDPARSERPARAMS {
            CodecType: codec::nv_codec(s.codec)?,
            // The sequence callback returns the real number.
            ulMaxNumDecodeSurfaces: 1,
            ulClockRate: 0,
            ulErrorThreshold: 0,
            ulMaxDisplayDelay: s.options.display_delay,
            bitfields: 0,
            uReserved1: [0; 4],
            pUserData: user.cast(),
            pfnSequenceCallback: Some(on_sequence::<C, O>),
            pfnDecodePicture: Some(on_decode::<C, O>),
            pfnDisplayPicture: Some(on_display::<C, O>),
            pfnGetOperatingPoint: None,
            pvReserved2: [std::ptr::null_mut(); 6],
            pExtVideoInfo: std::ptr::null_mut(),
        };
        let calls = s.calls.clone();
        // SAFETY: `pUserData` points at the leaked state, which outlives the parser (`Drop`
        // and `flush` destroy the parser first), and the callbacks take that state's type.
        self.parser = unsafe { calls.create_parser(&mut params) }?;
        Ok(())
    }

    fn destroy_parser(&mut self) {
        if !self.parser.is_null() {
            let parser = std::mem::replace(&mut self.parser, std::ptr::null_mut());
            self.state().calls.destroy_parser(parser);
        }
    }

    /// Gives the parser the state's packet (or none), with `flags` and `timestamp`.
    fn parse(&mut self, flags: tcu_ulong, timestamp: i64, with_payload: bool) -> Result<()> {
        let parser = self.parser;
        let s = self.state();
        s.output.make_current()?;
        // The callbacks reach the state through `pUserData` during the call: nothing of it is
        // borrowed across the call, so the calls and the packet are taken out first.
        let calls = s.calls.clone();
        let packet = std::mem::take(&mut s.packet);
        let res = calls.parse(
            parser,
            with_payload.then_some(packet.as_slice()),
            flags,
            timestamp,
        );
        self.state().packet = packet;
        res.map_err(|e| {
            VideoError::invalid_bitstream(format!("NVDEC parser rejected the data: {e}"))
        })
    }

    /// Copies out every displayed picture, hands out the frames that are complete (every
    /// one when `all`, else at least the first `due`: those pending before this call), then
    /// reports the first error, if any.
    fn collect(&mut self, out: &mut Vec<DecodedFrame>, due: usize, all: bool) -> Result<()> {
        let s = self.state();
        s.drain_queue();
        let before = out.len();
        s.output.release(out, due, all, &mut s.errors);
        s.frames += (out.len() - before) as u64;
        if s.errors.is_empty() {
            return Ok(());
        }
        let mut errors = std::mem::take(&mut s.errors);
        s.errors_seen += errors.len() as u64;
        let first = errors.remove(0);
        if errors.is_empty() {
            Err(first)
        } else {
            Err(VideoError::new(
                first.kind(),
                format!("{} (and {} more errors)", first.context(), errors.len()),
            ))
        }
    }
}

impl<C: NvdecCalls, O: Output> Drop for NvdecDecoder<C, O> {
    /// Teardown order: the parser (no callback can run after it), the copies in flight, the
    /// decoder (left idle to a later session when the last call was a clean flush and the
    /// output keeps it: [`super::shelf`]; else destroyed), then the output's buffers, streams
    /// and context.
    fn drop(&mut self) {
        let t = Instant::now();
        let _ = self.state().output.make_current();
        self.destroy_parser();
        self.state().output.finish();
        stats::trace("close: parser", t);
        let t = Instant::now();
        let s = self.state();
        let decoder = s.decoder.take();
        let key = decoder.as_ref().and_then(|d| d.key(s.gpu));
        match (decoder, key) {
            (Some(dec), Some(key)) if s.idle && s.options.keep_idle_decoders => {
                let calls = dec.calls.clone();
                match s.output.keep_idle_decoder(key, dec.into_handle()) {
                    None => stats::add(&COUNTERS.decoders_kept, 1),
                    Some(handle) => calls.destroy_decoder(handle),
                }
            }
            (decoder, _) => drop(decoder),
        }
        stats::trace("close: decoder kept or destroyed", t);
        let t = Instant::now();
        // SAFETY: the pointer came from `Box::leak` and the parser that used it is gone.
        drop(unsafe { Box::from_raw(self.state.as_ptr()) });
        stats::trace("close: buffers, kernels, streams", t);
    }
}

impl<C: NvdecCalls, O: Output> DecoderBackend for NvdecDecoder<C, O> {
    fn decode(&mut self, au: &AccessUnit, out: &mut Vec<DecodedFrame>) -> Result<()> {
        let s = self.state();
        s.idle = false;
        let due = s.output.pending();
        let packet = codec::packet(s.codec, au, &mut s.packet);
        if let Some(crop) = packet.crop {
            s.sps_crop = Some(crop);
        }
        let mut flags = if s.options.end_of_picture {
            CUVID_PKT_ENDOFPICTURE
        } else {
            0
        };
        let mut ts = 0;
        if let Some(pts) = packet.pts {
            flags |= CUVID_PKT_TIMESTAMP;
            ts = pts.rescale(s.timebase).ticks;
            s.pts_seen = true;
        }
        let parsed = self.parse(flags, ts, true);
        let collected = self.collect(out, due, false);
        parsed.and(collected)
    }

    fn flush(&mut self, out: &mut Vec<DecodedFrame>) -> Result<()> {
        let t = Instant::now();
        let parsed = self.parse(CUVID_PKT_ENDOFSTREAM, 0, false);
        let collected = self.collect(out, 0, true);
        // A fresh parser for the next stream; the decoder is kept and reused when the next
        // sequence has the same format.
        self.destroy_parser();
        self.state().queue.clear();
        self.state().pts_seen = false;
        let created = self.create_parser();
        stats::trace("flush", t);
        let flushed = parsed.and(collected).and(created);
        self.state().idle = flushed.is_ok();
        flushed
    }

    fn conversion_fallbacks(&self) -> u64 {
        self.state_ref().output.conversion_fallbacks()
    }

    fn concealed_pictures(&self) -> u64 {
        self.state_ref().concealed
    }

    fn capability(&self) -> crate::backend::DecodeCapability {
        let s = self.state_ref();
        crate::backend::nvidia::decode_capability(s.gpu, s.codec)
    }

    fn implementation(&self) -> String {
        let s = self.state_ref();
        format!(
            "nvdec ({}, display delay {}; {} frames, {} errors)",
            s.gpu_name, s.options.display_delay, s.frames, s.errors_seen
        )
    }
}
