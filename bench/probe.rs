//! The failover benchmark's client: probes each VIP over HTTP every few milliseconds and logs
//! what a client would have seen.
//!
//! Every `--interval-ms` (default 10) a new request starts for each VIP, whether or not the
//! previous one finished, so a hung connection to a dead host does not slow the cadence. A
//! request is one TCP connect plus `GET / HTTP/1.0` under one deadline (`--timeout-ms`,
//! default 500); it succeeds when the answer is `200` and its body (the answering balancer's
//! name, e.g. `lb1`) is read. One collector thread turns the results into event lines:
//!
//! ```text
//! switch VIP LB T            the balancer answering VIP changed to LB (the first answer too)
//! gap VIP TPREV TNOW LB      no success on VIP between TPREV and TNOW (longer than --gap-ms)
//! stat VIP T OK FAIL         per second: successes and failures in the last second
//! ```
//!
//! Times are Unix seconds with microseconds, comparable with `date +%s.%N` in the bench script.
//! Built by bench/failover with plain `rustc -O`: standard library only.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What one request found.
struct Outcome {
    vip: usize,
    done: f64,
    answer: Option<String>,
}

/// Command-line settings.
struct Opts {
    interval: Duration,
    timeout: Duration,
    gap: f64,
    port: u16,
    vips: Vec<String>,
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn usage() -> ! {
    eprintln!("usage: probe [--interval-ms MS] [--timeout-ms MS] [--gap-ms MS] [--port P] VIP...");
    std::process::exit(2)
}

fn parse() -> Opts {
    let mut o = Opts {
        interval: Duration::from_millis(10),
        timeout: Duration::from_millis(500),
        gap: 0.025,
        port: 80,
        vips: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |what: &str| -> u64 {
            args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
                eprintln!("probe: {what} needs a number");
                usage()
            })
        };
        match a.as_str() {
            "--interval-ms" => o.interval = Duration::from_millis(num("--interval-ms").max(1)),
            "--timeout-ms" => o.timeout = Duration::from_millis(num("--timeout-ms").max(1)),
            "--gap-ms" => o.gap = num("--gap-ms") as f64 / 1000.0,
            "--port" => o.port = u16::try_from(num("--port")).unwrap_or_else(|_| usage()),
            s if s.starts_with('-') => usage(),
            s => o.vips.push(s.to_string()),
        }
    }
    if o.vips.is_empty() {
        usage()
    }
    o
}

/// One request: connect, `GET /`, read the whole answer, all before `deadline`.
/// Returns the body (the balancer's name) when the status is 200.
fn request(addr: SocketAddr, host: &str, timeout: Duration) -> Option<String> {
    let deadline = Instant::now() + timeout;
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    };
    let mut s = TcpStream::connect_timeout(&addr, left()?).ok()?;
    s.set_nodelay(true).ok()?;
    s.set_write_timeout(left()).ok()?;
    s.write_all(format!("GET / HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .ok()?;
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    loop {
        s.set_read_timeout(Some(left()?)).ok()?;
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => return None,
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    }
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.lines().next()?.split_whitespace().nth(1)?;
    (status == "200").then(|| body.trim().to_string())
}

/// Start one request every `interval` for VIP number `idx`, each in its own thread.
fn scheduler(idx: usize, host: String, o: &Opts, tx: mpsc::Sender<Outcome>) {
    let Ok(ip) = host.parse::<std::net::IpAddr>() else {
        eprintln!("probe: not an IP address: {host}");
        std::process::exit(2)
    };
    let addr = SocketAddr::new(ip, o.port);
    let (interval, timeout) = (o.interval, o.timeout);
    let mut next = Instant::now();
    loop {
        let worker_tx = tx.clone();
        let host = host.clone();
        let spawned = thread::Builder::new().stack_size(64 * 1024).spawn(move || {
            let answer = request(addr, &host, timeout);
            let _ = worker_tx.send(Outcome {
                vip: idx,
                done: now(),
                answer,
            });
        });
        if spawned.is_err() {
            // Out of threads: count it as a failed request rather than dying.
            let _ = tx.send(Outcome {
                vip: idx,
                done: now(),
                answer: None,
            });
        }
        next += interval;
        let t = Instant::now();
        if next > t {
            thread::sleep(next - t);
        } else if t - next > interval {
            // Fell behind (machine busy): do not burst to catch up.
            next = t;
        }
    }
}

/// Per-VIP state kept by the collector.
struct Track {
    last_ok: Option<f64>,
    lb: String,
    ok: u64,
    fail: u64,
}

fn main() {
    let o = parse();
    let (tx, rx) = mpsc::channel::<Outcome>();
    let mut tracks: Vec<Track> = o
        .vips
        .iter()
        .map(|_| Track {
            last_ok: None,
            lb: String::new(),
            ok: 0,
            fail: 0,
        })
        .collect();
    thread::scope(|s| {
        for (i, v) in o.vips.iter().enumerate() {
            let tx = tx.clone();
            let o = &o;
            s.spawn(move || scheduler(i, v.clone(), o, tx));
        }
        drop(tx);
        let out = std::io::stdout();
        let mut out = out.lock();
        let mut next_stat = now() + 1.0;
        while let Ok(r) = rx.recv() {
            let t = &mut tracks[r.vip];
            let vip = &o.vips[r.vip];
            let mut lines = String::new();
            match r.answer {
                Some(lb) => {
                    t.ok += 1;
                    if let Some(prev) = t.last_ok {
                        if r.done - prev > o.gap {
                            lines += &format!("gap {vip} {prev:.6} {:.6} {lb}\n", r.done);
                        }
                    }
                    if lb != t.lb {
                        lines += &format!("switch {vip} {lb} {:.6}\n", r.done);
                        t.lb = lb;
                    }
                    t.last_ok = Some(r.done);
                }
                None => t.fail += 1,
            }
            if r.done >= next_stat {
                for (v, t) in o.vips.iter().zip(tracks.iter_mut()) {
                    lines += &format!("stat {v} {:.6} {} {}\n", r.done, t.ok, t.fail);
                    t.ok = 0;
                    t.fail = 0;
                }
                next_stat = r.done + 1.0;
            }
            if !lines.is_empty()
                && (out.write_all(lines.as_bytes()).is_err() || out.flush().is_err())
            {
                std::process::exit(1);
            }
        }
    });
}
