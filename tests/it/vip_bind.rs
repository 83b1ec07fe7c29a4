//! Integration tests for vip-bind: not written yet.
