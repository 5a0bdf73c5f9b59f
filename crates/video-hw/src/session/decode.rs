//! `DecodeSession`: compressed input in, pictures out, on any backend.

use super::damage::DamageLedger;
use super::fallback::{Guard, Verdict};
use super::origin::SessionOrigin;
use super::placement::{self, OutputPlan};
use super::worker::{Command, WorkerHandle, WorkerPorts, open_adapter};
use crate::api::codec::Timestamp;
use crate::api::color::ColorDescription;
use crate::api::config::{ConversionPath, DecodeOutput, DecoderConfig, FramePlacement};
use crate::api::error::{ErrorKind, Rejected, Result, VideoError};
use crate::api::frame::{DecodedFrame, FrameData};
use crate::api::packet::DecodeInput;
use crate::backend::{self, Backend, BackendReport, Candidate, DecoderBackend, Hop, Selection};
use crate::bitstream::{
    AccessUnit, AccessUnitAssembler, AnnexBSplitter, Framing, Nal, layout, split_annexb,
    syntax::{PictureTally, SequenceTrack, syntax},
};
use crate::metrics::Metrics;
use crate::transform::Transformer;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a decode session has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DecodeSummary {
    /// The backend, implementation and codec serving the session.
    #[serde(flatten)]
    pub origin: SessionOrigin,
    /// Inputs accepted by `submit`.
    pub inputs: u64,
    /// Compressed bytes accepted.
    pub bytes_in: u64,
    /// Access units handed to the adapter.
    pub access_units: u64,
    /// Frames delivered to the output queue.
    pub frames: u64,
    /// Errors delivered to the output queue.
    pub errors: u64,
    /// Size of the last frame (`WxH`).
    pub last_size: Option<String>,
    /// How frames become the output asked for (chosen when the session opened).
    pub conversion: ConversionPath,
    /// Pictures the streams hold for output, counted by the bitstream layer (field pairs once,
    /// pictures marked not for output left out); compared with `frames` at each flush.
    #[serde(default)]
    pub pictures: u64,
    /// Counted pictures that never came out (each flush where fewer frames than pictures came
    /// out also delivers an error naming how many and which access units).
    #[serde(default)]
    pub pictures_lost: u64,
    /// Frames delivered beyond the counted pictures (reported the same way).
    #[serde(default)]
    pub frames_extra: u64,
    /// Backend changes under `Auto` after a refusal (oldest first); `backend` is the last.
    #[serde(default)]
    pub hops: Vec<Hop>,
    /// Damaged access units skipped under [`crate::OnError::Skip`] (no error delivered for
    /// them); decoding resumed at the next decodable picture.
    #[serde(default)]
    pub damaged_units: u64,
    /// The first messages of those damaged units (at most five).
    #[serde(default)]
    pub damage: Vec<String>,
    /// Frames delivered with damage the decoder concealed (their own or a reference's).
    #[serde(default)]
    pub pictures_concealed: u64,
}

/// A decoder: `submit` compressed input, `try_reap` / `reap_timeout` pictures, `flush` at the end.
///
/// ```no_run
/// use video_hw::{Backend, Codec, DecodeInput, DecodeSession, DecoderConfig};
/// let bytes = std::fs::read("clip.h264")?;
/// let mut dec = DecodeSession::new(Backend::Auto, DecoderConfig::new(Codec::H264))?;
/// let mut frames = 0;
/// for chunk in bytes.chunks(64 * 1024) {
///     let mut input = DecodeInput::annexb(chunk);
///     // On backpressure, reap, then submit the same input again.
///     while let Err(rejected) = dec.submit(input) {
///         input = rejected.input;
///         while let Some(_frame) = dec.try_reap()? { frames += 1; }
///     }
///     while let Some(_frame) = dec.try_reap()? { frames += 1; }
/// }
/// dec.flush()?;
/// while let Some(_frame) = dec.try_reap()? { frames += 1; }
/// println!("{frames} frames on {}", dec.backend());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DecodeSession {
    worker: WorkerHandle<DecodeInput, DecodedFrame>,
    selection: Selection,
    summary: Arc<Mutex<DecodeSummary>>,
    plan: Arc<OutputPlan>,
    /// A pipeline's transform pool converts the frames (see [`DecodeSession::take_conversion`]).
    deferred: bool,
    metrics: Metrics,
    /// The GPU it decodes on (`DecoderConfig::gpu`).
    gpu: u32,
    /// The place it holds in a [`super::DecodePool`], given back after the worker ended.
    place: Option<super::pool::PoolPlace>,
    /// Counts the session among those open on its backend (not for a segmented decode's).
    occupant: Option<super::occupancy::Occupant>,
    /// What its adapter was opened with.
    adapter_config: DecoderConfig,
}

impl DecodeSession {
    /// Opens a decoder on `backend` (`Backend::Auto` picks the best available one). The
    /// session picks the conversion path for `config.output` and `config.placement` (see
    /// [`DecodeSession::conversion`]) and counts every frame's path in its own
    /// [`DecodeSession::metrics`].
    ///
    /// Each sequence is checked against what the serving implementation decodes exactly
    /// ([`crate::backend::DecodeCapability`]); a refused stream moves, under `Auto`, to the
    /// next capable backend from the last IDR/IRAP ([`Selection::hops`]), and otherwise fails
    /// with an `Unsupported` error that names the feature and the remedy.
    pub fn new(backend: Backend, config: DecoderConfig) -> Result<Self> {
        Self::with_metrics(backend, config, Metrics::new())
    }

    /// As [`DecodeSession::new`], counting conversions (path and latency of
    /// [`crate::metrics::Stage::Transform`]) in `metrics`, e.g. a pipeline's recorder.
    pub fn with_metrics(backend: Backend, config: DecoderConfig, metrics: Metrics) -> Result<Self> {
        config.validate()?;
        let selection = backend::select_decoder(backend, config.codec)?;
        let plan = placement::plan(selection.backend, &config, false, &metrics)?;
        let mut adapter_config = config.with_placement(FramePlacement::Host);
        adapter_config.output = plan.adapter_output;
        let chain = backend::decoder_chain(backend, selection.backend, &adapter_config)?;
        let occupant = super::occupancy::Occupant::enter(selection.backend);
        let mut session = Self::open(selection, adapter_config, plan, metrics, chain)?;
        session.occupant = Some(occupant);
        Ok(session)
    }

    /// Opens a decoder on the first of `chain` (fallback tests build their own chains).
    #[cfg(all(test, feature = "sw-openh264"))]
    pub(crate) fn with_chain(
        selection: Selection,
        config: DecoderConfig,
        chain: Vec<Candidate>,
    ) -> Result<Self> {
        let metrics = Metrics::new();
        let plan = placement::plan(selection.backend, &config, false, &metrics)?;
        let mut adapter_config = config.with_placement(FramePlacement::Host);
        adapter_config.output = plan.adapter_output;
        Self::open(selection, adapter_config, plan, metrics, chain)
    }

    /// Opens a session on the first backend of `chain` (that of `selection`), whose adapter
    /// makes `config.output`, finishing frames by `plan`; it moves on to the others of
    /// `chain` when that one refuses the stream.
    pub(crate) fn open(
        selection: Selection,
        config: DecoderConfig,
        plan: OutputPlan,
        metrics: Metrics,
        chain: Vec<Candidate>,
    ) -> Result<Self> {
        let plan = Arc::new(plan);
        let gpu = config.gpu;
        let adapter_config = config.clone();
        let summary = Arc::new(Mutex::new(DecodeSummary {
            origin: SessionOrigin::chosen(&selection, config.codec),
            conversion: plan.path,
            ..Default::default()
        }));
        let (shared, worker_plan, worker_metrics) =
            (summary.clone(), plan.clone(), metrics.clone());
        let worker = WorkerHandle::spawn(
            "video-hw-decode",
            config.max_in_flight,
            config.output_queue,
            config.submit_timeout,
            move |ports, ready| {
                let mut chain = chain.into_iter();
                let Some(first) = chain.next() else {
                    let _ = ready.send(Err(VideoError::unsupported("no decoder backend")));
                    return;
                };
                let Some(adapter) = open_adapter(first.factory, &ready, |a| {
                    if let Ok(mut s) = shared.lock() {
                        s.origin.implementation = a.implementation();
                    }
                }) else {
                    return;
                };
                let guard = Guard::new(config.codec, first.backend, &*adapter, chain.collect());
                DecodeWorker::new(config, adapter, guard, shared)
                    .counting(worker_plan, worker_metrics)
                    .run(ports);
            },
        )?;
        Ok(Self {
            worker,
            selection,
            summary,
            plan,
            deferred: false,
            metrics,
            gpu,
            place: None,
            occupant: None,
            adapter_config,
        })
    }

    /// The GPU it decodes on, as the driver numbers it (`DecoderConfig::gpu`, or the one a
    /// [`super::DecodePool`] chose). Backends without a choice of GPU ignore it.
    pub fn gpu(&self) -> u32 {
        self.gpu
    }

    /// Holds `place` in a pool until the session is dropped.
    pub(super) fn hold_place(&mut self, place: super::pool::PoolPlace) {
        self.place = Some(place);
    }

    /// What its adapter was opened with (output and placement as the session planned them).
    pub(crate) fn adapter_config(&self) -> &DecoderConfig {
        &self.adapter_config
    }

    /// How its frames become the output asked for; `None` once a pipeline took the
    /// conversion over ([`DecodeSession::take_conversion`]).
    pub(crate) fn output_plan(&self) -> Option<&OutputPlan> {
        (!self.deferred).then_some(&*self.plan)
    }

    /// How this session turns the decoder's frames into the output asked for.
    pub fn conversion(&self) -> ConversionPath {
        self.plan.path
    }

    /// Where the session counts its conversions (one [`crate::transform::TransformPath`] per
    /// converted frame, and the transform latency). Clone it to read a report.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Hands the session's CPU or GPU-transform conversion to the caller, who runs it on
    /// threads of its own (a [`crate::pipeline::PipelineScheduler`]'s transform pool does):
    /// from then on frames are reaped unconverted. `None` where the decoder converts itself
    /// or there is nothing to convert.
    pub fn take_conversion(&mut self) -> Option<Transformer> {
        let t = self.plan.pool_transform()?;
        self.deferred = true;
        Some(t)
    }

    fn finish(&self, frame: DecodedFrame) -> Result<DecodedFrame> {
        if self.deferred {
            Ok(frame)
        } else {
            self.plan.finish(frame)
        }
    }

    super::session_accessors!("decode", DecodedFrame, DecodeSummary);

    /// Enqueues `input`, waiting at most the configured submit timeout for a credit.
    /// On backpressure the input comes back inside [`Rejected`]: reap, then submit it again.
    pub fn submit(&mut self, input: DecodeInput) -> std::result::Result<(), Rejected<DecodeInput>> {
        let len = input.byte_len() as u64;
        self.worker.submit(input)?;
        self.count_input(len);
        Ok(())
    }

    /// Enqueues `input` only if a credit is free now; never waits.
    pub fn try_submit(
        &mut self,
        input: DecodeInput,
    ) -> std::result::Result<(), Rejected<DecodeInput>> {
        let len = input.byte_len() as u64;
        self.worker.try_submit(input)?;
        self.count_input(len);
        Ok(())
    }

    fn count_input(&self, len: u64) {
        if let Ok(mut s) = self.summary.lock() {
            s.inputs += 1;
            s.bytes_in += len;
        }
    }

    /// The next decoded frame, if one is ready; never waits. A decode error is returned once,
    /// in stream order, and the session stays usable.
    ///
    /// A CPU format the backend did not produce itself is converted here, on the calling
    /// thread, never on the decoder's worker.
    pub fn try_reap(&mut self) -> Result<Option<DecodedFrame>> {
        self.refresh_selection();
        let frame = self.worker.try_reap();
        let frame = self.watch(frame)?;
        frame.map(|f| self.finish(f)).transpose()
    }

    /// The next decoded frame, waiting at most `timeout`.
    pub fn reap_timeout(&mut self, timeout: Duration) -> Result<Option<DecodedFrame>> {
        self.refresh_selection();
        let frame = self.worker.reap_timeout(timeout);
        let frame = self.watch(frame)?;
        frame.map(|f| self.finish(f)).transpose()
    }

    /// Decodes everything submitted so far (the end of the stream) and makes every remaining
    /// frame available to `try_reap`. The session can take a new stream afterwards.
    pub fn flush(&mut self) -> Result<()> {
        let flushed = self.worker.flush();
        let flushed = self.watch(flushed);
        self.refresh_selection();
        flushed
    }

    /// `result` as it is; a lost device also retires this session's GPU from its pool.
    fn watch<T>(&self, result: Result<T>) -> Result<T> {
        if let (Err(e), Some(place)) = (&result, &self.place)
            && e.kind() == ErrorKind::DeviceLost
        {
            place.lost();
        }
        result
    }

    /// Takes the hops the worker made into `selection` (they happen on the worker; the
    /// caller sees them from the next reap or flush on).
    fn refresh_selection(&mut self) {
        if let Ok(s) = self.summary.lock()
            && s.hops.len() != self.selection.hops.len()
        {
            self.selection.hops.clone_from(&s.hops);
            if let Some(b) = s.origin.backend {
                self.selection.backend = b;
            }
        }
    }
}

/// The worker side: ingest (split + assemble), adapter, timestamping, output shaping.
struct DecodeWorker {
    config: DecoderConfig,
    adapter: Box<dyn DecoderBackend>,
    /// Capability checks and fallback (see [`super::fallback`]).
    guard: Guard,
    summary: Arc<Mutex<DecodeSummary>>,
    splitter: AnnexBSplitter,
    assembler: AccessUnitAssembler,
    /// Stream offset of the next Annex-B byte.
    offset: u64,
    /// (offset of the chunk, pts) for chunks whose pts has not yet gone to an access unit.
    chunk_pts: VecDeque<(u64, Timestamp)>,
    /// Annex-B bytes submitted since the last flush, and access units found in them.
    annexb_bytes: u64,
    aus_since_flush: u64,
    frames_since_flush: u64,
    errors_since_flush: u64,
    next_pts: Option<Timestamp>,
    ticks_per_frame: i64,
    /// Sequence headers seen in any input, for the colour description of the frames.
    sequence: Box<dyn SequenceTrack>,
    /// Counts the frames the adapter converted itself, with the adapter's fallbacks so far.
    counting: Option<(Arc<OutputPlan>, Metrics)>,
    fallbacks_seen: u64,
    /// Pictures for output since the last flush, checked against the frames at the flush.
    pictures: Box<dyn PictureTally>,
    /// Access units handed to the adapter before the current stream (since the last flush).
    aus_before: u64,
    /// Damaged input skipped and concealed pictures, under the session's [`crate::OnError`].
    damage: DamageLedger,
}

impl DecodeWorker {
    fn new(
        config: DecoderConfig,
        adapter: Box<dyn DecoderBackend>,
        guard: Guard,
        summary: Arc<Mutex<DecodeSummary>>,
    ) -> Self {
        let ticks_per_frame = config.timebase.ticks_per_frame(config.fps_hint);
        let codec = config.codec;
        let damage = DamageLedger::new(config.on_error);
        Self {
            assembler: AccessUnitAssembler::new(config.codec),
            splitter: AnnexBSplitter::new(),
            config,
            adapter,
            guard,
            summary,
            offset: 0,
            chunk_pts: VecDeque::new(),
            annexb_bytes: 0,
            aus_since_flush: 0,
            frames_since_flush: 0,
            errors_since_flush: 0,
            next_pts: None,
            ticks_per_frame,
            sequence: syntax(codec).sequence_track(),
            counting: None,
            fallbacks_seen: 0,
            pictures: syntax(codec).picture_tally(),
            aus_before: 0,
            damage,
        }
    }

    /// Counts the frames the adapter converts itself (decoder path) into `metrics`.
    fn counting(mut self, plan: Arc<OutputPlan>, metrics: Metrics) -> Self {
        self.counting = Some((plan, metrics));
        self
    }

    fn count_conversions(&mut self, frames: &[DecodedFrame]) {
        if let Some((plan, metrics)) = &self.counting {
            let now = self.adapter.conversion_fallbacks();
            plan.count_decoder_frames(frames, now.saturating_sub(self.fallbacks_seen), metrics);
            self.fallbacks_seen = now;
        }
    }

    fn run(mut self, ports: WorkerPorts<DecodeInput, DecodedFrame>) {
        if !self.config.parameter_sets.is_empty() {
            let au =
                AccessUnit::from_nals(self.config.codec, self.config.parameter_sets.clone(), None);
            if !self.decode_units(vec![au], &ports) {
                return;
            }
        }
        ports.serve(|cmd| match cmd {
            Command::Work(input) => self.ingest(input, &ports),
            Command::Flush => self.flush(&ports) && ports.flushed(),
        });
    }

    fn ingest(
        &mut self,
        input: DecodeInput,
        ports: &WorkerPorts<DecodeInput, DecodedFrame>,
    ) -> bool {
        let mut units = Vec::new();
        match input {
            DecodeInput::AnnexB { data, pts } => {
                if syntax(self.config.codec).framing() == Framing::Packets {
                    let e = VideoError::invalid_input(format!(
                        "{} has no Annex-B byte stream: submit DecodeInput::Packet, one frame each",
                        self.config.codec
                    ));
                    return self.emit_error(e, ports) && self.decode_units(units, ports);
                }
                if let Some(pts) = pts {
                    self.chunk_pts.push_back((self.offset, pts));
                }
                let mut nals = Vec::new();
                self.splitter.push(&data, &mut nals);
                self.offset += data.len() as u64;
                self.annexb_bytes += data.len() as u64;
                self.assemble(nals, &mut units);
            }
            DecodeInput::Packet { data, pts } => {
                self.end_annexb(&mut units);
                let units_of_packet = match syntax(self.config.codec).framing() {
                    Framing::Packets => vec![data],
                    Framing::NalUnits => split_annexb(&data).into_iter().map(|n| n.data).collect(),
                };
                units.push(AccessUnit::from_nals(
                    self.config.codec,
                    units_of_packet,
                    pts,
                ));
            }
            DecodeInput::AccessUnit { nals, pts } => {
                self.end_annexb(&mut units);
                units.push(AccessUnit::from_nals(self.config.codec, nals, pts));
            }
            DecodeInput::LengthPrefixed {
                data,
                length_size,
                pts,
            } => {
                self.end_annexb(&mut units);
                match layout::split_length_prefixed(&data, length_size) {
                    Ok(nals) => units.push(AccessUnit::from_nals(self.config.codec, nals, pts)),
                    Err(e) => {
                        if !self.damaged(e, ports) {
                            return false;
                        }
                    }
                }
            }
        }
        self.decode_units(units, ports)
    }

    /// Ends a pending Annex-B stream before input of another kind.
    fn end_annexb(&mut self, units: &mut Vec<AccessUnit>) {
        let mut nals = Vec::new();
        self.splitter.finish(&mut nals);
        let first = units.len();
        for nal in nals {
            self.assembler.push(nal, units);
        }
        // The last access unit ends only here: it takes its chunk's time as the others do.
        self.assembler.finish(units);
        self.stamp(&mut units[first..]);
    }

    fn assemble(&mut self, nals: Vec<Nal>, units: &mut Vec<AccessUnit>) {
        let first = units.len();
        for nal in nals {
            self.assembler.push(nal, units);
        }
        self.stamp(&mut units[first..]);
    }

    /// Gives each access unit of `units` (just assembled) the time of the latest Annex-B
    /// chunk that starts at or before it.
    fn stamp(&mut self, units: &mut [AccessUnit]) {
        for au in units {
            // The pts of the latest chunk that starts at or before this access unit.
            while self
                .chunk_pts
                .front()
                .is_some_and(|(off, _)| *off <= au.offset)
            {
                let (_, pts) = self.chunk_pts.pop_front().expect("front checked");
                au.pts = Some(pts);
            }
        }
    }

    fn decode_units(
        &mut self,
        units: Vec<AccessUnit>,
        ports: &WorkerPorts<DecodeInput, DecodedFrame>,
    ) -> bool {
        for au in units {
            self.sequence.observe(&au);
            self.aus_since_flush += 1;
            if let Ok(mut s) = self.summary.lock() {
                s.access_units += 1;
            }
            match self.guard.admit(&au) {
                Ok(Verdict::Decode) => {}
                Ok(Verdict::Skip) => continue,
                Err(refusal) => {
                    if !self.hop(refusal, ports) {
                        return false;
                    }
                    // Pictures of a refused stream were reported by the refusal, not lost.
                    if !self.guard.is_refused() {
                        self.pictures.push(&au);
                    }
                    continue;
                }
            }
            if !self.feed(&au, ports) {
                return false;
            }
            // The adapter may refuse the stream itself (NVDEC's sequence callback): its
            // pictures were reported by the refusal, not lost.
            if !self.guard.is_refused() {
                self.pictures.push(&au);
            }
        }
        true
    }

    /// Decodes `au` on the adapter and emits what comes out; an `Unsupported` error moves
    /// the stream to the next backend where one is left.
    fn feed(&mut self, au: &AccessUnit, ports: &WorkerPorts<DecodeInput, DecodedFrame>) -> bool {
        let mut frames = Vec::new();
        self.guard.fed(au);
        let result = self.adapter.decode(au, &mut frames);
        self.guard.produced(&mut frames);
        self.count_conversions(&frames);
        self.count_concealed();
        if !self.emit_frames(&mut frames, ports) {
            return false;
        }
        match result {
            Err(e) if self.guard.can_hop(&e) => self.hop(e, ports),
            // A refusal with no backend left: reported once, the stream skipped until a
            // sequence the adapter accepts (as for the capability check's refusals).
            Err(e) if e.kind() == ErrorKind::Unsupported => {
                self.guard.refuse();
                self.emit_error(e, ports)
            }
            Err(e) => self.damaged(e, ports),
            Ok(()) => true,
        }
    }

    /// A damaged access unit: counted and skipped under [`crate::OnError::Skip`], delivered as an
    /// error otherwise (and any error that is not damage is delivered).
    fn damaged(&mut self, e: VideoError, ports: &WorkerPorts<DecodeInput, DecodedFrame>) -> bool {
        let left = match self.summary.lock() {
            Ok(mut s) => self.damage.absorb(e, &mut s),
            Err(_) => Some(e),
        };
        match left {
            Some(e) => self.emit_error(e, ports),
            None => true,
        }
    }

    /// Adds the pictures the adapter concealed since the last look to the summary.
    fn count_concealed(&mut self) {
        let now = self.adapter.concealed_pictures();
        if let Ok(mut s) = self.summary.lock() {
            self.damage.concealed(now, &mut s);
        }
    }

    /// Moves the stream to the next backend that accepts it, replaying from the last IRAP;
    /// with none left, reports `why` once and skips the stream until a sequence the
    /// adapter accepts.
    fn hop(&mut self, why: VideoError, ports: &WorkerPorts<DecodeInput, DecodedFrame>) -> bool {
        let owed = self.guard.owed_before_irap();
        let Some(next) = self.guard.next_adapter(&why) else {
            self.guard.refuse();
            return self.emit_error(why, ports);
        };
        // The old adapter's pictures from before the IRAP; the rest are decoded again.
        let mut frames = Vec::new();
        let _ = self.adapter.flush(&mut frames);
        frames.truncate(owed);
        self.count_conversions(&frames);
        if !self.emit_frames(&mut frames, ports) {
            return false;
        }
        self.count_concealed();
        self.adapter = next.adapter;
        self.fallbacks_seen = self.adapter.conversion_fallbacks();
        self.damage.new_adapter(self.adapter.concealed_pictures());
        if let Ok(mut s) = self.summary.lock() {
            s.origin.backend = Some(next.hop.to);
            s.origin.implementation = self.adapter.implementation();
            s.hops.push(next.hop);
        }
        let mut units = match self.guard.replay() {
            Ok(units) => units,
            Err(e) => {
                if !self.emit_error(e, ports) {
                    return false;
                }
                Vec::new()
            }
        };
        // The new adapter learns every known parameter set with the first replayed picture:
        // a packet of parameter sets alone is an error to some decoders (FFmpeg's "no frame"),
        // and one that surfaces a packet later with frame threads.
        let known = self.sequence.headers();
        match units.iter_mut().find(|au| au.has_picture()) {
            Some(first) if !known.is_empty() => {
                let own = std::mem::take(&mut first.nals);
                first.nals = known.into_iter().chain(own).collect();
            }
            _ => {}
        }
        units.iter().all(|au| self.feed(au, ports))
    }

    fn flush(&mut self, ports: &WorkerPorts<DecodeInput, DecodedFrame>) -> bool {
        let mut units = Vec::new();
        self.end_annexb(&mut units);
        self.chunk_pts.clear();
        if !self.decode_units(units, ports) {
            return false;
        }
        let mut frames = Vec::new();
        let result = self.adapter.flush(&mut frames);
        self.count_conversions(&frames);
        self.count_concealed();
        if !self.emit_frames(&mut frames, ports) {
            return false;
        }
        // Damage an asynchronous adapter finds only now is counted like damage found at
        // `decode` (skipped under `OnError::Skip`); anything else is delivered.
        if let Err(e) = result {
            let delivered = if e.kind() == ErrorKind::Unsupported {
                self.emit_error(e, ports)
            } else {
                self.damaged(e, ports)
            };
            if !delivered {
                return false;
            }
        }
        // Nothing is lost silently: input that produced no picture and no error is an error.
        let nothing = self.frames_since_flush == 0 && self.errors_since_flush == 0;
        if nothing {
            let error = if self.annexb_bytes > 0 && self.aus_since_flush == 0 {
                Some(VideoError::invalid_bitstream(format!(
                    "no {} access unit found in {} bytes of Annex-B input (no start code or no slice)",
                    self.config.codec, self.annexb_bytes
                )))
            } else if self.aus_since_flush > 0 {
                Some(VideoError::invalid_bitstream(format!(
                    "{} access units produced no picture: the input is not a decodable {} stream",
                    self.aus_since_flush, self.config.codec
                )))
            } else {
                None
            };
            if let Some(e) = error
                && !self.emit_error(e, ports)
            {
                return false;
            }
        }
        if !self.account(nothing, ports) {
            return false;
        }
        self.annexb_bytes = 0;
        self.aus_before += self.aus_since_flush;
        self.aus_since_flush = 0;
        self.frames_since_flush = 0;
        self.errors_since_flush = 0;
        self.damage.flushed();
        true
    }

    /// Frames out == pictures in: any difference since the last flush is counted in the
    /// summary and delivered as an error naming how many pictures and which access units.
    /// `reported`: the flush has already reported that nothing came out.
    fn account(&mut self, reported: bool, ports: &WorkerPorts<DecodeInput, DecodedFrame>) -> bool {
        let (pictures, frames) = (self.pictures.pictures(), self.frames_since_flush);
        self.pictures.restart();
        if let Ok(mut s) = self.summary.lock() {
            s.pictures += pictures;
            s.pictures_lost += pictures.saturating_sub(frames);
            s.frames_extra += frames.saturating_sub(pictures);
        }
        // Under OnError::Skip, pictures of skipped damaged units are counted, not an error.
        if pictures == frames
            || reported
            || (frames < pictures && self.damage.explains_lost_pictures())
        {
            return true;
        }
        let (first, last) = (self.aus_before, self.aus_before + self.aus_since_flush);
        let what = if frames < pictures {
            format!("{} pictures lost", pictures - frames)
        } else {
            format!("{} frames more than pictures", frames - pictures)
        };
        // The stream did not yield the pictures it holds: after decode errors, those explain
        // it (damaged input); without one, the decoder dropped them on its own.
        let cause = match self.errors_since_flush + self.damage.since_flush() {
            0 => "with no decode error to explain it".to_owned(),
            n => format!("after {n} decode errors"),
        };
        let e = VideoError::invalid_bitstream(format!(
            "{what}: {} delivered {frames} frames for the {pictures} pictures counted in access \
             units {first}..{last} of the session, {cause}",
            self.adapter.implementation()
        ));
        self.emit_error(e, ports)
    }

    fn emit_error(
        &mut self,
        e: VideoError,
        ports: &WorkerPorts<DecodeInput, DecodedFrame>,
    ) -> bool {
        self.errors_since_flush += 1;
        if let Ok(mut s) = self.summary.lock() {
            s.errors += 1;
        }
        ports.emit(Err(e))
    }

    fn emit_frames(
        &mut self,
        frames: &mut Vec<DecodedFrame>,
        ports: &WorkerPorts<DecodeInput, DecodedFrame>,
    ) -> bool {
        for mut frame in frames.drain(..) {
            let pts = match frame.pts {
                Some(p) => p.rescale(self.config.timebase),
                None => self.next_pts.unwrap_or(Timestamp {
                    ticks: 0,
                    timebase: self.config.timebase,
                }),
            };
            frame.pts = Some(pts);
            if frame.color == ColorDescription::default()
                && let Some(info) = self.sequence.active()
            {
                frame.color = info.color;
            }
            self.next_pts = Some(Timestamp {
                ticks: pts.ticks + self.ticks_per_frame,
                timebase: pts.timebase,
            });
            let frame = match strip_pixels(frame, self.config.output) {
                Ok(f) => f,
                Err(e) => {
                    if !self.emit_error(e, ports) {
                        return false;
                    }
                    continue;
                }
            };
            self.frames_since_flush += 1;
            if let Ok(mut s) = self.summary.lock() {
                s.frames += 1;
                s.last_size = Some(frame.dimensions().to_string());
            }
            if !ports.emit(Ok(frame)) {
                return false;
            }
        }
        true
    }
}

/// Drops the pixels of metadata-only sessions (cheap, so done on the worker).
fn strip_pixels(mut frame: DecodedFrame, output: DecodeOutput) -> Result<DecodedFrame> {
    if output == DecodeOutput::MetadataOnly {
        frame.data = FrameData::MetadataOnly;
    }
    Ok(frame)
}
