//! Decode sessions of one stream opened together under one output plan: the sessions of a
//! segmented decode ([`crate::decode_segmented`]), whose frames wait for their turn after
//! the session.

use super::placement::{self, OutputPlan};
use super::{DecodeSession, spread_over_gpus};
use crate::api::config::{ConversionPath, DecoderConfig, FramePlacement};
use crate::api::error::{Result, VideoError};
use crate::api::frame::{DecodedFrame, FrameData};
use crate::backend::{self, Backend, Selection};
use crate::metrics::Metrics;

/// The sessions of one stream under one output plan per GPU ([`open_group`]): the first one
/// open, the others opened by [`SessionGroup::open_session`] (on the threads of the run, so
/// that the first decodes meanwhile).
pub(crate) struct SessionGroup {
    /// The first session (taken by the run).
    pub first: Option<DecodeSession>,
    /// The GPU of every session, the first one's first.
    pub gpus: Vec<u32>,
    /// The output plan of each GPU the sessions run on, the first GPU's first.
    plans: Vec<(u32, OutputPlan)>,
    backend: Backend,
    selection: Selection,
    config: DecoderConfig,
    metrics: Metrics,
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
        plan_of(&self.plans, device).finish(frame)
    }

    /// The configuration and output plan of a session of the group on `gpu`: its decoder or
    /// its CPU transform converts, unless the frames wait in device memory for the GPU
    /// transform of [`SessionGroup::finish`].
    fn session_plan(&self, gpu: u32) -> Result<(DecoderConfig, OutputPlan)> {
        let mut session_config = self
            .config
            .clone()
            .with_gpu(gpu)
            .with_placement(FramePlacement::Host);
        session_config.output = plan_of(&self.plans, gpu).adapter_output;
        let plan = placement::plan(
            self.selection.backend,
            &session_config,
            false,
            &self.metrics,
        )?;
        Ok((session_config, plan))
    }

    /// Opens a session of the group on `gpu`.
    pub fn open_session(&self, gpu: u32) -> Result<DecodeSession> {
        let (session_config, session_plan) = self.session_plan(gpu)?;
        let chain = backend::decoder_chain(self.backend, self.selection.backend, &session_config)?;
        DecodeSession::open(
            self.selection.clone(),
            session_config,
            session_plan,
            self.metrics.clone(),
            chain,
        )
    }

    /// Whether `lent` gives the frames a session of the group on `gpu` gives: same backend,
    /// GPU, codec, error policy, parameter sets, adapter output and conversion.
    fn takes(&self, lent: &DecodeSession, gpu: u32) -> Result<bool> {
        let (want, plan) = self.session_plan(gpu)?;
        let have = lent.adapter_config();
        Ok(lent.backend() == self.selection.backend
            && lent.gpu() == gpu
            && have.codec == want.codec
            && have.on_error == want.on_error
            && have.parameter_sets == want.parameter_sets
            && have.nvidia == want.nvidia
            && lent.output_plan().is_some_and(|p| p.same_output(&plan)))
    }
}

/// The plan of `gpu` in `plans` (the first one's when it has none).
fn plan_of(plans: &[(u32, OutputPlan)], gpu: u32) -> &OutputPlan {
    plans
        .iter()
        .find(|(g, _)| *g == gpu)
        .map_or(&plans[0].1, |(_, plan)| plan)
}

/// Plans `count` sessions of `backend` for `config` under one output plan per GPU
/// ([`placement::plan`] for a segmented decode), spread over `gpus` by their engines
/// ([`spread_over_gpus`]; empty: `config.gpu` alone), and opens the first, or takes `lent`
/// as the first when it gives the same frames (an idle session, such as one opened to
/// read the stream from its start; otherwise it is closed).
pub(crate) fn open_group(
    backend: Backend,
    config: &DecoderConfig,
    count: usize,
    gpus: &[u32],
    metrics: &Metrics,
    lent: Option<DecodeSession>,
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
    let mut group = SessionGroup {
        first: None,
        gpus: placed,
        plans,
        backend,
        selection,
        config: config.clone(),
        metrics: metrics.clone(),
    };
    let gpu = group.gpus[0];
    let first = match lent {
        Some(s) if group.takes(&s, gpu)? => s,
        _ => group.open_session(gpu)?,
    };
    group.first = Some(first);
    Ok(group)
}
