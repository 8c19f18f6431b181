# shellcheck shell=bash
# PostgreSQL and Redis instances owned by this checkout: the local stack of
# `./dojo up` and the throwaway ones of `./dojo test`.

# ---------------------------------------------------------------- PostgreSQL

pg_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  [[ -n $d && -x $d/initdb ]] || die "PostgreSQL server binaries not found under /usr/lib/postgresql (run ./dojo deps)"
  printf '%s' "$d"
}

# Run a command as the owner of the cluster: `postgres` when we are root
# (PostgreSQL refuses to run as root), else ourselves. cwd / so that postgres
# need not read the caller's directory.
as_pg() {
  if is_root; then (cd / && runuser -u postgres -- "$@"); else (cd / && "$@"); fi
}

# pg_prepare_dir DIR: create DIR owned by the cluster user, check it is reachable.
pg_prepare_dir() {
  local dir=$1
  mkdir -p "$dir"
  if is_root; then
    id postgres >/dev/null 2>&1 || die "OS user 'postgres' missing (run ./dojo deps)"
    chown postgres: "$dir"
  fi
  as_pg test -w "$dir" -a -x "$dir" \
    || die "the 'postgres' OS user cannot write $dir: every parent directory must be traversable (chmod o+x)"
}

# pg_init DATADIR: initdb once (trust auth, superuser postgres, UTF8).
pg_init() {
  local data=$1 bindir; bindir=$(pg_bindir)
  if [[ -f $data/PG_VERSION ]]; then
    local have want
    have=$(cat "$data/PG_VERSION"); want=$(basename "$(dirname "$bindir")")
    [[ $have == "$want" ]] || die "$data holds a PostgreSQL $have cluster but $want is installed; remove it (./dojo down; rm -rf $(rel "$data"))"
    return 0
  fi
  if [[ -d $data ]] && [[ -n $(ls -A "$data" 2>/dev/null) ]]; then
    die "$data exists, is not empty and is no PostgreSQL cluster; remove it"
  fi
  pg_prepare_dir "$data"
  chmod 700 "$data"
  info "initdb $(rel "$data")"
  as_pg "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C >"$data.initdb.log" 2>&1 \
    || { cat "$data.initdb.log" >&2; die "initdb failed"; }
  rm -f "$data.initdb.log"
}

pg_running() { as_pg "$(pg_bindir)/pg_ctl" -D "$1" status >/dev/null 2>&1; }

# pg_start DATADIR PORT SOCKDIR LOGFILE [postgres -c options...]
pg_start() {
  local data=$1 port=$2 sock=$3 log=$4; shift 4
  local bindir opts o; bindir=$(pg_bindir)
  pg_prepare_dir "$sock"
  touch "$log"; if is_root; then chown postgres: "$log"; fi
  opts="-c listen_addresses=127.0.0.1 -p $port -k '$sock'"
  for o in "$@"; do opts+=" -c $o"; done
  as_pg "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 -o "$opts" start </dev/null >/dev/null 2>&1 9>&-
}

pg_stop() {
  local data=$1 mode=${2:-fast}
  [[ -f $data/postmaster.pid ]] || return 0
  pg_running "$data" || return 0
  as_pg "$(pg_bindir)/pg_ctl" -D "$data" -m "$mode" -w -t 10 stop >/dev/null 2>&1 && return 0
  local pid; pid=$(read_pid "$data/postmaster.pid")
  warn "PostgreSQL did not stop in 10 s; killing pid $pid"
  [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null || true
}

# pg_psql PORT SQL: run SQL as superuser postgres, unaligned tuples only.
pg_psql() {
  "$(pg_bindir)/psql" -X -q -t -A -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2"
}

# ---------------------------------------------------------------------- Redis

redis_ping() { [[ $(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]]; }

# redis_start PORT DATADIR PIDFILE LOGFILE [extra redis-server args...]
redis_start() {
  local port=$1 dir=$2 pidf=$3 log=$4; shift 4
  command -v redis-server >/dev/null || die "redis-server not found (run ./dojo deps)"
  mkdir -p "$dir" "$(dirname "$pidf")" "$(dirname "$log")"
  redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" \
    --daemonize yes --pidfile "$pidf" --logfile "$log" "$@" </dev/null >/dev/null 2>&1 9>&- || return 1
  for _ in $(seq 50); do redis_ping "$port" && return 0; sleep 0.1; done
  return 1
}

redis_stop() {  # PORT PIDFILE [nosave]
  local port=$1 pidf=$2 pid extra=("${@:3}")
  pid=$(read_pid "$pidf")
  if redis_ping "$port"; then
    redis-cli -h 127.0.0.1 -p "$port" shutdown "${extra[@]}" >/dev/null 2>&1 || true
  elif [[ -n $pid ]] && pid_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
  fi
  if [[ -n $pid ]]; then
    for _ in $(seq 100); do pid_alive "$pid" || break; sleep 0.1; done
    if pid_alive "$pid"; then warn "Redis pid $pid did not stop in 10 s; killing it"; kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$pidf"
}

# --------------------------------------------------- the local stack (./dojo up)

stack_pg_up() {
  mkdir -p "$DOJO_LOGS"
  pg_init "$DOJO_PG_DATA"
  if pg_running "$DOJO_PG_DATA"; then
    ok "PostgreSQL already running on 127.0.0.1:$DOJO_PG_PORT"
  else
    port_in_use "$DOJO_PG_PORT" && die "port $DOJO_PG_PORT is taken by another program; PostgreSQL of this checkout cannot start"
    info "starting PostgreSQL on 127.0.0.1:$DOJO_PG_PORT"
    pg_start "$DOJO_PG_DATA" "$DOJO_PG_PORT" "$DOJO_PG_SOCKDIR" "$DOJO_LOGS/postgres.log" \
      || { tail -n 20 "$DOJO_LOGS/postgres.log" >&2; die "PostgreSQL did not start (log: $(rel "$DOJO_LOGS/postgres.log"))"; }
    ok "PostgreSQL running on 127.0.0.1:$DOJO_PG_PORT"
  fi
  if [[ $(pg_psql "$DOJO_PG_PORT" "SELECT 1 FROM pg_roles WHERE rolname = 'dojo'") != 1 ]]; then
    pg_psql "$DOJO_PG_PORT" "CREATE ROLE dojo LOGIN" >/dev/null
    ok "created role dojo"
  fi
  if [[ $(pg_psql "$DOJO_PG_PORT" "SELECT 1 FROM pg_database WHERE datname = 'dojo'") != 1 ]]; then
    pg_psql "$DOJO_PG_PORT" "CREATE DATABASE dojo OWNER dojo" >/dev/null
    ok "created database dojo (owner dojo)"
  fi
}

stack_pg_down() {
  if [[ -f $DOJO_PG_DATA/PG_VERSION ]] && pg_running "$DOJO_PG_DATA"; then
    info "stopping PostgreSQL"
    pg_stop "$DOJO_PG_DATA" fast
    ok "PostgreSQL stopped"
  else
    ok "PostgreSQL not running"
  fi
}

stack_redis_up() {
  if redis_ping "$DOJO_REDIS_PORT"; then
    ok "Redis already running on 127.0.0.1:$DOJO_REDIS_PORT"
    return 0
  fi
  port_in_use "$DOJO_REDIS_PORT" && die "port $DOJO_REDIS_PORT is taken by another program; Redis of this checkout cannot start"
  info "starting Redis on 127.0.0.1:$DOJO_REDIS_PORT"
  redis_start "$DOJO_REDIS_PORT" "$DOJO_REDIS_DATA" "$DOJO_RUN/redis.pid" "$DOJO_LOGS/redis.log" --appendonly yes \
    || { tail -n 20 "$DOJO_LOGS/redis.log" >&2 2>/dev/null || true; die "Redis did not start (log: $(rel "$DOJO_LOGS/redis.log"))"; }
  ok "Redis running on 127.0.0.1:$DOJO_REDIS_PORT"
}

stack_redis_down() {
  if redis_ping "$DOJO_REDIS_PORT" || pid_alive "$(read_pid "$DOJO_RUN/redis.pid")"; then
    info "stopping Redis"
    redis_stop "$DOJO_REDIS_PORT" "$DOJO_RUN/redis.pid"
    ok "Redis stopped"
  else
    rm -f "$DOJO_RUN/redis.pid"
    ok "Redis not running"
  fi
}
