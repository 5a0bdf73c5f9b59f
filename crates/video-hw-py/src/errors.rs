//! The library's error classes as Python exceptions: `video_hw.Error` and one subclass per
//! [`ErrorKind`], carrying the library's message.

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use video_hw::{ErrorKind, VideoError};

pyo3::create_exception!(
    video_hw,
    Error,
    PyException,
    "Base class of every video_hw error."
);
pyo3::create_exception!(
    video_hw,
    UnsupportedError,
    Error,
    "The backend, codec, profile, size or option is not available here."
);
pyo3::create_exception!(
    video_hw,
    InvalidInputError,
    Error,
    "The caller passed something malformed (a bad argument, size or buffer)."
);
pyo3::create_exception!(
    video_hw,
    InvalidBitstreamError,
    Error,
    "The bitstream or container is malformed, truncated or not the stated codec."
);
pyo3::create_exception!(
    video_hw,
    BackpressureError,
    Error,
    "No in-flight credit is free (internal; retried by the binding)."
);
pyo3::create_exception!(
    video_hw,
    DeviceLostError,
    Error,
    "The device or driver went away; open a new decoder or encoder."
);
pyo3::create_exception!(
    video_hw,
    BackendError,
    Error,
    "The backend library reported a failure not covered by the other classes."
);

/// The Python exception of `e`'s class, with its message.
pub fn to_py(e: VideoError) -> PyErr {
    let msg = e.to_string();
    match e.kind() {
        ErrorKind::Unsupported => UnsupportedError::new_err(msg),
        ErrorKind::InvalidInput => InvalidInputError::new_err(msg),
        ErrorKind::InvalidBitstream => InvalidBitstreamError::new_err(msg),
        ErrorKind::Backpressure => BackpressureError::new_err(msg),
        ErrorKind::DeviceLost => DeviceLostError::new_err(msg),
        ErrorKind::Backend => BackendError::new_err(msg),
    }
}

/// Adds the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Error", py.get_type::<Error>())?;
    m.add("UnsupportedError", py.get_type::<UnsupportedError>())?;
    m.add("InvalidInputError", py.get_type::<InvalidInputError>())?;
    m.add(
        "InvalidBitstreamError",
        py.get_type::<InvalidBitstreamError>(),
    )?;
    m.add("BackpressureError", py.get_type::<BackpressureError>())?;
    m.add("DeviceLostError", py.get_type::<DeviceLostError>())?;
    m.add("BackendError", py.get_type::<BackendError>())?;
    Ok(())
}
