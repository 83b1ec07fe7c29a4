//! The supervisor's senses (`vip-watch`): the configuration read and validated with the
//! library's own parsers (the one validator), and, while the supervisor runs, the probes, the
//! kernel's view of the VIPs, the passive duplicate watch and the announcements, reported to the
//! shell as `key=value` lines (see `man/vip-watch.8` and docs/vip-watch.md).

pub mod announce;
pub mod arpwatch;
pub mod config;
pub mod kernel;
pub mod probe;
pub mod protocol;
pub mod serve;
