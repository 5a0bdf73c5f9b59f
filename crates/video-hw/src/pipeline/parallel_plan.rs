//! How one stream is shared among sessions ([`ParallelPlan`]): how many, cut where, and how
//! many frames each may hold. [`Parallelism::Auto`] sizes it from the backend's engines
//! ([`crate::backend::decode_engines`]), the stream's IDR pictures, its length and the memory
//! the waiting frames take; the plan runs through [`crate::decode_segmented`].

use super::SegmentedConfig;
use crate::api::codec::Codec;
use crate::api::config::{DecodeOutput, DecoderConfig};
use crate::api::error::{Result, VideoError};
use crate::api::frame::PixelFormat;
use crate::backend::{self, Backend};
use crate::bitstream::{self, AccessUnit, Segment, nal};

/// How many sessions decode one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Parallelism {
    /// As many as help: one per engine of the backend, fewer for a short stream, few IDR
    /// pictures or large frames ([`ParallelPlan::new`] says why).
    #[default]
    Auto,
    /// Exactly this many (1: one session, no cut).
    Sessions(usize),
}

impl std::str::FromStr for Parallelism {
    type Err = VideoError;

    fn from_str(s: &str) -> Result<Self> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(Self::Auto);
        }
        match s.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(Self::Sessions(n)),
            _ => Err(VideoError::invalid_input(format!(
                "parallelism must be `auto` or a number of sessions of at least 1, not `{s}`"
            ))),
        }
    }
}

impl std::fmt::Display for Parallelism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Sessions(n) => write!(f, "{n}"),
        }
    }
}

/// The largest stream [`Parallelism::Auto`] reads whole into memory to share it; a longer
/// one is decoded by one session as it is read.
pub const AUTO_MAX_STREAM_BYTES: u64 = 1 << 30;

/// Frames that wait for their turn under [`Parallelism::Auto`] take at most this many bytes
/// (all sessions together): sessions are fewer where a piece of the stream holds more.
pub const AUTO_MEMORY_BUDGET: u64 = 4 << 30;

/// Under [`Parallelism::Auto`], each session gets at least this many frames: fewer would
/// spend more on opening and closing the session than its engine gives back.
pub const AUTO_MIN_FRAMES_PER_SESSION: usize = 60;

/// Shortest piece of the stream, in access units, whatever the parallelism.
const MIN_SEGMENT: usize = 30;

/// A stream cut for several sessions, and how many.
#[derive(Debug, Clone)]
pub struct ParallelPlan {
    /// The stream cut at IDR pictures, and HEVC CRA pictures (each piece decodes on its own).
    pub segments: Vec<Segment>,
    /// The sessions' configuration, with an output queue deep enough for a whole piece.
    pub config: DecoderConfig,
    /// Sessions, and frames a session ahead of the caller holds (its whole piece, so that
    /// sessions never wait for each other).
    pub segmented: SegmentedConfig,
    /// Why this many sessions.
    pub reason: String,
}

impl ParallelPlan {
    /// Whether a decode of a stream of `stream_bytes` (`None`: not known, such as a pipe)
    /// under `parallelism` on `backend` should read the stream whole and plan it: `false`
    /// where the plan could only say one session (one engine, or under `Auto` the share of
    /// the engines left to it while other sessions are open), so that the stream is decoded
    /// as it is read.
    pub fn worth_planning(
        parallelism: Parallelism,
        backend: Backend,
        codec: Codec,
        stream_bytes: Option<u64>,
    ) -> bool {
        if !matches!(codec, Codec::H264 | Codec::Hevc) {
            return false;
        }
        match parallelism {
            Parallelism::Sessions(n) => n > 1,
            Parallelism::Auto => {
                let (concrete, engines) = engines_for(backend, codec, &[0]);
                let users = crate::session::open_decode_sessions(concrete);
                stream_bytes.is_some_and(|b| b <= AUTO_MAX_STREAM_BYTES)
                    && engine_share(engines, users) > 1
            }
        }
    }

    /// Plans the decode of `units` (a whole H.264 or HEVC stream, in order) under
    /// `parallelism` on `backend` with `config`.
    ///
    /// [`Parallelism::Auto`] takes the smallest of: the backend's engines for the codec; the
    /// frames over [`AUTO_MIN_FRAMES_PER_SESSION`]; the decode work (in 1080p frames) over
    /// what one more session costs ([`backend::decode_session_cost`]); the pieces the stream can be cut into at
    /// random-access pictures (IDR; HEVC CRA: [`bitstream::split_at_random_access`]; each at least
    /// a quarter of an even share, and 30 access units); and the
    /// sessions whose waiting frames (each holds its longest piece) fit in
    /// [`AUTO_MEMORY_BUDGET`]. An explicit number is taken as given, limited only by the
    /// pieces. Memory: a session ahead of the caller holds up to a whole piece of frames.
    pub fn new(
        backend: Backend,
        config: DecoderConfig,
        units: &[AccessUnit],
        parallelism: Parallelism,
    ) -> Self {
        Self::on_gpus(backend, config, units, parallelism, &[])
    }

    /// As [`ParallelPlan::new`], with the sessions spread over `gpus` (empty: `config.gpu`
    /// alone): [`Parallelism::Auto`] counts the engines of every GPU listed, and the plan's
    /// [`SegmentedConfig::gpus`] places the sessions by their engines. Resolve a
    /// [`crate::GpuSelection`] with [`backend::resolve_gpus`].
    pub fn on_gpus(
        backend: Backend,
        mut config: DecoderConfig,
        units: &[AccessUnit],
        parallelism: Parallelism,
        gpus: &[u32],
    ) -> Self {
        let codec = config.codec;
        let frames = units.len();
        let gpus = if gpus.is_empty() {
            vec![config.gpu]
        } else {
            gpus.to_vec()
        };
        // The backend a session will run on, and its engines on every GPU: asked once.
        let (concrete, engines) = engines_for(backend, codec, &gpus);
        let (wanted, reason) = match parallelism {
            Parallelism::Sessions(n) => (n.max(1), format!("{n} session(s) asked for")),
            Parallelism::Auto => {
                let by_length = (frames / AUTO_MIN_FRAMES_PER_SESSION).max(1);
                // Decode work in 1080p frames, against what one more session costs.
                let (w, h, _) = picture(units, codec);
                let work = frames as u64 * w * h / (1920 * 1080);
                let cost = u64::from(backend::decode_session_cost(concrete, codec)).max(1);
                let by_work = usize::try_from(work / cost).unwrap_or(usize::MAX).max(1);
                if by_length.min(by_work) < engines {
                    let n = by_length.min(by_work);
                    (
                        n,
                        format!(
                            "auto: {engines} engine(s), but {frames} frames of {w}x{h} are worth {n} session(s) (each opened and closed costs about {cost} 1080p {codec} frames of decoding; at least {AUTO_MIN_FRAMES_PER_SESSION} frames each)"
                        ),
                    )
                } else {
                    let on = if gpus.len() > 1 {
                        format!(" on {} GPUs", gpus.len())
                    } else {
                        String::new()
                    };
                    (
                        engines,
                        format!("auto: {engines} engine(s) for {codec}{on}"),
                    )
                }
            }
        };
        let (wanted, mut reason) = match parallelism {
            Parallelism::Auto => {
                let users = crate::session::open_decode_sessions(concrete);
                let share = engine_share(engines, users);
                if share < wanted {
                    (
                        share,
                        format!(
                            "{reason}; {users} session(s) open on {concrete} share its engines: {share} for this decode"
                        ),
                    )
                } else {
                    (wanted, reason)
                }
            }
            Parallelism::Sessions(_) => (wanted, reason),
        };
        let min = (frames / (4 * wanted)).max(MIN_SEGMENT);
        let segments = if wanted > 1 {
            bitstream::split_at_random_access(codec, units, min)
        } else {
            Vec::new()
        };
        let mut sessions = wanted.min(segments.len()).max(1);
        if wanted > 1 && sessions < wanted {
            reason = format!(
                "{reason}; the stream cuts into {} piece(s) at IDR pictures",
                segments.len()
            );
        }
        let longest = segments.iter().map(|s| s.access_units).max().unwrap_or(1);
        if parallelism == Parallelism::Auto && sessions > 1 {
            // On a backend whose GPU transform converts each frame when its turn comes
            // (NVIDIA), the frames wait decoded, not converted; asked for converted device
            // frames, they wait converted.
            let converts_late = concrete == Backend::Nvidia
                && !matches!(config.output, DecodeOutput::GpuConverted(_));
            let bytes = frame_bytes(units, &config, converts_late);
            let fit = (AUTO_MEMORY_BUDGET / (longest as u64 * bytes).max(1)).max(1) as usize;
            if fit < sessions {
                sessions = fit;
                reason = format!(
                    "{reason}; {longest} waiting frames of {bytes} bytes per session fit {fit} session(s) in {} MiB",
                    AUTO_MEMORY_BUDGET >> 20
                );
            }
        }
        let segments = if sessions > 1 {
            segments
        } else {
            bitstream::split_at_random_access(codec, units, usize::MAX)
        };
        let mut segmented = SegmentedConfig::new(sessions);
        segmented.gpus = gpus;
        segmented.frames_ahead = segments.iter().map(|s| s.access_units).max().unwrap_or(1);
        config.output_queue = config.output_queue.max(segmented.frames_ahead);
        Self {
            segments,
            config,
            segmented,
            reason,
        }
    }

    /// Sessions the plan runs.
    pub fn sessions(&self) -> usize {
        self.segmented.sessions
    }
}

/// The sessions one automatic plan takes of `engines` engines while `users` sessions are
/// open on the backend (each, presumably, a decode of its own): all of them for one user or
/// none, else a fair share, at least one. One session per engine, not more: on the H200,
/// seven Python decoders of two sessions each (a plan of its own per file, sessions created
/// and closed per pass) decoded 1080p H.264 at 2414 fps and HEVC at 2970, against 3252 and
/// 4640 with one session each (docs/performance.md).
fn engine_share(engines: usize, users: usize) -> usize {
    if users <= 1 {
        return engines;
    }
    (engines / users).clamp(1, engines)
}

/// The backend `backend` picks for `codec` and its engines on `gpus` together (1 when none
/// can decode it). Backends without a choice of GPU count their engines once.
fn engines_for(backend: Backend, codec: Codec, gpus: &[u32]) -> (Backend, usize) {
    match backend::select_decoder(backend, codec) {
        Ok(selection) if selection.backend == Backend::Nvidia => (
            selection.backend,
            gpus.iter()
                .map(|g| backend::decode_engines(selection.backend, codec, *g))
                .sum::<usize>()
                .max(1),
        ),
        Ok(selection) => (
            selection.backend,
            backend::decode_engines(selection.backend, codec, 0),
        ),
        Err(_) => (backend, 1),
    }
}

/// Coded width, height and luma bit depth of `units` (from the first sequence parameter
/// set; 1080p 8-bit when there is none).
fn picture(units: &[AccessUnit], codec: Codec) -> (u64, u64, u8) {
    let info = units
        .iter()
        .flat_map(|au| au.nals.iter())
        .find_map(|n| sps_info(codec, n));
    info.map_or((1920, 1080, 8), |i| {
        (
            u64::from(i.coded.width()),
            u64::from(i.coded.height()),
            i.bit_depth_luma,
        )
    })
}

/// Bytes of one decoded frame of `units` as `config` asks for it (as decoded when
/// `as_decoded`: 4:2:0).
fn frame_bytes(units: &[AccessUnit], config: &DecoderConfig, as_decoded: bool) -> u64 {
    let (w, h, depth) = picture(units, config.codec);
    let sample = if depth > 8 { 2 } else { 1 };
    let per_pixel_x2 = match config.output {
        _ if as_decoded => 3 * sample,
        DecodeOutput::Cpu(PixelFormat::Rgb24) | DecodeOutput::GpuConverted(PixelFormat::Rgb24) => 6,
        DecodeOutput::Cpu(PixelFormat::Rgba | PixelFormat::Bgra | PixelFormat::Argb)
        | DecodeOutput::GpuConverted(_) => 8,
        _ => 3 * sample,
    };
    w * h * per_pixel_x2 / 2
}

/// What `nal` says of the pictures when it is a sequence parameter set.
fn sps_info(codec: Codec, n: &[u8]) -> Option<bitstream::StreamInfo> {
    match (codec, nal::nal_type(codec, n)?) {
        (Codec::H264, nal::h264_type::SPS) => bitstream::parse_h264_sps(n).ok(),
        (Codec::Hevc, nal::hevc_type::SPS) => bitstream::parse_hevc_sps(n).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(any(feature = "sw-openh264", feature = "sw-ffmpeg"))]
    fn auto_does_not_read_a_stream_to_plan_one_session_among_open_ones() {
        let engines = backend::decode_engines(Backend::Software, Codec::H264, 0);
        // As many open software sessions as engines: each further decode gets one.
        let open: Vec<_> = (0..engines)
            .map(|_| {
                crate::DecodeSession::new(Backend::Software, DecoderConfig::new(Codec::H264))
                    .expect("software session")
            })
            .collect();
        assert!(
            !ParallelPlan::worth_planning(
                Parallelism::Auto,
                Backend::Software,
                Codec::H264,
                Some(1 << 20)
            ),
            "{engines} engine(s), {} session(s) open",
            crate::session::open_decode_sessions(Backend::Software)
        );
        // Asked for explicitly, the sessions are planned whatever is open.
        assert!(ParallelPlan::worth_planning(
            Parallelism::Sessions(2),
            Backend::Software,
            Codec::H264,
            Some(1 << 20)
        ));
        drop(open);
    }

    #[test]
    fn concurrent_decodes_share_the_engines_fairly() {
        // Alone (or only the caller's own session open): every engine.
        assert_eq!(engine_share(7, 0), 7);
        assert_eq!(engine_share(7, 1), 7);
        // Two decoders on seven NVDEC engines: three sessions each.
        assert_eq!(engine_share(7, 2), 3);
        // Seven decoders: one session each, as many as the engines.
        assert_eq!(engine_share(7, 7), 1);
        // More decoders than engines: one each, never none.
        assert_eq!(engine_share(7, 30), 1);
        assert_eq!(engine_share(2, 3), 1);
    }

    #[test]
    fn parallelism_reads_auto_and_counts() {
        assert_eq!("auto".parse::<Parallelism>().unwrap(), Parallelism::Auto);
        assert_eq!("AUTO".parse::<Parallelism>().unwrap(), Parallelism::Auto);
        assert_eq!(
            "4".parse::<Parallelism>().unwrap(),
            Parallelism::Sessions(4)
        );
        assert!("0".parse::<Parallelism>().is_err());
        assert!("many".parse::<Parallelism>().is_err());
        assert_eq!(Parallelism::Sessions(3).to_string(), "3");
        assert_eq!(Parallelism::default(), Parallelism::Auto);
    }

    #[test]
    fn one_session_asked_for_is_not_worth_planning() {
        assert!(!ParallelPlan::worth_planning(
            Parallelism::Sessions(1),
            Backend::Software,
            Codec::H264,
            Some(1000)
        ));
        assert!(ParallelPlan::worth_planning(
            Parallelism::Sessions(2),
            Backend::Software,
            Codec::H264,
            None
        ));
    }

    #[test]
    fn auto_reads_neither_pipes_nor_very_long_streams() {
        for bytes in [None, Some(AUTO_MAX_STREAM_BYTES + 1)] {
            assert!(!ParallelPlan::worth_planning(
                Parallelism::Auto,
                Backend::Software,
                Codec::H264,
                bytes
            ));
        }
    }

    // The SPS and PPS of the conformance stream BA_MW_D.264 (176x144), and slice heads.
    const SPS: &[u8] = &[0x67, 0x42, 0xe0, 0x0a, 0x96, 0x52, 0x85, 0x89, 0xc8];
    const PPS: &[u8] = &[0x68, 0xc9, 0x23, 0x88];
    const IDR: &[u8] = &[0x65, 0x88, 0x80, 0x40, 0x01, 0x5c];
    const P: &[u8] = &[0x21, 0x9a, 0x02, 0x05, 0x82, 0xa5];

    /// `gops` GOPs of `len` access units, each starting with an IDR picture.
    fn stream(gops: usize, len: usize) -> Vec<AccessUnit> {
        (0..gops * len)
            .map(|i| {
                let nals: Vec<Vec<u8>> = if i % len == 0 {
                    vec![SPS.to_vec(), PPS.to_vec(), IDR.to_vec()]
                } else {
                    vec![P.to_vec()]
                };
                AccessUnit::from_nals(Codec::H264, nals, None)
            })
            .collect()
    }

    #[test]
    fn a_count_asked_for_is_taken_and_each_session_holds_its_longest_piece() {
        let units = stream(8, 40);
        let config = DecoderConfig::new(Codec::H264);
        let plan = ParallelPlan::new(Backend::Software, config, &units, Parallelism::Sessions(3));
        assert_eq!(plan.sessions(), 3);
        assert!(plan.segments.len() >= 3, "{}", plan.segments.len());
        let longest = plan.segments.iter().map(|s| s.access_units).max().unwrap();
        assert_eq!(plan.segmented.frames_ahead, longest);
        assert!(plan.config.output_queue >= longest);
        assert_eq!(
            plan.segments.iter().map(|s| s.access_units).sum::<usize>(),
            units.len()
        );
    }

    #[test]
    fn more_sessions_than_pieces_are_not_opened() {
        let units = stream(2, 40);
        let config = DecoderConfig::new(Codec::H264);
        let plan = ParallelPlan::new(Backend::Software, config, &units, Parallelism::Sessions(6));
        assert_eq!(plan.sessions(), 2);
        assert!(plan.reason.contains("2 piece(s)"), "{}", plan.reason);
    }

    #[test]
    fn auto_gives_a_short_stream_one_session_and_one_piece() {
        // 50 frames: fewer than two sessions' worth, whatever the engines.
        let units = stream(5, 10);
        let config = DecoderConfig::new(Codec::H264);
        let plan = ParallelPlan::new(Backend::Software, config, &units, Parallelism::Auto);
        assert_eq!(plan.sessions(), 1, "{}", plan.reason);
        assert_eq!(plan.segments.len(), 1);
        assert_eq!(plan.segments[0].access_units, 50);
    }

    #[test]
    fn only_h264_and_hevc_are_cut() {
        assert!(!ParallelPlan::worth_planning(
            Parallelism::Sessions(4),
            Backend::Software,
            Codec::Vp9,
            Some(1000)
        ));
    }
}
