//! `EncodeSession`: raw pictures in, encoded access units out, on any backend.

use super::worker::{Command, WorkerHandle, WorkerPorts};
use crate::api::codec::{Codec, Timestamp};
use crate::api::config::EncoderConfig;
use crate::api::error::{Rejected, Result, VideoError};
use crate::api::packet::EncodedChunk;
use crate::api::raw::EncodeInput;
use crate::backend::{self, Backend, BackendReport, EncoderBackend, Selection};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What an encode session has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EncodeSummary {
    /// The backend serving the session.
    pub backend: Option<Backend>,
    /// Why that backend was chosen.
    pub selection: String,
    /// The implementation inside the backend (e.g. `openh264`).
    pub implementation: String,
    /// The codec.
    pub codec: Option<Codec>,
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
    worker: WorkerHandle<EncodeInput, EncodedChunk>,
    selection: Selection,
    config: EncoderConfig,
    summary: Arc<Mutex<EncodeSummary>>,
}

impl EncodeSession {
    /// Opens an encoder on `backend` (`Backend::Auto` picks the best available one).
    pub fn new(backend: Backend, config: EncoderConfig) -> Result<Self> {
        config.validate()?;
        let (selection, factory) = backend::encoder_factory(backend, &config)?;
        let summary = Arc::new(Mutex::new(EncodeSummary {
            backend: Some(selection.backend),
            selection: selection.reason.clone(),
            codec: Some(config.codec),
            ..Default::default()
        }));
        let shared = summary.clone();
        let worker_config = config.clone();
        let worker = WorkerHandle::spawn(
            "video-hw-encode",
            config.max_in_flight,
            config.output_queue,
            config.submit_timeout,
            move |ports, ready| {
                let adapter = match factory() {
                    Ok(a) => a,
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                if let Ok(mut s) = shared.lock() {
                    s.implementation = adapter.implementation();
                }
                let _ = ready.send(Ok(()));
                EncodeWorker {
                    ticks_per_frame: worker_config.timebase.ticks_per_frame(worker_config.fps),
                    config: worker_config,
                    adapter,
                    summary: shared,
                    next_pts: 0,
                }
                .run(ports);
            },
        )?;
        Ok(Self {
            worker,
            selection,
            config,
            summary,
        })
    }

    /// What `backend` can encode here, probed at run time.
    pub fn capabilities(backend: Backend) -> BackendReport {
        backend::probe_one(backend)
    }

    /// The backend serving this session.
    pub fn backend(&self) -> Backend {
        self.selection.backend
    }

    /// Which backend was picked and why.
    pub fn selection(&self) -> &Selection {
        &self.selection
    }

    /// The configuration in force.
    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    /// Enqueues a picture, waiting at most the configured submit timeout for a credit. A
    /// picture of the wrong size comes back at once as `InvalidInput`; on backpressure it
    /// comes back as `Backpressure`: reap, then submit it again.
    pub fn submit(&mut self, input: EncodeInput) -> std::result::Result<(), Rejected<EncodeInput>> {
        let input = self.check(input)?;
        self.worker.submit(input)?;
        self.count_input();
        Ok(())
    }

    /// Enqueues a picture only if a credit is free now; never waits.
    pub fn try_submit(
        &mut self,
        input: EncodeInput,
    ) -> std::result::Result<(), Rejected<EncodeInput>> {
        let input = self.check(input)?;
        self.worker.try_submit(input)?;
        self.count_input();
        Ok(())
    }

    fn check(&self, input: EncodeInput) -> std::result::Result<EncodeInput, Rejected<EncodeInput>> {
        if input.dimensions() != self.config.dimensions {
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

    /// Flushes and returns every remaining chunk (an error ends the collection).
    pub fn drain(&mut self) -> Result<Vec<EncodedChunk>> {
        self.flush()?;
        let mut out = Vec::new();
        while let Some(c) = self.try_reap()? {
            out.push(c);
        }
        Ok(out)
    }

    /// Counters so far.
    pub fn summary(&self) -> EncodeSummary {
        self.summary.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

struct EncodeWorker {
    config: EncoderConfig,
    adapter: Box<dyn EncoderBackend>,
    summary: Arc<Mutex<EncodeSummary>>,
    next_pts: i64,
    ticks_per_frame: i64,
}

impl EncodeWorker {
    fn run(mut self, ports: WorkerPorts<EncodeInput, EncodedChunk>) {
        let mut chunks = Vec::new();
        while let Ok(cmd) = ports.commands.recv() {
            let (result, flushing) = match cmd {
                Command::Work(mut input) => {
                    let pts = match input.pts {
                        Some(p) => p.rescale(self.config.timebase),
                        None => Timestamp {
                            ticks: self.next_pts,
                            timebase: self.config.timebase,
                        },
                    };
                    input.pts = Some(pts);
                    self.next_pts = pts.ticks + self.ticks_per_frame;
                    (self.adapter.encode(&input, &mut chunks), false)
                }
                Command::Flush => (self.adapter.flush(&mut chunks), true),
            };
            for mut chunk in chunks.drain(..) {
                if chunk.dts.is_none() {
                    chunk.dts = chunk.pts;
                }
                if let Ok(mut s) = self.summary.lock() {
                    s.chunks_out += 1;
                    s.keyframes += u64::from(chunk.keyframe);
                    s.bytes_out += chunk.data.len() as u64;
                }
                if !ports.emit(Ok(chunk)) {
                    return;
                }
            }
            if let Err(e) = result {
                if let Ok(mut s) = self.summary.lock() {
                    s.errors += 1;
                }
                if !ports.emit(Err(e)) {
                    return;
                }
            }
            if flushing && !ports.flushed() {
                return;
            }
        }
    }
}
