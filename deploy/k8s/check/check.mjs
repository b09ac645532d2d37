// Validates rendered Kubernetes manifests (a multi-document YAML stream on stdin) offline
// against the Kubernetes API schemas (npm package kubernetes-models) and KEDA's CRD schemas
// (@kubernetes-models/keda): types, required fields, enums. Every document must be of a kind
// one of them knows. Exits 1 naming each problem; prints one line per document checked.
//   kubectl kustomize deploy/k8s/overlays/shared-vllm | node deploy/k8s/check/check.mjs
import { parseAllDocuments } from "yaml";

const input = await new Promise((resolve) => {
  let s = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (d) => (s += d));
  process.stdin.on("end", () => resolve(s));
});

/** The module holding a kind's model: core "v1", "apps/v1", "keda.sh/v1alpha1", ... */
function modulePath(apiVersion) {
  if (apiVersion.startsWith("keda.sh/")) {
    return "@kubernetes-models/keda/" + apiVersion;
  }
  return "kubernetes-models/" + apiVersion;
}

let problems = 0;
let checked = 0;
for (const doc of parseAllDocuments(input)) {
  if (doc.errors.length > 0) {
    console.error("YAML error: " + doc.errors.map((e) => e.message).join("; "));
    problems++;
    continue;
  }
  const obj = doc.toJS();
  if (obj == null) {
    continue;
  }
  const name = `${obj.kind ?? "?"}/${obj.metadata?.name ?? "?"}`;
  let model;
  try {
    model = (await import(modulePath(String(obj.apiVersion))))[obj.kind];
  } catch (e) {
    model = undefined;
  }
  if (typeof model !== "function") {
    console.error(`${name}: no schema for apiVersion ${obj.apiVersion} kind ${obj.kind}`);
    problems++;
    continue;
  }
  try {
    new model(obj).validate();
    checked++;
    console.log(`ok ${obj.apiVersion} ${name}`);
  } catch (e) {
    console.error(`${name}: ${e.message}`);
    problems++;
  }
}
if (checked === 0 && problems === 0) {
  console.error("no documents on stdin");
  process.exit(1);
}
process.exit(problems === 0 ? 0 : 1);
