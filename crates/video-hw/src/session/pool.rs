//! [`DecodePool`]: decode sessions handed out over the GPUs of a host, each on the GPU with
//! the most free decode engines.

use super::DecodeSession;
use crate::api::codec::Codec;
use crate::api::config::DecoderConfig;
use crate::api::error::{ErrorKind, Result, VideoError};
use crate::api::gpus::GpuSelection;
use crate::backend::{self, Backend};
use crate::metrics::Metrics;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Hands out decode sessions over several GPUs: each [`DecodePool::open`] puts the session on
/// the GPU of the pool with the most free decode engines (its engines for the codec, from the
/// driver, less the sessions of the pool open there), so that N sessions spread over every
/// engine of every GPU. A session gives its place back when it is dropped. On backends
/// without a choice of GPU (software, VideoToolbox) the pool is one "GPU" and simply opens
/// sessions.
///
/// A GPU is lost to the pool when one of its sessions reports `DeviceLost` (from a reap or a
/// flush), when opening a session there fails with `DeviceLost`, or when the caller says so
/// ([`DecodePool::retire`]): no new session goes there, and [`DecodePool::loads`] says so.
/// Sessions already open on it are the caller's to close.
///
/// ```no_run
/// use video_hw::{Backend, Codec, DecodePool, DecoderConfig, GpuSelection};
/// let pool = DecodePool::new(Backend::Auto, &GpuSelection::All)?;
/// let sessions: Vec<_> = (0..14)
///     .map(|_| pool.open(DecoderConfig::new(Codec::H264)))
///     .collect::<video_hw::Result<_>>()?;
/// for load in pool.loads(Codec::H264) {
///     println!("GPU {}: {} sessions on {} engines", load.gpu, load.sessions, load.engines);
/// }
/// # drop(sessions);
/// # Ok::<(), video_hw::VideoError>(())
/// ```
pub struct DecodePool {
    backend: Backend,
    slots: Vec<Arc<GpuSlot>>,
}

/// One GPU of a pool: its number and the sessions of the pool open on it.
#[derive(Debug)]
struct GpuSlot {
    gpu: u32,
    open: AtomicUsize,
    /// No new session goes here (a session reported `DeviceLost`, or the caller retired it).
    lost: AtomicBool,
}

/// What one GPU of a pool holds ([`DecodePool::loads`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GpuLoad {
    /// The GPU (`DecoderConfig::gpu`).
    pub gpu: u32,
    /// Sessions of the pool open on it.
    pub sessions: usize,
    /// Its decode engines for the codec asked about.
    pub engines: usize,
    /// Lost to the pool: no new session goes there ([`DecodePool::retire`]).
    pub lost: bool,
}

/// A place taken in a pool, given back when the session holding it is dropped.
#[derive(Debug)]
pub(crate) struct PoolPlace(Arc<GpuSlot>);

impl PoolPlace {
    /// Its GPU was lost: no new session of the pool goes there.
    pub(crate) fn lost(&self) {
        if !self.0.lost.swap(true, Ordering::AcqRel) {
            log::warn!(
                "GPU {} reported a lost device: the pool places no new session there",
                self.0.gpu
            );
        }
    }
}

impl Drop for PoolPlace {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl DecodePool {
    /// A pool over the GPUs of `gpus` for sessions on `backend`; `Unsupported` naming the
    /// GPUs there are when one listed does not exist ([`backend::resolve_gpus`]).
    pub fn new(backend: Backend, gpus: &GpuSelection) -> Result<Self> {
        let slots = backend::resolve_gpus(backend, gpus)?
            .into_iter()
            .map(|gpu| {
                Arc::new(GpuSlot {
                    gpu,
                    open: AtomicUsize::new(0),
                    lost: AtomicBool::new(false),
                })
            })
            .collect();
        Ok(Self { backend, slots })
    }

    /// The pool's GPUs, in the order given.
    pub fn gpus(&self) -> Vec<u32> {
        self.slots.iter().map(|s| s.gpu).collect()
    }

    /// The backend its sessions are opened on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Sessions open and engines for `codec`, per GPU.
    pub fn loads(&self, codec: Codec) -> Vec<GpuLoad> {
        let concrete = concrete(self.backend, codec);
        self.slots
            .iter()
            .map(|s| GpuLoad {
                gpu: s.gpu,
                sessions: s.open.load(Ordering::Acquire),
                engines: backend::decode_engines(concrete, codec, s.gpu),
                lost: s.lost.load(Ordering::Acquire),
            })
            .collect()
    }

    /// Places no new session on `gpu` (after a failure the caller saw, such as `DeviceLost`
    /// from a session of its own); sessions open there go on.
    pub fn retire(&self, gpu: u32) {
        for s in self.slots.iter().filter(|s| s.gpu == gpu) {
            s.lost.store(true, Ordering::Release);
        }
    }

    /// Opens a session for `config` on the GPU with the most free engines for its codec
    /// (`config.gpu` is set to it; see [`DecodeSession::gpu`]). When every engine is taken,
    /// the GPU with the fewest sessions per engine. A GPU where opening fails with
    /// `DeviceLost` is lost to the pool and the next one is tried; `DeviceLost` when every GPU
    /// of the pool is lost.
    pub fn open(&self, config: DecoderConfig) -> Result<DecodeSession> {
        self.open_with_metrics(config, Metrics::new())
    }

    /// As [`DecodePool::open`], counting conversions in `metrics`.
    pub fn open_with_metrics(
        &self,
        mut config: DecoderConfig,
        metrics: Metrics,
    ) -> Result<DecodeSession> {
        loop {
            let place = self.take_place(config.codec)?;
            config.gpu = place.0.gpu;
            match DecodeSession::with_metrics(self.backend, config.clone(), metrics.clone()) {
                Ok(mut session) => {
                    session.hold_place(place);
                    return Ok(session);
                }
                Err(e) if e.kind() == ErrorKind::DeviceLost => place.lost(),
                Err(e) => return Err(e),
            }
        }
    }

    /// Takes a place on the GPU [`pick`] chooses for a session of `codec` among those not
    /// lost; `DeviceLost` when none is left.
    fn take_place(&self, codec: Codec) -> Result<PoolPlace> {
        let loads = self.loads(codec);
        let live: Vec<usize> = (0..loads.len()).filter(|i| !loads[*i].lost).collect();
        if live.is_empty() {
            return Err(VideoError::device_lost(format!(
                "every GPU of the pool ({}) was lost",
                self.gpus()
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let candidates: Vec<(usize, usize)> = live
            .iter()
            .map(|i| (loads[*i].engines, loads[*i].sessions))
            .collect();
        let slot = self.slots[live[pick(&candidates)]].clone();
        slot.open.fetch_add(1, Ordering::AcqRel);
        Ok(PoolPlace(slot))
    }
}

/// The backend a session of `codec` on `backend` runs on (`backend` itself when none can
/// decode it).
fn concrete(backend: Backend, codec: Codec) -> Backend {
    backend::select_decoder(backend, codec).map_or(backend, |s| s.backend)
}

/// Which of the GPUs described by `(engines, sessions open)` takes the next session: the one
/// with the most free engines; when none is free, the one with the fewest sessions per
/// engine once it takes this one. Ties go to the first. `loads` is not empty.
pub(crate) fn pick(loads: &[(usize, usize)]) -> usize {
    let free = |(engines, open): (usize, usize)| engines.max(1) as i64 - open as i64;
    let best_free = loads.iter().map(|l| free(*l)).max().unwrap_or(0);
    if best_free > 0 {
        return loads
            .iter()
            .position(|l| free(*l) == best_free)
            .unwrap_or(0);
    }
    // (open + 1) / engines, compared without division.
    let mut best = 0;
    for (i, &(engines, open)) in loads.iter().enumerate().skip(1) {
        let (be, bo) = loads[best];
        if (open as u128 + 1) * (be.max(1) as u128) < (bo as u128 + 1) * (engines.max(1) as u128) {
            best = i;
        }
    }
    best
}

/// GPU indices (into `engines`) for `count` sessions placed one after another as [`pick`]
/// places them on idle GPUs with `engines` engines each.
pub(crate) fn spread(engines: &[usize], count: usize) -> Vec<usize> {
    let mut open = vec![0usize; engines.len()];
    (0..count)
        .map(|_| {
            let loads: Vec<(usize, usize)> =
                engines.iter().copied().zip(open.iter().copied()).collect();
            let i = pick(&loads);
            open[i] += 1;
            i
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_go_to_the_gpu_with_the_most_free_engines() {
        assert_eq!(pick(&[(7, 3), (7, 1)]), 1);
        assert_eq!(pick(&[(7, 0), (7, 0)]), 0);
        assert_eq!(pick(&[(3, 0), (7, 0)]), 1);
        assert_eq!(
            pick(&[(7, 4), (3, 0)]),
            0,
            "3 free against 3 free: the first"
        );
    }

    #[test]
    fn fourteen_sessions_fill_two_seven_engine_gpus_evenly() {
        let gpus = spread(&[7, 7], 14);
        assert_eq!(gpus.iter().filter(|g| **g == 0).count(), 7);
        assert_eq!(gpus.iter().filter(|g| **g == 1).count(), 7);
        // Alternating, so that a short run of sessions uses both GPUs from the start.
        assert_eq!(&gpus[..4], &[0, 1, 0, 1]);
    }

    #[test]
    fn past_every_engine_sessions_go_where_fewest_share_an_engine() {
        // 7 and 3 engines, all taken: the next goes to the 7-engine GPU until 8/7 > 4/3.
        assert_eq!(pick(&[(7, 7), (3, 3)]), 0);
        assert_eq!(pick(&[(7, 9), (3, 3)]), 1);
        let gpus = spread(&[7, 3], 20);
        let on_big = gpus.iter().filter(|g| **g == 0).count();
        assert_eq!(on_big, 14, "{gpus:?}");
    }

    #[test]
    fn a_gpu_reported_without_engines_still_takes_sessions() {
        assert_eq!(spread(&[0], 3), vec![0, 0, 0]);
    }

    #[cfg(feature = "sw-openh264")]
    #[test]
    fn a_pool_session_gives_its_place_back_when_dropped() {
        let pool = DecodePool::new(Backend::Software, &GpuSelection::All).unwrap();
        assert_eq!(pool.gpus(), vec![0]);
        let a = pool.open(DecoderConfig::new(Codec::H264)).unwrap();
        let b = pool.open(DecoderConfig::new(Codec::H264)).unwrap();
        assert_eq!((a.gpu(), b.gpu()), (0, 0));
        assert_eq!(pool.loads(Codec::H264)[0].sessions, 2);
        drop(a);
        assert_eq!(pool.loads(Codec::H264)[0].sessions, 1);
        drop(b);
        assert_eq!(pool.loads(Codec::H264)[0].sessions, 0);
    }

    #[cfg(feature = "sw-openh264")]
    #[test]
    fn a_retired_gpu_takes_no_new_session_and_an_empty_pool_says_device_lost() {
        let pool = DecodePool::new(Backend::Software, &GpuSelection::All).unwrap();
        let open = pool.open(DecoderConfig::new(Codec::H264)).unwrap();
        pool.retire(0);
        assert!(pool.loads(Codec::H264)[0].lost);
        let Err(e) = pool.open(DecoderConfig::new(Codec::H264)) else {
            panic!("a session opened on a retired GPU")
        };
        assert_eq!(e.kind(), ErrorKind::DeviceLost, "{e}");
        assert!(
            e.to_string().contains("every GPU of the pool (0) was lost"),
            "{e}"
        );
        // The session already open goes on.
        assert_eq!(open.gpu(), 0);
    }

    /// OpenH264 whose device is lost at the first access unit.
    #[cfg(feature = "sw-openh264")]
    struct LosesItsDevice(Box<dyn crate::backend::DecoderBackend>);

    #[cfg(feature = "sw-openh264")]
    impl crate::backend::DecoderBackend for LosesItsDevice {
        fn decode(
            &mut self,
            _au: &crate::bitstream::AccessUnit,
            _out: &mut Vec<crate::api::frame::DecodedFrame>,
        ) -> Result<()> {
            Err(VideoError::device_lost("the GPU fell off the bus (test)"))
        }
        fn flush(&mut self, out: &mut Vec<crate::api::frame::DecodedFrame>) -> Result<()> {
            self.0.flush(out)
        }
        fn implementation(&self) -> String {
            "loses its device".to_owned()
        }
        fn capability(&self) -> crate::backend::DecodeCapability {
            self.0.capability()
        }
    }

    /// Ten pictures of the pattern, H.264 Annex-B, from the software encoder.
    #[cfg(feature = "sw-openh264")]
    fn ten_pictures() -> Vec<u8> {
        let size = crate::Dimensions::new(64, 48).unwrap();
        let config = crate::EncoderConfig::new(Codec::H264, size);
        let mut enc = crate::EncodeSession::new(Backend::Software, config).unwrap();
        for i in 0..10 {
            let input = crate::pattern::encode_input(size, i).unwrap();
            enc.submit(input).map_err(|r| r.error).unwrap();
        }
        enc.drain()
            .unwrap()
            .iter()
            .flat_map(|c| c.data.iter().copied())
            .collect()
    }

    #[cfg(feature = "sw-openh264")]
    #[test]
    fn a_session_that_loses_its_device_retires_its_gpu_from_the_pool() {
        let pool = DecodePool::new(Backend::Software, &GpuSelection::All).unwrap();
        let config = DecoderConfig::new(Codec::H264);
        let factory: crate::backend::DecoderFactory = Box::new(|| {
            let inner =
                crate::backend::software::decoder_factory(&DecoderConfig::new(Codec::H264))?()?;
            Ok(Box::new(LosesItsDevice(inner)) as Box<dyn crate::backend::DecoderBackend>)
        });
        let chain = vec![crate::backend::Candidate {
            backend: Backend::Software,
            factory,
        }];
        let selection = crate::backend::Selection {
            backend: Backend::Software,
            reason: "test".into(),
            hops: Vec::new(),
        };
        let mut session = DecodeSession::with_chain(selection, config.clone(), chain).unwrap();
        session.hold_place(pool.take_place(Codec::H264).unwrap());
        assert!(!pool.loads(Codec::H264)[0].lost);
        session
            .submit(crate::DecodeInput::annexb(ten_pictures()))
            .map_err(|r| r.error)
            .unwrap();
        let mut lost = session
            .flush()
            .is_err_and(|e| e.kind() == ErrorKind::DeviceLost);
        loop {
            match session.try_reap() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => lost |= e.kind() == ErrorKind::DeviceLost,
            }
        }
        assert!(lost, "the session reported the lost device");
        assert!(pool.loads(Codec::H264)[0].lost);
        assert!(
            pool.open(config)
                .is_err_and(|e| e.kind() == ErrorKind::DeviceLost)
        );
    }
}
