#!/usr/bin/env node
// Validates rendered Kubernetes manifests, offline:
//   kubectl kustomize k8s/overlays/prod | node eng/k8s-validate/validate.mjs
//
// 1. Schema: every object is validated against the JSON schema of its apiVersion/kind:
//    built-in kinds with kubernetes-models (generated from the Kubernetes OpenAPI spec), ServiceMonitor
//    with @kubernetes-models/prometheus-operator, Strimzi kinds with @kubernetes-models/strimzi-kafka-operator
//    (both generated from the projects' CRDs). An apiVersion/kind with no schema is an error.
//    Those schemas check types, required fields and enums; like the API server's non-strict mode they do
//    not reject unknown (misspelled) fields, so the checks below assert the fields that matter are there.
// 2. References inside the set: Service -> pods, Ingress -> Service port, HPA/PDB -> Deployment,
//    ServiceMonitor -> Service port, envFrom -> ConfigMap, Strimzi resources -> Kafka cluster.
// 3. Gateway policy: probes, resources, non-root, read-only root filesystem, no capabilities, seccomp.
//
// With --json, the validated objects are written to stdout as one JSON array (the summary goes to
// stderr), for tools that check the manifests further (tests/Feed.Deployment.Tests).
//
// Exits 0 when all is well, 1 with one "error:" line per problem otherwise, 2 on unusable input.
let parseAllDocuments;
try {
  ({ parseAllDocuments } = await import("yaml"));
} catch {
  console.error("error: dependencies missing: run `npm ci` in eng/k8s-validate first");
  process.exit(2);
}

const schemaPackages = [
  [/^(monitoring\.coreos\.com)\/(.+)$/, (g, v) => `@kubernetes-models/prometheus-operator/${g}/${v}`],
  [/^((?:kafka|core)\.strimzi\.io)\/(.+)$/, (g, v) => `@kubernetes-models/strimzi-kafka-operator/${g}/${v}`],
  [/^(gateway\.networking\.k8s\.io)\/(.+)$/, (g, v) => `@kubernetes-models/gateway-api/${g}/${v}`],
  [/^([a-z0-9.-]+)\/([a-z0-9]+)$/, (g, v) => `kubernetes-models/${g}/${v}`],
  [/^(v1)$/, () => "kubernetes-models/v1"],
];

const errors = [];
const fail = (obj, message) => errors.push(`${describe(obj)}: ${message}`);
function describe(obj) {
  const ns = obj?.metadata?.namespace ? `${obj.metadata.namespace}/` : "";
  return `${obj?.kind ?? "?"} ${ns}${obj?.metadata?.name ?? "?"}`;
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

async function modelClass(apiVersion, kind) {
  for (const [pattern, moduleOf] of schemaPackages) {
    const m = pattern.exec(apiVersion);
    if (!m) continue;
    let mod;
    try {
      mod = await import(moduleOf(m[1], m[2]));
    } catch {
      return undefined;
    }
    return mod[kind];
  }
  return undefined;
}

async function validateSchema(obj) {
  if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") {
    fail(obj, "apiVersion and kind are required strings");
    return;
  }
  if (!obj.metadata?.name) fail(obj, "metadata.name is required");
  const Model = await modelClass(obj.apiVersion, obj.kind);
  if (!Model) {
    fail(obj, `no schema known for ${obj.apiVersion} ${obj.kind} (misspelled apiVersion/kind, or a CRD without a model package)`);
    return;
  }
  try {
    new Model(obj).validate();
  } catch (e) {
    const list = Array.isArray(e.errors) && e.errors.length > 0
      ? e.errors.map((x) => `${x.instancePath || "/"} ${x.message}${x.params?.allowedValues ? ` (${x.params.allowedValues.join(", ")})` : ""}`)
      : [e.message];
    for (const line of list) fail(obj, `schema: ${line}`);
  }
}

const matches = (selector, labels) =>
  !!selector && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

function checkReferences(objects) {
  const byKind = (kind) => objects.filter((o) => o.kind === kind);
  const find = (kind, name, ns) => objects.find((o) => o.kind === kind && o.metadata?.name === name && (o.metadata?.namespace ?? "") === (ns ?? ""));
  const seen = new Set();
  for (const o of objects) {
    const key = `${o.apiVersion}/${o.kind}/${o.metadata?.namespace ?? ""}/${o.metadata?.name}`;
    if (seen.has(key)) fail(o, "defined twice");
    seen.add(key);
  }
  const deployments = byKind("Deployment");
  for (const d of deployments) {
    const podLabels = d.spec?.template?.metadata?.labels;
    if (!matches(d.spec?.selector?.matchLabels, podLabels)) fail(d, "spec.selector.matchLabels do not match the pod template labels");
    for (const c of d.spec?.template?.spec?.containers ?? []) {
      for (const ef of c.envFrom ?? []) {
        if (ef.configMapRef && !ef.configMapRef.optional && !find("ConfigMap", ef.configMapRef.name, d.metadata.namespace)) {
          fail(d, `container ${c.name}: envFrom ConfigMap ${ef.configMapRef.name} is not in the set`);
        }
      }
    }
    const sa = d.spec?.template?.spec?.serviceAccountName;
    if (sa && sa !== "default" && !find("ServiceAccount", sa, d.metadata.namespace)) fail(d, `ServiceAccount ${sa} is not in the set`);
  }
  const podsOf = (ns, selector) => deployments.filter((d) => (d.metadata.namespace ?? "") === (ns ?? "") && matches(selector, d.spec?.template?.metadata?.labels));
  const containerPortNames = (ds) => new Set(ds.flatMap((d) => (d.spec.template.spec.containers ?? []).flatMap((c) => (c.ports ?? []).map((p) => p.name))));
  for (const s of byKind("Service")) {
    const pods = podsOf(s.metadata.namespace, s.spec?.selector);
    if (pods.length === 0) { fail(s, "selector matches no Deployment's pods"); continue; }
    const names = containerPortNames(pods);
    for (const p of s.spec?.ports ?? []) {
      if (typeof p.targetPort === "string" && !names.has(p.targetPort)) fail(s, `targetPort ${p.targetPort} is not a container port name of its pods`);
    }
  }
  for (const i of byKind("Ingress")) {
    for (const rule of i.spec?.rules ?? []) {
      for (const path of rule.http?.paths ?? []) {
        const svc = path.backend?.service;
        if (!svc) continue;
        const s = find("Service", svc.name, i.metadata.namespace);
        if (!s) { fail(i, `backend Service ${svc.name} is not in the set`); continue; }
        const ok = (s.spec?.ports ?? []).some((p) => (svc.port?.name && p.name === svc.port.name) || (svc.port?.number && p.port === svc.port.number));
        if (!ok) fail(i, `backend port ${JSON.stringify(svc.port)} is not a port of Service ${svc.name}`);
      }
    }
  }
  for (const h of byKind("HorizontalPodAutoscaler")) {
    const ref = h.spec?.scaleTargetRef;
    if (!find(ref?.kind, ref?.name, h.metadata.namespace)) fail(h, `scaleTargetRef ${ref?.kind} ${ref?.name} is not in the set`);
    if (h.spec?.minReplicas > h.spec?.maxReplicas) fail(h, "minReplicas > maxReplicas");
  }
  for (const p of byKind("PodDisruptionBudget")) {
    const pods = podsOf(p.metadata.namespace, p.spec?.selector?.matchLabels);
    if (pods.length === 0) fail(p, "selector matches no Deployment's pods");
    if (p.spec?.minAvailable !== undefined && p.spec?.maxUnavailable !== undefined) fail(p, "minAvailable and maxUnavailable are exclusive");
    for (const d of pods) {
      if (typeof p.spec?.minAvailable === "number" && p.spec.minAvailable >= (d.spec?.replicas ?? 1)) {
        fail(p, `minAvailable ${p.spec.minAvailable} >= replicas ${d.spec?.replicas ?? 1} of Deployment ${d.metadata.name}: no voluntary eviction could ever proceed`);
      }
    }
  }
  for (const m of byKind("ServiceMonitor")) {
    const ns = m.metadata.namespace;
    const services = byKind("Service").filter((s) => (s.metadata.namespace ?? "") === (ns ?? "") && matches(m.spec?.selector?.matchLabels, s.metadata?.labels));
    if (services.length === 0) { fail(m, "selector matches no Service's labels"); continue; }
    for (const e of m.spec?.endpoints ?? []) {
      if (e.port && !services.some((s) => (s.spec?.ports ?? []).some((p) => p.name === e.port))) fail(m, `endpoint port ${e.port} is not a named port of the selected Services`);
    }
  }
  const kafkas = byKind("Kafka").filter((k) => k.apiVersion.startsWith("kafka.strimzi.io/"));
  for (const o of objects.filter((x) => x.apiVersion?.startsWith("kafka.strimzi.io/") && x.kind !== "Kafka")) {
    const cluster = o.metadata?.labels?.["strimzi.io/cluster"];
    if (!cluster) fail(o, "label strimzi.io/cluster is required");
    else if (!kafkas.some((k) => k.metadata.name === cluster && k.metadata.namespace === o.metadata.namespace)) fail(o, `strimzi.io/cluster ${cluster} names no Kafka in the set`);
  }
  for (const k of kafkas) {
    const pools = byKind("KafkaNodePool").filter((p) => p.metadata?.labels?.["strimzi.io/cluster"] === k.metadata.name);
    if (!pools.some((p) => p.spec?.roles?.includes("broker"))) fail(k, "no KafkaNodePool with the broker role");
    if (!pools.some((p) => p.spec?.roles?.includes("controller"))) fail(k, "no KafkaNodePool with the controller role");
  }
}

function checkPolicy(objects) {
  for (const d of objects.filter((o) => o.kind === "Deployment")) {
    const pod = d.spec?.template?.spec ?? {};
    if (pod.securityContext?.runAsNonRoot !== true) fail(d, "pod securityContext.runAsNonRoot must be true");
    if (pod.securityContext?.seccompProfile?.type !== "RuntimeDefault") fail(d, "pod securityContext.seccompProfile.type must be RuntimeDefault");
    if (typeof pod.terminationGracePeriodSeconds !== "number") fail(d, "terminationGracePeriodSeconds must be set");
    for (const c of pod.containers ?? []) {
      const where = `container ${c.name}`;
      const portNames = (c.ports ?? []).map((p) => p.name);
      for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
        if (!c[probe]?.httpGet?.path) fail(d, `${where}: ${probe}.httpGet.path is required`);
        const port = c[probe]?.httpGet?.port;
        if (typeof port === "string" && !portNames.includes(port)) fail(d, `${where}: ${probe} port ${port} is not a container port name`);
      }
      // CPU and memory requested; memory limited to exactly its request (a pod above its request is evicted first
      // under node pressure, without its drain). A CPU limit is allowed, not required: it throttles.
      for (const r of ["cpu", "memory"]) if (!c.resources?.requests?.[r]) fail(d, `${where}: resources.requests.${r} is required`);
      if (!c.resources?.limits?.memory) fail(d, `${where}: resources.limits.memory is required`);
      else if (String(c.resources.limits.memory) !== String(c.resources?.requests?.memory)) fail(d, `${where}: resources.limits.memory must equal resources.requests.memory`);
      const sc = c.securityContext ?? {};
      if (sc.readOnlyRootFilesystem !== true) fail(d, `${where}: securityContext.readOnlyRootFilesystem must be true`);
      if (sc.allowPrivilegeEscalation !== false) fail(d, `${where}: securityContext.allowPrivilegeEscalation must be false`);
      if (!(sc.capabilities?.drop ?? []).includes("ALL")) fail(d, `${where}: securityContext.capabilities.drop must include ALL`);
      if (/:latest$/.test(c.image ?? "") || !/:[^/]+$/.test(c.image ?? "")) fail(d, `${where}: image ${c.image} needs a pinned tag`);
      for (const m of c.volumeMounts ?? []) {
        if (!(pod.volumes ?? []).some((v) => v.name === m.name)) fail(d, `${where}: volumeMount ${m.name} has no volume`);
      }
    }
  }
}

const text = await readStdin();
if (text.trim() === "") {
  console.error("error: no input (pipe rendered YAML in, e.g. kubectl kustomize k8s/overlays/prod | node eng/k8s-validate/validate.mjs)");
  process.exit(2);
}
const docs = parseAllDocuments(text);
const objects = [];
for (const [i, doc] of docs.entries()) {
  if (doc.errors.length > 0) {
    for (const e of doc.errors) errors.push(`document ${i + 1}: YAML: ${e.message}`);
    continue;
  }
  const obj = doc.toJS();
  if (obj === null || obj === undefined) continue;
  if (typeof obj !== "object" || Array.isArray(obj)) { errors.push(`document ${i + 1}: not a Kubernetes object`); continue; }
  if (obj.kind === "List" && Array.isArray(obj.items)) objects.push(...obj.items); else objects.push(obj);
}
for (const obj of objects) await validateSchema(obj);
checkReferences(objects);
checkPolicy(objects);

if (errors.length > 0) {
  for (const e of errors) console.error(`error: ${e}`);
  console.error(`${errors.length} error(s) in ${objects.length} objects`);
  process.exit(1);
}
const kinds = [...new Set(objects.map((o) => o.kind))].join(", ");
const summary = `ok: ${objects.length} objects valid (${kinds})`;
if (process.argv.includes("--json")) {
  process.stdout.write(JSON.stringify(objects));
  console.error(summary);
} else {
  console.log(summary);
}
