#!/usr/bin/env node
// Writes a .gz copy (zlib level 9) next to every text asset in dist/, for the
// gateway to serve with Content-Encoding: gzip. Output is byte-for-byte
// reproducible (the gzip header carries no time or name).
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync, constants } from "node:zlib";

const dist = new URL("../dist/", import.meta.url).pathname;
const TEXT = /\.(js|mjs|css|html|svg|json|txt|map|webmanifest)$/;

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else yield p;
  }
}

let n = 0, raw = 0, gz = 0;
for (const file of walk(dist)) {
  if (!TEXT.test(file)) continue;
  const data = readFileSync(file);
  const out = gzipSync(data, { level: constants.Z_BEST_COMPRESSION });
  writeFileSync(file + ".gz", out);
  n++;
  raw += data.length;
  gz += out.length;
}
console.log(`compress: ${n} files, ${(raw / 1024).toFixed(1)} KiB -> ${(gz / 1024).toFixed(1)} KiB gzip (${relative(process.cwd(), dist) || "."})`);
