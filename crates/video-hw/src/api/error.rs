//! Typed errors shared by every backend.

use std::fmt;

/// The class of a [`VideoError`]: what went wrong, independent of the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The backend, codec, profile, size or option is not available here.
    Unsupported,
    /// The caller passed something malformed: a short buffer, a zero size, a bad stride.
    InvalidInput,
    /// The bitstream is malformed, truncated or not the configured codec.
    InvalidBitstream,
    /// No in-flight credit is free: reap output, then submit again.
    Backpressure,
    /// The device or driver went away; the session must be recreated.
    DeviceLost,
    /// The backend library reported a failure not covered above.
    Backend,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::InvalidBitstream => "invalid bitstream",
            ErrorKind::Backpressure => "backpressure",
            ErrorKind::DeviceLost => "device lost",
            ErrorKind::Backend => "backend error",
        })
    }
}

/// The one error type of the crate: a [`ErrorKind`] plus a human-readable context.
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {context}")]
pub struct VideoError {
    kind: ErrorKind,
    context: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// Shorthand for results carrying a [`VideoError`].
pub type Result<T, E = VideoError> = std::result::Result<T, E>;

impl VideoError {
    /// Builds an error of `kind` with a context message.
    pub fn new(kind: ErrorKind, context: impl Into<String>) -> Self {
        Self {
            kind,
            context: context.into(),
            source: None,
        }
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// [`ErrorKind::Unsupported`] with context.
    pub fn unsupported(context: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, context)
    }

    /// [`ErrorKind::InvalidInput`] with context.
    pub fn invalid_input(context: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, context)
    }

    /// [`ErrorKind::InvalidBitstream`] with context.
    pub fn invalid_bitstream(context: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidBitstream, context)
    }

    /// [`ErrorKind::Backpressure`] with context.
    pub fn backpressure(context: impl Into<String>) -> Self {
        Self::new(ErrorKind::Backpressure, context)
    }

    /// [`ErrorKind::DeviceLost`] with context.
    pub fn device_lost(context: impl Into<String>) -> Self {
        Self::new(ErrorKind::DeviceLost, context)
    }

    /// [`ErrorKind::Backend`] with context.
    pub fn backend(context: impl Into<String>) -> Self {
        Self::new(ErrorKind::Backend, context)
    }

    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The context message, without the kind prefix.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// Prefixes the context with where the error was seen (`"{what}: {context}"`).
    pub fn while_doing(mut self, what: impl fmt::Display) -> Self {
        self.context = format!("{what}: {}", self.context);
        self
    }
}

/// An input the session did not take, handed back to the caller with the reason.
///
/// Returned by `submit` so that nothing is lost under backpressure: reap output, then
/// submit [`Rejected::input`] again. Converts into [`VideoError`] for `?`.
#[derive(Debug)]
pub struct Rejected<T> {
    /// Why the input was not taken.
    pub error: VideoError,
    /// The input itself, unchanged.
    pub input: T,
}

impl<T> Rejected<T> {
    /// The class of the rejection ([`ErrorKind::Backpressure`] when the session is full).
    pub fn kind(&self) -> ErrorKind {
        self.error.kind()
    }
}

impl<T> fmt::Display for Rejected<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "input rejected: {}", self.error)
    }
}

impl<T: fmt::Debug> std::error::Error for Rejected<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl<T> From<Rejected<T>> for VideoError {
    fn from(r: Rejected<T>) -> Self {
        r.error
    }
}
