//! `OSStatus` codes of VideoToolbox / Core Media / Core Video mapped onto [`VideoError`] kinds.

use crate::api::error::VideoError;

/// A failed call `what` that returned `status`, as a typed error: bad data is
/// `InvalidBitstream`, a missing codec or format `Unsupported`, a broken or unavailable
/// session `DeviceLost`, a bad argument `InvalidInput`, anything else `Backend`.
pub(crate) fn status_error(what: &str, status: i32) -> VideoError {
    let context = format!("{what} failed: OSStatus {status} ({})", status_name(status));
    match status {
        // kVTVideoDecoderBadDataErr, codecBadDataErr, kCMFormatDescriptionError_InvalidParameter.
        -12909 | -8969 | -12710 => VideoError::invalid_bitstream(context),
        // kVTPropertyNotSupportedErr, kVTPropertyReadOnlyErr, kVTPixelTransferNotSupportedErr,
        // kVTCouldNotFindVideoDecoderErr, kVTCouldNotCreateInstanceErr,
        // kVTCouldNotFindVideoEncoderErr, kVTVideoDecoderUnsupportedDataFormatErr.
        -12900 | -12901 | -12905 | -12906 | -12907 | -12908 | -12910 => {
            VideoError::unsupported(context)
        }
        // kVTInvalidSessionErr, kVTVideoDecoderMalfunctionErr, kVTVideoEncoderMalfunctionErr,
        // kVTVideoDecoderNotAvailableNowErr, kVTVideoEncoderNotAvailableNowErr.
        -12903 | -12911 | -12912 | -12913 | -12915 => VideoError::device_lost(context),
        // kVTParameterErr.
        -12902 => VideoError::invalid_input(context),
        _ => VideoError::backend(context),
    }
}

/// The symbolic name of a status the backend knows, for messages.
pub(crate) fn status_name(status: i32) -> &'static str {
    match status {
        0 => "noErr",
        -12900 => "kVTPropertyNotSupportedErr",
        -12901 => "kVTPropertyReadOnlyErr",
        -12902 => "kVTParameterErr",
        -12903 => "kVTInvalidSessionErr",
        -12904 => "kVTAllocationFailedErr",
        -12905 => "kVTPixelTransferNotSupportedErr",
        -12906 => "kVTCouldNotFindVideoDecoderErr",
        -12907 => "kVTCouldNotCreateInstanceErr",
        -12908 => "kVTCouldNotFindVideoEncoderErr",
        -12909 => "kVTVideoDecoderBadDataErr",
        -12910 => "kVTVideoDecoderUnsupportedDataFormatErr",
        -12911 => "kVTVideoDecoderMalfunctionErr",
        -12912 => "kVTVideoEncoderMalfunctionErr",
        -12913 => "kVTVideoDecoderNotAvailableNowErr",
        -12915 => "kVTVideoEncoderNotAvailableNowErr",
        -12710 => "kCMFormatDescriptionError_InvalidParameter",
        -8969 => "codecBadDataErr",
        _ => "unknown status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::error::ErrorKind;

    #[test]
    fn statuses_map_to_error_kinds() {
        assert_eq!(
            status_error("decode", -12909).kind(),
            ErrorKind::InvalidBitstream
        );
        assert_eq!(
            status_error("create", -12906).kind(),
            ErrorKind::Unsupported
        );
        assert_eq!(status_error("decode", -12903).kind(), ErrorKind::DeviceLost);
        assert_eq!(status_error("set", -12902).kind(), ErrorKind::InvalidInput);
        assert_eq!(status_error("x", -50).kind(), ErrorKind::Backend);
    }

    #[test]
    fn messages_name_the_call_and_the_status() {
        let e = status_error("VTDecompressionSessionDecodeFrame", -12909);
        assert!(e.context().contains("VTDecompressionSessionDecodeFrame"));
        assert!(e.context().contains("kVTVideoDecoderBadDataErr"));
    }
}
