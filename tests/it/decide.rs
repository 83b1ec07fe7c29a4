//! The supervisor's takeover rules, one row per rule of vip-supervisor(8)'s TAKEOVER RULES,
//! driven directly: the script is sourced (VIPKIT_SUPERVISOR_LIB=1 keeps it from running), the
//! state of one VIP is set as the watcher's lines would leave it, `decide` (or the handler of
//! a line) runs, and what it did is compared: the events it logs and the commands it writes
//! to the watcher. Binding and releasing run `true` instead of vip-bind and vip-unbind. No
//! root, no network; every row under dash and under busybox sh.

use crate::util::{Cmd, root};

/// One rule: the state before, and what must happen.
struct Row {
    name: &'static str,
    /// `own` or `peer`: which list the VIP is in.
    role: &'static str,
    /// Shell assignments after the defaults (verdicts, `vset` of VIP 1, config keys...).
    state: &'static str,
    /// What runs: `decide 1` unless a line's handler is tested.
    call: &'static str,
    /// Every line printed: `event=KIND reason=REASON` and `cmd COMMAND`, in order.
    want: &'static [&'static str],
}

const VIP: &str = "198.51.100.2";

/// The defaults every row starts from: both hosts healthy, the link up, a round.
const DEFAULTS: &str = "\
C_IFACE=eth0 C_GATEWAY=198.51.100.1 C_INTERVAL=0.1 C_TIMEOUT=0.1 C_RISE=2 C_FALL=2
C_MIN_HOLD=0 C_GARP_COUNT=3 C_GARP_INTERVAL=0.2 C_GARP_REFRESH=10 C_FAILBACK=yes C_DAD=yes
C_DAD_TIMEOUT=0.05 C_DAD_GRACE=2 C_NGINX_RELOAD=no C_SELF_URL=http://198.51.100.10/
C_PEER_URL=http://198.51.100.11/ C_STATE_FILE=/nonexistent/state C_SYSLOG=no
self_verdict=up self_raw=ok peer_verdict=up peer_raw=ok link=up in_round=yes";

const ROWS: &[Row] = &[
    // own VIP, held.
    Row {
        name: "own held, this host unhealthy: released",
        role: "own",
        state: "self_verdict=down self_raw=fail; vset held 1 yes",
        call: "decide 1",
        want: &[
            "cmd probe 198.51.100.2",
            "event=release reason=self-unhealthy",
        ],
    },
    Row {
        name: "own held, healthy, nothing new: nothing sent",
        role: "own",
        state: "vset held 1 yes; vset fresh 1 no; vset probecs 1 $((NOW - 100))",
        call: "decide 1",
        want: &[],
    },
    Row {
        name: "own held, found bound at start: a burst (restart)",
        role: "own",
        state: "vset held 1 yes; vset probecs 1 $((NOW - 100))",
        call: "decide 1",
        want: &[
            "cmd announce 198.51.100.2 burst",
            "event=announce reason=restart",
        ],
    },
    Row {
        name: "own held, GARP_REFRESH passed: one packet",
        role: "own",
        state: "vset held 1 yes; vset fresh 1 no; vset garp 1 $((NOW - 1001)); \
                vset probecs 1 $((NOW - 100))",
        call: "decide 1",
        want: &["cmd announce 198.51.100.2 single"],
    },
    Row {
        name: "own held, no probe for PROBE_EVERY: a probe (a silent duplicate)",
        role: "own",
        state: "vset held 1 yes; vset fresh 1 no; vset probecs 1 $((NOW - 1200))",
        call: "decide 1",
        want: &["cmd probe 198.51.100.2"],
    },
    Row {
        name: "own held, another host claims it: re-announced, probed until it lets go",
        role: "own",
        state: "vset held 1 yes; vset fresh 1 no; vset probecs 1 $NOW; vset dup 1 new",
        call: "decide 1",
        want: &[
            "cmd announce 198.51.100.2 burst",
            "event=duplicate reason=also-held-elsewhere",
            "cmd probe 198.51.100.2",
        ],
    },
    Row {
        name: "own held, claimed elsewhere while the own check fails: not yet announced",
        role: "own",
        state: "self_raw=fail; vset held 1 yes; vset fresh 1 no; vset dup 1 new",
        call: "decide 1",
        want: &[],
    },
    Row {
        name: "own held, the duplicate went: announced again",
        role: "own",
        state: "vset held 1 yes; vset fresh 1 no; vset probecs 1 $NOW; vset dup 1 yes; \
                vset dad 1 free; vset dadcs 1 $NOW",
        call: "decide 1",
        want: &[
            "cmd announce 198.51.100.2 burst",
            "event=duplicate-resolved reason=held-here-only",
        ],
    },
    // own VIP, not held.
    Row {
        name: "own not held, healthy: probed first",
        role: "own",
        state: "vset held 1 no",
        call: "decide 1",
        want: &["cmd probe 198.51.100.2"],
    },
    Row {
        name: "own not held, healthy, nobody answers: taken",
        role: "own",
        state: "vset held 1 no; vset dad 1 free; vset dadcs 1 $NOW",
        call: "decide 1",
        want: &[
            "cmd announce 198.51.100.2 burst",
            "event=takeover reason=self-healthy",
        ],
    },
    Row {
        name: "own not held after it vanished: restored",
        role: "own",
        state: "vset held 1 no; vset was 1 yes; vset dad 1 free; vset dadcs 1 $NOW",
        call: "decide 1",
        want: &[
            "cmd announce 198.51.100.2 burst",
            "event=takeover reason=restore",
        ],
    },
    Row {
        name: "own not held, the peer holds it, FAILBACK=yes: taken back",
        role: "own",
        state: "vset held 1 no; vset dad 1 taken; vset dadcs 1 $NOW",
        call: "decide 1",
        want: &[
            "cmd announce 198.51.100.2 burst",
            "event=takeover reason=failback",
        ],
    },
    Row {
        name: "own not held, the peer holds it, FAILBACK=no: yield",
        role: "own",
        state: "C_FAILBACK=no; vset held 1 no; vset dad 1 taken; vset dadcs 1 $NOW",
        call: "decide 1",
        want: &["event=yield reason=held-elsewhere-failback-no"],
    },
    Row {
        name: "own not held, yielded, the holder refreshes: not probed again",
        role: "own",
        state: "C_FAILBACK=no; vset held 1 no; vset yield 1 yes; vset claimcs 1 $((NOW - 300))",
        call: "decide 1",
        want: &[],
    },
    Row {
        name: "own not held, a probe answered long ago: asked again",
        role: "own",
        state: "vset held 1 no; vset dad 1 free; vset dadcs 1 $((NOW - 1000))",
        call: "decide 1",
        want: &["cmd probe 198.51.100.2"],
    },
    Row {
        name: "own not held, an answer is pending: wait",
        role: "own",
        state: "vset held 1 no; vset dad 1 pending; vset probecs 1 $NOW",
        call: "decide 1",
        want: &[],
    },
    Row {
        name: "own not held, this host unhealthy: nothing",
        role: "own",
        state: "self_verdict=down; vset held 1 no",
        call: "decide 1",
        want: &[],
    },
    Row {
        name: "own not held, DAD=no: taken without a probe",
        role: "own",
        state: "C_DAD=no; vset held 1 no",
        call: "decide 1",
        want: &[
            "cmd announce 198.51.100.2 burst",
            "event=takeover reason=self-healthy",
        ],
    },
    // peer VIP, held.
    Row {
        name: "peer held, this host unhealthy: released",
        role: "peer",
        state: "self_verdict=down; vset held 1 yes",
        call: "decide 1",
        want: &[
            "cmd probe 198.51.100.2",
            "event=release reason=self-unhealthy",
        ],
    },
    Row {
        name: "peer held, the healthy owner claims it: handed back",
        role: "peer",
        state: "vset held 1 yes; vset fresh 1 no; vset dup 1 new",
        call: "decide 1",
        want: &[
            "cmd probe 198.51.100.2",
            "event=release reason=failback-owner-holds-it",
        ],
    },
    Row {
        name: "peer held, a probe finds the healthy owner holding it: handed back",
        role: "peer",
        state: "vset held 1 yes; vset fresh 1 no; vset dad 1 taken; vset dadcs 1 $NOW",
        call: "decide 1",
        want: &[
            "cmd probe 198.51.100.2",
            "event=release reason=failback-owner-holds-it",
        ],
    },
    Row {
        name: "peer held, owner claims it within MIN_HOLD: kept (hold), probed each round",
        role: "peer",
        state: "C_MIN_HOLD=5; vset held 1 yes; vset fresh 1 no; vset dup 1 new; \
                vset moved 1 $((NOW - 100)); vset probecs 1 $NOW",
        call: "decide 1",
        want: &["event=hold reason=min-hold", "cmd probe 198.51.100.2"],
    },
    Row {
        name: "peer held, the healthy peer has not taken it back: kept, not announced",
        role: "peer",
        state: "vset held 1 yes; vset fresh 1 no; vset garp 1 $((NOW - 2000)); \
                vset probecs 1 $NOW",
        call: "decide 1",
        want: &[],
    },
    Row {
        name: "peer held, the peer fails: refreshed",
        role: "peer",
        state: "peer_verdict=down peer_raw=fail; vset held 1 yes; vset fresh 1 no; \
                vset garp 1 $((NOW - 1001)); vset probecs 1 $NOW",
        call: "decide 1",
        want: &["cmd announce 198.51.100.2 single"],
    },
    Row {
        name: "peer held, DAD=no, the peer healthy: released (FAILBACK=yes), nothing probed",
        role: "peer",
        state: "C_DAD=no; vset held 1 yes; vset fresh 1 no",
        call: "decide 1",
        want: &["event=release reason=failback"],
    },
    Row {
        name: "peer held, the unhealthy owner claims it too: kept, probed until it lets go",
        role: "peer",
        state: "peer_verdict=down peer_raw=fail; vset held 1 yes; vset fresh 1 no; \
                vset dup 1 new; vset probecs 1 $NOW",
        call: "decide 1",
        want: &["cmd probe 198.51.100.2"],
    },
    // peer VIP, not held.
    Row {
        name: "peer not held, the peer fails: probed, then taken when nobody answers",
        role: "peer",
        state: "peer_verdict=down peer_raw=fail; vset held 1 no",
        call: "decide 1",
        want: &["cmd probe 198.51.100.2"],
    },
    Row {
        name: "peer not held, the peer down and nobody answers: taken",
        role: "peer",
        state: "peer_verdict=down peer_raw=fail; vset held 1 no; vset dad 1 free; \
                vset dadcs 1 $NOW",
        call: "decide 1",
        want: &[
            "cmd announce 198.51.100.2 burst",
            "event=takeover reason=peer-unhealthy",
        ],
    },
    Row {
        name: "peer not held, the peer down but the VIP answers: conflict, asked again at once",
        role: "peer",
        state: "peer_verdict=down peer_raw=fail; vset held 1 no; vset dad 1 taken; \
                vset dadcs 1 $NOW",
        call: "decide 1",
        want: &[
            "event=conflict reason=peer-unhealthy-but-vip-answers",
            "cmd probe 198.51.100.2",
        ],
    },
    Row {
        name: "peer not held, still answering past DAD_GRACE: taken anyway",
        role: "peer",
        state: "peer_verdict=down peer_raw=fail; vset held 1 no; vset dad 1 taken; \
                vset dadcs 1 $NOW; vset conf 1 2",
        call: "decide 1",
        want: &[
            "event=split-brain reason=vip-answers-but-peer-unhealthy",
            "cmd announce 198.51.100.2 burst",
            "event=takeover reason=dad-override",
        ],
    },
    Row {
        name: "peer not held, past DAD_GRACE but the link just came back: wait",
        role: "peer",
        state: "peer_verdict=down peer_raw=fail; vset held 1 no; vset dad 1 taken; \
                vset dadcs 1 $NOW; vset conf 1 2; link_up_cs=$((NOW - 50))",
        call: "decide 1",
        want: &[],
    },
    Row {
        name: "peer not held, the peer down, within MIN_HOLD of the last move: hold",
        role: "peer",
        state: "C_MIN_HOLD=5; peer_verdict=down peer_raw=fail; vset held 1 no; \
                vset dad 1 free; vset dadcs 1 $NOW; vset moved 1 $((NOW - 100))",
        call: "decide 1",
        want: &["event=hold reason=min-hold"],
    },
    Row {
        name: "peer not held, DAD=no, the peer down: taken at once",
        role: "peer",
        state: "C_DAD=no; peer_verdict=down peer_raw=fail; vset held 1 no",
        call: "decide 1",
        want: &[
            "cmd announce 198.51.100.2 burst",
            "event=takeover reason=peer-unhealthy",
        ],
    },
    Row {
        name: "peer not held, this host unhealthy: never taken",
        role: "peer",
        state: "self_verdict=down; peer_verdict=down peer_raw=fail; vset held 1 no; \
                vset dad 1 free; vset dadcs 1 $NOW",
        call: "decide 1",
        want: &[],
    },
    Row {
        name: "peer not held, the link down: never taken",
        role: "peer",
        state: "link=down; peer_verdict=down peer_raw=fail; vset held 1 no; \
                vset dad 1 free; vset dadcs 1 $NOW",
        call: "decide 1",
        want: &[],
    },
    Row {
        name: "peer not held, healthy peer, its refreshes seen: not probed",
        role: "peer",
        state: "vset held 1 no; vset claimcs 1 $((NOW - 500))",
        call: "decide 1",
        want: &[],
    },
    Row {
        name: "peer not held, healthy peer, no claim for PROBE_EVERY: probed",
        role: "peer",
        state: "vset held 1 no; vset claimcs 1 $((NOW - 1200))",
        call: "decide 1",
        want: &["cmd probe 198.51.100.2"],
    },
    Row {
        name: "peer not held, healthy peer, free once: probed again next round",
        role: "peer",
        state: "vset held 1 no; vset dad 1 free; vset dadcs 1 $NOW; vset dadwhy 1 orphan",
        call: "decide 1; decide 1",
        want: &["cmd probe 198.51.100.2"],
    },
    Row {
        name: "peer not held, healthy peer, free FALL times: taken as orphaned",
        role: "peer",
        state: "vset held 1 no; vset dad 1 free; vset dadcs 1 $NOW; vset dadwhy 1 orphan; \
                vset orph 1 1",
        call: "decide 1",
        want: &[
            "cmd announce 198.51.100.2 burst",
            "event=takeover reason=orphaned-peer-healthy-but-vip-unheld",
        ],
    },
    Row {
        name: "peer not held, its first failure: the early probe's answer is kept for FALL",
        role: "peer",
        state: "peer_raw=fail peer_fail=1; vset held 1 no; vset dad 1 pending; \
                vset dadwhy 1 takeover; vset probecs 1 $NOW; vset claimcs 1 $NOW",
        call: "L_result=free; vset dad 1 free; vset dadcs 1 $NOW; decide 1; \
               peer_verdict=down peer_fail=2; decide 1",
        want: &[
            "cmd announce 198.51.100.2 burst",
            "event=takeover reason=peer-unhealthy",
        ],
    },
    Row {
        name: "peer not held, healthy again: a takeover's free answer is no orphan",
        role: "peer",
        state: "vset held 1 no; vset dad 1 free; vset dadcs 1 $NOW; vset dadwhy 1 takeover; \
                vset claimcs 1 $NOW",
        call: "decide 1",
        want: &[],
    },
    // The lines that trigger a decision.
    Row {
        name: "query: another host probed a peer VIP not held here: probed now",
        role: "peer",
        state: "vset held 1 no; vset claimcs 1 $NOW; vset probecs 1 $NOW",
        call: "on_query 1",
        want: &["cmd probe 198.51.100.2"],
    },
    Row {
        name: "query: the unhealthy peer released its VIP (a conflict so far): probed now",
        role: "peer",
        state: "peer_verdict=down peer_raw=fail; vset held 1 no; vset conf 1 1; \
                vset probecs 1 $NOW",
        call: "on_query 1",
        want: &["cmd probe 198.51.100.2"],
    },
    Row {
        name: "released: the failing peer let go of its VIP, nobody answers: taken before FALL",
        role: "peer",
        state: "peer_raw=fail peer_fail=1; vset held 1 no; vset claimcs 1 $NOW; \
                vset probecs 1 $NOW",
        call: "on_query 1; vset dad 1 free; vset dadcs 1 $NOW; decide 1",
        want: &[
            "cmd probe 198.51.100.2",
            "cmd announce 198.51.100.2 burst",
            "event=takeover reason=peer-released",
        ],
    },
    Row {
        name: "released: but the peer's check passes again: no takeover (orphan rule)",
        role: "peer",
        state: "peer_raw=ok; vset held 1 no; vset dad 1 free; vset dadcs 1 $NOW; \
                vset dadwhy 1 released; vset claimcs 1 $NOW",
        call: "decide 1",
        want: &[],
    },
    Row {
        name: "query: for a VIP held here: nothing (no probe ping-pong)",
        role: "own",
        state: "vset held 1 yes",
        call: "on_query 1",
        want: &[],
    },
    Row {
        name: "query: for an own VIP not yielded: nothing",
        role: "own",
        state: "self_verdict=down; vset held 1 no",
        call: "on_query 1",
        want: &[],
    },
    Row {
        name: "duplicate: the healthy owner's takeover seen by the holder: handed back",
        role: "peer",
        state: "vset held 1 yes; vset fresh 1 no; L_mac=02:00:00:00:00:02",
        call: "on_claim 1",
        want: &[
            "cmd probe 198.51.100.2",
            "event=release reason=failback-owner-holds-it",
        ],
    },
    Row {
        name: "vip line: an own VIP removed by hand: vanished, probed, restored on the answer",
        role: "own",
        state: "vset held 1 yes; vset fresh 1 no; vset probecs 1 $NOW",
        call: "note_held 1 no event && decide 1; \
               L_result=free L_mac=-; vset dad 1 pending; vset dadcs 1 $NOW; \
               vset dad 1 free; decide 1",
        want: &[
            "event=vanished reason=removed-outside-vip-supervisor",
            "cmd probe 198.51.100.2",
            "cmd announce 198.51.100.2 burst",
            "event=takeover reason=restore",
        ],
    },
    Row {
        name: "round: rounds left out while the link was down do not count towards RISE",
        role: "own",
        state: "vset held 1 no; self_ok=5; last_n=10",
        call: "link_now down; L_n=20 L_self=ok L_self_code=200 L_peer=- L_link=up L_held=-; \
               on_round; echo \"self_ok=$self_ok self_verdict=$self_verdict\"",
        want: &[
            "event=link reason=link-down",
            "event=link reason=link-up",
            "self_ok=1 self_verdict=down",
        ],
    },
    Row {
        name: "round: rounds left out in a steady state count as what they repeated",
        role: "own",
        state: "vset held 1 yes; vset fresh 1 no; vset probecs 1 $NOW; self_ok=3 self_raw=ok \
                self_code=200 peer_raw=ok peer_code=200 peer_ok=3 last_n=10",
        call: "L_n=20 L_self=ok L_self_code=200 L_peer=fail L_peer_code=503 L_link=up \
               L_held=198.51.100.2; synced=yes; on_round; \
               echo \"self_ok=$self_ok peer_ok=$peer_ok peer_fail=$peer_fail round=$round_no\"",
        want: &["self_ok=13 peer_ok=0 peer_fail=1 round=10"],
    },
];

/// The script that runs every row in its own subshell, each output after a `== N` line.
fn program(rows: &[Row]) -> String {
    let mut s = format!(
        "VIPKIT_SUPERVISOR_LIB=1\n. '{}'\n",
        root().join("scripts/vip-supervisor").display()
    );
    s += "NOW=100000\n\
          now_cs() { R=$NOW; }\n\
          log_event() { echo \"event=$1 reason=$3\"; }\n\
          defer_event() { echo \"event=$1 reason=$3\"; }\n\
          wcmd() { echo \"cmd $1\"; }\n\
          T_BIND=true T_UNBIND=true DRY_RUN=no\n\
          RUN=$(mktemp -d) || exit 1\n";
    for (i, r) in rows.iter().enumerate() {
        let list = if r.role == "own" {
            "C_OWN_VIPS"
        } else {
            "C_PEER_VIPS"
        };
        s += &format!(
            "echo '== {i}'\n(\n{DEFAULTS}\nC_OWN_VIPS='' C_PEER_VIPS=''\n{list}={VIP}/24\n\
             init_vips\n{}\nderive_timings\n{}\n)\n",
            r.state, r.call
        );
    }
    s += "rm -rf \"$RUN\"\n";
    s
}

fn check(shell: &[&str]) {
    let out = Cmd::new(shell[0])
        .args(&shell[1..])
        .arg("-c")
        .arg(program(ROWS))
        .run();
    assert_eq!(out.code, Some(0), "{out}");
    let mut got: Vec<Vec<String>> = Vec::new();
    for line in out.stdout.lines() {
        if line.starts_with("== ") {
            got.push(Vec::new());
        } else if let Some(row) = got.last_mut() {
            row.push(line.to_string());
        }
    }
    assert_eq!(got.len(), ROWS.len(), "{out}");
    let mut wrong = Vec::new();
    for (r, g) in ROWS.iter().zip(&got) {
        if r.want != g.as_slice() {
            wrong.push(format!("{}:\n  want {:?}\n  got  {:?}", r.name, r.want, g));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} rules differ under {}:\n{}\nstderr:\n{}",
        wrong.len(),
        ROWS.len(),
        shell.join(" "),
        wrong.join("\n"),
        out.stderr
    );
}

#[test]
fn the_takeover_rules_under_dash() {
    check(&["dash"]);
}

#[test]
fn the_takeover_rules_under_busybox_sh() {
    check(&["busybox", "sh"]);
}
