//! Real-file fixtures: see the parent test file.
