# shellcheck shell=bash
# Shared helpers and the local defaults of ./dojo (see DESIGN.md, "Local defaults").
# Sourced by ./dojo; expects DOJO_ROOT to be set.
# shellcheck disable=SC2034  # globals used by the other files

DOJO_STATE="$DOJO_ROOT/.dojo"
DOJO_RUN="$DOJO_STATE/run"
DOJO_LOGS="$DOJO_STATE/logs"
DOJO_SECRETS_FILE="$DOJO_STATE/secrets.env"
DOJO_BIN="$DOJO_ROOT/bazel-bin"

# Project-local PostgreSQL and Redis of `./dojo up`.
DOJO_PG_PORT=55432
DOJO_PG_DATA="$DOJO_STATE/pg"
DOJO_PG_SOCKDIR="$DOJO_RUN/pg"
# A unix socket path is limited to 107 bytes; deep checkouts use /tmp instead.
if (( ${#DOJO_PG_SOCKDIR} > 80 )); then
  DOJO_PG_SOCKDIR="/tmp/dojo-pg-$(printf '%s' "$DOJO_ROOT" | cksum | cut -d' ' -f1)"
fi
DOJO_REDIS_PORT=56379
DOJO_REDIS_DATA="$DOJO_STATE/redis"

# Start order (gateway last: it talks to the others). `down` stops in reverse.
DOJO_SERVICES=(auth content gamification executor gateway)
declare -A DOJO_DEFAULT_ADDR=(
  [auth]=127.0.0.1:7001
  [content]=127.0.0.1:7002
  [gamification]=127.0.0.1:7003
  [executor]=127.0.0.1:7004
  [gateway]=127.0.0.1:8080
)
declare -A DOJO_DEFAULT_METRICS_ADDR=(
  [auth]=127.0.0.1:9101
  [content]=127.0.0.1:9102
  [gamification]=127.0.0.1:9103
  [executor]=127.0.0.1:9104
  [gateway]=127.0.0.1:9105
)

if [[ -t 1 ]]; then
  _C_B=$'\e[1m' _C_G=$'\e[32m' _C_Y=$'\e[33m' _C_R=$'\e[31m' _C_0=$'\e[0m'
else
  _C_B='' _C_G='' _C_Y='' _C_R='' _C_0=''
fi

info() { printf '%s==>%s %s\n' "$_C_B" "$_C_0" "$*"; }
ok()   { printf '%s ok%s %s\n' "$_C_G" "$_C_0" "$*"; }
warn() { printf '%swarning:%s %s\n' "$_C_Y" "$_C_0" "$*" >&2; }
die()  { printf '%serror:%s %s\n' "$_C_R" "$_C_0" "$*" >&2; exit 1; }

is_root() { [[ $EUID -eq 0 ]]; }

# Path relative to the repo root, for messages.
rel() { local p=$1; printf '%s' "${p#"$DOJO_ROOT"/}"; }

# Names of the per-service environment variables.
svc_addr_var()    { printf 'DOJO_%s_ADDR' "${1^^}"; }
svc_metrics_var() { printf 'DOJO_%s_METRICS_ADDR' "${1^^}"; }
svc_addr()        { local v; v=$(svc_addr_var "$1"); printf '%s' "${!v}"; }
svc_metrics()     { local v; v=$(svc_metrics_var "$1"); printf '%s' "${!v}"; }
svc_bin()         { printf '%s/services/%s/%s' "$DOJO_BIN" "$1" "$1"; }
is_service()      { local s; for s in "${DOJO_SERVICES[@]}"; do [[ $s == "$1" ]] && return 0; done; return 1; }

# A process is alive if it exists and is not a zombie (a container's PID 1 may
# never reap orphans).
pid_alive() {
  local pid=$1 state
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  state=$(sed -n 's/^[0-9]* (.*) \(.\) .*/\1/p' "/proc/$pid/stat" 2>/dev/null || true)
  [[ $state != Z ]]
}

read_pid() { [[ -r $1 ]] && head -n1 "$1" 2>/dev/null | tr -dc 0-9 || true; }

# argv of a process, NUL-separated fields joined by spaces.
pid_cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true; }

# Is something accepting TCP connections on 127.0.0.1:PORT?
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Export the environment every service (and auth-admin) gets. Every value can be
# overridden from the caller's environment (12-factor).
dojo_export_env() {
  local s v
  for s in "${DOJO_SERVICES[@]}"; do
    v=$(svc_addr_var "$s");    export "$v=${!v:-${DOJO_DEFAULT_ADDR[$s]}}"
    v=$(svc_metrics_var "$s"); export "$v=${!v:-${DOJO_DEFAULT_METRICS_ADDR[$s]}}"
  done
  export DOJO_PG_URL="${DOJO_PG_URL:-postgresql://dojo@127.0.0.1:$DOJO_PG_PORT/dojo}"
  export DOJO_REDIS_ADDR="${DOJO_REDIS_ADDR:-127.0.0.1:$DOJO_REDIS_PORT}"
  export DOJO_MAIL_OUTBOX="${DOJO_MAIL_OUTBOX:-$DOJO_STATE/outbox}"
  export DOJO_PUBLIC_URL="${DOJO_PUBLIC_URL:-http://$DOJO_GATEWAY_ADDR}"
  export DOJO_LOG_LEVEL="${DOJO_LOG_LEVEL:-info}"
  # Drain within the 10 s that `./dojo down` waits before SIGKILL (default 20 s).
  export DOJO_RPC_DRAIN_GRACE="${DOJO_RPC_DRAIN_GRACE:-8s}"
  dojo_load_secrets
}

# Fresh random secrets: auth's master key (32 bytes, base64) and the service key (hex).
new_master_key()  { head -c32 /dev/urandom | base64 -w0; }
new_service_key() { head -c32 /dev/urandom | od -An -tx1 -v | tr -d ' \n'; }

# .dojo/secrets.env: generated once, never overwritten; keys added later are
# appended. Values already in the environment win.
dojo_ensure_secrets() {
  mkdir -p "$DOJO_STATE"
  local f=$DOJO_SECRETS_FILE added=0
  ( umask 077; touch "$f" )
  chmod 600 "$f"
  if ! grep -q '^DOJO_AUTH_MASTER_KEY=' "$f"; then
    printf 'DOJO_AUTH_MASTER_KEY=%s\n' "$(new_master_key)" >>"$f"; added=1
  fi
  if ! grep -q '^DOJO_SERVICE_KEY=' "$f"; then
    printf 'DOJO_SERVICE_KEY=%s\n' "$(new_service_key)" >>"$f"; added=1
  fi
  if (( added )); then ok "generated local secrets in $(rel "$f")"; fi
}

dojo_load_secrets() {
  local line k
  [[ -r $DOJO_SECRETS_FILE ]] || return 0
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^[A-Z_][A-Z0-9_]*= ]] || continue
    k=${line%%=*}
    [[ -n ${!k:-} ]] || export "$k=${line#*=}"
  done <"$DOJO_SECRETS_FILE"
}
