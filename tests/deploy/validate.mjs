// validate.mjs — every object `helm template` renders, checked against the
// Kubernetes OpenAPI schemas (kubernetes-models, Kubernetes 1.34), KEDA's CRD
// schema (@kubernetes-models/keda) and the Prometheus Operator's
// (@kubernetes-models/prometheus-operator); then the rules a schema cannot
// express but an API server or a kubelet would enforce — unknown fields
// (strict.mjs), names, references — and the chart's own promises (Pod
// Security, selectors, scaling targets).
//
//   node validate.mjs NAME=RENDERED.yaml...
// Prints one line per values set and every problem; exit 1 if there is one.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { loadDeclarations, unknownFields } from "./strict.mjs";

const nodeModules = join(dirname(fileURLToPath(import.meta.url)), "node_modules");
loadDeclarations(nodeModules, ["kubernetes-models", "@kubernetes-models/apimachinery",
  "@kubernetes-models/keda", "@kubernetes-models/prometheus-operator"]);

const groups = {
  "v1": "kubernetes-models/v1",
  "apps/v1": "kubernetes-models/apps/v1",
  "batch/v1": "kubernetes-models/batch/v1",
  "policy/v1": "kubernetes-models/policy/v1",
  "autoscaling/v2": "kubernetes-models/autoscaling/v2",
  "networking.k8s.io/v1": "kubernetes-models/networking.k8s.io/v1",
  "node.k8s.io/v1": "kubernetes-models/node.k8s.io/v1",
  "keda.sh/v1alpha1": "@kubernetes-models/keda/keda.sh/v1alpha1",
  "monitoring.coreos.com/v1": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
};

async function modelFor(apiVersion, kind) {
  const mod = groups[apiVersion];
  if (!mod) return null;
  const m = await import(mod);
  return m[kind] ?? null;
}

const dns1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const clusterScoped = new Set(["Namespace", "RuntimeClass"]);

function podSpecOf(o) {
  if (o.kind === "Pod") return o.spec;
  if (o.kind === "CronJob") return o.spec?.jobTemplate?.spec?.template?.spec;
  return o.spec?.template?.spec;
}

function matches(selector, labels) {
  return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}

// The `restricted` Pod Security Standard, for pods outside the executor namespace.
function restrictedProblems(ps) {
  const out = [];
  const psc = ps.securityContext ?? {};
  if (ps.hostNetwork || ps.hostPID || ps.hostIPC) out.push("host namespaces");
  for (const v of ps.volumes ?? []) {
    const types = Object.keys(v).filter((k) => k !== "name");
    const allowed = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];
    if (!types.every((t) => allowed.includes(t))) out.push(`volume ${v.name}: ${types}`);
  }
  for (const c of [...(ps.initContainers ?? []), ...(ps.containers ?? [])]) {
    const sc = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if (sc.privileged) out.push(`${where}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation must be false`);
    if (!(sc.runAsNonRoot ?? psc.runAsNonRoot)) out.push(`${where}: runAsNonRoot`);
    if ((sc.runAsUser ?? psc.runAsUser) === 0) out.push(`${where}: runAsUser 0`);
    const seccomp = (sc.seccompProfile ?? psc.seccompProfile)?.type;
    if (!["RuntimeDefault", "Localhost"].includes(seccomp)) out.push(`${where}: seccompProfile`);
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) out.push(`${where}: capabilities must drop ALL`);
    if ((sc.capabilities?.add ?? []).some((x) => x !== "NET_BIND_SERVICE")) out.push(`${where}: capabilities added`);
    if (c.ports?.some((p) => p.hostPort)) out.push(`${where}: hostPort`);
  }
  return out;
}

async function check(name, file) {
  const text = readFileSync(file, "utf8");
  const docs = parseAllDocuments(text);
  const objs = [];
  const problems = [];
  for (const d of docs) {
    if (d.errors.length) { problems.push(`YAML: ${d.errors[0].message}`); continue; }
    const o = d.toJS();
    if (o) objs.push(o);
  }
  const id = (o) => `${o.kind}/${o.metadata?.namespace ?? "-"}/${o.metadata?.name}`;
  const seen = new Set();
  for (const o of objs) {
    const Model = await modelFor(o.apiVersion, o.kind);
    if (!Model) { problems.push(`${id(o)}: no schema for ${o.apiVersion} ${o.kind}`); continue; }
    try { new Model(o).validate(); } catch (e) { problems.push(`${id(o)}: ${e.message}`); }
    for (const p of unknownFields(o, join(nodeModules, groups[o.apiVersion]))) problems.push(`${id(o)}: ${p}`);
    const n = o.metadata?.name ?? "";
    if (!dns1123.test(n) || n.length > 63) problems.push(`${id(o)}: name is not a DNS label`);
    if (!clusterScoped.has(o.kind) && !o.metadata?.namespace) problems.push(`${id(o)}: no namespace`);
    if (seen.has(id(o))) problems.push(`${id(o)}: rendered twice`);
    seen.add(id(o));
  }
  const byKind = (k) => objs.filter((o) => o.kind === k);
  const find = (kind, ns, n) => objs.find((o) => o.kind === kind && o.metadata?.name === n && (clusterScoped.has(kind) || o.metadata?.namespace === ns));
  const namespaces = byKind("Namespace");
  const execNs = namespaces.find((ns) => ns.metadata.labels?.["pod-security.kubernetes.io/enforce"] === "privileged")?.metadata.name;
  const existingSecret = process.env.DOJO_VALIDATE_EXTERNAL_SECRETS?.split(",") ?? [];

  const workloads = objs.filter((o) => ["Deployment", "StatefulSet", "Job", "DaemonSet"].includes(o.kind));
  for (const w of workloads) {
    const ps = podSpecOf(w);
    const ns = w.metadata.namespace;
    const tmplLabels = w.spec.template?.metadata?.labels;
    if (w.spec.selector && !matches(w.spec.selector.matchLabels, tmplLabels)) problems.push(`${id(w)}: selector does not match its pod labels`);
    for (const c of [...(ps.initContainers ?? []), ...(ps.containers ?? [])]) {
      for (const ef of c.envFrom ?? []) {
        const ref = ef.configMapRef ?? ef.secretRef;
        const kind = ef.configMapRef ? "ConfigMap" : "Secret";
        if (!find(kind, ns, ref.name) && !existingSecret.includes(ref.name)) problems.push(`${id(w)}: ${c.name} reads ${kind} ${ref.name}, not rendered in ${ns}`);
      }
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref && !existingSecret.includes(ref.name)) {
          const s = find("Secret", ns, ref.name);
          if (!s || !(ref.key in (s.data ?? {}))) problems.push(`${id(w)}: ${c.name} reads ${ref.name}/${ref.key}, not rendered`);
        }
      }
      const names = (c.env ?? []).map((e) => e.name);
      if (new Set(names).size !== names.length) problems.push(`${id(w)}: ${c.name} sets a variable twice`);
      const ports = (c.ports ?? []).map((p) => p.containerPort);
      for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) {
        const p = c[probe];
        const port = p?.grpc?.port ?? p?.httpGet?.port ?? p?.tcpSocket?.port;
        if (p && typeof port === "number" && !ports.includes(port)) problems.push(`${id(w)}: ${c.name} ${probe} on ${port}, not a container port`);
      }
      if (!c.resources?.requests) problems.push(`${id(w)}: ${c.name} has no resource requests`);
    }
    // Executors start containers and are privileged by design (values.yaml says why),
    // in a namespace of their own that allows it; every other pod is `restricted`.
    const isExecutor = tmplLabels?.["app.kubernetes.io/component"] === "executor";
    if (isExecutor && execNs === undefined && namespaces.some((n) => n.metadata.name === ns)) problems.push(`${id(w)}: its namespace is not labelled privileged`);
    if (!isExecutor) for (const p of restrictedProblems(ps)) {
      if (!(process.env.DOJO_VALIDATE_HOSTNETWORK && p === "host namespaces")) problems.push(`${id(w)}: not Pod Security "restricted": ${p}`);
    }
    if (ps.serviceAccountName && !find("ServiceAccount", ns, ps.serviceAccountName)) problems.push(`${id(w)}: service account ${ps.serviceAccountName} not rendered in ${ns}`);
  }
  for (const s of byKind("Service")) {
    const ns = s.metadata.namespace;
    const target = workloads.find((w) => w.metadata.namespace === ns && matches(s.spec.selector, w.spec.template.metadata.labels));
    if (!target) { problems.push(`${id(s)}: selects no pod`); continue; }
    const ports = podSpecOf(target).containers.flatMap((c) => (c.ports ?? []).map((p) => p.containerPort));
    for (const p of s.spec.ports) if (!ports.includes(p.targetPort)) problems.push(`${id(s)}: targetPort ${p.targetPort} is no container port`);
  }
  for (const o of [...byKind("PodDisruptionBudget"), ...byKind("NetworkPolicy")]) {
    const sel = o.kind === "NetworkPolicy" ? o.spec.podSelector.matchLabels : o.spec.selector.matchLabels;
    if (!workloads.some((w) => w.metadata.namespace === o.metadata.namespace && matches(sel, w.spec.template.metadata.labels))) problems.push(`${id(o)}: selects no pod`);
  }
  for (const o of [...byKind("HorizontalPodAutoscaler"), ...byKind("ScaledObject")]) {
    const t = o.spec?.scaleTargetRef ?? {};
    const w = find(t.kind ?? "Deployment", o.metadata.namespace, t.name);
    if (!w) problems.push(`${id(o)}: scales ${t.name}, not rendered in ${o.metadata.namespace}`);
    else if (w.spec.replicas !== undefined) problems.push(`${id(o)}: ${t.name} sets replicas too (the two would fight)`);
  }
  for (const so of byKind("ScaledObject")) {
    for (const t of so.spec?.triggers ?? []) {
      if (t.type !== "redis-streams") continue;
      const m = t.metadata;
      if (!["dojo:jobs", "dojo:jobs:contest"].includes(m.stream) || m.consumerGroup !== "executors") problems.push(`${id(so)}: trigger ${t.name} reads ${m.stream}/${m.consumerGroup}, not dojo:jobs or dojo:jobs:contest/executors`);
      if (!m.address) problems.push(`${id(so)}: trigger ${t.name} has no address`);
    }
  }
  for (const ing of byKind("Ingress")) {
    for (const r of ing.spec.rules) for (const p of r.http.paths) {
      if (!find("Service", ing.metadata.namespace, p.backend.service.name)) problems.push(`${id(ing)}: backend ${p.backend.service.name} not rendered`);
    }
  }
  for (const ns of namespaces) {
    if (!ns.metadata.labels?.["pod-security.kubernetes.io/enforce"]) problems.push(`${id(ns)}: no Pod Security label`);
  }
  const kinds = [...new Set(objs.map((o) => o.kind))].sort().join(" ");
  console.log(`${problems.length ? "FAIL" : "ok  "} ${name}: ${objs.length} objects (${kinds})`);
  for (const p of problems) console.log(`     ${p}`);
  return problems.length;
}

let failed = 0;
for (const arg of process.argv.slice(2)) {
  const [name, file] = arg.includes("=") ? arg.split("=") : [arg, arg];
  failed += await check(name, file);
}
process.exit(failed ? 1 : 0);
