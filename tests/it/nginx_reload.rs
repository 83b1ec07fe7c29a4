//! Integration tests for nginx-reload: not written yet.
