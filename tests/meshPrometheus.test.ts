import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as YAML from "yaml";
import { MeshPrometheus, MeshPrometheusArgs } from "../components/meshPrometheus";
import { CERT_CONTRACT } from "../lib/certContract";
import { CRD_SET, operator, operatorObjects, PROMETHEUS_VERSION } from "./support/fixtures";
import { inStack, one } from "./support/harness";

async function meshPrometheus(extra: Partial<MeshPrometheusArgs> = {}) {
    const objects = await operatorObjects();
    return inStack(() => {
        const op = operator(objects);
        new MeshPrometheus("prometheus", { namespace: "obs", name: "mesh", replicas: 1, version: PROMETHEUS_VERSION, retention: "7d", awaitAvailable: true, serviceMonitorNamespace: "shop", operator: op, adoptExisting: false, ...extra });
        return op;
    });
}

describe("MeshPrometheus", () => {
    test("sidecar annotations, volume, mount and scrape class follow the certificate contract", async () => {
        const { resources } = await meshPrometheus({ replicas: 3 });
        const p = one(resources, "kubernetes:monitoring.coreos.com/v1:Prometheus");
        const spec = p.inputs.spec;
        // up waits until the operator reports it Available, and fails after 10 minutes if it never is.
        assert.deepEqual(p.inputs.metadata, { name: "mesh", namespace: "obs", annotations: { "pulumi.com/waitFor": "condition=Available", "pulumi.com/timeoutSeconds": "600" } });
        assert.equal(spec.replicas, 3);
        assert.equal(spec.version, PROMETHEUS_VERSION);
        assert.equal(spec.retention, "7d");
        const ann = spec.podMetadata.annotations;
        assert.equal(ann["traffic.sidecar.istio.io/includeInboundPorts"], "");
        assert.equal(ann["traffic.sidecar.istio.io/includeOutboundIPRanges"], "");
        assert.deepEqual(YAML.parse(ann["proxy.istio.io/config"]), { proxyMetadata: { OUTPUT_CERTS: "/etc/istio-output-certs" }, holdApplicationUntilProxyStarts: true });
        assert.deepEqual(JSON.parse(ann["sidecar.istio.io/userVolumeMount"]), [{ name: "istio-certs", mountPath: "/etc/istio-output-certs" }]);
        assert.equal(Object.keys(ann).length, 4);
        assert.deepEqual(spec.podMetadata.labels, { "sidecar.istio.io/inject": "true" });
        assert.deepEqual(spec.volumes, [{ name: "istio-certs", emptyDir: { medium: "Memory" } }]);
        assert.deepEqual(spec.volumeMounts, [{ name: "istio-certs", mountPath: "/etc/prom-certs", readOnly: true }]);
        assert.deepEqual(spec.scrapeClasses, [{
            name: "istio-mtls",
            tlsConfig: { caFile: "/etc/prom-certs/root-cert.pem", certFile: "/etc/prom-certs/cert-chain.pem", keyFile: "/etc/prom-certs/key.pem", insecureSkipVerify: true },
            fallbackScrapeProtocol: "PrometheusText0.0.4",
        }]);
        // Each TLS file sits in the directory where the shared volume is mounted, under the name the sidecar writes.
        const mount = spec.volumeMounts.find((m: { name: string }) => m.name === CERT_CONTRACT.volumeName);
        for (const [field, file] of [["caFile", "ca"], ["certFile", "certChain"], ["keyFile", "key"]] as const) {
            assert.equal(spec.scrapeClasses[0].tlsConfig[field], `${mount.mountPath}/${CERT_CONTRACT.files[file]}`);
        }
        assert.deepEqual(spec.arbitraryFSAccessThroughSMs, { deny: true });
        assert.equal(spec.serviceDiscoveryRole, "EndpointSlice");
        assert.deepEqual(spec.securityContext, { runAsUser: 1000, runAsGroup: 2000, runAsNonRoot: true, fsGroup: 2000, seccompProfile: { type: "RuntimeDefault" } });
        // The custom resource waits for the operator that serves its CRD.
        for (const k of [`${CRD_SET}::operator-crds`, "kubernetes:apps/v1:Deployment::operator-prometheus-operator"]) assert.ok(p.waitsFor.includes(k), k);
    });

    test("RBAC: least privilege for discovery, bound to Prometheus's own ServiceAccount", async () => {
        const { resources } = await meshPrometheus();
        const sa = one(resources, "kubernetes:core/v1:ServiceAccount", "prometheus-sa");
        const role = one(resources, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "prometheus-role");
        const binding = one(resources, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "prometheus-binding");
        const prom = one(resources, "kubernetes:monitoring.coreos.com/v1:Prometheus");
        assert.deepEqual(role.inputs.rules, [
            { apiGroups: [""], resources: ["services", "endpoints", "pods"], verbs: ["get", "list", "watch"] },
            { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
        ]);
        assert.deepEqual(binding.inputs.subjects, [{ kind: "ServiceAccount", name: sa.inputs.metadata.name, namespace: sa.inputs.metadata.namespace }]);
        assert.deepEqual(binding.inputs.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.inputs.metadata.name });
        assert.equal(prom.inputs.spec.serviceAccountName, sa.inputs.metadata.name);
        assert.equal(sa.inputs.metadata.namespace, "obs");
        const ns = one(resources, "kubernetes:core/v1:Namespace", "prometheus-ns");
        assert.equal(ns.inputs.metadata.labels["istio-injection"], "enabled");
    });

    test("awaitAvailable off: no wait (where no operator runs the pods)", async () => {
        const { resources } = await meshPrometheus({ awaitAvailable: false });
        assert.deepEqual(one(resources, "kubernetes:monitoring.coreos.com/v1:Prometheus").inputs.metadata, { name: "mesh", namespace: "obs" });
    });
});
