import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as YAML from "yaml";
import { MeshPrometheus, MeshPrometheusArgs } from "../components/meshPrometheus";
import { CERT_CONTRACT } from "../lib/certContract";
import { PROMETHEUS_RESOURCES } from "../lib/config";
import { ACCESS, CRD_SET, operator, operatorObjects, PROMETHEUS_VERSION, prometheusArgs } from "./support/fixtures";
import { inStack, one, secretValue } from "./support/harness";

/** A MeshPrometheus with the Args the stack passes for this raw config, and extra ones on top. */
async function meshPrometheus(extra: Partial<MeshPrometheusArgs> = {}, config: Record<string, string> = {}) {
    const objects = await operatorObjects();
    return inStack(() => {
        const op = operator(objects);
        new MeshPrometheus("prometheus", prometheusArgs({ replicas: 1, retention: "7d", awaitAvailable: true, ...extra }, config), { dependsOn: [op] });
        return op;
    });
}

describe("MeshPrometheus", () => {
    test("sidecar annotations, volume, mount and scrape class follow the certificate contract", async () => {
        const { resources } = await meshPrometheus({ replicas: 3 });
        const p = one(resources, "kubernetes:monitoring.coreos.com/v1:Prometheus");
        const spec = p.inputs.spec;
        assert.deepEqual(p.inputs.metadata, { name: "mesh", namespace: "obs" });
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
        // The prometheus container is not Ready until each file the scrape class reads exists in the mount.
        assert.deepEqual(spec.containers.map((c: { name: string }) => c.name), ["prometheus"]);
        const probe = spec.containers[0].startupProbe;
        assert.deepEqual(probe.exec.command.slice(0, 2), ["/bin/sh", "-c"]);
        for (const field of ["caFile", "certFile", "keyFile"]) assert.ok(probe.exec.command[2].includes(spec.scrapeClasses[0].tlsConfig[field]), field);
        assert.equal(probe.periodSeconds * probe.failureThreshold, 300);
        assert.equal(spec.serviceDiscoveryRole, "EndpointSlice");
        assert.deepEqual(spec.securityContext, { runAsUser: 1000, runAsGroup: 2000, runAsNonRoot: true, fsGroup: 2000, seccompProfile: { type: "RuntimeDefault" } });
        // The custom resource waits for the operator that serves its CRD.
        for (const k of [`${CRD_SET}::operator-crds`, "kubernetes:apps/v1:Deployment::operator-prometheus-operator"]) assert.ok(p.waitsFor.includes(k), k);
    });

    test("RBAC: a Role where it discovers, bound to Prometheus's own ServiceAccount; nothing cluster-wide", async () => {
        const { resources } = await meshPrometheus();
        const sa = one(resources, "kubernetes:core/v1:ServiceAccount", "prometheus-sa");
        const role = one(resources, "kubernetes:rbac.authorization.k8s.io/v1:Role", "prometheus-discovery");
        const binding = one(resources, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "prometheus-discovery");
        const prom = one(resources, "kubernetes:monitoring.coreos.com/v1:Prometheus");
        // What the EndpointSlice role watches; the v1 Endpoints API is not among them.
        assert.deepEqual(role.inputs.rules, [
            { apiGroups: [""], resources: ["services", "pods"], verbs: ["get", "list", "watch"] },
            { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
        ]);
        // Both in the namespace whose ServiceMonitors (and so targets) the Prometheus selects.
        assert.equal(role.inputs.metadata.namespace, "shop");
        assert.equal(binding.inputs.metadata.namespace, "shop");
        assert.deepEqual(prom.inputs.spec.serviceMonitorNamespaceSelector, { matchLabels: { "kubernetes.io/metadata.name": "shop" } });
        assert.deepEqual(binding.inputs.subjects, [{ kind: "ServiceAccount", name: sa.inputs.metadata.name, namespace: sa.inputs.metadata.namespace }]);
        assert.deepEqual(binding.inputs.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.inputs.metadata.name });
        assert.equal(prom.inputs.spec.serviceAccountName, sa.inputs.metadata.name);
        assert.ok(prom.waitsFor.some((k) => k.endsWith("RoleBinding::prometheus-discovery")), "the Prometheus starts once it may discover");
        assert.equal(sa.inputs.metadata.namespace, "obs");
        assert.deepEqual(resources.filter((r) => /:Cluster(Role|RoleBinding)$/.test(r.type) && r.name.startsWith("prometheus")), []);
        const ns = one(resources, "kubernetes:core/v1:Namespace", "prometheus-ns");
        assert.equal(ns.inputs.metadata.labels["istio-injection"], "enabled");
    });

    test("storage: a claim of ACK's topology-aware disk class by default, retention bounded below the volume", async () => {
        const { resources } = await meshPrometheus();
        const spec = one(resources, "kubernetes:monitoring.coreos.com/v1:Prometheus").inputs.spec;
        assert.deepEqual(spec.storage, { volumeClaimTemplate: { spec: { storageClassName: "alicloud-disk-topology-alltype", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "20Gi" } } } } });
        // 85% of 20 GiB, in Prometheus's MB (MiB).
        assert.equal(spec.retentionSize, "17408MB");
    });

    test("storage: class, size and retention size from the stack; an emptyDir only when asked for", async () => {
        const disk = (await meshPrometheus({}, { prometheusStorageClass: "alicloud-disk-essd", prometheusStorageSize: "100Gi", prometheusRetention: "30d" }))
            .resources.find((r) => r.type.endsWith(":Prometheus"))!.inputs.spec;
        assert.equal(disk.storage.volumeClaimTemplate.spec.storageClassName, "alicloud-disk-essd");
        assert.equal(disk.storage.volumeClaimTemplate.spec.resources.requests.storage, "100Gi");
        assert.equal(disk.retentionSize, "87040MB");
        const given = one((await meshPrometheus({}, { prometheusStorageSize: "100Gi", prometheusRetentionSize: "60GB" })).resources, "kubernetes:monitoring.coreos.com/v1:Prometheus").inputs.spec;
        assert.equal(given.retentionSize, "60GB");
        const clusterDefault = one((await meshPrometheus({}, { prometheusStorageClass: "" })).resources, "kubernetes:monitoring.coreos.com/v1:Prometheus").inputs.spec;
        assert.deepEqual(clusterDefault.storage.volumeClaimTemplate.spec, { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "20Gi" } } });
        const ephemeral = one((await meshPrometheus({}, { prometheusEphemeralStorage: "true", prometheusStorageSize: "2Gi" })).resources, "kubernetes:monitoring.coreos.com/v1:Prometheus").inputs.spec;
        assert.deepEqual(ephemeral.storage, { emptyDir: { sizeLimit: "2Gi" } });
        assert.equal(ephemeral.retentionSize, "1740MB");
    });

    test("resources: requests and limits of the prometheus container from the stack; no CPU limit unless set", async () => {
        const defaults = one((await meshPrometheus()).resources, "kubernetes:monitoring.coreos.com/v1:Prometheus").inputs.spec;
        assert.deepEqual(defaults.resources, {
            requests: { cpu: PROMETHEUS_RESOURCES.cpuRequest, memory: PROMETHEUS_RESOURCES.memoryRequest },
            limits: { memory: PROMETHEUS_RESOURCES.memoryLimit },
        });
        const set = one((await meshPrometheus({}, { prometheusCpuRequest: "1", prometheusCpuLimit: "1500m", prometheusMemoryRequest: "3Gi", prometheusMemoryLimit: "4Gi" })).resources, "kubernetes:monitoring.coreos.com/v1:Prometheus").inputs.spec;
        assert.deepEqual(set.resources, { requests: { cpu: "1", memory: "3Gi" }, limits: { cpu: "1500m", memory: "4Gi" } });
    });

    test("external labels: cluster and environment from the stack, by default the cluster's name or context and the stack's", async () => {
        const labels = async (config: Record<string, string>) => one((await meshPrometheus({}, config)).resources, "kubernetes:monitoring.coreos.com/v1:Prometheus").inputs.spec.externalLabels;
        assert.deepEqual(await labels({}), { cluster: "dev", environment: "dev" });
        assert.deepEqual(await labels({ kubeContext: "ack-shanghai" }), { cluster: "ack-shanghai", environment: "dev" });
        assert.deepEqual(await labels({ createCluster: "true", zoneIds: '["cn-hangzhou-j","cn-hangzhou-k"]', nodeKeyPair: "ops", clusterName: "shop-prod" }), { cluster: "shop-prod", environment: "dev" });
        assert.deepEqual(await labels({ prometheusClusterLabel: "hz-1", prometheusEnvironmentLabel: "staging" }), { cluster: "hz-1", environment: "staging" });
    });

    test("remote write: none unless asked; with basic auth, the credentials by reference to a Secret, over HTTP/1.1", async () => {
        const plain = await meshPrometheus();
        assert.equal(one(plain.resources, "kubernetes:monitoring.coreos.com/v1:Prometheus").inputs.spec.remoteWrite, undefined);
        assert.equal(plain.resources.filter((r) => r.type === "kubernetes:core/v1:Secret").length, 0);

        const url = "https://receiver.example/api/v1/write";
        const open = one((await meshPrometheus({}, { remoteWriteUrl: url })).resources, "kubernetes:monitoring.coreos.com/v1:Prometheus").inputs.spec;
        assert.deepEqual(open.remoteWrite, [{ url, enableHTTP2: false }]);

        const { resources } = await meshPrometheus({}, { remoteWriteUrl: url, remoteWriteUsername: "LTAI5t", remoteWritePassword: "s3cret" });
        const secret = one(resources, "kubernetes:core/v1:Secret", "prometheus-remote-write");
        assert.equal(secret.inputs.metadata.namespace, "obs");
        assert.equal(secret.inputs.type, "kubernetes.io/basic-auth");
        assert.deepEqual(secretValue(secret.inputs.stringData), { username: "LTAI5t", password: "s3cret" });
        const prom = one(resources, "kubernetes:monitoring.coreos.com/v1:Prometheus");
        const name = secret.inputs.metadata.name;
        assert.deepEqual(prom.inputs.spec.remoteWrite, [{ url, basicAuth: { username: { name, key: "username" }, password: { name, key: "password" } }, enableHTTP2: false }]);
        assert.ok(prom.waitsFor.some((k) => k.endsWith("Secret::prometheus-remote-write")), "the Prometheus waits for the Secret it refers to");
    });

    test("one replica: no spread and no disruption budget (a drain would have nothing left to keep)", async () => {
        const { resources } = await meshPrometheus({ replicas: 1 });
        assert.equal(one(resources, "kubernetes:monitoring.coreos.com/v1:Prometheus").inputs.spec.topologySpreadConstraints, undefined);
        assert.equal(resources.filter((r) => r.type.endsWith(":PodDisruptionBudget")).length, 0);
    });

    for (const [what, config, zone, node] of [
        ["an existing cluster: spread where it can", {}, "ScheduleAnyway", "ScheduleAnyway"],
        ["a cluster the stack creates in two zones: spread required", { createCluster: "true", zoneIds: '["cn-hangzhou-j","cn-hangzhou-k"]', nodeKeyPair: "ops", nodeCount: "3" }, "DoNotSchedule", "DoNotSchedule"],
        ["a cluster the stack creates in one zone: nodes required, zones where it can", { createCluster: "true", zoneIds: '["cn-hangzhou-k"]', vswitchCidrs: '["192.168.0.0/19"]', nodeKeyPair: "ops" }, "ScheduleAnyway", "DoNotSchedule"],
    ] as const) {
        test(`two replicas, ${what}; a budget lets a drain evict one at a time`, async () => {
            const { resources } = await meshPrometheus({ replicas: 2 }, config);
            const prom = one(resources, "kubernetes:monitoring.coreos.com/v1:Prometheus");
            const pods = { "app.kubernetes.io/name": "prometheus", "operator.prometheus.io/name": "mesh" };
            assert.deepEqual(prom.inputs.spec.topologySpreadConstraints, [
                { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: zone, labelSelector: { matchLabels: pods } },
                { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: node, labelSelector: { matchLabels: pods } },
            ]);
            const pdb = one(resources, "kubernetes:policy/v1:PodDisruptionBudget");
            assert.deepEqual(pdb.inputs.spec, { maxUnavailable: 1, selector: { matchLabels: pods } });
            assert.equal(pdb.inputs.metadata.namespace, "obs");
        });
    }

    test("up waits for each generation of the Prometheus to run, at most 10 minutes, asking the stack's cluster", async () => {
        const { resources } = await meshPrometheus();
        const ready = one(resources, "pulumi-nodejs:dynamic/kubernetes:PrometheusReady");
        assert.deepEqual([ready.inputs.namespace, ready.inputs.name, ready.inputs.timeoutSeconds, ready.inputs.context], ["obs", "mesh", 600, ACCESS.context]);
        assert.ok(ready.waitsFor.includes("kubernetes:monitoring.coreos.com/v1:Prometheus::prometheus-prometheus"), "after the Prometheus is applied");
    });

    test("awaitAvailable off, or YAML rendered instead of applied: no wait", async () => {
        for (const extra of [{ awaitAvailable: false }, { access: { ...ACCESS, renderDir: "/tmp/out" } }]) {
            const { resources } = await meshPrometheus(extra);
            assert.equal(resources.filter((r) => r.type.endsWith(":PrometheusReady")).length, 0, JSON.stringify(extra));
        }
    });
});
