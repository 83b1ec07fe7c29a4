//! The supervisor's senses (`vip-watch`): the configuration read and validated with the
//! library's own parsers (the one validator), and, while the supervisor runs, the probes, the
//! kernel's view of the VIPs, the passive duplicate watch and the announcements, reported to the
//! shell as `key=value` lines (see `man/vip-watch.8` and docs/vip-watch.md).
//!
//! The runtime's layers, each importing only those below it:
//! - `serve`: the watcher, one `poll(2)` loop over stdin, netlink, the packet socket and the
//!   probe workers, with the deadlines of rounds, bursts, refreshes and probes;
//! - `probe`: the two long-lived HTTP check threads (SELF_URL, PEER_URL);
//! - `kernel`: IFACE's link and addresses over one subscribed netlink socket;
//! - `arpwatch`: the packet socket (filtered in the kernel) and what counts as a claim;
//! - `announce`: pure, the announcement frames and the schedule of bursts, refreshes, probes;
//! - `protocol`: pure, the lines written and the commands read;
//! - `config`: the configuration the rest reads (and `explain`, what `--explain` prints).

pub mod announce;
pub mod arpwatch;
pub mod config;
pub mod explain;
pub mod kernel;
pub mod probe;
pub mod protocol;
pub mod serve;
