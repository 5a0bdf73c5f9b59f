//! `EncodeSession`: raw pictures in, encoded access units out, on any backend.

use super::generation::{
    Activation, SessionSwitchRequest, SwitchMode, SwitchStats, changes_stream_parameters, plan,
};
use super::origin::SessionOrigin;
use super::worker::{Command, WorkerHandle, WorkerPorts, open_adapter};
use crate::api::codec::Timestamp;
use crate::api::config::EncoderConfig;
use crate::api::encode_input::EncodeInput;
use crate::api::error::{Rejected, Result, VideoError};
use crate::api::packet::{BitstreamLayout, EncodedChunk};
use crate::backend::{self, Backend, BackendReport, EncoderBackend, Selection};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What an encode session has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EncodeSummary {
    /// The backend, implementation and codec serving the session.
    #[serde(flatten)]
    pub origin: SessionOrigin,
    /// Pictures accepted by `submit`.
    pub frames_in: u64,
    /// Chunks delivered to the output queue.
    pub chunks_out: u64,
    /// Keyframes among them.
    pub keyframes: u64,
    /// Encoded bytes delivered.
    pub bytes_out: u64,
    /// Errors delivered to the output queue.
    pub errors: u64,
    /// Session generations: switches requested, activated, failed; adapters opened.
    pub switches: SwitchStats,
}

/// What travels to the encode worker: a picture, or a switch request with its generation.
pub(crate) enum EncodeItem {
    Frame(EncodeInput),
    Switch(Box<SessionSwitchRequest>, u64),
}

/// An encoder: `submit` pictures, `try_reap` / `reap_timeout` encoded chunks, `flush` at the end.
///
/// ```
/// use video_hw::{Backend, Codec, Dimensions, EncodeInput, EncodeSession, EncoderConfig, PixelFormat};
/// let size = Dimensions::new(64, 64)?;
/// let mut enc = EncodeSession::new(Backend::Software, EncoderConfig::new(Codec::H264, size))?;
/// for i in 0..5u8 {
///     let picture = vec![i.wrapping_mul(40); PixelFormat::I420.frame_size(size)];
///     enc.submit(EncodeInput::packed(PixelFormat::I420, size, picture)?)?;
/// }
/// let chunks = enc.drain()?;
/// assert_eq!(chunks.len(), 5);
/// assert!(chunks[0].keyframe);
/// # Ok::<(), video_hw::VideoError>(())
/// ```
pub struct EncodeSession {
    worker: WorkerHandle<EncodeItem, EncodedChunk>,
    selection: Selection,
    config: EncoderConfig,
    /// Sizes a submitted picture may have: the first config's and every requested one's.
    accepted_sizes: Vec<crate::api::codec::Dimensions>,
    next_generation: u64,
    summary: Arc<Mutex<EncodeSummary>>,
}

impl EncodeSession {
    /// Opens an encoder on `backend` (`Backend::Auto` picks the best available one).
    pub fn new(backend: Backend, config: EncoderConfig) -> Result<Self> {
        config.validate()?;
        let (selection, factory) = backend::encoder_factory(backend, &config)?;
        let summary = Arc::new(Mutex::new(EncodeSummary {
            origin: SessionOrigin::chosen(&selection, config.codec),
            switches: SwitchStats {
                sessions_created: 1,
                ..Default::default()
            },
            ..Default::default()
        }));
        let backend_kind = selection.backend;
        let shared = summary.clone();
        let worker_config = config.clone();
        let worker = WorkerHandle::spawn(
            "video-hw-encode",
            config.max_in_flight,
            config.output_queue,
            config.submit_timeout,
            move |ports, ready| {
                let Some(adapter) = open_adapter(factory, &ready, |a| {
                    if let Ok(mut s) = shared.lock() {
                        s.origin.implementation = a.implementation();
                    }
                }) else {
                    return;
                };
                EncodeWorker {
                    ticks_per_frame: worker_config.timebase.ticks_per_frame(worker_config.fps),
                    config: worker_config,
                    backend: backend_kind,
                    adapter,
                    summary: shared,
                    next_pts: 0,
                    active: 0,
                    pending: None,
                    frames_since_key: 0,
                    force_next_key: false,
                    generation_of_pts: HashMap::new(),
                    last_emitted: 0,
                }
                .run(ports);
            },
        )?;
        Ok(Self {
            worker,
            selection,
            accepted_sizes: vec![config.dimensions],
            config,
            next_generation: 1,
            summary,
        })
    }

    super::session_accessors!("encode", EncodedChunk, EncodeSummary);

    /// The configuration of the last generation requested (the first one until a switch).
    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    /// Asks the session to move to a new configuration (bitrate, frame rate, size, codec,
    /// GOP...) and returns the generation number the new configuration will carry.
    ///
    /// At most one switch is pending: a newer request replaces an older one that has not
    /// activated yet (counted in [`SwitchStats::replaced`]). If the new configuration cannot
    /// be activated, the active generation stays, encoding goes on, and the reason arrives as
    /// an error from `try_reap` (and in [`SwitchStats::switch_fail_reason`]). Pictures may be
    /// submitted at the new size as soon as this returns; pictures whose size differs from
    /// the active generation's are rejected by the worker with `InvalidInput`.
    pub fn request_session_switch(&mut self, request: SessionSwitchRequest) -> Result<u64> {
        request.config.validate()?;
        let generation = self.next_generation;
        let size = request.config.dimensions;
        let config = request.config.clone();
        self.worker
            .submit(EncodeItem::Switch(Box::new(request), generation))
            .map_err(|r| r.error)?;
        self.next_generation += 1;
        if !self.accepted_sizes.contains(&size) {
            self.accepted_sizes.push(size);
        }
        self.config = config;
        Ok(generation)
    }

    /// Enqueues a picture, waiting at most the configured submit timeout for a credit. A
    /// picture of the wrong size comes back at once as `InvalidInput`; on backpressure it
    /// comes back as `Backpressure`: reap, then submit it again.
    pub fn submit(&mut self, input: EncodeInput) -> std::result::Result<(), Rejected<EncodeInput>> {
        let input = self.check(input)?;
        self.worker
            .submit(EncodeItem::Frame(input))
            .map_err(unwrap_frame)?;
        self.count_input();
        Ok(())
    }

    /// Enqueues a picture only if a credit is free now; never waits.
    pub fn try_submit(
        &mut self,
        input: EncodeInput,
    ) -> std::result::Result<(), Rejected<EncodeInput>> {
        let input = self.check(input)?;
        self.worker
            .try_submit(EncodeItem::Frame(input))
            .map_err(unwrap_frame)?;
        self.count_input();
        Ok(())
    }

    fn check(&self, input: EncodeInput) -> std::result::Result<EncodeInput, Rejected<EncodeInput>> {
        if !self.accepted_sizes.contains(&input.dimensions()) {
            let error = VideoError::invalid_input(format!(
                "picture is {}, the encoder is configured for {}",
                input.dimensions(),
                self.config.dimensions
            ));
            return Err(Rejected { error, input });
        }
        Ok(input)
    }

    fn count_input(&self) {
        if let Ok(mut s) = self.summary.lock() {
            s.frames_in += 1;
        }
    }

    /// The next encoded chunk, if one is ready; never waits.
    pub fn try_reap(&mut self) -> Result<Option<EncodedChunk>> {
        self.worker.try_reap()
    }

    /// The next encoded chunk, waiting at most `timeout`.
    pub fn reap_timeout(&mut self, timeout: Duration) -> Result<Option<EncodedChunk>> {
        self.worker.reap_timeout(timeout)
    }

    /// Encodes everything submitted so far and makes every remaining chunk available to
    /// `try_reap`. The session stays open: more pictures may follow.
    pub fn flush(&mut self) -> Result<()> {
        self.worker.flush()
    }
}

fn unwrap_frame(r: Rejected<EncodeItem>) -> Rejected<EncodeInput> {
    match r.input {
        EncodeItem::Frame(input) => Rejected {
            error: r.error,
            input,
        },
        EncodeItem::Switch(..) => unreachable!("only pictures are submitted through this path"),
    }
}

struct EncodeWorker {
    /// The active generation's configuration.
    config: EncoderConfig,
    backend: Backend,
    adapter: Box<dyn EncoderBackend>,
    summary: Arc<Mutex<EncodeSummary>>,
    next_pts: i64,
    ticks_per_frame: i64,
    /// The generation producing output now.
    active: u64,
    /// At most one switch waiting to activate.
    pending: Option<(u64, SessionSwitchRequest)>,
    /// Pictures encoded since the last keyframe of the active generation (0: none yet).
    frames_since_key: u64,
    force_next_key: bool,
    /// The generation each picture in the adapter was encoded under, by pts.
    generation_of_pts: HashMap<i64, u64>,
    last_emitted: u64,
}

type Ports = WorkerPorts<EncodeItem, EncodedChunk>;

impl EncodeWorker {
    fn run(mut self, ports: Ports) {
        ports.serve(|cmd| match cmd {
            Command::Work(EncodeItem::Frame(input)) => self.encode(input, &ports),
            Command::Work(EncodeItem::Switch(request, generation)) => {
                self.switch(*request, generation, &ports)
            }
            Command::Flush => self.drain(&ports) && ports.flushed(),
        });
    }

    fn stats(&self, f: impl FnOnce(&mut SwitchStats)) {
        if let Ok(mut s) = self.summary.lock() {
            f(&mut s.switches);
        }
    }

    fn at_keyframe_boundary(&self, input: &EncodeInput) -> bool {
        self.frames_since_key == 0
            || input.force_keyframe
            || (self.config.gop_length > 0
                && self.frames_since_key >= u64::from(self.config.gop_length))
    }

    fn encode(&mut self, mut input: EncodeInput, ports: &Ports) -> bool {
        let due = matches!(&self.pending, Some((_, r)) if r.mode == SwitchMode::OnNextKeyframe);
        if due && self.at_keyframe_boundary(&input) && !self.activate(ports) {
            return false;
        }
        if input.dimensions() != self.config.dimensions {
            let e = VideoError::invalid_input(format!(
                "picture is {}, generation {} encodes {}: submit pictures of the active size until the switch activates",
                input.dimensions(),
                self.active,
                self.config.dimensions
            ));
            return self.emit_error(e, ports);
        }
        let pts = match input.pts {
            Some(p) => p.rescale(self.config.timebase),
            None => Timestamp {
                ticks: self.next_pts,
                timebase: self.config.timebase,
            },
        };
        input.pts = Some(pts);
        self.next_pts = pts.ticks + self.ticks_per_frame;
        if self.force_next_key {
            input.force_keyframe = true;
            self.force_next_key = false;
        }
        if self.at_keyframe_boundary(&input) {
            self.frames_since_key = 1;
        } else {
            self.frames_since_key += 1;
        }
        self.generation_of_pts.insert(pts.ticks, self.active);
        let mut chunks = Vec::new();
        let result = self.adapter.encode(&input, &mut chunks);
        self.emit(chunks, result, ports)
    }

    fn switch(&mut self, request: SessionSwitchRequest, generation: u64, ports: &Ports) -> bool {
        let mode = request.mode;
        let replaced = self.pending.replace((generation, request)).is_some();
        self.stats(|s| {
            s.requested += 1;
            s.replaced += u64::from(replaced);
        });
        match mode {
            SwitchMode::Immediate => self.activate(ports),
            SwitchMode::DrainThenSwap => self.drain(ports) && self.activate(ports),
            // Nothing encoded yet in this generation: this is a keyframe boundary already.
            SwitchMode::OnNextKeyframe if self.frames_since_key == 0 => self.activate(ports),
            SwitchMode::OnNextKeyframe => true,
        }
    }

    /// Activates the pending switch, or rolls back to the active generation if it fails.
    fn activate(&mut self, ports: &Ports) -> bool {
        let Some((generation, request)) = self.pending.take() else {
            return true;
        };
        let new = request.config;
        let keyframe =
            request.force_idr_on_activate || changes_stream_parameters(&self.config, &new);
        match plan(&self.config, &new, self.adapter.in_place()) {
            Activation::Nothing => {}
            Activation::InPlace => {
                if let Err(e) = self.adapter.reconfigure(&new) {
                    return self.fail(generation, e, ports);
                }
                self.stats(|s| s.in_place += 1);
            }
            Activation::NewSession => {
                // The new adapter is opened before the old one is drained and dropped.
                let opened = crate::backend::encoder_factory(self.backend, &new)
                    .and_then(|(_, factory)| factory());
                let adapter = match opened {
                    Ok(a) => a,
                    Err(e) => return self.fail(generation, e, ports),
                };
                if !self.drain(ports) {
                    return false;
                }
                let old = std::mem::replace(&mut self.adapter, adapter);
                drop(old);
                self.frames_since_key = 0;
                let implementation = self.adapter.implementation();
                if let Ok(mut s) = self.summary.lock() {
                    s.switches.sessions_created += 1;
                    s.origin.implementation = implementation;
                    s.origin.codec = Some(new.codec);
                }
            }
        }
        self.ticks_per_frame = new.timebase.ticks_per_frame(new.fps);
        self.config = new;
        self.active = generation;
        self.force_next_key |= keyframe;
        self.stats(|s| {
            s.activated += 1;
            s.active_generation = generation;
        });
        true
    }

    fn fail(&mut self, generation: u64, e: VideoError, ports: &Ports) -> bool {
        let reason = e.to_string();
        self.stats(|s| {
            s.failed += 1;
            s.switch_fail_reason = Some(reason);
        });
        let active = self.active;
        self.emit_error(
            e.while_doing(format!(
                "switch to generation {generation} failed; generation {active} stays active"
            )),
            ports,
        )
    }

    /// Flushes the adapter: every chunk of every picture submitted so far goes out.
    fn drain(&mut self, ports: &Ports) -> bool {
        let mut chunks = Vec::new();
        let result = self.adapter.flush(&mut chunks);
        self.emit(chunks, result, ports)
    }

    fn emit_error(&mut self, e: VideoError, ports: &Ports) -> bool {
        if let Ok(mut s) = self.summary.lock() {
            s.errors += 1;
        }
        ports.emit(Err(e))
    }

    fn emit(&mut self, chunks: Vec<EncodedChunk>, result: Result<()>, ports: &Ports) -> bool {
        for mut chunk in chunks {
            if chunk.dts.is_none() {
                chunk.dts = chunk.pts;
            }
            if let (BitstreamLayout::AnnexB, Some(n)) =
                (chunk.layout, self.config.layout.length_size())
            {
                match crate::bitstream::layout::annexb_to_length_prefixed(&chunk.data, n) {
                    Ok(data) => {
                        chunk.data = data;
                        chunk.layout = self.config.layout;
                    }
                    Err(e) => {
                        if !self
                            .emit_error(e.while_doing("converting to the requested layout"), ports)
                        {
                            return false;
                        }
                        continue;
                    }
                }
            }
            let made_by = chunk
                .pts
                .and_then(|p| self.generation_of_pts.remove(&p.ticks))
                .unwrap_or(self.active);
            // Generations never decrease in output order, even across B-frame reordering.
            chunk.generation = made_by.max(self.last_emitted);
            self.last_emitted = chunk.generation;
            if let Ok(mut s) = self.summary.lock() {
                s.chunks_out += 1;
                s.keyframes += u64::from(chunk.keyframe);
                s.bytes_out += chunk.data.len() as u64;
            }
            if !ports.emit(Ok(chunk)) {
                return false;
            }
        }
        match result {
            Ok(()) => true,
            Err(e) => self.emit_error(e, ports),
        }
    }
}
