//! `nginx -t` for the running master: the same binary, configuration, prefix and working
//! directory the master was started with (read back from `/proc`), run with a deadline before
//! anything is signalled, and nginx's own `[emerg]` line when it fails.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::nginx::confirm::poll_until;
use crate::nginx::error_log::parse_log_line;
use crate::nginx::master::Master;
use crate::nginx::show::show_secs;

/// How long `nginx -t` may run (it resolves upstream host names, which can hang on DNS).
pub const CONFIG_TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How often the wait for `nginx -t` looks whether it finished.
const WAIT_POLL: Duration = Duration::from_millis(5);

/// An `nginx -t` run that tests what the running master would load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigTest {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Run there, so relative `-p`/`-c` resolve as they did for the master.
    pub cwd: Option<PathBuf>,
    /// False when the master runs in another network namespace (a hint for failures).
    pub same_netns: bool,
}

impl ConfigTest {
    /// `nginx -t [-p PREFIX] [-c CONF]` for `master`: the binary is `nginx` if given, else the
    /// one the master runs, else `nginx` from PATH; `conf` if given, else the master's `-c`;
    /// the prefix is the master's `-p`. Without a `-c` or `-p`, nginx uses its built-in paths,
    /// as the master did.
    ///
    /// The title is all that is left of the master's arguments, and nginx cuts it to the space
    /// its original arguments and environment took; an absolute `-c` that does not exist is
    /// taken for a cut one and refused (give `-c`).
    pub fn for_master(
        master: &Master,
        nginx: Option<&Path>,
        conf: Option<&Path>,
    ) -> Result<ConfigTest> {
        let started = master.args();
        let program = nginx
            .map(Path::to_path_buf)
            .or_else(|| master.exe())
            .unwrap_or_else(|| PathBuf::from("nginx"));
        let mut args: Vec<OsString> = vec!["-t".into()];
        if let Some(p) = started.prefix {
            args.push("-p".into());
            args.push(p.into());
        }
        let conf: Option<OsString> = match conf {
            // Ours is relative to our directory, not the master's.
            Some(c) => Some(
                std::path::absolute(c)
                    .unwrap_or_else(|_| c.to_path_buf())
                    .into(),
            ),
            None => match started.conf {
                Some(c) if c.starts_with('/') && !Path::new(&c).exists() => {
                    return Err(Error::failed(format!(
                        "cannot find the configuration nginx master {} runs (its title says \
                         -c {c}, which may be cut short); give it with -c; nothing signalled",
                        master.pid
                    )));
                }
                c => c.map(OsString::from),
            },
        };
        if let Some(c) = conf {
            args.push("-c".into());
            args.push(c);
        }
        Ok(ConfigTest {
            program,
            args,
            cwd: master.cwd(),
            same_netns: master.same_netns().unwrap_or(true),
        })
    }

    /// The command as a shell would show it.
    pub fn shown(&self) -> String {
        std::iter::once(self.program.as_os_str())
            .chain(self.args.iter().map(|a| a.as_os_str()))
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Run it with a deadline of `timeout`; Ok when nginx says the configuration is fine, else
    /// a failure carrying nginx's own `[emerg]` line.
    pub fn run(&self, timeout: Duration) -> Result<()> {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| Error::sys(format!("run {} (give --nginx)", self.program.display()), e))?;
        let readers = [
            child.stdout.take().map(drain),
            child.stderr.take().map(drain),
        ];
        let deadline = Instant::now() + timeout;
        let waited = poll_until(deadline, WAIT_POLL, std::thread::sleep, || {
            child.try_wait().transpose()
        });
        let status = match waited {
            Some(Ok(status)) => status,
            Some(Err(e)) => return Err(Error::sys(format!("wait for {}", self.shown()), e)),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::failed(format!(
                    "`{}` did not finish within {}; nothing signalled",
                    self.shown(),
                    show_secs(timeout)
                )));
            }
        };
        let output: String = readers
            .into_iter()
            .flatten()
            .map(|r| r.join().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n");
        if status.success() {
            return Ok(());
        }
        let hint = if self.same_netns {
            ""
        } else {
            " (nginx runs in another network namespace: run nginx-reload there)"
        };
        Err(Error::failed(format!(
            "configuration test failed, nothing signalled: {}{hint}",
            config_test_error(&output)
        )))
    }
}

fn drain<R: Read + Send + 'static>(mut pipe: R) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// The line of `nginx -t` output worth showing: the first `[emerg]`, `[alert]` or `[crit]`
/// (as `nginx: [emerg] message`, whether nginx printed it in its stderr or its log format),
/// else the first line that is not nginx's closing "test failed".
pub fn config_test_error(output: &str) -> String {
    let lines = || output.lines().map(str::trim).filter(|l| !l.is_empty());
    let serious = ["[emerg]", "[alert]", "[crit]"];
    if let Some(line) = lines().find(|l| serious.iter().any(|lv| l.contains(lv))) {
        return match parse_log_line(line) {
            Some((level, _, message)) => format!("nginx: [{level}] {message}"),
            None => line.to_string(),
        };
    }
    lines()
        .find(|l| !l.ends_with("test failed"))
        .map(str::to_string)
        .unwrap_or_else(|| "no output".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_test_output_shows_the_emerg_line() {
        let out = "nginx: [emerg] unknown directive \"bogus\" in /x/nginx.conf:5\n\
                   nginx: configuration file /x/nginx.conf test failed\n";
        assert_eq!(
            config_test_error(out),
            "nginx: [emerg] unknown directive \"bogus\" in /x/nginx.conf:5"
        );
        assert_eq!(
            config_test_error("\nsomething odd\nnginx: configuration file /x test failed\n"),
            "something odd"
        );
        assert_eq!(config_test_error(""), "no output");
        let logged = "2026/11/24 20:26:39 [emerg] 6868#6868: unknown directive \"bogus\" in /x:5\n";
        assert_eq!(
            config_test_error(logged),
            "nginx: [emerg] unknown directive \"bogus\" in /x:5"
        );
    }

    #[test]
    fn a_binary_that_cannot_run_names_no_capability() {
        let dir = tempfile::tempdir().expect("tempdir");
        let program = dir.path().join("nginx");
        std::fs::write(&program, "").expect("write"); // mode 0644: execve says EACCES
        let test = ConfigTest {
            program: program.clone(),
            args: vec!["-t".into()],
            cwd: None,
            same_netns: true,
        };
        let e = test
            .run(Duration::from_secs(5))
            .expect_err("not executable");
        assert_eq!(
            e.to_string(),
            format!(
                "run {} (give --nginx): permission denied",
                program.display()
            )
        );
    }
}
