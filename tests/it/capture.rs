//! tcpdump for tests: a capture written to a file in a namespace, read back as frames with
//! their timestamps, to check the bytes and the timing of what went on the wire.

use std::path::Path;
use std::time::Duration;

use crate::netns::Netns;
use crate::util::{Bg, Cmd, wait_until};

/// tcpdump writing to a file in the gateway namespace, ready when the file has its header.
pub struct Capture {
    bg: Bg,
    file: tempfile::NamedTempFile,
    ns: String,
}

impl Capture {
    pub fn start(ns: &Netns, dev: &str, filter: &str) -> Capture {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        let path = file.path().to_string_lossy().into_owned();
        let bg = ns
            .cmd("tcpdump")
            .args([
                "-i",
                dev,
                "-n",
                "--immediate-mode",
                "-U",
                "-w",
                &path,
                filter,
            ])
            .spawn();
        let ready = wait_until(Duration::from_secs(5), || {
            std::fs::metadata(file.path()).is_ok_and(|m| m.len() >= 24)
        });
        assert!(ready, "tcpdump did not start: {}", bg.kill());
        Capture {
            bg,
            file,
            ns: ns.name.clone(),
        }
    }

    /// Stop after a short settle and return the frames: (epoch seconds, bytes).
    pub fn frames(self) -> Vec<(f64, Vec<u8>)> {
        std::thread::sleep(Duration::from_millis(300));
        // SIGTERM, not SIGKILL: tcpdump then hands over what its capture ring still holds.
        self.bg.signal(nix::sys::signal::Signal::SIGTERM);
        let dump = self.bg.finish(Duration::from_secs(5));
        assert!(!dump.timed_out, "tcpdump did not stop\n{dump}");
        let out = Cmd::in_ns(&self.ns, "tcpdump")
            .args(["-r", &path_str(self.file.path()), "-n", "-tt", "-xx"])
            .ok();
        parse_xx(&out.stdout)
    }
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Parse `tcpdump -tt -xx` output: a header line starting with the timestamp, then
/// `\t0x0000:  ffff ffff ...` lines.
pub fn parse_xx(text: &str) -> Vec<(f64, Vec<u8>)> {
    let mut frames: Vec<(f64, Vec<u8>)> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("0x") {
            let hex: String = rest
                .split_once(':')
                .map(|(_, h)| h)
                .unwrap_or("")
                .split_whitespace()
                .collect();
            let frame = &mut frames.last_mut().expect("hex before header").1;
            frame.extend(
                (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")),
            );
        } else if let Some(Ok(ts)) = line.split_whitespace().next().map(str::parse::<f64>) {
            frames.push((ts, Vec::new()));
        }
    }
    frames
}
