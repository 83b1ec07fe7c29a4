//! Integration tests for supervisor: not written yet.
