//! What a configuration implies (`vip-supervisor --explain`, `vip-watch --explain`): the
//! longest round, the worst-case times to see a failure, take over, fail back, the GARP
//! schedule, the ARP probe rate, the damping and what a lost link does. Pure: the text is
//! computed from a validated [`Config`], in whole milliseconds as the supervisor counts them.

use std::time::Duration;

use super::config::{Config, VipSpec, show_ms};

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A VIP list as people write it: labels in their short form, `@ha1` for `@eth0:ha1`.
fn list(vips: &[VipSpec], iface: &str) -> String {
    let prefix = format!("@{iface}:");
    vips.iter()
        .map(|v| v.to_string().replacen(&prefix, "@", 1))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The explanation, one line each, indented under a heading the caller prints (the file).
pub fn explain(cfg: &Config) -> Vec<String> {
    let s = show_ms;
    let (interval, timeout, dad_timeout) = (ms(cfg.interval), ms(cfg.timeout), ms(cfg.dad_timeout));
    let (fall, rise, grace) = (
        u64::from(cfg.fall),
        u64::from(cfg.rise),
        u64::from(cfg.dad_grace),
    );
    // A round is its health checks, each bounded by TIMEOUT (duplicate probes are sent apart,
    // when a rule needs one).
    let work = timeout;
    // Rounds start every INTERVAL, or back to back when the checks take longer.
    let round = interval.max(work);
    // Before a takeover the duplicate probe's answer: asked on the first failed round, so it
    // is in unless DAD_TIMEOUT is longer than the FALL - 1 rounds after it.
    let dad_wait = if cfg.dad {
        dad_timeout.saturating_sub(fall.saturating_sub(1) * round)
    } else {
        0
    };
    // A steady state probes a VIP at most once in this (the supervisor's PROBE_EVERY).
    let probe_every = if cfg.garp_refresh.is_zero() {
        10_000
    } else {
        ms(cfg.garp_refresh) + 2 * round + 1000
    };
    // Worst case: the failure comes just after a probe passed; FALL more rounds must fail, the
    // last one taking its whole deadline.
    let detect = fall * round + work;
    let rising = rise * round;
    let (own, peer) = (!cfg.own_vips.is_empty(), !cfg.peer_vips.is_empty());
    let mode = match (own, peer) {
        (true, true) => format!(
            "active-active (own: {}; peer's: {})",
            list(&cfg.own_vips, &cfg.iface),
            list(&cfg.peer_vips, &cfg.iface)
        ),
        (true, false) => format!("active, primary (own: {})", list(&cfg.own_vips, &cfg.iface)),
        _ => format!("standby (peer's: {})", list(&cfg.peer_vips, &cfg.iface)),
    };
    let mut out = vec![
        format!("  role:          {mode} on {}", cfg.iface),
        format!(
            "  one round:     both checks at once, each bounded by TIMEOUT ({} s); a round starts",
            s(work)
        ),
        format!(
            "                 every INTERVAL ({} s), or right after a longer one: every {} s at worst",
            s(interval),
            s(round)
        ),
        format!(
            "  failure seen:  after FALL={fall} failed rounds: at most {} s after the failure",
            s(detect)
        ),
    ];
    if own {
        out.push(format!(
            "  own VIPs:      released at most {} s after this host's nginx fails;",
            s(detect)
        ));
        out.push(format!(
            "                 taken (back) {} s after it is healthy again (RISE={rise})",
            s(rising)
        ));
        if !cfg.failback {
            out.push("                 but not while another host holds them (FAILBACK=no)".into());
        }
    }
    if peer {
        if cfg.dad {
            out.push(format!(
                "  takeover:      peer crashed: at most {} s after the failure",
                s(detect + dad_wait)
            ));
            out.push(format!(
                "                 (the duplicate probe, DAD_TIMEOUT={} s, is sent on the first failed round)",
                s(dad_timeout)
            ));
            out.push(
                "                 peer's nginx dead but its kernel still answers for the VIP:"
                    .into(),
            );
            out.push(format!(
                "                 at most {} s (DAD_GRACE={grace} more rounds, then taken anyway)",
                s((fall + grace) * round + work + dad_wait)
            ));
        } else {
            out.push(format!(
                "  takeover:      at most {} s after the failure (DAD=no: no duplicate probe)",
                s(detect)
            ));
        }
        if cfg.failback {
            out.push(format!(
                "  failback:      handed back at most {} s after the peer is healthy, once it holds the VIP",
                s((rise + 1) * round)
            ));
        } else {
            out.push("  failback:      none (FAILBACK=no): kept until this host fails".into());
        }
        if cfg.dad {
            out.push("  orphaned VIP:  a peer VIP nobody holds (peer healthy, its supervisor stopped) is".into());
            out.push(format!(
                "                 taken after FALL={fall} probes find it free: about {} s after its",
                s((fall - 1) * round + dad_timeout)
            ));
            out.push(format!(
                "                 release is seen (the releaser's probe), at most {} s if it went unseen",
                s(probe_every + (fall - 1) * round + dad_timeout)
            ));
        }
    }
    let kind = match cfg.gateway {
        Some(gw) => format!("gateway-aimed: who-has {gw} tell VIP"),
        None => "unsolicited: who-has VIP tell VIP".to_string(),
    };
    let sched: Vec<String> = (0..u64::from(cfg.garp_count))
        .map(|k| format!("+{}", s(k * ms(cfg.garp_interval))))
        .collect();
    out.push(format!(
        "  GARP:          on takeover {} announcement(s) at {} s ({kind});",
        cfg.garp_count,
        sched.join(", ")
    ));
    out.push("                 the first at once, the rest sent by vip-watch".into());
    if cfg.garp_refresh.is_zero() {
        out.push("                 no refresh afterwards (GARP_REFRESH=0)".into());
    } else {
        out.push(format!(
            "                 then one every {} s for each VIP held",
            s(ms(cfg.garp_refresh))
        ));
    }
    if cfg.dad {
        let n = cfg.vips().count() as u64;
        out.push(format!(
            "  ARP probes:    steady: at most one duplicate probe per VIP every {} s ({n} VIP(s));",
            s(probe_every)
        ));
        out.push(
            "                 none for a VIP whose holder's refreshes are seen; more only around"
                .into(),
        );
        out.push("                 a takeover, a release or a duplicate".into());
    }
    if peer {
        if cfg.min_hold.is_zero() {
            out.push(
                "  damping:       none (MIN_HOLD=0): a peer that flaps slower than RISE/FALL moves"
                    .into(),
            );
            out.push("                 its VIP each time its verdict changes".into());
        } else {
            let m = s(ms(cfg.min_hold));
            out.push(format!(
                "  damping:       MIN_HOLD={m} s: after this host takes or releases a peer VIP it leaves"
            ));
            out.push(format!(
                "                 it there {m} s, so a flapping peer moves it at most once per {m} s;"
            ));
            out.push(format!(
                "                 a takeover or failback can thus come up to {m} s later than above"
            ));
            out.push("                 (own VIPs are not damped: they follow this host's health at once)".into());
        }
    }
    out.push(format!(
        "  link:          {} down or without carrier: every VIP is released within a round and",
        cfg.iface
    ));
    out.push(
        "                 nothing is taken; when it is back, this host's health must RISE again"
            .into(),
    );
    out.push(format!(
        "                 ({} s) before it takes anything",
        s(rising)
    ));
    out.push(format!(
        "  client gap:    on a balancer crash, about the failover time ({} s) plus one request",
        s(detect)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::config::parse;

    const BASE: &str = "IFACE=eth0\nGATEWAY=198.51.100.1\nOWN_VIPS=198.51.100.2/24\n\
                        PEER_VIPS=198.51.100.3/24\nSELF_URL=http://198.51.100.4/\n\
                        PEER_URL=http://198.51.100.5/\n";

    fn text(extra: &str) -> String {
        explain(&parse(&format!("{BASE}{extra}")).unwrap()).join("\n")
    }

    #[test]
    fn the_worst_case_and_the_garp_schedule() {
        let t = text("INTERVAL=0.1\nTIMEOUT=0.1\nFALL=2\nDAD_GRACE=1\n");
        // Rounds every max(INTERVAL, TIMEOUT) = 0.1 s: FALL x 0.1 s + one deadline of 0.1 s.
        assert!(t.contains("at most 0.3 s after the failure"), "{t}");
        // DAD_TIMEOUT 0.05 s is within the FALL - 1 rounds after the first failure.
        assert!(t.contains("peer crashed: at most 0.3 s"), "{t}");
        assert!(t.contains("at most 0.4 s (DAD_GRACE=1"), "{t}");
        assert!(t.contains("+0, +0.2, +0.4 s"), "{t}");
        assert!(t.contains("who-has 198.51.100.1 tell VIP"), "{t}");
        assert!(t.contains("every 10 s"), "{t}");
        assert!(t.contains("damping:       none (MIN_HOLD=0)"), "{t}");
        assert!(
            t.contains("one duplicate probe per VIP every 11.2 s"),
            "{t}"
        );
        assert!(
            t.contains("eth0 down or without carrier: every VIP is released"),
            "{t}"
        );
        assert!(t.contains(
            "role:          active-active (own: 198.51.100.2/24; peer's: 198.51.100.3/24) on eth0"
        ));
        let t = text("MIN_HOLD=2.5\n");
        assert!(
            t.contains("MIN_HOLD=2.5 s: after this host takes or releases a peer VIP"),
            "{t}"
        );
    }

    #[test]
    fn the_exact_text_of_the_defaults() {
        let want = "  role:          active-active (own: 198.51.100.2/24; peer's: 198.51.100.3/24) on eth0
  one round:     both checks at once, each bounded by TIMEOUT (1 s); a round starts
                 every INTERVAL (1 s), or right after a longer one: every 1 s at worst
  failure seen:  after FALL=2 failed rounds: at most 3 s after the failure
  own VIPs:      released at most 3 s after this host's nginx fails;
                 taken (back) 2 s after it is healthy again (RISE=2)
  takeover:      peer crashed: at most 3 s after the failure
                 (the duplicate probe, DAD_TIMEOUT=0.05 s, is sent on the first failed round)
                 peer's nginx dead but its kernel still answers for the VIP:
                 at most 5 s (DAD_GRACE=2 more rounds, then taken anyway)
  failback:      handed back at most 3 s after the peer is healthy, once it holds the VIP
  orphaned VIP:  a peer VIP nobody holds (peer healthy, its supervisor stopped) is
                 taken after FALL=2 probes find it free: about 1.05 s after its
                 release is seen (the releaser's probe), at most 14.05 s if it went unseen
  GARP:          on takeover 3 announcement(s) at +0, +0.2, +0.4 s (gateway-aimed: who-has 198.51.100.1 tell VIP);
                 the first at once, the rest sent by vip-watch
                 then one every 10 s for each VIP held
  ARP probes:    steady: at most one duplicate probe per VIP every 13 s (2 VIP(s));
                 none for a VIP whose holder's refreshes are seen; more only around
                 a takeover, a release or a duplicate
  damping:       none (MIN_HOLD=0): a peer that flaps slower than RISE/FALL moves
                 its VIP each time its verdict changes
  link:          eth0 down or without carrier: every VIP is released within a round and
                 nothing is taken; when it is back, this host's health must RISE again
                 (2 s) before it takes anything
  client gap:    on a balancer crash, about the failover time (3 s) plus one request";
        assert_eq!(text(""), want);
    }

    #[test]
    fn modes_without_dad_failback_or_refresh() {
        let standby = "IFACE=eth0\nPEER_VIPS=198.51.100.2/24\nPEER_URL=http://198.51.100.4/\n\
                       DAD=no\nGARP_REFRESH=0\nGARP_COUNT=1\nTIMEOUT=2\n";
        let t = explain(&parse(standby).unwrap()).join("\n");
        assert!(
            t.contains("role:          standby (peer's: 198.51.100.2/24) on eth0"),
            "{t}"
        );
        assert!(t.contains("every 2 s at worst"), "{t}");
        assert!(
            t.contains("at most 6 s after the failure (DAD=no: no duplicate probe)"),
            "{t}"
        );
        assert!(
            t.contains("1 announcement(s) at +0 s (unsolicited: who-has VIP tell VIP)"),
            "{t}"
        );
        assert!(t.contains("no refresh afterwards (GARP_REFRESH=0)"), "{t}");
        assert!(!t.contains("ARP probes") && !t.contains("orphaned"), "{t}");
        let primary = "IFACE=eth0\nOWN_VIPS=198.51.100.2/24@ha1\nSELF_URL=http://198.51.100.4/\n\
                       FAILBACK=no\nDAD_TIMEOUT=1.5\n";
        let t = explain(&parse(primary).unwrap()).join("\n");
        assert!(
            t.contains("role:          active, primary (own: 198.51.100.2/24@ha1)"),
            "{t}"
        );
        // The duplicate probe is not part of the round.
        assert!(t.contains("each bounded by TIMEOUT (1 s)"), "{t}");
        assert!(
            t.contains("but not while another host holds them (FAILBACK=no)"),
            "{t}"
        );
        assert!(!t.contains("damping") && !t.contains("takeover:"), "{t}");
    }
}
