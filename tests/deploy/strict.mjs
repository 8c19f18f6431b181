// strict.mjs — unknown fields, the check an API server makes with strict field
// validation (kubectl's default) and the OpenAPI schemas of kubernetes-models
// do not (they allow any extra property): a misspelt `readinesProbe` or a field
// at the wrong level would pass validate() and fail at install time.
//
// The field lists come from the models' TypeScript declarations (generated from
// the same OpenAPI documents and CRDs as their validators): every
// `export interface I<Name> { "field"?: Type; ... }` and its exported alias
// (`export type { IDeploymentSpec as IIoK8sApiAppsV1DeploymentSpec }`).
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const byAlias = new Map(); // IIoK8s...DeploymentSpec -> fields
const byFile = new Map(); // path of a .d.ts -> {interface name -> fields}

function stripComments(s) {
  return s.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/[^\n]*/g, "");
}

// Split at `sep` where no (), <>, {} or [] is open and not inside a string.
function splitTop(s, sep) {
  const out = [];
  let depth = 0, cur = "", quote = null;
  for (const ch of s) {
    if (quote) { cur += ch; if (ch === quote) quote = null; continue; }
    if (ch === '"' || ch === "'") { quote = ch; cur += ch; continue; }
    if ("({<[".includes(ch)) depth++;
    if (")}>]".includes(ch)) depth--;
    if (ch === sep && depth === 0) { out.push(cur); cur = ""; continue; }
    cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out;
}

function parseType(t) {
  t = t.trim();
  const alts = splitTop(t, "|").map((x) => x.trim());
  if (alts.length > 1) {
    const structured = alts.map(parseType).filter((x) => x.kind !== "any");
    return structured.length === 1 ? structured[0] : { kind: "any" };
  }
  let m;
  if ((m = /^Array<([\s\S]*)>$/.exec(t))) return { kind: "array", of: parseType(m[1]) };
  if (t.startsWith("{") && t.endsWith("}")) {
    const body = t.slice(1, -1);
    if ((m = /^\s*\[key: string\]:\s*([\s\S]*?);?\s*$/.exec(body))) return { kind: "map", of: parseType(m[1]) };
    return { kind: "object", fields: parseFields(body) };
  }
  if (/^I[A-Za-z0-9]+$/.test(t)) return { kind: "ref", name: t };
  return { kind: "any" };
}

function parseFields(body) {
  const fields = {};
  for (const part of splitTop(body, ";")) {
    const m = /^\s*"([^"]+)"\??:\s*([\s\S]*)$/.exec(part);
    if (m) fields[m[1]] = parseType(m[2]);
    else if (/^\s*\[key: string\]/.test(part)) return null; // open object
  }
  return fields;
}

function loadFile(path) {
  const src = stripComments(readFileSync(path, "utf8"));
  const local = {};
  const re = /export interface (\w+)( extends [\w, ]+)? \{/g;
  let m;
  while ((m = re.exec(src))) {
    let depth = 1, i = re.lastIndex;
    for (; i < src.length && depth; i++) {
      if (src[i] === "{") depth++;
      else if (src[i] === "}") depth--;
    }
    const fields = parseFields(src.slice(re.lastIndex, i - 1));
    if (fields && m[2]?.includes("TypeMeta")) { fields.apiVersion ??= { kind: "any" }; fields.kind ??= { kind: "any" }; }
    local[m[1]] = fields;
  }
  for (const a of src.matchAll(/export type \{ (\w+) as (\w+)/g)) {
    if (a[1] in local) byAlias.set(a[2], local[a[1]]);
  }
  byFile.set(path, local);
}

function loadDir(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) { if (name !== "_schemas") loadDir(p); }
    else if (name.endsWith(".d.ts")) loadFile(p);
  }
}

export function loadDeclarations(nodeModules, packages) {
  for (const p of packages) loadDir(join(nodeModules, p));
}

function walk(data, type, path, out) {
  if (data === null || data === undefined || !type) return;
  if (type.kind === "ref") {
    const fields = byAlias.get(type.name);
    if (fields === undefined) return; // not declared here: nothing to say
    return walk(data, fields === null ? { kind: "any" } : { kind: "object", fields }, path, out);
  }
  if (type.kind === "array" && Array.isArray(data)) data.forEach((x, i) => walk(x, type.of, `${path}[${i}]`, out));
  else if (type.kind === "map" && typeof data === "object") for (const [k, v] of Object.entries(data)) walk(v, type.of, `${path}.${k}`, out);
  else if (type.kind === "object" && type.fields && typeof data === "object" && !Array.isArray(data)) {
    for (const [k, v] of Object.entries(data)) {
      if (!(k in type.fields)) out.push(`${path}.${k}: unknown field`);
      else walk(v, type.fields[k], `${path}.${k}`, out);
    }
  }
}

// Unknown fields of object `o`, declared in `<moduleDir>/<Kind>.d.ts` as `I<Kind>`.
export function unknownFields(o, moduleDir) {
  const local = byFile.get(join(moduleDir, `${o.kind}.d.ts`));
  const fields = local?.[`I${o.kind}`];
  if (!fields) return [`no declaration of ${o.kind} in ${moduleDir}`];
  const out = [];
  walk(o, { kind: "object", fields }, o.kind, out);
  return out;
}
