# shellcheck shell=bash
# ./dojo rootfs: the language root filesystems the executor's sandboxes run in.
#
# One Debian 12 minbase tree with Python 3 and gcc serves both shipped
# languages (services/executor/languages/*.json name it "debian"). It is
# built with debootstrap from Debian's archive, then made fit for a read-only
# sandbox root: mount points /judge, /tmp, /proc and /dev exist, no setuid
# bits, no package caches. Rebuilt only when its recipe changes.

DOJO_ROOTFS_DIR=${DOJO_EXECUTOR_ROOTFS_DIR:-$DOJO_ROOT/.dojo/rootfs}
DOJO_ROOTFS_SUITE=bookworm
DOJO_ROOTFS_MIRROR=${DOJO_ROOTFS_MIRROR:-http://deb.debian.org/debian}
# python3 (not -minimal): learners expect the whole standard library.
DOJO_ROOTFS_PACKAGES=python3,gcc,libc6-dev
DOJO_ROOTFS_RECIPE="v2 $DOJO_ROOTFS_SUITE $DOJO_ROOTFS_PACKAGES"

cmd_rootfs() {
  local dest=$DOJO_ROOTFS_DIR/debian stamp
  stamp=$dest/.dojo-recipe
  if [[ -f $stamp && $(cat "$stamp") == "$DOJO_ROOTFS_RECIPE" ]]; then
    ok "root filesystem $dest is up to date"
    return 0
  fi
  is_root || die "building a root filesystem needs root (debootstrap)"
  command -v debootstrap >/dev/null || cmd_deps
  local tmp=$DOJO_ROOTFS_DIR/.building
  rm -rf "$tmp"
  mkdir -p "$DOJO_ROOTFS_DIR"
  chmod 755 "$DOJO_ROOTFS_DIR"
  info "debootstrap $DOJO_ROOTFS_SUITE ($DOJO_ROOTFS_PACKAGES) into $dest (about a minute)"
  debootstrap --variant=minbase --include="$DOJO_ROOTFS_PACKAGES" \
    "$DOJO_ROOTFS_SUITE" "$tmp" "$DOJO_ROOTFS_MIRROR" >"$DOJO_ROOTFS_DIR/debootstrap.log" 2>&1 \
    || { tail -n 20 "$DOJO_ROOTFS_DIR/debootstrap.log" >&2; die "debootstrap failed"; }
  # Fit for a read-only sandbox root.
  mkdir -p "$tmp/judge" "$tmp/tmp" "$tmp/proc" "$tmp/dev"
  find "$tmp" -xdev -perm /6000 -type f -exec chmod ug-s {} + 2>/dev/null || true
  rm -rf "$tmp/var/cache/apt/archives"/*.deb "$tmp/var/lib/apt/lists"/* 2>/dev/null || true
  chmod 755 "$tmp"
  printf '%s\n' "$DOJO_ROOTFS_RECIPE" >"$tmp/.dojo-recipe"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  ok "root filesystem ready: $dest ($(du -sh "$dest" | cut -f1))"
}
