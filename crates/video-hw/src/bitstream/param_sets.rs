//! Parameter-set cache.

/// Latest SPS/PPS/VPS seen, by id.
#[derive(Debug, Default)]
pub struct ParameterSetCache {}
