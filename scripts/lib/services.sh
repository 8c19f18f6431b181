# shellcheck shell=bash
# The service supervisors of the local stack.
#
# Each service runs under its own small bash loop (`./dojo _supervise NAME`,
# started detached with setsid): it restarts the binary when it exits, with a
# backoff of 1, 2, 4 ... 30 s (reset after 30 s of uptime), and on SIGTERM
# forwards SIGTERM to the service, waits up to 10 s, then SIGKILLs it.
#   .dojo/run/NAME.supervisor.pid   the supervisor
#   .dojo/run/NAME.pid              the service process
#   .dojo/logs/NAME.log             service output + supervisor notes

sup_pidfile() { printf '%s/%s.supervisor.pid' "$DOJO_RUN" "$1"; }
svc_pidfile() { printf '%s/%s.pid' "$DOJO_RUN" "$1"; }
svc_log()     { printf '%s/%s.log' "$DOJO_LOGS" "$1"; }

# pid of the live supervisor of SVC, or nothing.
sup_pid() {
  local pid; pid=$(read_pid "$(sup_pidfile "$1")")
  [[ -n $pid ]] && pid_alive "$pid" && [[ $(pid_cmdline "$pid") == *"_supervise $1"* ]] && printf '%s' "$pid"
  return 0
}

# pid of the live service process of SVC, or nothing.
svc_pid() {
  local pid; pid=$(read_pid "$(svc_pidfile "$1")")
  [[ -n $pid ]] && pid_alive "$pid" && [[ $(pid_cmdline "$pid") == "$(svc_bin "$1") "* ]] && printf '%s' "$pid"
  return 0
}

# wait_gone SECONDS PID...: wait until none of the PIDs is alive; fail on timeout.
wait_gone() {
  local secs=$1 i p any; shift
  for (( i = 0; i < secs * 10; i++ )); do
    any=0
    for p in "$@"; do pid_alive "$p" && { any=1; break; }; done
    (( any )) || return 0
    sleep 0.1
  done
  return 1
}

_sup_note() { printf '%s [dojo-supervisor] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }

# Runs in the background (stdout/stderr already go to the service log).
cmd__supervise() {
  local svc=${1:?service}
  local bin; bin=$(svc_bin "$svc")
  local pidf; pidf=$(svc_pidfile "$svc")
  local stopping=0 child='' backoff=1 started rc i
  set +e   # a supervisor must never die of a failed command
  echo $$ >"$(sup_pidfile "$svc")"
  trap 'stopping=1; if [[ -n $child ]]; then kill -TERM "$child" 2>/dev/null || true; fi' TERM INT HUP
  cd "$DOJO_ROOT" || exit 1
  while (( ! stopping )); do
    if [[ ! -x $bin ]]; then
      _sup_note "$bin is missing; retrying in ${backoff}s"
    else
      started=$SECONDS
      "$bin" </dev/null &
      child=$!
      echo "$child" >"$pidf"
      _sup_note "started $svc (pid $child)"
      rc=0
      while :; do
        wait "$child" && rc=0 || rc=$?
        pid_alive "$child" || break
        if (( stopping )); then
          # SIGTERM was forwarded; give the service 10 s to drain.
          for (( i = 0; i < 100; i++ )); do pid_alive "$child" || break; sleep 0.1; done
          if pid_alive "$child"; then
            _sup_note "$svc (pid $child) still running 10 s after SIGTERM; sending SIGKILL"
            kill -KILL "$child" 2>/dev/null || true
          fi
        fi
      done
      child=''
      if (( stopping )); then _sup_note "$svc stopped (exit $rc)"; break; fi
      (( SECONDS - started >= 30 )) && backoff=1
      _sup_note "$svc exited with status $rc; restarting in ${backoff}s"
    fi
    sleep "$backoff" & wait $! || true
    (( backoff = backoff * 2 > 30 ? 30 : backoff * 2 ))
  done
  rm -f "$pidf" "$(sup_pidfile "$svc")"
}

svc_start() {
  local svc=$1 log; log=$(svc_log "$svc")
  mkdir -p "$DOJO_RUN" "$DOJO_LOGS"
  rm -f "$(sup_pidfile "$svc")"
  # setsid: own session, survives the terminal; 9>&-: do not inherit ./dojo's lock.
  setsid "$BASH" "$DOJO_ROOT/dojo" _supervise "$svc" </dev/null >>"$log" 2>&1 9>&- &
  local i
  for (( i = 0; i < 50; i++ )); do [[ -n $(sup_pid "$svc") ]] && return 0; sleep 0.1; done
  die "supervisor of $svc did not start (see $(rel "$log"))"
}

# Stop the given services: supervisors first, then any service process left.
svc_stop_many() {
  local s pid sups=() procs=() names=()
  for s in "$@"; do
    pid=$(sup_pid "$s"); [[ -n $pid ]] && { sups+=("$pid"); names+=("$s"); kill -TERM "$pid" 2>/dev/null || true; }
  done
  if (( ${#sups[@]} )); then
    info "stopping ${names[*]}"
    # A supervisor waits up to 10 s for its service before SIGKILLing it.
    if ! wait_gone 13 "${sups[@]}"; then
      for pid in "${sups[@]}"; do pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null || true; done
    fi
  fi
  for s in "$@"; do
    pid=$(svc_pid "$s"); [[ -n $pid ]] && { procs+=("$pid"); kill -TERM "$pid" 2>/dev/null || true; }
  done
  if (( ${#procs[@]} )); then
    if ! wait_gone 10 "${procs[@]}"; then
      for pid in "${procs[@]}"; do
        pid_alive "$pid" && { warn "pid $pid ignored SIGTERM for 10 s; SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
      done
    fi
  fi
  for s in "$@"; do rm -f "$(svc_pidfile "$s")" "$(sup_pidfile "$s")"; done
}

svc_healthy() {
  curl -fsS -o /dev/null --max-time 1 "http://$(svc_metrics "$1")/healthz" 2>/dev/null
}

# Start every built service not yet running. Sets STARTED_SERVICES and MISSING_SERVICES.
services_up() {
  local s bin pid
  STARTED_SERVICES=() MISSING_SERVICES=()
  for s in "${DOJO_SERVICES[@]}"; do
    bin=$(svc_bin "$s")
    if [[ ! -x $bin ]]; then
      MISSING_SERVICES+=("$s")
      # A supervisor of a binary that is gone would only loop.
      [[ -n $(sup_pid "$s") ]] && svc_stop_many "$s"
      continue
    fi
    if [[ -n $(sup_pid "$s") ]]; then
      pid=$(svc_pid "$s")
      if [[ -n $pid && $bin -nt $(svc_pidfile "$s") ]]; then
        info "$s: binary rebuilt since start; restarting"
        svc_stop_many "$s"
      else
        ok "$s already running${pid:+ (pid $pid)}"
        STARTED_SERVICES+=("$s")
        continue
      fi
    fi
    svc_start "$s"
    ok "started $s under its supervisor (log $(rel "$(svc_log "$s")"))"
    STARTED_SERVICES+=("$s")
  done
  if (( ${#MISSING_SERVICES[@]} )); then
    warn "not built (yet), so not started: ${MISSING_SERVICES[*]} (expected bazel-bin/services/<name>/<name>)"
  fi
}

# Wait up to 20 s for /healthz of each started service. Fails if any is unhealthy.
services_wait_healthy() {
  local deadline=$(( SECONDS + 20 )) s pending=("$@") left bad=()
  (( ${#pending[@]} )) || return 0
  info "waiting for /healthz of: ${pending[*]}"
  while (( ${#pending[@]} )); do
    left=()
    for s in "${pending[@]}"; do svc_healthy "$s" || left+=("$s"); done
    pending=("${left[@]}")
    (( ${#pending[@]} )) || break
    (( SECONDS < deadline )) || break
    sleep 0.5
  done
  for s in "$@"; do
    if [[ " ${pending[*]} " == *" $s "* ]]; then
      bad+=("$s")
      warn "$s did not answer http://$(svc_metrics "$s")/healthz within 20 s; last lines of $(rel "$(svc_log "$s")"):"
      tail -n 15 "$(svc_log "$s")" >&2 2>/dev/null || true
    else
      ok "$s healthy"
    fi
  done
  (( ${#bad[@]} == 0 ))
}

# The "what runs where" table, with live state.
print_stack_table() {
  local s addr state pid
  printf '\n%s%-13s %-28s %-32s %-9s %s%s\n' "$_C_B" WHAT ADDRESS METRICS STATE LOG "$_C_0"
  for s in gateway auth content gamification executor; do
    if [[ $s == gateway ]]; then addr="http://$(svc_addr gateway)"; else addr="$(svc_addr "$s") (gRPC)"; fi
    if [[ ! -x $(svc_bin "$s") ]]; then state="not built"
    elif pid=$(svc_pid "$s"); [[ -n $pid ]]; then
      if svc_healthy "$s"; then state="up"; else state="unhealthy"; fi
      state+=" $pid"
    elif [[ -n $(sup_pid "$s") ]]; then state="restarting"
    else state="stopped"; fi
    printf '%-13s %-28s %-32s %-9s %s\n' "$s" "$addr" "http://$(svc_metrics "$s")/metrics" "$state" "$(rel "$(svc_log "$s")")"
  done
  if [[ -f $DOJO_PG_DATA/PG_VERSION ]] && pg_running "$DOJO_PG_DATA"; then state=up; else state=stopped; fi
  printf '%-13s %-28s %-32s %-9s %s\n' postgresql "127.0.0.1:$DOJO_PG_PORT" "db dojo, user dojo" "$state" "$(rel "$DOJO_LOGS/postgres.log")"
  if redis_ping "$DOJO_REDIS_PORT"; then state=up; else state=stopped; fi
  printf '%-13s %-28s %-32s %-9s %s\n' redis "127.0.0.1:$DOJO_REDIS_PORT" "" "$state" "$(rel "$DOJO_LOGS/redis.log")"
  cat <<EOF

  PostgreSQL URL   $DOJO_PG_URL   (data $(rel "$DOJO_PG_DATA"))
  Redis            $DOJO_REDIS_ADDR   (data $(rel "$DOJO_REDIS_DATA"))
  mail outbox      $DOJO_MAIL_OUTBOX   (password-reset mails land here as files)
  secrets          $(rel "$DOJO_SECRETS_FILE")
  logs             $(rel "$DOJO_LOGS")/   follow with: ./dojo logs [name]
  stop everything  ./dojo down

EOF
}
