#!/usr/bin/python3
"""oci.py — reproducible OCI image layers and archives from directory trees.

The helper behind ./dojo images (scripts/lib/images.sh). No container engine,
no registry: a layer is a sorted, normalised tar of a directory (gzip without
a timestamp), an image is an OCI image layout (oci-layout, index.json, blobs)
written as one tar that `podman load` and `k3s ctr images import` accept.

Same tree, same arguments -> byte-identical layer and archive:
- entries in name order, numeric owners only (no user or group names);
- directories and symlinks get mtime 0; files keep their mtime (package contents carry the
  package's own times), or get --mtime (files we generate, binaries);
- gzip header without name or time.

  oci.py layer TREE OUT.tar.gz [--prefix PATH] [--mtime EPOCH]
      writes the layer and OUT.tar.gz.json: {"digest", "diff_id", "size"}
  oci.py image OUT.oci.tar --ref NAME:TAG --config CONFIG.json LAYER.tar.gz...
      CONFIG.json holds the image's "config" object (Entrypoint, Env, User,
      Labels, ...) plus "created" (RFC 3339); the layers' metadata files must exist.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import stat
import sys
import tarfile


class HashingWriter:
    """File-like: hashes and counts what passes through to `inner`."""

    def __init__(self, inner):
        self.inner, self.sha, self.size = inner, hashlib.sha256(), 0

    def write(self, b):
        self.sha.update(b)
        self.size += len(b)
        return self.inner.write(b)

    def flush(self):
        self.inner.flush()


def walk_sorted(root):
    """Every path below root (relative, '/'-separated), parents first, in name order."""
    out = []

    def rec(rel):
        full = os.path.join(root, rel) if rel else root
        for name in sorted(os.listdir(full)):
            r = f"{rel}/{name}" if rel else name
            out.append(r)
            st = os.lstat(os.path.join(root, r))
            if stat.S_ISDIR(st.st_mode):
                rec(r)

    rec("")
    return out


def tar_info(root, rel, arcname, mtime, hardlinks):
    full = os.path.join(root, rel)
    st = os.lstat(full)
    ti = tarfile.TarInfo(arcname)
    ti.mode = stat.S_IMODE(st.st_mode)
    ti.uid, ti.gid = st.st_uid, st.st_gid
    ti.uname = ti.gname = ""
    # Directories and symlinks: mtime 0 (their times only say when the tree was made).
    if stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode):
        ti.mtime = 0
    else:
        ti.mtime = int(st.st_mtime) if mtime is None else mtime
    if stat.S_ISDIR(st.st_mode):
        ti.type = tarfile.DIRTYPE
    elif stat.S_ISLNK(st.st_mode):
        ti.type, ti.linkname = tarfile.SYMTYPE, os.readlink(full)
    elif stat.S_ISREG(st.st_mode):
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in hardlinks:
            ti.type, ti.linkname = tarfile.LNKTYPE, hardlinks[key]
        else:
            if st.st_nlink > 1:
                hardlinks[key] = arcname
            ti.type, ti.size = tarfile.REGTYPE, st.st_size
    elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        ti.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
        ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    elif stat.S_ISFIFO(st.st_mode):
        ti.type = tarfile.FIFOTYPE
    else:
        return None  # sockets: nothing to carry
    return ti


def cmd_layer(a):
    prefix = a.prefix.strip("/")
    tmp = a.out + ".part"
    with open(tmp, "wb") as raw:
        gz_hash = HashingWriter(raw)
        with gzip.GzipFile(filename="", mode="wb", fileobj=gz_hash, compresslevel=6, mtime=0) as gz:
            tar_hash = HashingWriter(gz)
            with tarfile.open(fileobj=tar_hash, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                hardlinks = {}
                if prefix:  # the parent directories of the prefix, root-owned
                    parts = prefix.split("/")
                    for i in range(1, len(parts) + 1):
                        ti = tarfile.TarInfo("/".join(parts[:i]))
                        ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, 0
                        tar.addfile(ti)
                for rel in walk_sorted(a.tree):
                    arc = f"{prefix}/{rel}" if prefix else rel
                    ti = tar_info(a.tree, rel, arc, a.mtime, hardlinks)
                    if ti is None:
                        continue
                    if ti.type == tarfile.REGTYPE:
                        with open(os.path.join(a.tree, rel), "rb") as f:
                            tar.addfile(ti, f)
                    else:
                        tar.addfile(ti)
    os.replace(tmp, a.out)
    meta = {"digest": "sha256:" + gz_hash.sha.hexdigest(),
            "diff_id": "sha256:" + tar_hash.sha.hexdigest(), "size": gz_hash.size}
    with open(a.out + ".json", "w") as f:
        json.dump(meta, f)
    print(meta["digest"])


def add_bytes(tar, name, data, mtime):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime = len(data), 0o644, mtime
    tar.addfile(ti, io.BytesIO(data))


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def cmd_image(a):
    with open(a.config) as f:
        spec = json.load(f)
    layers = []
    for path in a.layers:
        with open(path + ".json") as f:
            layers.append((path, json.load(f)))
    created = spec.pop("created")
    config = {
        "architecture": "amd64", "os": "linux", "created": created, "config": spec,
        "rootfs": {"type": "layers", "diff_ids": [m["diff_id"] for _, m in layers]},
        "history": [{"created": created, "created_by": "./dojo images: " + os.path.basename(p)}
                    for p, _ in layers],
    }
    config_b = canonical(config)
    manifest = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:" + hashlib.sha256(config_b).hexdigest(), "size": len(config_b)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": m["digest"], "size": m["size"]} for _, m in layers],
        "annotations": {k: v for k, v in spec.get("Labels", {}).items()
                        if k.startswith("org.opencontainers.image.")},
    }
    manifest_b = canonical(manifest)
    index = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": "sha256:" + hashlib.sha256(manifest_b).hexdigest(), "size": len(manifest_b),
            # containerd (k3s ctr images import) names the image from the first,
            # podman load from the second.
            "annotations": {"io.containerd.image.name": a.ref,
                            "org.opencontainers.image.ref.name": a.ref},
        }],
    }
    mtime = int(spec.get("Labels", {}).get("dojo.source-date-epoch", "0"))
    tmp = a.out + ".part"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for d in ("blobs", "blobs/sha256"):
            ti = tarfile.TarInfo(d)
            ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, mtime
            tar.addfile(ti)
        add_bytes(tar, "oci-layout", canonical({"imageLayoutVersion": "1.0.0"}), mtime)
        add_bytes(tar, "index.json", canonical(index), mtime)
        add_bytes(tar, "blobs/sha256/" + manifest["config"]["digest"][7:], config_b, mtime)
        add_bytes(tar, "blobs/sha256/" + index["manifests"][0]["digest"][7:], manifest_b, mtime)
        seen = set()
        for path, m in layers:
            if m["digest"] in seen:
                continue
            seen.add(m["digest"])
            ti = tarfile.TarInfo("blobs/sha256/" + m["digest"][7:])
            ti.size, ti.mode, ti.mtime = m["size"], 0o644, mtime
            with open(path, "rb") as f:
                tar.addfile(ti, f)
    os.replace(tmp, a.out)
    print(index["manifests"][0]["digest"])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    lp = sub.add_parser("layer")
    lp.add_argument("tree")
    lp.add_argument("out")
    lp.add_argument("--prefix", default="")
    lp.add_argument("--mtime", type=int, default=None)
    ip = sub.add_parser("image")
    ip.add_argument("out")
    ip.add_argument("--ref", required=True)
    ip.add_argument("--config", required=True)
    ip.add_argument("layers", nargs="+")
    a = p.parse_args()
    if not os.path.isdir(getattr(a, "tree", "/")):
        sys.exit(f"oci.py: {a.tree} is not a directory")
    cmd_layer(a) if a.cmd == "layer" else cmd_image(a)


if __name__ == "__main__":
    main()
