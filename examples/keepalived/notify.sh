#!/bin/sh
# keepalived notify script: keepalived calls it as
#   notify.sh TYPE NAME STATE PRIORITY     (TYPE is INSTANCE or GROUP)
# On MASTER and BACKUP it reloads nginx with nginx-reload (HUP, not the USR1 of the classic
# script, and confirmed by new workers) so that nginx binds or drops listen sockets on the VIP;
# every call is logged in vip-supervisor's format.
set -u

: "${VIPKIT_BIN:=/usr/local/bin}"
: "${NGINX_PIDFILE:=}"

TYPE=${1:-}
NAME=${2:-}
STATE=${3:-}

# Log one line to stderr and syslog, as vip-supervisor does.
log() {
    printf '%s keepalived-notify: %s\n' "$(date '+%Y-%m-%dT%H:%M:%S%z')" "$*" >&2
    command -v logger >/dev/null 2>&1 && logger -t keepalived-notify -- "$*"
    return 0
}

case $STATE in
    MASTER | BACKUP) ;;
    FAULT | STOP | DELETED)
        log "event=$STATE vip=- reason=keepalived instance=$NAME type=$TYPE"
        exit 0
        ;;
    *)
        log "event=error vip=- reason=unknown-state state=$STATE"
        exit 2
        ;;
esac

if [ -n "$NGINX_PIDFILE" ]; then
    set -- -p "$NGINX_PIDFILE"
else
    set --
fi
if "$VIPKIT_BIN/nginx-reload" -q "$@" --wait 5; then
    log "event=nginx-reload vip=- reason=$STATE instance=$NAME result=ok"
else
    log "event=error vip=- reason=nginx-reload-failed instance=$NAME code=$?"
    exit 1
fi
