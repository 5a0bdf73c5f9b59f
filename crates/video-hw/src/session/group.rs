//! Decode sessions of one stream opened together under one output plan: the sessions of a
//! segmented decode ([`crate::decode_segmented`]), whose frames wait for their turn after
//! the session.

use super::placement::{self, OutputPlan};
use super::{DecodeSession, spread_over_gpus};
use crate::api::config::{ConversionPath, DecoderConfig, FramePlacement};
use crate::api::error::{Result, VideoError};
use crate::api::frame::{DecodedFrame, FrameData};
use crate::backend::{self, Backend};
use crate::metrics::Metrics;

/// Sessions opened by [`open_group`] and the plans they share (one per GPU).
pub(crate) struct SessionGroup {
    /// The sessions, in the order they were opened.
    pub sessions: Vec<DecodeSession>,
    /// The output plan of each GPU the sessions run on, the first GPU's first.
    plans: Vec<(u32, OutputPlan)>,
}

impl SessionGroup {
    /// How frames become the output asked for.
    pub fn conversion(&self) -> ConversionPath {
        self.plans[0].1.path
    }

    /// `frame` as the caller asked for it: frames waiting in device memory for the GPU
    /// transform are converted here (on the caller's thread, by the transform of the GPU
    /// that holds them); the sessions converted the others already.
    pub fn finish(&self, frame: DecodedFrame) -> Result<DecodedFrame> {
        if self.conversion() != ConversionPath::GpuTransform {
            return Ok(frame);
        }
        let device = match &frame.data {
            FrameData::Gpu(surface) => surface.device,
            _ => self.plans[0].0,
        };
        let plan = self
            .plans
            .iter()
            .find(|(gpu, _)| *gpu == device)
            .map_or(&self.plans[0].1, |(_, plan)| plan);
        plan.finish(frame)
    }
}

/// Opens `count` sessions of `backend` for `config` under one plan per GPU
/// ([`placement::plan`] for a segmented decode), spread over `gpus` by their engines
/// ([`spread_over_gpus`]; empty: `config.gpu` alone): each session converts (its decoder or
/// its CPU transform) unless the frames wait in device memory for the GPU transform of
/// [`SessionGroup::finish`].
pub(crate) fn open_group(
    backend: Backend,
    config: &DecoderConfig,
    count: usize,
    gpus: &[u32],
    metrics: &Metrics,
) -> Result<SessionGroup> {
    config.validate()?;
    let selection = backend::select_decoder(backend, config.codec)?;
    let gpus = if gpus.is_empty() {
        vec![config.gpu]
    } else {
        gpus.to_vec()
    };
    let engines: Vec<usize> = gpus
        .iter()
        .map(|g| backend::decode_engines(selection.backend, config.codec, *g))
        .collect();
    let placed: Vec<u32> = spread_over_gpus(&engines, count.max(1))
        .into_iter()
        .map(|i| gpus[i])
        .collect();
    let mut plans: Vec<(u32, OutputPlan)> = Vec::new();
    for gpu in &placed {
        if !plans.iter().any(|(g, _)| g == gpu) {
            let on_gpu = config.clone().with_gpu(*gpu);
            plans.push((
                *gpu,
                placement::plan(selection.backend, &on_gpu, true, metrics)?,
            ));
        }
    }
    let path = plans[0].1.path;
    if plans.iter().any(|(_, p)| p.path != path) {
        return Err(VideoError::unsupported(format!(
            "the GPUs {gpus:?} would convert the frames by different paths; decode on one GPU"
        )));
    }
    // Opened at once, each on a thread of its own: creating a hardware decoder waits on the
    // driver (tens of milliseconds for NVDEC), and the waits overlap.
    let open_one = |gpu: u32| -> Result<DecodeSession> {
        let plan = &plans.iter().find(|(g, _)| *g == gpu).unwrap_or(&plans[0]).1;
        let mut session_config = config
            .clone()
            .with_gpu(gpu)
            .with_placement(FramePlacement::Host);
        session_config.output = plan.adapter_output;
        let session_plan = placement::plan(selection.backend, &session_config, false, metrics)?;
        let chain = backend::decoder_chain(backend, selection.backend, &session_config)?;
        DecodeSession::open(
            selection.clone(),
            session_config,
            session_plan,
            metrics.clone(),
            chain,
        )
    };
    let opened: Vec<Result<DecodeSession>> = std::thread::scope(|s| {
        let handles: Vec<_> = placed[1..]
            .iter()
            .map(|gpu| s.spawn(move || open_one(*gpu)))
            .collect();
        let first = open_one(placed[0]);
        std::iter::once(first)
            .chain(handles.into_iter().map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(VideoError::backend("opening a decode session panicked"))
                })
            }))
            .collect()
    });
    let sessions = opened.into_iter().collect::<Result<Vec<_>>>()?;
    Ok(SessionGroup { sessions, plans })
}
