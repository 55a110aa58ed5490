#!/usr/bin/env bash
# Rolling restarts without failed requests: three instances on one PostgreSQL behind HAProxy
# (health checks on /readyz), a mixed load through HAProxy while each instance in turn gets
# SIGTERM and is started again, and one gets SIGKILL. See bench/rolling.py for what is counted.
#
#   bash bench/rolling.sh                 the release build
#   BIN=target/debug/accountd bash bench/rolling.sh   a build you already have (CI does this)
set -euo pipefail
cd "$(dirname "$0")/.."

PG=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
if ! command -v haproxy >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
fi
if [ -z "${BIN:-}" ]; then
    cargo build --release -q
    BIN=target/release/accountd
fi
WORK=$(mktemp -d)
PGDB="accountd_rolling_$$"
HAPROXY=
cleanup() {
    [ -n "$HAPROXY" ] && kill "$HAPROXY" 2>/dev/null || true
    psql -q "$PG" -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
psql -q "$PG" -c "CREATE DATABASE $PGDB"
DB="${PG%/*}/$PGDB"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
P0=$(free_port); P1=$(free_port); P2=$(free_port); FRONT=$(free_port)

DATABASE_URL="$DB" BCRYPT_COST=4 "$BIN" bootstrap --email owner@rolling.test --password rolling-owner-pw >/dev/null

# Checks every 200 ms: one failed check takes an instance out, two good ones bring it back.
# A connection that fails is retried on another instance (`redispatch`); nothing else is
# retried, so a request that reached an instance and got no answer counts as failed.
cat > "$WORK/haproxy.cfg" <<EOF
global
    maxconn 1000
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch 1
frontend api
    bind 127.0.0.1:$FRONT
    default_backend accountd
backend accountd
    balance roundrobin
    option httpchk GET /readyz
    default-server inter 200ms fall 1 rise 2
    server a0 127.0.0.1:$P0 check
    server a1 127.0.0.1:$P1 check
    server a2 127.0.0.1:$P2 check
EOF
haproxy -f "$WORK/haproxy.cfg" -db > "$WORK/haproxy.log" 2>&1 &
HAPROXY=$!

BIN="$BIN" DB="$DB" WORK="$WORK" PORTS="$P0,$P1,$P2" FRONT="$FRONT" python3 bench/rolling.py ||
    { tail -n 20 "$WORK"/instance*.log "$WORK/haproxy.log"; exit 1; }
