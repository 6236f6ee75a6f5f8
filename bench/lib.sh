# Shared by the bench scripts (sourced, not run): the release build, a throw-away server, the
# load generator. Benchmarks print figures; they assert nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
scripts/setup >/dev/null
# shellcheck source=/dev/null
source .tools/env

# The release server and site, as ./scripts/run builds them (reused when up to date).
build_release() {
  echo "bench: cargo leptos build --release --split" >&2
  cargo leptos build --release --split >&2
}

# The minimal axum HS256 server the secret-number figures are compared with (bench/baseline).
BASELINE=$ROOT/target/bench/release/jwt-auth-baseline
build_baseline() {
  echo "bench: building bench/baseline" >&2
  (cd bench/baseline && CARGO_TARGET_DIR="$ROOT/target/bench" cargo build --release -q)
}

# wrk for the stateless endpoints (Debian's package; installed once, like scripts/setup does).
ensure_wrk() {
  command -v wrk >/dev/null && return 0
  echo "bench: installing wrk (apt)" >&2
  local sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get install -y -q wrk >&2 || { $sudo apt-get update -q >&2 && $sudo apt-get install -y -q wrk >&2; }
}

# wrk_rps URL SECONDS [wrk args…]: requests per second of 2 threads × 64 connections.
wrk_rps() {
  local url=$1 secs=$2
  shift 2
  wrk -t2 -c64 -d"${secs}s" "$@" "$url" | awk '/^Requests\/sec/ {printf "%.0f", $2}'
}

# rss_mib PID [VmRSS|VmHWM]: the process's resident (or peak resident) memory in MiB.
rss_mib() {
  awk -v key="${2:-VmRSS}:" '$1 == key {printf "%.1f", $2 / 1024}' "/proc/$1/status"
}

# The load generator (bench/loadgen), built into target/bench.
LOADGEN=$ROOT/target/bench/release/jwt-auth-loadgen
build_loadgen() {
  echo "bench: building bench/loadgen" >&2
  (cd bench/loadgen && CARGO_TARGET_DIR="$ROOT/target/bench" cargo build --release -q)
}

# start_server PORT [VAR=value …]: the release server on 127.0.0.1:PORT with a fresh database
# in a temp folder (demo users ready), in the background; sets SERVER_PID and SERVER_URL.
start_server() {
  local port=$1
  shift
  local dir
  dir=$(mktemp -d)
  BENCH_DIRS+=("$dir")
  env DATABASE_URL="sqlite://$dir/bench.db?mode=rwc" LEPTOS_SITE_ADDR="127.0.0.1:$port" \
    LEPTOS_SITE_ROOT=target/site LEPTOS_OUTPUT_NAME=jwt-auth RUST_LOG=warn "$@" \
    target/release/jwt-auth &
  SERVER_PID=$!
  SERVER_PIDS+=("$SERVER_PID")
  SERVER_URL="http://127.0.0.1:$port"
  local tries=0
  until curl -s -o /dev/null "$SERVER_URL/login"; do
    tries=$((tries + 1))
    [ $tries -lt 300 ] || { echo "bench: server on $port did not start" >&2; exit 1; }
    sleep 0.1
  done
}

BENCH_DIRS=()
SERVER_PIDS=()
cleanup() {
  for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for dir in "${BENCH_DIRS[@]}"; do rm -rf "$dir"; done
}
trap cleanup EXIT

machine() {
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); $(date -u +%Y-%m-%d)"
}
