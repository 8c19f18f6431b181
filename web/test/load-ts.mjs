// Loads a DOM-free module of src/ in Node: TypeScript's own transpiler turns it
// into JavaScript in a temporary directory (no extra dependency).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";

const dir = mkdtempSync(join(tmpdir(), "dojo-web-test-"));

export async function loadTs(rel) {
  const src = readFileSync(new URL(`../src/${rel}.ts`, import.meta.url), "utf8");
  const out = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
  const file = join(dir, rel.replace(/\//g, "_") + ".mjs");
  writeFileSync(file, out.outputText);
  return import(pathToFileURL(file).href);
}
