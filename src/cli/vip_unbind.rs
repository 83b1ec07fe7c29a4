//! `vip-unbind`: not written yet.

use std::process::ExitCode;

/// Entry point of the binary.
pub fn main() -> ExitCode {
    crate::exit::run("vip-unbind", || {
        Err(crate::Error::failed("not implemented yet"))
    })
}
