//! Sessions: the public `DecodeSession` / `EncodeSession` over any backend adapter.

/// The methods both sessions share, written once: probing, the serving backend and why,
/// draining, and the counters. `$what` is `decode` or `encode`; `$item` what `try_reap`
/// returns; `$summary` the summary type.
macro_rules! session_accessors {
    ($what:literal, $item:ty, $summary:ty) => {
        #[doc = concat!("What `backend` can ", $what, " here, probed at run time.")]
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

        /// Flushes and returns everything still to come (an error ends the collection).
        pub fn drain(&mut self) -> Result<Vec<$item>> {
            self.flush()?;
            let mut out = Vec::new();
            while let Some(item) = self.try_reap()? {
                out.push(item);
            }
            Ok(out)
        }

        /// Counters so far.
        pub fn summary(&self) -> $summary {
            self.summary.lock().map(|s| s.clone()).unwrap_or_default()
        }
    };
}
use session_accessors;

mod damage;
mod decode;
mod encode;
mod fallback;
#[cfg(all(test, feature = "sw-openh264"))]
mod fallback_tests;
mod generation;
mod group;
mod occupancy;
mod origin;
mod placement;
mod pool;
mod worker;

pub use decode::{DecodeSession, DecodeSummary};
pub use encode::{EncodeSession, EncodeSummary};
pub use generation::{SessionSwitchRequest, SwitchMode, SwitchStats};
pub(crate) use group::open_group;
pub use occupancy::open_decode_sessions;
pub use origin::SessionOrigin;
pub(crate) use pool::spread as spread_over_gpus;
pub use pool::{DecodePool, GpuLoad};
