//! avcc (bitstream helper fills this in).
