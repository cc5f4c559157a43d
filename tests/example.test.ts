import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { inStack, one, resolve, secretValue } from "./support/harness";

// examples/existing-cluster: a program of another team that adds the mTLS Prometheus to a cluster it does
// not own, with its own provider, through the components alone. npm test's build type-checks it; this
// runs it under the same mocks as the stack.

const KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n";

async function runExample(config: Record<string, string>) {
    const key = (k: string) => `${pulumi.getProject()}:${k}`;
    pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [key(k), v])), [key("kubeconfig")]);
    const program = require("../examples/existing-cluster/index") as () => Promise<Record<string, pulumi.Input<unknown>>>;
    const run = await inStack(program);
    const outputs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(run.value)) outputs[k] = await resolve(v);
    return { ...run, outputs };
}

describe("examples/existing-cluster", () => {
    test("adds a Prometheus, a ServiceMonitor it selects and the STRICT policy, through the program's own provider, and nothing of this stack's", async () => {
        const { resources, outputs } = await runExample({ kubeconfig: KUBECONFIG, appNamespace: "payments" });
        const provider = one(resources, "pulumi:providers:kubernetes", "cluster");
        assert.equal(secretValue(provider.inputs.kubeconfig), KUBECONFIG);
        const kube = resources.filter((r) => r.custom && r.type.startsWith("kubernetes:"));
        assert.deepEqual(kube.filter((r) => r.provider !== "pulumi:providers:kubernetes::cluster").map((r) => `${r.type}::${r.name}`), []);

        const prom = one(resources, "kubernetes:monitoring.coreos.com/v1:Prometheus");
        const sm = one(resources, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor");
        assert.equal(sm.inputs.metadata.namespace, "payments");
        assert.deepEqual(prom.inputs.spec.serviceMonitorSelector, { matchLabels: sm.inputs.metadata.labels });
        assert.deepEqual(prom.inputs.spec.serviceMonitorNamespaceSelector, { matchLabels: { "kubernetes.io/metadata.name": "payments" } });
        assert.ok(prom.inputs.spec.scrapeClasses.some((c: { name: string }) => c.name === sm.inputs.spec.scrapeClass));
        assert.deepEqual(sm.inputs.spec.endpoints, [{ port: "http-metrics", scheme: "https", interval: "30s", path: "/metrics" }]);
        // Discovery where the Service is, and the policy there too.
        const role = one(resources, "kubernetes:rbac.authorization.k8s.io/v1:Role");
        assert.equal(role.inputs.metadata.namespace, "payments");
        assert.equal(one(resources, "kubernetes:security.istio.io/v1:PeerAuthentication").inputs.metadata.namespace, "payments");
        // The ServiceMonitor waits for its Prometheus's objects, as the caller asked.
        assert.ok(sm.waitsFor.some((k) => k.endsWith("::mtls-prometheus-prometheus")), sm.waitsFor.join(", "));

        // Its own operator and app: none of the stack's operator, CRDs or Bookinfo, and no namespace of the app.
        assert.deepEqual(resources.filter((r) => /Deployment|CrdSet|CustomResourceDefinition/.test(r.type)).map((r) => r.name), []);
        assert.deepEqual(resources.filter((r) => r.type === "kubernetes:core/v1:Namespace").map((r) => r.inputs.metadata.name), ["mesh-monitoring"]);

        // What the components expose is what the next step needs.
        assert.equal(outputs.prometheus, "mesh-monitoring/mesh");
        assert.equal(outputs.scrapePool, "serviceMonitor/payments/checkout/0");
        assert.equal(outputs.scrapeClass, sm.inputs.spec.scrapeClass);
        assert.equal(outputs.portForwardCommand, "kubectl -n mesh-monitoring port-forward svc/prometheus-operated 9090");
    });
});
