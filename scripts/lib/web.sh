# shellcheck shell=bash
# The web app (web/: Vite + TypeScript + CodeMirror 6) and its browser tests.
# Sourced by ./dojo; expects DOJO_ROOT and common.sh's helpers.

DOJO_WEB="$DOJO_ROOT/web"
DOJO_WEB_DIST="$DOJO_WEB/dist"
DOJO_WEB_NODE_MIN=20.19   # Vite 8's floor

web_need_node() {
  command -v node >/dev/null || die "node not found: run ./dojo deps (Debian package nodejs)"
  command -v npm >/dev/null || die "npm not found: it ships with the nodejs package (Node.js >= $DOJO_WEB_NODE_MIN)"
  local v
  v=$(node -p 'process.versions.node')
  node -e "
    const [a, b] = process.versions.node.split('.').map(Number), [x, y] = '$DOJO_WEB_NODE_MIN'.split('.').map(Number);
    process.exit(a > x || (a === x && b >= y) ? 0 : 1)" \
    || die "Node.js $v is too old for the web build (need >= $DOJO_WEB_NODE_MIN)"
}

# npm ci when node_modules is missing or package-lock.json changed since the last install.
web_install() {
  local stamp="$DOJO_WEB/node_modules/.dojo-lock.sha256" want have=''
  want=$(sha256sum "$DOJO_WEB/package-lock.json" | cut -d' ' -f1)
  [[ -f $stamp ]] && have=$(<"$stamp")
  if [[ ! -d $DOJO_WEB/node_modules || $want != "$have" ]]; then
    info "web: npm ci (package-lock.json)"
    (cd "$DOJO_WEB" && npm ci --no-audit --no-fund --loglevel=error </dev/null) || die "web: npm ci failed"
    printf '%s\n' "$want" >"$stamp"
  fi
}

# ./dojo build (and up) call this: web/dist with hashed assets and .gz copies.
cmd_web_build() {
  web_need_node
  web_install
  info "web: npm run build"
  (cd "$DOJO_WEB" && npm run --silent build </dev/null) || die "web: build failed"
  ok "web app built in $(rel "$DOJO_WEB_DIST")"
}

# Test stages (use stage_result from test.sh).
web_unit_stage() {
  if ! command -v node >/dev/null; then stage_result web skip "node not installed"; return; fi
  info "stage web: npm run build && npm test (web/)"
  local rc=0
  ( web_need_node && web_install && cd "$DOJO_WEB" && npm run --silent build && npm test --silent ) </dev/null || rc=$?
  if (( rc == 0 )); then stage_result web pass; else stage_result web fail "exit $rc"; fi
}

# The browser journey against the whole stack: a gateway at DOJO_BASE_URL when
# set (e.g. a running ./dojo up), otherwise a stack of its own that ./dojo test
# starts on free ports against its throwaway PostgreSQL and Redis.
web_browser_stage() {
  local base=${DOJO_BASE_URL:-} s
  if ! command -v node >/dev/null || [[ ! -x /usr/bin/chromium ]]; then
    stage_result browser skip "node or /usr/bin/chromium missing (./dojo deps)"; return
  fi
  if [[ -z $base ]]; then
    for s in "${DOJO_SERVICES[@]}"; do
      [[ -x $(svc_bin "$s") ]] || { stage_result browser fail "$(rel "$(svc_bin "$s")") is not built"; return; }
    done
    if ! is_root || [[ ! -d ${DOJO_EXECUTOR_ROOTFS_DIR:-} ]]; then
      stage_result browser skip "the executor's sandboxes need root and the rootfs (or set DOJO_BASE_URL)"; return
    fi
    if ! test_stack_start; then
      test_stack_stop
      stage_result browser fail "the test stack did not start (logs in $TEST_TMP/stack/logs)"; return
    fi
    base="http://$DOJO_GATEWAY_ADDR"
  elif ! curl -fsS -o /dev/null --max-time 3 "$base/api/v1/health"; then
    stage_result browser fail "no gateway answers at DOJO_BASE_URL=$base"; return
  fi
  # `./dojo test browser -- classes` runs only tests/browser/classes.test.mjs
  # (arguments naming no such file are pytest's, for the other stages).
  local targets=() a
  for a in "${TEST_PYTEST_ARGS[@]}"; do
    [[ -f $DOJO_ROOT/tests/browser/$a.test.mjs ]] && targets+=("$DOJO_ROOT/tests/browser/$a.test.mjs")
  done
  (( ${#targets[@]} )) || targets=("$DOJO_ROOT/tests/browser/")
  info "stage browser: node --test ${targets[*]#"$DOJO_ROOT/"} (DOJO_BASE_URL=$base)"
  local rc=0
  ( web_need_node && web_install && DOJO_BASE_URL=$base \
      timeout --kill-after=30 "${DOJO_TEST_BROWSER_TIMEOUT:-900}" \
      node --test --test-concurrency=1 "${targets[@]}" ) </dev/null || rc=$?
  test_stack_stop
  if (( rc == 0 )); then stage_result browser pass; else stage_result browser fail "exit $rc"; fi
}
