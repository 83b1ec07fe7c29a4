//! `nginx-reload`: not written yet.

use std::process::ExitCode;

/// Entry point of the binary.
pub fn main() -> ExitCode {
    crate::exit::run("nginx-reload", || {
        Err(crate::Error::failed("not implemented yet"))
    })
}
