//! Decode sessions of one stream opened together under one output plan: the sessions of a
//! segmented decode ([`crate::decode_segmented`]), whose frames wait for their turn after
//! the session.

use super::DecodeSession;
use super::placement::{self, OutputPlan};
use crate::api::config::{ConversionPath, DecoderConfig, FramePlacement};
use crate::api::error::{Result, VideoError};
use crate::api::frame::DecodedFrame;
use crate::backend::{self, Backend};
use crate::metrics::Metrics;

/// Sessions opened by [`open_group`] and the plan they share.
pub(crate) struct SessionGroup {
    /// The sessions, in the order they were opened.
    pub sessions: Vec<DecodeSession>,
    plan: OutputPlan,
}

impl SessionGroup {
    /// How frames become the output asked for.
    pub fn conversion(&self) -> ConversionPath {
        self.plan.path
    }

    /// `frame` as the caller asked for it: frames waiting in device memory for the GPU
    /// transform are converted here (on the caller's thread); the sessions converted the
    /// others already.
    pub fn finish(&self, frame: DecodedFrame) -> Result<DecodedFrame> {
        if self.plan.path == ConversionPath::GpuTransform {
            self.plan.finish(frame)
        } else {
            Ok(frame)
        }
    }
}

/// Opens `count` sessions of `backend` for `config` under one plan ([`placement::plan`] for a
/// segmented decode): each session converts (its decoder or its CPU transform) unless the
/// frames wait in device memory for the GPU transform of [`SessionGroup::finish`].
pub(crate) fn open_group(
    backend: Backend,
    config: &DecoderConfig,
    count: usize,
    metrics: &Metrics,
) -> Result<SessionGroup> {
    config.validate()?;
    let selection = backend::select_decoder(backend, config.codec)?;
    let plan = placement::plan(selection.backend, config, true, metrics)?;
    let mut session_config = config.clone().with_placement(FramePlacement::Host);
    session_config.output = plan.adapter_output;
    // Opened at once, each on a thread of its own: creating a hardware decoder waits on the
    // driver (tens of milliseconds for NVDEC), and the waits overlap.
    let open_one = || -> Result<DecodeSession> {
        let session_plan = placement::plan(selection.backend, &session_config, false, metrics)?;
        let chain = backend::decoder_chain(backend, selection.backend, &session_config)?;
        DecodeSession::open(
            selection.clone(),
            session_config.clone(),
            session_plan,
            metrics.clone(),
            chain,
        )
    };
    let opened: Vec<Result<DecodeSession>> = std::thread::scope(|s| {
        let handles: Vec<_> = (1..count.max(1)).map(|_| s.spawn(open_one)).collect();
        let first = open_one();
        std::iter::once(first)
            .chain(handles.into_iter().map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(VideoError::backend("opening a decode session panicked"))
                })
            }))
            .collect()
    });
    let sessions = opened.into_iter().collect::<Result<Vec<_>>>()?;
    Ok(SessionGroup { sessions, plan })
}
