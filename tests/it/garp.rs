//! Integration tests for garp: not written yet.
