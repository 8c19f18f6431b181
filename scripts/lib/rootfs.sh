# shellcheck shell=bash
# ./dojo rootfs: the language root filesystems the executor's sandboxes run in.
#
# One Debian 12 minbase tree per "rootfs" the language catalogue names
# (services/executor/languages/*.json: each language says which tree it runs
# in and which Debian packages it needs there; a tree holds the union of its
# languages' packages). Each is built with debootstrap from Debian's archive,
# then made fit for a read-only sandbox root: mount points /judge, /tmp, /proc
# and /dev exist, no setuid bits, no package caches. A tree is rebuilt only
# when its recipe (suite and packages) changes; trees are built side by side
# (DOJO_ROOTFS_JOBS at a time, default 3), under a lock, so that two
# `./dojo test` runs sharing a folder wait for each other instead of
# colliding.
#
#   ./dojo rootfs            every tree
#   ./dojo rootfs jvm go     those trees only

DOJO_ROOTFS_DIR=${DOJO_EXECUTOR_ROOTFS_DIR:-$DOJO_ROOT/.dojo/rootfs}
DOJO_ROOTFS_SUITE=bookworm
DOJO_ROOTFS_MIRROR=${DOJO_ROOTFS_MIRROR:-http://deb.debian.org/debian}
DOJO_ROOTFS_LANGUAGES=${DOJO_EXECUTOR_LANGUAGES_DIR:-$DOJO_ROOT/services/executor/languages}
DOJO_ROOTFS_JOBS=${DOJO_ROOTFS_JOBS:-3}

# "TREE PKG,PKG..." lines, one per tree the catalogue names.
rootfs_trees() {
  /usr/bin/python3 - "$DOJO_ROOTFS_LANGUAGES" <<'EOF'
import json, pathlib, sys
trees = {}
for p in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    lang = json.loads(p.read_text())
    trees.setdefault(lang["rootfs"], set()).update(lang.get("packages", []))
for name, pkgs in sorted(trees.items()):
    print(name, ",".join(sorted(pkgs)))
EOF
}

# A tree's recipe: how it is made fit for the sandbox (v2), the suite and its
# packages. Stamped into the tree as .dojo-recipe.
# The trees languages $@ (ids) run in, one a line.
rootfs_trees_of() {
  /usr/bin/python3 - "$DOJO_ROOTFS_LANGUAGES" "$@" <<'EOF'
import json, pathlib, sys
want = set(sys.argv[2:])
trees = {json.loads(p.read_text())["rootfs"] for p in pathlib.Path(sys.argv[1]).glob("*.json")
         if json.loads(p.read_text())["id"] in want}
print("\n".join(sorted(trees)))
EOF
}

rootfs_recipe() { printf 'v2 %s %s' "$DOJO_ROOTFS_SUITE" "$1"; }

# Whether stamp file $1 holds recipe $2: the same steps and suite, the same
# set of packages in any order (a tree stamped before the catalogue named the
# packages lists them in another order and is still up to date).
rootfs_stamp_is() {
  [[ -f $1 ]] || return 1
  local a b
  a=$(tr ' ,' '\n\n' <"$1" | sed '/^$/d' | { read -r v; read -r s; echo "$v $s"; sort; })
  b=$(printf '%s\n' "$2" | tr ' ,' '\n\n' | sed '/^$/d' | { read -r v; read -r s; echo "$v $s"; sort; })
  [[ $a == "$b" ]]
}

# Builds tree $1 with packages $2 (comma-separated); its log is
# $DOJO_ROOTFS_DIR/debootstrap-$1.log.
rootfs_build_tree() {
  local name=$1 pkgs=$2 dest=$DOJO_ROOTFS_DIR/$1 tmp=$DOJO_ROOTFS_DIR/.building-$1
  local log=$DOJO_ROOTFS_DIR/debootstrap-$1.log t0=$SECONDS
  rm -rf "$tmp"
  debootstrap --variant=minbase --include="$pkgs" \
    "$DOJO_ROOTFS_SUITE" "$tmp" "$DOJO_ROOTFS_MIRROR" >"$log" 2>&1 \
    || { tail -n 20 "$log" >&2; printf 'debootstrap of %s failed (%s)\n' "$name" "$log" >&2; return 1; }
  # Fit for a read-only sandbox root.
  mkdir -p "$tmp/judge" "$tmp/tmp" "$tmp/proc" "$tmp/dev"
  find "$tmp" -xdev -perm /6000 -type f -exec chmod ug-s {} + 2>/dev/null || true
  rm -rf "$tmp/var/cache/apt/archives"/*.deb "$tmp/var/lib/apt/lists"/* 2>/dev/null || true
  chmod 755 "$tmp"
  rootfs_recipe "$pkgs" >"$tmp/.dojo-recipe"
  echo >>"$tmp/.dojo-recipe"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  ok "root filesystem $name ready: $dest ($(du -sh "$dest" | cut -f1), $((SECONDS - t0)) s)"
}

cmd_rootfs() {
  local want=("$@") name pkgs stamp todo=() pids=() failed=0 t0=$SECONDS lockfd
  mkdir -p "$DOJO_ROOTFS_DIR"
  chmod 755 "$DOJO_ROOTFS_DIR"
  local trees; trees=$(rootfs_trees) || die "rootfs: cannot read the language catalogue in $DOJO_ROOTFS_LANGUAGES"
  while read -r name pkgs; do
    [[ -n $name ]] || continue
    (( ${#want[@]} == 0 )) || [[ " ${want[*]} " == *" $name "* ]] || continue
    stamp=$DOJO_ROOTFS_DIR/$name/.dojo-recipe
    if rootfs_stamp_is "$stamp" "$(rootfs_recipe "$pkgs")"; then
      ok "root filesystem $DOJO_ROOTFS_DIR/$name is up to date"
    else
      todo+=("$name $pkgs")
    fi
  done <<<"$trees"
  (( ${#todo[@]} )) || return 0
  is_root || die "building a root filesystem needs root (debootstrap)"
  command -v debootstrap >/dev/null || cmd_deps
  exec {lockfd}>"$DOJO_ROOTFS_DIR/.lock"
  if ! flock -n "$lockfd"; then
    info "another ./dojo rootfs is building in $DOJO_ROOTFS_DIR: waiting for it"
    flock "$lockfd"
    # It may have built what we wanted.
    exec {lockfd}>&-
    cmd_rootfs "$@"
    return
  fi
  info "debootstrap $DOJO_ROOTFS_SUITE: ${#todo[@]} tree(s) into $DOJO_ROOTFS_DIR, $DOJO_ROOTFS_JOBS at a time (a few minutes)"
  local item
  for item in "${todo[@]}"; do
    info "  ${item%% *}: ${item#* }"
    # By pid, oldest first: `wait -n` answers 127, not the status, for a job
    # that ended before it was called (bash 5.2), and that is not a failure.
    if (( ${#pids[@]} >= DOJO_ROOTFS_JOBS )); then
      wait "${pids[0]}" || failed=1
      pids=("${pids[@]:1}")
    fi
    # shellcheck disable=SC2086
    rootfs_build_tree $item &
    pids+=($!)
  done
  for item in "${pids[@]}"; do wait "$item" || failed=1; done
  exec {lockfd}>&-
  (( failed == 0 )) || die "building the root filesystems failed"
  ok "root filesystems built in $((SECONDS - t0)) s: $(du -sh "$DOJO_ROOTFS_DIR" | cut -f1) in all"
}
