# shellcheck shell=bash
# Debian packages Dojo needs to build, test and run locally.
# THE one list: add new packages here (crun, runsc, chromium, nodejs/npm ... later).

DOJO_APT_PACKAGES=(
  # build
  bazel-bootstrap gcc pkg-config
  protobuf-c-compiler libprotobuf-c-dev protobuf-compiler
  libgrpc-dev libpq-dev libhiredis-dev libssl-dev libsodium-dev libjansson-dev
  libcurl4-openssl-dev libmicrohttpd-dev
  # problem packages (services/content/package.c): .zip and YAML
  libzip-dev libyaml-dev
  # tests
  libcmocka-dev python3-grpcio python3-protobuf python3-pytest python3-cryptography
  python3-jsonschema
  # fuzzing (./dojo fuzz, the test stage fuzz): clang with libFuzzer and the sanitizers,
  # llvm-symbolizer for their reports
  clang-14 libclang-rt-14-dev llvm-14
  # local stack (curl: ./dojo's health checks; tzdata: IANA zones for auth)
  postgresql redis-server curl tzdata wrk python3-yaml
  # sandbox: OCI runtimes and the builder of language root filesystems
  crun runsc debootstrap
  # web app (web/: npm ci + Vite; npm ships with the machine's Node.js 20 package, Debian's own
  # npm 9 would conflict with it) and its browser tests (playwright-core drives Debian's Chromium)
  # (the emoji font: the screenshots show the app's icons, not empty boxes)
  nodejs chromium fonts-noto-color-emoji
  # ./dojo test's deploy stage: the chart's workloads as containers (podman kube play,
  # Debian's runc: its crun refuses hybrid cgroup hosts; catatonit: the pods' infra process)
  podman runc catatonit
)

deps_missing() {
  local p st
  for p in "${DOJO_APT_PACKAGES[@]}"; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ $st == "install ok installed" ]] || printf '%s\n' "$p"
  done
}

cmd_deps() {
  local missing sudo=()
  command -v dpkg-query >/dev/null || die "dpkg-query not found: ./dojo deps supports Debian (12) only"
  mapfile -t missing < <(deps_missing)
  if (( ${#missing[@]} == 0 )); then
    ok "all ${#DOJO_APT_PACKAGES[@]} Debian packages are installed"
    return 0
  fi
  info "missing Debian packages: ${missing[*]}"
  if ! is_root; then
    command -v sudo >/dev/null || die "not root and no sudo: install them as root: apt-get install ${missing[*]}"
    sudo=(sudo)
  fi
  local apt_opts=(-q -y -o DPkg::Lock::Timeout=600
                  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  info "apt-get update"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update </dev/null \
    || die "apt-get update failed"
  info "apt-get install ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}" </dev/null \
    || die "apt-get install failed"
  mapfile -t missing < <(deps_missing)
  (( ${#missing[@]} == 0 )) || die "still missing after apt-get install: ${missing[*]}"
  ok "installed; all ${#DOJO_APT_PACKAGES[@]} Debian packages present"
}
