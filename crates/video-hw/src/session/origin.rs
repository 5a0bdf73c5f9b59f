//! Who serves a session, as both session summaries report it.

use crate::api::backend_kind::Backend;
use crate::api::codec::Codec;
use crate::backend::Selection;

/// The backend, implementation and codec of a session ([`super::DecodeSummary::origin`],
/// [`super::EncodeSummary::origin`]); flattened into the summaries' JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionOrigin {
    /// The backend serving the session.
    pub backend: Option<Backend>,
    /// Why that backend was chosen.
    pub selection: String,
    /// The implementation inside the backend (e.g. `openh264`).
    pub implementation: String,
    /// The codec.
    pub codec: Option<Codec>,
}

impl SessionOrigin {
    /// What `selection` chose for `codec`; the implementation is filled once the adapter opens.
    pub(crate) fn chosen(selection: &Selection, codec: Codec) -> Self {
        Self {
            backend: Some(selection.backend),
            selection: selection.reason.clone(),
            implementation: String::new(),
            codec: Some(codec),
        }
    }
}
