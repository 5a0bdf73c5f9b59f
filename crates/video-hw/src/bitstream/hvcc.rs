//! hvcc (bitstream helper fills this in).
