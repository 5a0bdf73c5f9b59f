//! Whether a GPU was lost during the run. The command then exits 3 rather than 1 or 2, so
//! that whoever runs it (a batch system, a script) can tell "retry on another GPU" from
//! "this input or command line is wrong".

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

/// The exit code of a run during which a GPU was lost.
pub const EXIT_CODE: u8 = 3;

static LOST: AtomicBool = AtomicBool::new(false);

/// Notes `error` when it says a device was lost.
pub fn note(error: &video_hw::VideoError) {
    if error.kind() == video_hw::ErrorKind::DeviceLost {
        LOST.store(true, Ordering::Release);
    }
}

/// Notes an error of JSON class `class` (`device_lost` for a lost device).
pub fn note_class(class: &str) {
    if class == "device_lost" {
        LOST.store(true, Ordering::Release);
    }
}

/// `code`, or 3 when a GPU was lost and the run did not succeed (a run stopped by a
/// signal keeps its own code).
pub fn exit_code(code: ExitCode) -> ExitCode {
    if LOST.load(Ordering::Acquire) && code != ExitCode::SUCCESS && !crate::stop::requested() {
        ExitCode::from(EXIT_CODE)
    } else {
        code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_device_turns_a_failure_into_exit_3_and_leaves_success_alone() {
        // Other errors are not a lost device.
        note(&video_hw::VideoError::backend("driver hiccup"));
        note_class("unsupported");
        assert_eq!(exit_code(ExitCode::FAILURE), ExitCode::FAILURE);
        note(&video_hw::VideoError::device_lost(
            "the GPU fell off the bus",
        ));
        assert_eq!(exit_code(ExitCode::FAILURE), ExitCode::from(EXIT_CODE));
        assert_eq!(exit_code(ExitCode::from(2)), ExitCode::from(EXIT_CODE));
        assert_eq!(exit_code(ExitCode::SUCCESS), ExitCode::SUCCESS);
    }
}
