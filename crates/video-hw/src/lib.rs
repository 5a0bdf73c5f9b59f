//! # video-hw
//!
//! Hardware video decode and encode behind one API: NVIDIA (NVDEC/NVENC), Apple VideoToolbox
//! and a portable software fallback share one contract.
//!
//! - [`DecodeSession`] / [`EncodeSession`]: `submit` only enqueues, `try_reap` /
//!   `reap_timeout` collect output, `flush` drains. Both run their backend on a worker thread.
//! - [`Backend::Auto`] picks the best backend available at run time and says which
//!   ([`DecodeSession::selection`]).
//! - Every packet states its [`BitstreamLayout`]; every frame its [`PixelFormat`], crop and
//!   [`ColorDescription`].
//! - Errors are [`VideoError`]s with an [`ErrorKind`]; nothing panics on external input.
//!
//! The [`bitstream`] module (Annex-B splitting, access units, SPS parsing, avcC/hvcC) is
//! public for callers that handle streams themselves.

pub mod api;
pub mod backend;
pub mod bitstream;
pub mod container;
pub mod diagnostics;
pub mod metrics;
pub mod pattern;
pub mod pipeline;
mod session;
pub mod transform;

pub use api::codec::{Codec, Dimensions, Rational, Timebase, Timestamp};
pub use api::color::{
    ColorDescription, ColorPrimaries, ColorRange, MatrixCoefficients, TransferCharacteristics,
};
pub use api::config::{
    ConversionPath, DecodeOutput, DecoderConfig, EncoderConfig, FramePlacement, NvidiaOptions,
    OnError, RateControl,
};
pub use api::encode_input::{EncodeInput, PlaneBuffer, RawPlane};
pub use api::error::{ErrorKind, Rejected, Result, VideoError};
pub use api::frame::{CropRect, DecodedFrame, FrameData, GpuApi, GpuSurface, PixelFormat, Plane};
pub use api::gpus::{GpuDecoder, GpuInfo, GpuSelection};
pub use api::packet::{BitstreamLayout, DecodeInput, EncodedChunk};
pub use backend::{Backend, BackendReport, CodecSupport, DecodeCapability, Hop, Selection, probe};
pub use pipeline::{
    ParallelPlan, Parallelism, SegmentedConfig, SegmentedSummary, decode_segmented,
    decode_segmented_from, decode_segmented_notified, decode_segmented_with_metrics,
};
pub use session::{
    DecodePool, DecodeSession, DecodeSummary, EncodeSession, EncodeSummary, GpuLoad, SessionOrigin,
    SessionSwitchRequest, SwitchMode, SwitchStats,
};
