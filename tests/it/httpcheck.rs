//! Integration tests for httpcheck: not written yet.
