# shellcheck shell=bash
# ./dojo loadtest [SCENARIO] [-- ARGS]: simulated learners (loadtest/) against
# a whole stack of its own: the five services from bazel-bin on free loopback
# ports over a throwaway PostgreSQL and Redis (test_stack_start, as the
# benchmarks use it), with the rate limits as shipped (20 runs + submissions a
# minute per learner and per client IP; every learner connects from an address
# of its own) and whatever the scenario's [stack] env sets. Never part of
# ./dojo test. ARGS go to loadtest/loadtest.py (e.g. --set learners=700).

cmd_loadtest() {
  local scenario=smoke rc=0 line env_lines i out pids=()
  if (( $# )) && [[ $1 != -- ]]; then scenario=$1; shift; fi
  if (( $# )) && [[ $1 == -- ]]; then shift; fi
  is_root || die "loadtest: the executor's sandboxes need root"
  need_bazel
  env_lines=$(/usr/bin/python3 "$DOJO_ROOT/loadtest/loadtest.py" "$scenario" --print-stack-env "$@") \
    || die "loadtest: bad scenario or arguments (see above)"
  info "bazel build //services/..."
  bazel build //services/... </dev/null || die "bazel build //services/... failed"
  cmd_rootfs
  export DOJO_EXECUTOR_ROOTFS_DIR="$DOJO_ROOTFS_DIR"
  test_infra_start
  while IFS= read -r line; do
    [[ -n $line ]] && export "${line?}"
  done <<<"$env_lines"
  if ! test_stack_start; then
    warn "the load test's stack did not start"
    test_infra_stop
    return 1
  fi
  for i in "${!DOJO_SERVICES[@]}"; do
    pids+=(--pid "${DOJO_SERVICES[$i]}=${TEST_STACK_PIDS[$i]}")
  done
  pids+=(--pid "postgres=$(head -n1 "$TEST_TMP/pg/postmaster.pid")")
  pids+=(--pid "redis=$(cat "$TEST_TMP/redis.pid")")
  out=$DOJO_STATE/loadtest/$(basename "${scenario%.toml}")-$(date +%Y%m%d-%H%M%S)
  mkdir -p "$out"
  info "loadtest $scenario against http://$DOJO_GATEWAY_ADDR (results in $(rel "$out"))"
  # The scenario bounds itself (duration, drain, timeouts); this is a backstop.
  timeout --foreground --kill-after=30 18000 \
    /usr/bin/python3 "$DOJO_ROOT/loadtest/loadtest.py" "$scenario" \
    --base-url "http://$DOJO_GATEWAY_ADDR" --redis "$DOJO_REDIS_ADDR" "${pids[@]}" \
    --out "$out" "$@" </dev/null || rc=$?
  test_stack_stop
  cp -r "$TEST_TMP/stack/logs" "$out/logs" 2>/dev/null || true
  test_infra_stop
  (( rc == 0 )) || die "loadtest $scenario: exit status $rc (see above)"
  ok "loadtest $scenario ran"
}
