//! SPS/VUI parsing.

/// What a sequence parameter set says about the pictures.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {}
