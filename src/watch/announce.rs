//! Pure: what the watcher sends and when. The frame of an announcement (gateway-aimed or
//! unsolicited, as the supervisor's `announce()` chose with garp), and the [`Schedule`] of the
//! rest of each GARP burst, of the `GARP_REFRESH` re-announcements and of the pending
//! duplicate probes. Time is passed in, so the tests need no clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::arp::{Arp, Mac, Nd, Packet};
use crate::watch::protocol::Mode;

/// The announcement of `vip` from `mac`, and where it is aimed (None: unsolicited).
///
/// IPv4 with an IPv4 `GATEWAY`: "who-has GATEWAY tell VIP" (`garp -s VIP GATEWAY`), which the
/// gateway answers and so must update its entry for VIP; else the gratuitous request
/// "who-has VIP tell VIP" (`garp -U -s VIP`). IPv6: an unsolicited neighbour advertisement
/// with the override flag, whatever the gateway.
pub fn packet(vip: IpAddr, gateway: Option<IpAddr>, mac: Mac) -> (Packet, Option<IpAddr>) {
    match (vip, gateway) {
        (IpAddr::V4(v), Some(IpAddr::V4(gw))) => {
            (Packet::Arp(Arp::request(mac, v, gw)), Some(IpAddr::V4(gw)))
        }
        (IpAddr::V4(v), _) => (Packet::Arp(Arp::request(mac, v, v)), None),
        (IpAddr::V6(v), _) => (Packet::Nd(Nd::unsolicited_na(mac, v)), None),
    }
}

/// The rest of one burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Burst {
    left: u32,
    next: Instant,
}

/// Bursts in progress, refreshes, and probes waiting for an answer, per VIP.
#[derive(Debug)]
pub struct Schedule {
    count: u32,
    interval: Duration,
    /// Zero: no refreshes.
    refresh: Duration,
    probe_wait: Duration,
    bursts: HashMap<IpAddr, Burst>,
    /// VIPs with `refresh VIP on`, and when each was last announced.
    refreshed: HashMap<IpAddr, Instant>,
    last: HashMap<IpAddr, Instant>,
    probes: HashMap<IpAddr, Instant>,
}

/// One packet due now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub vip: IpAddr,
    /// `Burst` for the later packets of a burst, `Refresh` for a refresh.
    pub mode: Mode,
}

impl Schedule {
    /// `GARP_COUNT`, `GARP_INTERVAL`, `GARP_REFRESH`, `DAD_TIMEOUT`.
    pub fn new(count: u32, interval: Duration, refresh: Duration, probe_wait: Duration) -> Self {
        Schedule {
            count: count.max(1),
            interval,
            refresh,
            probe_wait,
            bursts: HashMap::new(),
            refreshed: HashMap::new(),
            last: HashMap::new(),
            probes: HashMap::new(),
        }
    }

    /// The number of packets an announcement of `mode` sends.
    pub fn count(&self, mode: Mode) -> u32 {
        match mode {
            Mode::Burst => self.count,
            Mode::Single | Mode::Refresh => 1,
        }
    }

    /// The first packet of an announcement of `vip` went out at `now`: a burst schedules the
    /// rest (a burst already running starts again: the last command wins), and every
    /// announcement restarts the refresh period.
    pub fn announced(&mut self, vip: IpAddr, mode: Mode, now: Instant) {
        self.last.insert(vip, now);
        if self.refreshed.contains_key(&vip) {
            self.refreshed.insert(vip, now);
        }
        if mode == Mode::Burst && self.count > 1 {
            self.bursts.insert(
                vip,
                Burst {
                    left: self.count - 1,
                    next: now + self.interval,
                },
            );
        }
    }

    /// `refresh VIP on|off`. On: the first refresh comes `GARP_REFRESH` after the VIP's last
    /// announcement (or after now, if it was never announced).
    pub fn set_refresh(&mut self, vip: IpAddr, on: bool, now: Instant) {
        if on {
            let since = self.last.get(&vip).copied().unwrap_or(now);
            self.refreshed.entry(vip).or_insert(since);
        } else {
            self.refreshed.remove(&vip);
        }
    }

    /// `vip` is no longer bound here: the rest of its burst is not sent (a late packet would
    /// pull the gateway back to a host that let go). Its refresh setting stays.
    pub fn cancel(&mut self, vip: IpAddr) {
        self.bursts.remove(&vip);
    }

    /// The packets due at `now`, each marked sent. `bound` says whether a VIP is bound here
    /// now: a refresh of one that is not is skipped (the next one a period later), a burst of
    /// one that is not is dropped.
    pub fn due(&mut self, now: Instant, bound: impl Fn(IpAddr) -> bool) -> Vec<Due> {
        let mut out = Vec::new();
        let interval = self.interval;
        self.bursts.retain(|vip, b| {
            if b.next > now {
                return true;
            }
            if !bound(*vip) {
                return false;
            }
            out.push(Due {
                vip: *vip,
                mode: Mode::Burst,
            });
            b.left -= 1;
            // From the schedule, so that a slightly late wake-up does not stretch the burst;
            // but never two packets back to back after a very late one.
            b.next += interval;
            if b.next <= now {
                b.next = now + interval;
            }
            b.left > 0
        });
        for d in &out {
            self.last.insert(d.vip, now);
        }
        if !self.refresh.is_zero() {
            for (vip, since) in self.refreshed.iter_mut() {
                if *since + self.refresh > now {
                    continue;
                }
                *since = now;
                if bound(*vip) {
                    self.last.insert(*vip, now);
                    out.push(Due {
                        vip: *vip,
                        mode: Mode::Refresh,
                    });
                }
            }
        }
        out
    }

    /// Start waiting for an answer to a probe of `vip` sent at `now`; false (nothing to send)
    /// when one is already waiting: its answer answers both.
    pub fn probe(&mut self, vip: IpAddr, now: Instant) -> bool {
        if self.probes.contains_key(&vip) {
            return false;
        }
        self.probes.insert(vip, now + self.probe_wait);
        true
    }

    /// A frame claimed `vip`: true when a probe of it was waiting (it is answered now).
    pub fn answer(&mut self, vip: IpAddr) -> bool {
        self.probes.remove(&vip).is_some()
    }

    /// A probe could not be sent: stop waiting for it.
    pub fn forget_probe(&mut self, vip: IpAddr) {
        self.probes.remove(&vip);
    }

    /// The probes whose wait ended by `now` without an answer: the address is free.
    pub fn expired(&mut self, now: Instant) -> Vec<IpAddr> {
        let mut out: Vec<IpAddr> = self
            .probes
            .iter()
            .filter(|(_, d)| **d <= now)
            .map(|(v, _)| *v)
            .collect();
        out.sort();
        for v in &out {
            self.probes.remove(v);
        }
        out
    }

    /// When something is next due; None: nothing scheduled.
    pub fn next(&self) -> Option<Instant> {
        let bursts = self.bursts.values().map(|b| b.next);
        let probes = self.probes.values().copied();
        let refreshes = self
            .refreshed
            .values()
            .filter(|_| !self.refresh.is_zero())
            .map(|s| *s + self.refresh);
        bursts.chain(probes).chain(refreshes).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: Mac = [2, 0, 0, 0, 0, 4];

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn announcements_are_aimed_at_an_ipv4_gateway_else_unsolicited() {
        let v = "198.51.100.2".parse().unwrap();
        let gw = "198.51.100.1".parse().unwrap();
        assert_eq!(
            packet(IpAddr::V4(v), Some(IpAddr::V4(gw)), MAC),
            (Packet::Arp(Arp::request(MAC, v, gw)), Some(IpAddr::V4(gw)))
        );
        assert_eq!(
            packet(IpAddr::V4(v), None, MAC),
            (Packet::Arp(Arp::request(MAC, v, v)), None)
        );
        assert_eq!(
            packet(IpAddr::V4(v), Some(ip("2001:db8::1")), MAC),
            (Packet::Arp(Arp::request(MAC, v, v)), None)
        );
        let v6 = "2001:db8::2".parse().unwrap();
        assert_eq!(
            packet(IpAddr::V6(v6), Some(IpAddr::V4(gw)), MAC),
            (Packet::Nd(Nd::unsolicited_na(MAC, v6)), None)
        );
    }

    #[test]
    fn a_burst_sends_count_packets_interval_apart_the_first_at_once() {
        let t0 = Instant::now();
        let v = ip("198.51.100.2");
        let mut s = Schedule::new(3, ms(200), Duration::ZERO, ms(50));
        assert_eq!(s.count(Mode::Burst), 3);
        s.announced(v, Mode::Burst, t0);
        assert_eq!(s.next(), Some(t0 + ms(200)));
        assert!(s.due(t0 + ms(199), |_| true).is_empty());
        let d = s.due(t0 + ms(200), |_| true);
        assert_eq!(
            d,
            vec![Due {
                vip: v,
                mode: Mode::Burst
            }]
        );
        // A late wake-up keeps the schedule.
        assert_eq!(s.due(t0 + ms(410), |_| true).len(), 1);
        assert_eq!(s.next(), None, "3 packets: done");
        assert!(s.due(t0 + ms(1000), |_| true).is_empty());
        // Woken far too late: one packet now, the next an interval later, not back to back.
        s.announced(v, Mode::Burst, t0);
        assert_eq!(s.due(t0 + ms(1000), |_| true).len(), 1);
        assert_eq!(s.next(), Some(t0 + ms(1200)));
    }

    #[test]
    fn a_new_burst_restarts_and_a_release_cancels() {
        let t0 = Instant::now();
        let v = ip("198.51.100.2");
        let mut s = Schedule::new(3, ms(200), Duration::ZERO, ms(50));
        s.announced(v, Mode::Burst, t0);
        s.due(t0 + ms(200), |_| true);
        s.announced(v, Mode::Burst, t0 + ms(300));
        assert_eq!(s.next(), Some(t0 + ms(500)));
        assert_eq!(s.due(t0 + ms(500), |_| true).len(), 1);
        assert_eq!(s.due(t0 + ms(700), |_| true).len(), 1);
        assert_eq!(s.next(), None);
        s.announced(v, Mode::Burst, t0 + ms(800));
        s.cancel(v);
        assert_eq!(s.next(), None);
        s.announced(v, Mode::Burst, t0 + ms(900));
        assert!(
            s.due(t0 + ms(1100), |_| false).is_empty(),
            "not bound: dropped"
        );
        assert_eq!(s.next(), None);
        let mut one = Schedule::new(1, ms(200), Duration::ZERO, ms(50));
        one.announced(v, Mode::Burst, t0);
        assert_eq!(
            one.next(),
            None,
            "GARP_COUNT=1: the first packet is the burst"
        );
    }

    #[test]
    fn refreshes_follow_the_last_announcement_while_bound() {
        let t0 = Instant::now();
        let v = ip("198.51.100.2");
        let mut s = Schedule::new(1, ms(200), Duration::from_secs(10), ms(50));
        s.announced(v, Mode::Single, t0);
        assert_eq!(s.next(), None, "refresh is off until asked for");
        s.set_refresh(v, true, t0 + ms(5000));
        assert_eq!(
            s.next(),
            Some(t0 + ms(10_000)),
            "counted from the last announcement"
        );
        s.announced(v, Mode::Burst, t0 + ms(6000));
        assert_eq!(s.next(), Some(t0 + ms(16_000)));
        assert!(s.due(t0 + ms(15_999), |_| true).is_empty());
        assert_eq!(
            s.due(t0 + ms(16_000), |_| true),
            vec![Due {
                vip: v,
                mode: Mode::Refresh
            }]
        );
        // Not bound when due: skipped, and the next one a period later.
        assert!(s.due(t0 + ms(26_000), |_| false).is_empty());
        assert_eq!(s.next(), Some(t0 + ms(36_000)));
        s.set_refresh(v, false, t0 + ms(27_000));
        assert_eq!(s.next(), None);
        let mut off = Schedule::new(1, ms(200), Duration::ZERO, ms(50));
        off.set_refresh(v, true, t0);
        assert_eq!(off.next(), None, "GARP_REFRESH=0");
        assert!(off.due(t0 + Duration::from_secs(3600), |_| true).is_empty());
    }

    #[test]
    fn probes_wait_once_per_vip_and_expire_free() {
        let t0 = Instant::now();
        let (a, b) = (ip("198.51.100.2"), ip("198.51.100.3"));
        let mut s = Schedule::new(1, ms(200), Duration::ZERO, ms(50));
        assert!(s.probe(a, t0));
        assert!(!s.probe(a, t0 + ms(10)), "one at a time per VIP");
        assert!(s.probe(b, t0 + ms(20)));
        assert_eq!(s.next(), Some(t0 + ms(50)));
        assert!(s.answer(b));
        assert!(!s.answer(b), "answered once");
        assert!(s.expired(t0 + ms(49)).is_empty());
        assert_eq!(s.expired(t0 + ms(50)), vec![a]);
        assert_eq!(s.next(), None);
        assert!(s.probe(a, t0 + ms(60)));
        s.forget_probe(a);
        assert_eq!(s.next(), None);
    }
}
