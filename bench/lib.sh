# bench/lib.sh: helpers shared by bench/failover and bench/tools (sourced by bash, not run).
#
# Everything happens inside namespaces named after this process (vkb<PID><role>) that the EXIT
# trap removes, with documentation addresses only; nothing is changed in the root namespace.
# Every command that could block runs under `timeout`.

# shellcheck shell=bash
# shellcheck disable=SC2034 # the addresses and names are used by the scripts sourcing this

export LC_ALL=C
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TAG="vkb$$"
GW_IP=198.51.100.1
VIP1=198.51.100.2
VIP2=198.51.100.3
LB1_IP=198.51.100.4
LB2_IP=198.51.100.5
NAMESPACES=()
BG_PIDS=()
WORK=""
KEEP=0

# Print a progress line on stderr.
say() {
    printf '%s %s\n' "$(date +%T)" "$*" >&2
}

# Stop with a message.
die() {
    printf '%s: %s\n' "${0##*/}" "$*" >&2
    exit 1
}

# The current time in microseconds since the epoch (bash's clock, no fork).
now_us() {
    local t=$EPOCHREALTIME
    echo "${t/./}"
}

# Fail unless we are root and every command in "$@" exists.
need() {
    [ "$(id -u)" -eq 0 ] || die "needs root (network namespaces): run it with sudo"
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || die "missing command: $c"
    done
}

# Make the scratch directory (root-only, so keepalived accepts scripts under it).
make_work() {
    WORK=$(mktemp -d /tmp/vipkit-bench.XXXXXX)
    chmod 0755 "$WORK"
    mkdir -p "$WORK/bin"
}

# Build the release binaries (the release profile: lto, one codegen unit, stripped) and copy
# them into $WORK/bin.
build_release() {
    say "building: cargo build --release"
    (cd "$ROOT" && timeout 1800 cargo build --release --quiet) || die "cargo build --release failed"
    local b
    for b in vip-bind vip-unbind garp httpcheck nginx-reload vip-watch; do
        install -m 0755 "$ROOT/target/release/$b" "$WORK/bin/$b"
    done
}

# Create namespace "$TAG$1" with loopback up; remember it for cleanup.
netns_add() {
    local ns="$TAG$1"
    timeout 10 ip netns add "$ns"
    NAMESPACES+=("$ns")
    timeout 10 ip -n "$ns" link set lo up
}

# The DESIGN.md test network: gw (bridge br0, .1), lb1 (eth0, .4), lb2 (eth0, .5); veth pairs
# are created inside the gw namespace; the gw ports are p-lb1 and p-lb2.
topology() {
    local n
    netns_add gw
    netns_add lb1
    netns_add lb2
    NS_GW=${TAG}gw
    NS_LB1=${TAG}lb1
    NS_LB2=${TAG}lb2
    timeout 10 ip -n "$NS_GW" link add br0 type bridge
    timeout 10 ip -n "$NS_GW" link set br0 up
    timeout 10 ip -n "$NS_GW" addr add "$GW_IP/24" dev br0
    for n in 1 2; do
        local ns="${TAG}lb$n" ip
        ip=$([ "$n" = 1 ] && echo "$LB1_IP" || echo "$LB2_IP")
        timeout 10 ip -n "$NS_GW" link add "p-lb$n" type veth peer name eth0 netns "$ns"
        timeout 10 ip -n "$NS_GW" link set "p-lb$n" master br0 up
        timeout 10 ip -n "$ns" link set eth0 up
        timeout 10 ip -n "$ns" addr add "$ip/24" dev eth0
        timeout 10 ip -n "$ns" route add default via "$GW_IP"
    done
}

# Run "$@" in namespace $1 in the background under a lifetime limit, output to $2;
# sets BG to its pid (the `timeout` process, which passes SIGTERM on).
bg_in() {
    local ns=$1 log=$2
    shift 2
    timeout -k 5 3600 ip netns exec "$ns" "$@" >"$log" 2>&1 &
    BG=$!
    BG_PIDS+=("$BG")
}

# Stop a background job started by bg_in: SIGTERM, then SIGKILL after 5 s.
bg_stop() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Write an nginx config for balancer $1 under $WORK/nginx-$1 answering "$1" to any request on
# port 80 of every address (so VIPs added later are served), without access logging.
nginx_conf() {
    local d="$WORK/nginx-$1"
    mkdir -p "$d"
    cat >"$d/nginx.conf" <<EOF
daemon on;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
    server {
        listen 80;
        location / { default_type text/plain; return 200 "$1\n"; }
    }
}
EOF
}

# Start nginx for balancer $1 (in namespace $TAG$1) and wait for its pidfile.
nginx_start() {
    local d="$WORK/nginx-$1"
    rm -f "$d/nginx.pid"
    timeout 10 ip netns exec "$TAG$1" nginx -p "$d" -c "$d/nginx.conf" 2>>"$d/start.log" ||
        die "nginx for $1 did not start: $(tail -n 3 "$d/start.log" "$d/error.log" 2>/dev/null)"
    for _ in $(seq 100); do
        [ -s "$d/nginx.pid" ] && return 0
        sleep 0.05
    done
    die "nginx for $1 wrote no pidfile"
}

# Kill nginx of balancer $1 hard (master and workers at once), as a crash would.
nginx_kill() {
    local d="$WORK/nginx-$1" master workers
    master=$(cat "$d/nginx.pid" 2>/dev/null) || return 0
    [ -n "$master" ] || return 0
    workers=$(ps -o pid= --ppid "$master" 2>/dev/null | tr '\n' ' ')
    # shellcheck disable=SC2086 # $workers is a list of pids
    kill -KILL "$master" $workers 2>/dev/null || true
    rm -f "$d/nginx.pid"
}

# Remove the namespaces and everything still running in them; keep $WORK if asked.
cleanup() {
    local pid ns
    trap - EXIT INT TERM
    for pid in "${BG_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    sleep 0.3
    for ns in "${NAMESPACES[@]}"; do
        for pid in $(timeout 10 ip netns pids "$ns" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null || true
        done
    done
    for pid in "${BG_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    for ns in "${NAMESPACES[@]}"; do
        timeout 10 ip netns del "$ns" 2>/dev/null || true
    done
    if [ -n "$WORK" ] && [ "$KEEP" = 0 ]; then
        rm -rf "$WORK"
    elif [ -n "$WORK" ]; then
        say "kept $WORK"
    fi
}

# Describe this machine in Markdown (for docs/benchmarks.md).
machine() {
    local cpu mem
    cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
    mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
    printf -- '- %s, %s cores (nproc), %s RAM, kernel %s\n' "$cpu" "$(nproc)" "$mem" "$(uname -r)"
    printf -- '- load average at start: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
}
