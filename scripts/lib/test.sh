# shellcheck shell=bash
# ./dojo test: every test, in stages, against a throwaway PostgreSQL and Redis.

# shellcheck source=tests/deploy/stage.sh
. "$DOJO_ROOT/tests/deploy/stage.sh"

TEST_TMP=''
TEST_PG_PORT=''
TEST_REDIS_PORT=''
STAGE_NAMES=() STAGE_RESULTS=()

stage_result() {  # NAME pass|fail|skip [note]
  STAGE_NAMES+=("$1"); STAGE_RESULTS+=("$2${3:+ ($3)}")
  case $2 in
    pass) ok "stage $1 passed" ;;
    fail) printf '%sFAIL%s stage %s%s\n' "$_C_R" "$_C_0" "$1" "${3:+ ($3)}" ;;
    skip) printf '%sskip%s stage %s%s\n' "$_C_Y" "$_C_0" "$1" "${3:+ ($3)}" ;;
  esac
}

test_summary() {
  local i r passed=0 failed=0 skipped=0
  printf '\n%sTest stages%s\n' "$_C_B" "$_C_0"
  for i in "${!STAGE_NAMES[@]}"; do
    r=${STAGE_RESULTS[$i]}
    printf '  %-14s %s\n' "${STAGE_NAMES[$i]}" "$r"
    case $r in pass*) ((++passed)) ;; fail*) ((++failed)) ;; skip*) ((++skipped)) ;; esac
  done
  printf '%d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
  (( failed == 0 ))
}

# Next port from $1 upward that nobody listens on, avoiding the local stack's.
free_port() {
  local p=$1
  while port_in_use "$p" || [[ $p == "$DOJO_PG_PORT" || $p == "$DOJO_REDIS_PORT" ]]; do ((++p)); done
  printf '%s' "$p"
}

test_infra_start() {
  local p i
  TEST_TMP=$(mktemp -d /tmp/dojo-test.XXXXXX)
  chmod 755 "$TEST_TMP"
  trap test_infra_stop EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  pg_init "$TEST_TMP/pg" >/dev/null
  p=55499
  for (( i = 0; i < 20; i++ )); do
    p=$(free_port "$p")
    # Speed over durability: this cluster is thrown away.
    if pg_start "$TEST_TMP/pg" "$p" "$TEST_TMP/pgsock" "$TEST_TMP/postgres.log" \
         fsync=off synchronous_commit=off full_page_writes=off max_connections=200; then
      TEST_PG_PORT=$p; break
    fi
    ((++p))
  done
  [[ -n $TEST_PG_PORT ]] || { tail -n 20 "$TEST_TMP/postgres.log" >&2 || true; die "throwaway PostgreSQL did not start"; }
  p=56399
  for (( i = 0; i < 20; i++ )); do
    p=$(free_port "$p")
    if redis_start "$p" "$TEST_TMP/redis" "$TEST_TMP/redis.pid" "$TEST_TMP/redis.log" --save '' --appendonly no; then
      TEST_REDIS_PORT=$p; break
    fi
    ((++p))
  done
  [[ -n $TEST_REDIS_PORT ]] || { tail -n 20 "$TEST_TMP/redis.log" >&2 || true; die "throwaway Redis did not start"; }
  export DOJO_TEST_PG_URL="postgresql://postgres@127.0.0.1:$TEST_PG_PORT/postgres"
  export DOJO_TEST_REDIS_ADDR="127.0.0.1:$TEST_REDIS_PORT"
  ok "throwaway PostgreSQL $DOJO_TEST_PG_URL, Redis $DOJO_TEST_REDIS_ADDR (in $TEST_TMP)"
}

test_infra_stop() {
  test_stack_stop
  [[ -n $TEST_TMP && -d $TEST_TMP ]] || return 0
  [[ -n $TEST_REDIS_PORT ]] && redis_stop "$TEST_REDIS_PORT" "$TEST_TMP/redis.pid" nosave
  [[ -f $TEST_TMP/pg/postmaster.pid ]] && pg_stop "$TEST_TMP/pg" immediate
  rm -rf "$TEST_TMP"
  TEST_TMP=''
  return 0
}

# ---- a whole stack for the browser journey -----------------------------------
# The five services from bazel-bin on free loopback ports, against a fresh
# database in the throwaway PostgreSQL and the (flushed) throwaway Redis, with
# their own secrets, mail outbox and executor work folder under $TEST_TMP.
# Exports what the journey (and `./dojo auth-admin`, which it calls) need.
TEST_STACK_PIDS=()

test_stack_start() {
  local dir="$TEST_TMP/stack" s p=18080 port mport
  # svc_log (and so services_wait_healthy's report) reads DOJO_LOGS: this stack's.
  local DOJO_LOGS="$dir/logs"
  mkdir -p "$dir/outbox" "$DOJO_LOGS" "$dir/executor"
  chmod 711 "$dir" "$dir/executor"
  pg_psql "$TEST_PG_PORT" 'DROP DATABASE IF EXISTS dojo_browser' >/dev/null &&
    pg_psql "$TEST_PG_PORT" 'CREATE DATABASE dojo_browser' >/dev/null || return 1
  # Jobs and events the integration tests left must not reach this stack's executor.
  redis-cli -h 127.0.0.1 -p "$TEST_REDIS_PORT" FLUSHALL >/dev/null || return 1
  for s in "${DOJO_SERVICES[@]}"; do
    port=$(free_port "$p"); mport=$(free_port $((port + 1)))
    export "$(svc_addr_var "$s")=127.0.0.1:$port" "$(svc_metrics_var "$s")=127.0.0.1:$mport"
    p=$((mport + 1))
  done
  export DOJO_PG_URL="postgresql://postgres@127.0.0.1:$TEST_PG_PORT/dojo_browser"
  export DOJO_REDIS_ADDR="127.0.0.1:$TEST_REDIS_PORT"
  export DOJO_MAIL_OUTBOX="$dir/outbox"
  export DOJO_PUBLIC_URL="http://$DOJO_GATEWAY_ADDR"
  export DOJO_EXECUTOR_WORKDIR="$dir/executor"
  export DOJO_AUTH_MASTER_KEY DOJO_SERVICE_KEY
  DOJO_AUTH_MASTER_KEY=$(new_master_key)
  DOJO_SERVICE_KEY=$(new_service_key)
  export DOJO_LOG_LEVEL=info DOJO_RPC_DRAIN_GRACE=3s
  for s in "${DOJO_SERVICES[@]}"; do
    ( cd "$DOJO_ROOT" && exec "$(svc_bin "$s")" </dev/null >>"$(svc_log "$s")" 2>&1 9>&- ) &
    TEST_STACK_PIDS+=($!)
  done
  services_wait_healthy "${DOJO_SERVICES[@]}" || return 1
  ok "test stack up: gateway http://$DOJO_GATEWAY_ADDR (logs in $DOJO_LOGS)"
}

test_stack_stop() {
  local pid
  (( ${#TEST_STACK_PIDS[@]} )) || return 0
  for pid in "${TEST_STACK_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait_gone 15 "${TEST_STACK_PIDS[@]}" || for pid in "${TEST_STACK_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait "${TEST_STACK_PIDS[@]}" 2>/dev/null || true
  TEST_STACK_PIDS=()
}

# Bazel package patterns among ARGS that contain at least one BUILD file.
existing_patterns() {
  local pat dir
  for pat in "$@"; do
    dir=${pat#//}; dir=${dir%/...}
    if [[ -n $(find "$DOJO_ROOT/$dir" \( -name BUILD -o -name BUILD.bazel \) -print -quit 2>/dev/null) ]]; then
      printf '%s\n' "$pat"
    fi
  done
}

# Every test of the tree belongs to //:tests (the root BUILD), so that
# `bazel test //:all` runs what `bazel test //...` runs. Lists the strays.
unit_tests_outside_suite() {
  local stray
  stray=$(bazel query 'tests(//...) except tests(//:tests)' 2>/dev/null </dev/null) || return 0
  [[ -z $stray ]] && return 0
  warn "not in //:tests (add the package's \"tests\" suite to the root BUILD): $stray"
  return 1
}

# Interpret a `bazel test` exit code: 0 pass, 4 = no test targets = skip.
bazel_test_stage() {
  local name=$1 rc; shift
  info "stage $name: bazel test $*"
  rc=0
  bazel test "$@" --test_env=DOJO_TEST_PG_URL --test_env=DOJO_TEST_REDIS_ADDR </dev/null || rc=$?
  case $rc in
    0) stage_result "$name" pass ;;
    4) stage_result "$name" skip "no test targets" ;;
    *) stage_result "$name" fail "bazel exit $rc" ;;
  esac
}

# Runs pytest over PATHS against the service binaries under BIN_DIR.
pytest_stage() {  # NAME BIN_DIR PATH...
  local name=$1 bin=$2 rc=0 paths=()
  shift 2
  local p
  for p in "$@"; do [[ -d $DOJO_ROOT/$p ]] && paths+=("$p"); done
  if (( ${#paths[@]} == 0 )); then
    stage_result "$name" skip "no tests in $*"
    return 0
  fi
  # Test files or folders among the pytest arguments (`-- tests/x/test_y.py`)
  # take the place of the stage's folders: the stage runs those of them that
  # lie in its folders, or is skipped when none does.
  local args=() picked=() named=0 a f
  for a in "${TEST_PYTEST_ARGS[@]}"; do
    f=${a%%::*}; f=${f#"$DOJO_ROOT"/}
    if [[ $a != -* && -e $DOJO_ROOT/$f ]]; then
      named=1
      for p in "${paths[@]}"; do [[ $f == "$p" || $f == "$p"/* ]] && { picked+=("${a#"$DOJO_ROOT"/}"); break; }; done
    else
      args+=("$a")
    fi
  done
  if (( named )); then
    if (( ${#picked[@]} == 0 )); then
      stage_result "$name" skip "none of the named tests is in ${paths[*]}"
      return 0
    fi
    paths=("${picked[@]}")
  fi
  info "stage $name: /usr/bin/python3 -m pytest -v ${paths[*]} (binaries: $bin)"
  DOJO_BIN_DIR="$bin" PYTHONDONTWRITEBYTECODE=1 \
    timeout --foreground --kill-after=30 "${DOJO_TEST_INTEGRATION_TIMEOUT:-2400}" \
    /usr/bin/python3 -m pytest -v -p no:cacheprovider "${paths[@]}" "${args[@]}" </dev/null || rc=$?
  case $rc in
    0) stage_result "$name" pass ;;
    5) stage_result "$name" skip "no tests collected" ;;
    124) stage_result "$name" fail "timed out" ;;
    *) stage_result "$name" fail "pytest exit $rc" ;;
  esac
}

# The stages of ./dojo test, in order. `./dojo test STAGE...` runs only those
# (build always runs); `./dojo test STAGE... -- PYTEST_ARGS` hands the rest to
# pytest (e.g. -k submit, or a test file). CI runs them all.
DOJO_TEST_STAGES=(unit asan fuzz integration integration-asan sandbox chaos web browser deploy)
TEST_ONLY=() TEST_PYTEST_ARGS=()

stage_wanted() {  # NAME: 0 when NAME is to run
  (( ${#TEST_ONLY[@]} == 0 )) && return 0
  local s
  for s in "${TEST_ONLY[@]}"; do [[ $s == "$1" ]] && return 0; done
  return 1
}

test_parse_args() {
  local a s known
  while (( $# )); do
    a=$1; shift
    if [[ $a == -- ]]; then TEST_PYTEST_ARGS=("$@"); break; fi
    known=0
    for s in "${DOJO_TEST_STAGES[@]}"; do [[ $s == "$a" ]] && known=1; done
    (( known )) || die "test: unknown stage '$a' (stages: ${DOJO_TEST_STAGES[*]})"
    TEST_ONLY+=("$a")
  done
}

cmd_test() {
  test_parse_args "$@"
  cmd_deps
  local rc s
  info "stage build: bazel build //..."
  rc=0; bazel build //... </dev/null || rc=$?
  if (( rc != 0 )); then
    stage_result build fail "bazel exit $rc"
    for s in "${DOJO_TEST_STAGES[@]}"; do stage_result "$s" skip "build failed"; done
    test_summary || exit 1
  fi
  stage_result build pass

  # The executor's sandboxes need the language root filesystem (root only;
  # the sandbox tests say why they skip otherwise).
  # The sandbox stage runs every language (tests/sandbox/test_languages.py);
  # the other stages judge Python and C only, so they need only those trees.
  if is_root; then
    local trees=()
    stage_wanted sandbox || mapfile -t trees < <(rootfs_trees_of python3 c)
    cmd_rootfs "${trees[@]}" || die "building the sandbox root filesystem failed"
    export DOJO_EXECUTOR_ROOTFS_DIR="$DOJO_ROOTFS_DIR"
  fi

  test_infra_start

  if stage_wanted unit; then
    unit_tests_outside_suite || stage_result unit-suite fail "tests missing from //:tests (see above)"
    bazel_test_stage unit //...
  fi

  local asan_pats; mapfile -t asan_pats < <(existing_patterns //libcommon/... //services/auth/...)
  if ! stage_wanted asan; then
    :
  elif (( ${#asan_pats[@]} == 0 )); then
    stage_result asan skip "no packages under //libcommon or //services/auth"
  else
    # --symlink_prefix=/: leave bazel-bin pointing at the normal build.
    bazel_test_stage asan --config=asan --symlink_prefix=/ "${asan_pats[@]}"
  fi

  # libFuzzer targets of the parsers (tests/fuzz): a bounded run of each
  # under ASan + UBSan (docs/fuzzing.md).
  stage_wanted fuzz && fuzz_stage

  local itests=() f
  if [[ -d $DOJO_ROOT/tests/integration ]]; then
    while IFS= read -r f; do itests+=("$f"); done \
      < <(find "$DOJO_ROOT/tests/integration" -name 'test_*.py' -o -name '*_test.py' | head -n1)
  fi
  if (( ${#itests[@]} == 0 )); then
    stage_result integration skip "no tests in tests/integration"
    stage_result integration-asan skip "no tests in tests/integration"
  else
    stage_wanted integration && pytest_stage integration "$DOJO_ROOT/bazel-bin" tests/integration tests/content loadtest/t
    # The same suite against services built with ASan + UBSan: memory errors,
    # undefined behaviour and leaks (checked at each service's exit) fail it.
    local asan_bin=''
    if stage_wanted integration-asan; then
      asan_bin=$(bazel info --config=asan bazel-bin 2>/dev/null </dev/null) || asan_bin=''
      if [[ -n $asan_bin ]] && bazel build --config=asan --symlink_prefix=/ //services/... </dev/null; then
        # Executors share the dojo:jobs stream: none of the first run's jobs for this one.
        redis-cli -h 127.0.0.1 -p "$TEST_REDIS_PORT" FLUSHALL >/dev/null
        pytest_stage integration-asan "$asan_bin" tests/integration
      else
        stage_result integration-asan fail "ASan build of //services/... failed"
      fi
    fi
  fi

  # The sandbox attack battery and the shipped tasks through the real
  # sandbox (crun and runsc): needs root and the language root filesystem.
  stage_wanted sandbox && pytest_stage sandbox "$DOJO_ROOT/bazel-bin" tests/sandbox

  # The chaos suite: the whole stack on a PostgreSQL and Redis of its own,
  # its parts killed and restarted under steady submissions (tests/chaos;
  # needs the real sandbox, like the sandbox stage). A few minutes at most.
  stage_wanted chaos && DOJO_TEST_INTEGRATION_TIMEOUT=${DOJO_TEST_CHAOS_TIMEOUT:-420} \
    pytest_stage chaos "$DOJO_ROOT/bazel-bin" tests/chaos

  # The web app: its unit tests and bundle budget; then the browser journey
  # against a stack of its own (or the gateway at DOJO_BASE_URL).
  stage_wanted web && web_unit_stage
  stage_wanted browser && web_browser_stage

  # The Helm chart rendered and validated, the images built, the workloads run
  # as containers with podman kube play (tests/deploy/stage.sh).
  stage_wanted deploy && deploy_stage

  test_infra_stop
  test_summary
}
