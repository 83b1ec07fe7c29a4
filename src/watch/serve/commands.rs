//! The shell's commands (`announce`, `probe`, `refresh`, `rounds`, `quit`): read from stdin, parsed by
//! [`protocol`](crate::watch::protocol), checked against the configured VIPs and run on
//! [`Iface`]. A bad command is an `error` line, never the end of the watcher.

use std::time::Instant;

use crate::error::{Error, Result};
use crate::watch::protocol::{Command, Mode, parse_command};

use super::iface::Iface;
use super::rounds::Rounds;
use super::stdio::{Input, Out};

/// Read and run the commands that arrived; true when the watcher must stop (`quit`, or the
/// end of stdin).
pub(super) fn read(
    input: &mut Input,
    iface: &mut Iface<'_>,
    rounds: &mut Rounds,
    out: &mut Out,
) -> Result<bool> {
    let (lines, eof) = input.read().map_err(|e| Error::sys("read stdin", e))?;
    if !lines.is_empty() {
        // Whatever the kernel queued before the command was written is seen first.
        iface.read_kernel(out)?;
    }
    for line in lines {
        let cmd = match line.and_then(|l| parse_command(&l)) {
            Ok(Some(cmd)) => cmd,
            Ok(None) => continue,
            Err(why) => {
                out.error("command", None, &why)?;
                continue;
            }
        };
        if let Command::Rounds { every } = cmd {
            rounds.set_every(every);
            continue;
        }
        if run(cmd, iface, out)? {
            return Ok(true);
        }
    }
    Ok(eof)
}

/// Run one command; true for `quit`.
fn run(cmd: Command, iface: &mut Iface<'_>, out: &mut Out) -> Result<bool> {
    let vip = match cmd {
        Command::Quit => return Ok(true),
        Command::Rounds { .. } => return Ok(false),
        Command::Announce { vip, .. } | Command::Probe { vip } | Command::Refresh { vip, .. } => {
            vip
        }
    };
    if !iface.addrs().contains(&vip) {
        out.error(
            "command",
            Some(vip),
            &format!("{vip} is not in OWN_VIPS or PEER_VIPS"),
        )?;
        return Ok(false);
    }
    let now = Instant::now();
    match cmd {
        Command::Announce { burst, .. } => {
            let mode = if burst { Mode::Burst } else { Mode::Single };
            iface.announce(vip, mode, now, out)?;
        }
        Command::Probe { .. } => iface.probe(vip, now, out)?,
        Command::Refresh { on, .. } => iface.set_refresh(vip, on, now),
        Command::Quit | Command::Rounds { .. } => return Ok(true),
    }
    Ok(false)
}
