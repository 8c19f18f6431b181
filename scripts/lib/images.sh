# shellcheck shell=bash
# ./dojo images: OCI images of the services, the executor (with crun, runsc and
# the language root filesystem) and the in-chart PostgreSQL and Redis — built
# without a container engine or registry, from Debian packages and the Bazel
# binaries, written as OCI archives for `k3s ctr images import` and `podman load`.
#
# Layers (scripts/lib/oci.py writes them reproducibly):
#   base      the shared libraries the five binaries load (ldd -> dpkg -S, the
#             candidate versions of Debian 12 with its security updates, fetched with apt-get download and
#             unpacked with dpkg-deb: no maintainer scripts, no shell, no apt),
#             libc, tzdata, CA certificates, /etc/passwd with uid 10001 `dojo`
#   runtimes  crun and runsc with their libraries       (executor only)
#   rootfs-*  .dojo/rootfs/<tree> at /opt/dojo/rootfs/<tree>, one layer per
#             language tree (executor only; DOJO_IMAGES_ROOTFS_TREES picks)
#   postgres / redis   the server's packages (+ dash for initdb)
#   app       the binary and its data under /opt/dojo (mtime: the commit's time)
# The same commit built on the same package versions gives the same digests;
# base, runtimes and rootfs layers are cached under .dojo/images/ by recipe.
#
# Output: .dojo/images/<tag>/<name>.oci.tar named <registry>/<name>:<tag>, the
# tag being the git commit (12 hex digits, "-dirty" with uncommitted changes),
# and .dojo/images/<tag>/images.txt (name, reference, manifest digest, size).

DOJO_IMAGES_DIR=${DOJO_IMAGES_DIR:-$DOJO_STATE/images}
DOJO_IMAGE_REGISTRY=${DOJO_IMAGE_REGISTRY:-localhost/dojo}
DOJO_IMAGE_NAMES=(gateway auth content gamification executor postgres redis)
DOJO_IMAGE_SERVICES=(gateway auth content gamification executor)
DOJO_IMAGE_RECIPE=v1  # bump when the layout of the trees below changes
DOJO_PG_MAJOR=15
IMAGES_OCI="$DOJO_ROOT/scripts/lib/oci.py"

images_tag() {
  local c; c=$(git -C "$DOJO_ROOT" rev-parse --short=12 HEAD 2>/dev/null) || c=nogit
  if ! git -C "$DOJO_ROOT" diff --quiet HEAD -- 2>/dev/null; then c+=-dirty; fi
  printf '%s' "$c"
}
images_epoch() { git -C "$DOJO_ROOT" log -1 --format=%ct 2>/dev/null || echo 0; }

# The Debian packages that own the shared objects FILE... load (ldd), one a line.
# (dpkg knows each library under /lib or /usr/lib, whichever its package ships.)
images_pkgs_of_libs() {
  local lib paths=()
  while IFS= read -r lib; do
    paths+=("$lib" "$(readlink -f "$lib")" "${lib#/usr}" "/usr$lib")
  done < <(for lib in "$@"; do ldd "$lib" 2>/dev/null | grep -o '/[^ ]*' || true; done | sort -u)
  (( ${#paths[@]} )) || return 0
  # (dpkg-query fails for the spellings it does not know: expected.)
  { dpkg-query -S "${paths[@]}" 2>/dev/null || true; } | sed -n 's/^\([^:, ]*\)\(:[a-z0-9]*\)\?: .*/\1/p' | sort -u
}

# pkg=version of each PKG: Debian's candidate (bookworm with its security
# updates; same ABI as the installed version the binaries were built against).
images_pin() {
  (( $# )) || return 0
  apt-cache policy "$@" 2>/dev/null | awk '
    /^[^ ].*:$/ { p = substr($0, 1, length($0) - 1); sub(/:amd64$/, "", p) }
    /^  Candidate:/ { if ($2 == "(none)") { print "MISSING " p } else { print p "=" $2 } }' |
  while IFS= read -r line; do
    [[ $line == MISSING* ]] && die "images: Debian package ${line#MISSING } is not in the apt lists (apt-get update?)"
    printf '%s\n' "$line"
  done
}

# Fetch the .debs of PKG=VER... into .dojo/images/debs (once); apt-get update once if needed.
images_fetch() {
  local d="$DOJO_IMAGES_DIR/debs" want=() pv f
  mkdir -p "$d"
  for pv in "$@"; do
    f=$(images_deb_path "$pv")
    [[ -s $f ]] || want+=("$pv")
  done
  (( ${#want[@]} )) || return 0
  info "images: apt-get download ${#want[@]} Debian packages"
  if ! (cd "$d" && apt-get download -q "${want[@]}" </dev/null >"$d/download.log" 2>&1); then
    info "images: apt-get update (a package version was not in the lists)"
    apt-get -q update </dev/null >/dev/null 2>&1 || true
    (cd "$d" && apt-get download -q "${want[@]}" </dev/null >"$d/download.log" 2>&1) \
      || { tail -n 5 "$d/download.log" >&2; die "images: apt-get download failed (these exact versions must still be in Debian's archive)"; }
  fi
}

images_deb_path() {  # PKG=VER -> the file apt-get download writes
  local p=${1%%=*} v=${1#*=} a
  a=$(dpkg-query -W -f='${Architecture}' "$p" 2>/dev/null || echo amd64)
  printf '%s/debs/%s_%s_%s.deb' "$DOJO_IMAGES_DIR" "$p" "${v//:/%3a}" "$a"
}

# images_tree DIR PKG=VER...: DIR holds exactly those packages' files (merged /usr),
# documentation stripped. Rebuilt only when the list changes.
images_tree() {
  local dir=$1 stamp want pv; shift
  want="$DOJO_IMAGE_RECIPE $*"
  stamp="$dir.recipe"
  [[ -d $dir && -f $stamp && $(<"$stamp") == "$want" ]] && return 1
  images_fetch "$@"
  rm -rf "$dir" "$stamp"
  mkdir -p "$dir/usr/bin" "$dir/usr/sbin" "$dir/usr/lib" "$dir/usr/lib64"
  ln -s usr/bin "$dir/bin"; ln -s usr/sbin "$dir/sbin"; ln -s usr/lib "$dir/lib"; ln -s usr/lib64 "$dir/lib64"
  for pv in "$@"; do
    dpkg-deb --fsys-tarfile "$(images_deb_path "$pv")" | tar -x --keep-directory-symlink -C "$dir" \
      || die "images: unpacking ${pv%%=*} failed"
  done
  rm -rf "$dir/usr/share/doc" "$dir/usr/share/man" "$dir/usr/share/info" "$dir/usr/share/lintian" \
         "$dir/usr/share/bug" "$dir/usr/share/locale" "$dir/etc/init.d" "$dir/etc/logrotate.d"
  printf '%s\n' "$want" >"$stamp"
  return 0
}

# Files of the base that no package provides. mtime 0: they change with nothing.
images_base_files() {
  local t=$1
  mkdir -p "$t/etc" "$t/tmp" "$t/var/lib/dojo" "$t/opt/dojo/bin" "$t/etc/ssl/certs"
  chmod 1777 "$t/tmp"
  chown 10001:10001 "$t/var/lib/dojo"
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\ndojo:x:10001:10001:dojo:/var/lib/dojo:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$t/etc/passwd"
  printf 'root:x:0:\ndojo:x:10001:\nnogroup:x:65534:\n' >"$t/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$t/etc/nsswitch.conf"
  printf '127.0.0.1 localhost\n::1 localhost\n' >"$t/etc/hosts"
  # What ca-certificates' maintainer script would build.
  find "$t/usr/share/ca-certificates" -name '*.crt' 2>/dev/null | LC_ALL=C sort | xargs -r cat >"$t/etc/ssl/certs/ca-certificates.crt"
  find "$t/etc" "$t/tmp" "$t/var/lib/dojo" "$t/opt" -newer "$t.recipe" -exec touch -h -d @0 {} + 2>/dev/null || true
  touch -h -d @0 "$t/etc/passwd" "$t/etc/group" "$t/etc/nsswitch.conf" "$t/etc/hosts" "$t/etc/ssl/certs/ca-certificates.crt"
}

# images_layer NAME TREE [oci.py layer options]: .dojo/images/layers/NAME.tar.gz,
# rewritten only when the tree was rebuilt (IMAGES_REBUILT=1) or is missing.
images_layer() {
  local name=$1 tree=$2 out; shift 2
  out="$DOJO_IMAGES_DIR/layers/$name.tar.gz"
  mkdir -p "$DOJO_IMAGES_DIR/layers"
  if [[ ${IMAGES_REBUILT:-1} == 1 || ! -s $out || ! -s $out.json ]]; then
    /usr/bin/python3 "$IMAGES_OCI" layer "$tree" "$out" "$@" >/dev/null || die "images: layer $name failed"
  fi
  printf '%s' "$out"
}

# The in-chart PostgreSQL's entrypoint: initdb on first start (superuser and
# database `dojo`, password from POSTGRES_PASSWORD, scram-sha-256 over TCP), then postgres.
images_pg_entrypoint() {
  cat <<EOF
#!/bin/sh
set -eu
BIN=/usr/lib/postgresql/$DOJO_PG_MAJOR/bin
PGDATA=\${PGDATA:-/var/lib/postgresql/data/pgdata}
if [ ! -s "\$PGDATA/PG_VERSION" ]; then
  [ -n "\${POSTGRES_PASSWORD:-}" ] || { echo "POSTGRES_PASSWORD is not set" >&2; exit 2; }
  printf '%s\n' "\$POSTGRES_PASSWORD" | "\$BIN/initdb" -D "\$PGDATA" -U dojo --pwfile=/dev/stdin -E UTF8 --locale=C --auth-local=trust --auth-host=scram-sha-256
  printf 'local all all trust\nhost all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n' >"\$PGDATA/pg_hba.conf"
  printf 'CREATE DATABASE dojo OWNER dojo;\n' | "\$BIN/postgres" --single -D "\$PGDATA" -j postgres >/dev/null
fi
exec "\$BIN/postgres" -D "\$PGDATA" -c listen_addresses="\${POSTGRES_LISTEN:-*}" -c port="\${POSTGRES_PORT:-5432}" -c unix_socket_directories=/tmp "\$@"
EOF
}

# The app layer's tree for image NAME (under opt/dojo), in $1.
images_app_tree() {
  local t=$1 name=$2 bin
  rm -rf "$t"; mkdir -p "$t/opt/dojo/bin"
  case $name in
    postgres)
      images_pg_entrypoint >"$t/opt/dojo/bin/postgres-entrypoint"
      chmod 755 "$t/opt/dojo/bin/postgres-entrypoint" ;;
    redis) : ;;
    *)
      bin=$(svc_bin "$name")
      install -m 755 "$bin" "$t/opt/dojo/bin/$name"
      case $name in
        gateway) mkdir -p "$t/opt/dojo/web"; cp -r "$DOJO_ROOT/web/dist" "$t/opt/dojo/web/dist" ;;
        content) mkdir -p "$t/opt/dojo/content"
                 cp -r "$DOJO_ROOT/content/tasks" "$DOJO_ROOT/content/achievements" "$t/opt/dojo/content/" ;;
        executor) mkdir -p "$t/opt/dojo/bin/driver" "$t/opt/dojo/languages"
                  install -m 755 "$DOJO_BIN/services/executor/driver/driver.bin" "$t/opt/dojo/bin/driver/driver.bin"
                  install -m 644 "$DOJO_ROOT"/services/executor/languages/*.json "$DOJO_ROOT"/services/executor/languages/*.py "$t/opt/dojo/languages/" ;;
      esac ;;
  esac
  chmod -R u+w,go-w "$t"
}

# The image's config (Entrypoint, Env, User, Labels) for NAME, as JSON.
images_config() {
  local name=$1 tag=$2 epoch=$3 user=10001:10001 entry env ports
  local path=/opt/dojo/bin:/usr/sbin:/usr/bin:/sbin:/bin
  env="\"PATH=$path\", \"DOJO_VERSION=$tag\""
  case $name in
    gateway)  entry='["/opt/dojo/bin/gateway"]'; env+=', "DOJO_GATEWAY_WEB_DIR=/opt/dojo/web/dist"' ; ports='"8080/tcp": {}' ;;
    auth)     entry='["/opt/dojo/bin/auth"]'; env+=', "DOJO_MAIL_OUTBOX=/var/lib/dojo/outbox"'; ports='"7001/tcp": {}' ;;
    content)  entry='["/opt/dojo/bin/content"]'; env+=', "DOJO_CONTENT_DIR=/opt/dojo/content"'; ports='"7002/tcp": {}' ;;
    gamification) entry='["/opt/dojo/bin/gamification"]'; ports='"7003/tcp": {}' ;;
    executor) entry='["/opt/dojo/bin/executor"]'; user=0:0; ports='"7004/tcp": {}'
              env+=', "DOJO_EXECUTOR_ROOTFS_DIR=/opt/dojo/rootfs", "DOJO_EXECUTOR_LANGUAGES_DIR=/opt/dojo/languages", "DOJO_EXECUTOR_WORKDIR=/var/lib/dojo/executor"' ;;
    postgres) entry='["/opt/dojo/bin/postgres-entrypoint"]'; ports='"5432/tcp": {}'
              env+=', "PGDATA=/var/lib/postgresql/data/pgdata"' ;;
    redis)    entry='["/usr/bin/redis-server"]'; ports='"6379/tcp": {}' ;;
  esac
  cat <<EOF
{"created": "$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)",
 "User": "$user", "Entrypoint": $entry, "Env": [$env], "WorkingDir": "/opt/dojo",
 "ExposedPorts": {$ports}, "StopSignal": "SIGTERM",
 "Labels": {"org.opencontainers.image.title": "dojo-$name",
            "org.opencontainers.image.version": "$tag",
            "org.opencontainers.image.revision": "$(git -C "$DOJO_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)",
            "org.opencontainers.image.created": "$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)",
            "dojo.source-date-epoch": "$epoch"}}
EOF
}

# Build every image (or only the NAMEs given). Prints the table of images.txt.
cmd_images() {
  local names=() n build=1
  for n in "$@"; do
    case $n in
      --no-build) build=0 ;;
      -*) die "images: unknown option $n" ;;
      *) names+=("$n") ;;
    esac
  done
  (( ${#names[@]} )) || names=("${DOJO_IMAGE_NAMES[@]}")
  for n in "${names[@]}"; do
    [[ " ${DOJO_IMAGE_NAMES[*]} " == *" $n "* ]] || die "images: unknown image '$n' (images: ${DOJO_IMAGE_NAMES[*]})"
  done
  is_root || die "images: needs root (the trees keep root-owned files; the rootfs needs debootstrap)"
  command -v dpkg-deb >/dev/null && command -v apt-get >/dev/null || die "images: needs Debian's dpkg-deb and apt-get"
  local s
  if (( build )); then
    need_bazel
    info "bazel build //services/..."
    bazel build //services/... </dev/null || die "bazel build //services/... failed"
    cmd_web_build
  fi
  for s in "${DOJO_IMAGE_SERVICES[@]}"; do
    [[ -x $(svc_bin "$s") ]] || die "images: $(rel "$(svc_bin "$s")") is not built: ./dojo build"
  done
  [[ -f $DOJO_ROOT/web/dist/index.html ]] || cmd_web_build
  [[ " ${names[*]} " == *" executor "* ]] && cmd_rootfs

  local tag epoch out w="$DOJO_IMAGES_DIR/work"
  tag=$(images_tag); epoch=$(images_epoch)
  out="$DOJO_IMAGES_DIR/$tag"
  mkdir -p "$out" "$w"

  # base: every service binary's libraries; the databases and runtimes build on it.
  local bins=() base_pkgs=() rt_pkgs=() pg_pkgs=() redis_pkgs=() IMAGES_REBUILT
  for s in "${DOJO_IMAGE_SERVICES[@]}"; do bins+=("$(svc_bin "$s")"); done
  mapfile -t base_pkgs < <({ images_pkgs_of_libs "${bins[@]}"; printf '%s\n' libc6 tzdata ca-certificates netbase; } | sort -u)
  mapfile -t base_pkgs < <(images_pin "${base_pkgs[@]}")
  info "images: base layer: ${#base_pkgs[@]} Debian packages"
  IMAGES_REBUILT=0; images_tree "$w/base" "${base_pkgs[@]}" && { IMAGES_REBUILT=1; images_base_files "$w/base"; }
  local base_layer; base_layer=$(images_layer base "$w/base")

  # Packages of a layer on top of base: those base lacks.
  _images_above_base() { local p; for p in "$@"; do [[ " ${base_pkgs[*]} " == *" $p="* ]] || printf '%s\n' "$p"; done | sort -u; }

  local name layers cfg ref digest size app_layer
  : >"$out/images.txt.part"
  for name in "${names[@]}"; do
    layers=("$base_layer")
    case $name in
      executor)
        mapfile -t rt_pkgs < <(_images_above_base $(images_pkgs_of_libs /usr/bin/crun) crun runsc)
        mapfile -t rt_pkgs < <(images_pin "${rt_pkgs[@]}")
        IMAGES_REBUILT=0; images_tree "$w/runtimes" "${rt_pkgs[@]}" && IMAGES_REBUILT=1
        layers+=("$(images_layer runtimes "$w/runtimes")")
        # The language root filesystems, a layer each (DOJO_IMAGES_ROOTFS_TREES,
        # default every tree the catalogue names): re-layered when ./dojo
        # rootfs rebuilt one.
        local tree trees
        trees=${DOJO_IMAGES_ROOTFS_TREES:-$(rootfs_trees | cut -d' ' -f1 | tr '\n' ' ')}
        for tree in $trees; do
          IMAGES_REBUILT=0
          [[ $DOJO_ROOTFS_DIR/$tree/.dojo-recipe -nt $DOJO_IMAGES_DIR/layers/rootfs-$tree.tar.gz ]] && IMAGES_REBUILT=1
          layers+=("$(images_layer "rootfs-$tree" "$DOJO_ROOTFS_DIR/$tree" --prefix "opt/dojo/rootfs/$tree")")
        done ;;
      postgres)
        mapfile -t pg_pkgs < <(_images_above_base $(images_pkgs_of_libs /usr/lib/postgresql/$DOJO_PG_MAJOR/bin/{postgres,initdb}) "postgresql-$DOJO_PG_MAJOR" "postgresql-client-$DOJO_PG_MAJOR" dash)
        mapfile -t pg_pkgs < <(images_pin "${pg_pkgs[@]}")
        IMAGES_REBUILT=0
        if images_tree "$w/postgres" "${pg_pkgs[@]}"; then
          IMAGES_REBUILT=1
          ln -sf dash "$w/postgres/usr/bin/sh"
          # Only the server: no client tools, no postgresql-common wrappers.
          rm -rf "$w/postgres/usr/share/postgresql-common" "$w/postgres/etc/postgresql-common"
        fi
        layers+=("$(images_layer postgres "$w/postgres")") ;;
      redis)
        mapfile -t redis_pkgs < <(_images_above_base $(images_pkgs_of_libs "$(readlink -f /usr/bin/redis-server)") redis-server redis-tools)
        mapfile -t redis_pkgs < <(images_pin "${redis_pkgs[@]}")
        IMAGES_REBUILT=0; images_tree "$w/redis" "${redis_pkgs[@]}" && IMAGES_REBUILT=1
        layers+=("$(images_layer redis "$w/redis")") ;;
    esac
    images_app_tree "$w/app-$name" "$name"
    IMAGES_REBUILT=1
    app_layer=$(images_layer "app-$name" "$w/app-$name" --mtime "$epoch")
    if [[ $name != redis ]]; then layers+=("$app_layer"); fi
    images_config "$name" "$tag" "$epoch" >"$w/config-$name.json"
    ref="$DOJO_IMAGE_REGISTRY/$name:$tag"
    digest=$(/usr/bin/python3 "$IMAGES_OCI" image "$out/$name.oci.tar" --ref "$ref" --config "$w/config-$name.json" "${layers[@]}") \
      || die "images: writing $name failed"
    size=$(stat -c %s "$out/$name.oci.tar")
    printf '%s %s %s %s\n' "$name" "$ref" "$digest" "$size" >>"$out/images.txt.part"
  done
  mv "$out/images.txt.part" "$out/images.txt"
  ln -sfn "$tag" "$DOJO_IMAGES_DIR/latest"
  printf '\n%s%-13s %-44s %9s  %s%s\n' "$_C_B" IMAGE REFERENCE SIZE "MANIFEST DIGEST" "$_C_0"
  while read -r name ref digest size; do
    printf '%-13s %-44s %8sM  %s\n' "$name" "$ref" "$(( (size + 524287) / 1048576 ))" "$digest"
  done <"$out/images.txt"
  ok "images in $(rel "$out")/ (import: k3s ctr images import FILE, or podman load -i FILE)"
}
