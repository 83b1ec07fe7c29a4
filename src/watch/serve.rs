//! The long-lived watcher: rounds of probes, the kernel's view of the VIPs, the passive
//! duplicate watch and the announcements, reported as `key=value` lines (skeleton: see the
//! issue; filled in by the runtime work).

use crate::error::{Error, Result};
use crate::watch::config::Config;

/// Run the watcher for `cfg` until told to quit or its input closes; the exit code.
pub fn serve(cfg: &Config) -> Result<u8> {
    let _ = cfg;
    Err(Error::failed("the watcher runtime is not built yet"))
}
