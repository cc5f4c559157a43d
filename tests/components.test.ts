import * as pulumi from "@pulumi/pulumi";
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as YAML from "yaml";
import { Bookinfo } from "../components/bookinfo";
import { MeshPrometheus } from "../components/meshPrometheus";
import { MtlsServiceMonitor } from "../components/mtlsServiceMonitor";
import { PrometheusOperator, PrometheusOperatorArgs } from "../components/prometheusOperator";
import { CERT_CONTRACT } from "../lib/certContract";
import { crdObjects } from "../lib/crdSet";
import { KubeObject } from "../lib/manifests";
import { scrapeTargets } from "../lib/upstream";
import { byType, inStack, one, recorded, resolve, secretValue } from "./support/harness";
import { upstreamObjects } from "./support/upstream";

function matchesLabels(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
    return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

const CRD_SET = "pulumi-nodejs:dynamic/kubernetes:CrdSet";
const ACCESS = { kubeconfig: "apiVersion: v1\nkind: Config\n", context: "ctx" };

function operatorArgs(objects: KubeObject[], extra: Partial<PrometheusOperatorArgs> = {}): PrometheusOperatorArgs {
    return { objects, cacheFile: "/cache/bundle.json", version: "v0.93.0", access: ACCESS, retainCrds: true, stripCrdDescriptions: false, awaitServiceEndpoints: true, ...extra };
}

describe("PrometheusOperator", () => {
    test("applies the ten CRDs as one resource of names and digests, everything else once, after them", async () => {
        const objects = await upstreamObjects("operator", "v0.93.0");
        await inStack(() => new PrometheusOperator("operator", operatorArgs(objects)));
        assert.equal(byType(recorded, "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition").length, 0);
        const set = one(recorded, CRD_SET, "operator-crds");
        const crds = objects.filter((o) => o.kind === "CustomResourceDefinition");
        assert.deepEqual(set.inputs.names, crds.map((c) => c.metadata.name));
        assert.ok(set.inputs.names.every((n: string) => n.endsWith(".monitoring.coreos.com")));
        assert.match(set.inputs.digest, /^[0-9a-f]{64}$/);
        assert.equal(set.inputs.retain, true);
        assert.equal(set.inputs.cacheFile, "/cache/bundle.json");
        assert.equal(set.inputs.context, "ctx");
        assert.equal(secretValue(set.inputs.kubeconfig), ACCESS.kubeconfig);
        assert.deepEqual((set.opts as pulumi.CustomResourceOptions).additionalSecretOutputs, ["kubeconfig"]);
        // State holds no schema: the serialized provider captured code, not the objects.
        const stored = JSON.stringify(set.inputs);
        assert.ok(stored.length < 64 * 1024, `${stored.length} bytes`);
        assert.equal(stored.includes((crds[0].spec as any).versions[0].schema.openAPIV3Schema.description.slice(0, 60)), false);

        const deployment = one(recorded, "kubernetes:apps/v1:Deployment", "operator-prometheus-operator");
        assert.equal(deployment.inputs.metadata.namespace, "default");
        assert.equal(deployment.opts.retainOnDelete, undefined);
        assert.equal((deployment.opts.dependsOn as unknown[]).length, 1);
        one(recorded, "kubernetes:core/v1:ServiceAccount", "operator-prometheus-operator");
        one(recorded, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "operator-prometheus-operator");
        assert.equal(recorded.filter((r) => r.custom).length, objects.length - crds.length + 1);
    });

    test("retainCrds off is carried to the CRD set, which then deletes them", async () => {
        const objects = await upstreamObjects("operator", "v0.93.0");
        await inStack(() => new PrometheusOperator("operator", operatorArgs(objects, { retainCrds: false })));
        assert.equal(one(recorded, CRD_SET).inputs.retain, false);
    });

    test("rendering sends no kubeconfig to the CRD set", async () => {
        const objects = await upstreamObjects("operator", "v0.93.0");
        await inStack(() => new PrometheusOperator("operator", operatorArgs(objects, { access: { ...ACCESS, renderDir: "/out" } })));
        const set = one(recorded, CRD_SET);
        assert.equal(set.inputs.kubeconfig, undefined);
        assert.equal(set.inputs.context, undefined);
        assert.equal(set.inputs.renderDir, "/out");
    });

    test("stripCrdDescriptions drops the schema texts, keeps properties named description, and changes the digest", async () => {
        const objects = await upstreamObjects("operator", "v0.93.0");
        const stripped = crdObjects(objects, true);
        const schemas = JSON.stringify(stripped.map((c: any) => c.spec.versions.map((v: any) => v.schema.openAPIV3Schema)));
        assert.equal(/"description":"/.test(schemas), false);
        const original = JSON.stringify(crdObjects(objects, false));
        assert.ok(JSON.stringify(stripped).length < original.length / 3, `${JSON.stringify(stripped).length} of ${original.length}`);
        // A schema property that is itself named "description" is part of the API and stays.
        assert.ok(schemas.includes('"description":{'));

        await inStack(() => new PrometheusOperator("operator", operatorArgs(objects)));
        const full = one(recorded, CRD_SET).inputs;
        await inStack(() => new PrometheusOperator("operator", operatorArgs(objects, { stripCrdDescriptions: true })));
        const lean = one(recorded, CRD_SET).inputs;
        assert.equal(lean.stripDescriptions, true);
        assert.deepEqual(lean.names, full.names);
        assert.notEqual(lean.digest, full.digest);
    });

    test("a bundle without CRDs is refused", async () => {
        const objects = (await upstreamObjects("operator", "v0.93.0")).filter((o) => o.kind !== "CustomResourceDefinition");
        await assert.rejects(inStack(() => new PrometheusOperator("operator", operatorArgs(objects, { version: "v9.9.9" }))), /v9.9.9: bundle.yaml holds no CustomResourceDefinition/);
    });
});

describe("Bookinfo", () => {
    test("every object lands in its own injected namespace", async () => {
        const objects = await upstreamObjects("bookinfo", "1.28.10");
        await inStack(() => new Bookinfo("bookinfo", { objects, namespace: "shop", awaitServiceEndpoints: true }));
        const ns = one(recorded, "kubernetes:core/v1:Namespace");
        assert.equal(ns.inputs.metadata.name, "shop");
        assert.equal(ns.inputs.metadata.labels["istio-injection"], "enabled");
        const placed = recorded.filter((r) => r.custom && r.type !== "kubernetes:core/v1:Namespace");
        assert.equal(placed.length, objects.length);
        for (const r of placed) assert.equal(r.inputs.metadata.namespace, "shop", r.name);
        assert.equal(byType(recorded, "kubernetes:apps/v1:Deployment").length, 6);
        for (const svc of byType(recorded, "kubernetes:core/v1:Service")) assert.equal(svc.inputs.metadata.annotations, undefined, svc.name);
    });

    test("Services are not awaited only when told so", async () => {
        const objects = await upstreamObjects("bookinfo", "1.28.10");
        await inStack(() => new Bookinfo("bookinfo", { objects, namespace: "shop", awaitServiceEndpoints: false }));
        const services = byType(recorded, "kubernetes:core/v1:Service");
        assert.equal(services.length, 4);
        for (const svc of services) assert.deepEqual(svc.inputs.metadata.annotations, { "pulumi.com/skipAwait": "true" }, svc.name);
        for (const d of byType(recorded, "kubernetes:apps/v1:Deployment")) assert.equal(d.inputs.metadata.annotations, undefined, d.name);
    });
});

describe("MeshPrometheus", () => {
    test("sidecar annotations, volume, mount and scrape class follow the certificate contract", async () => {
        await inStack(() => new MeshPrometheus("prometheus", {
            namespace: "obs", name: "mesh", replicas: 3, version: "v3.13.1", retention: "7d", serviceMonitorNamespace: "shop",
            operator: new Bookinfo("dep", { objects: [], namespace: "x", awaitServiceEndpoints: true }),
        }));
        const p = one(recorded, "kubernetes:monitoring.coreos.com/v1:Prometheus");
        const spec = p.inputs.spec;
        assert.deepEqual(p.inputs.metadata, { name: "mesh", namespace: "obs" });
        assert.equal(spec.replicas, 3);
        assert.equal(spec.version, "v3.13.1");
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
        assert.equal(p.opts.dependsOn !== undefined, true);
    });

    test("RBAC: least privilege for discovery, bound to Prometheus's own ServiceAccount", async () => {
        await inStack(() => new MeshPrometheus("prometheus", {
            namespace: "obs", name: "mesh", replicas: 1, version: "v3.13.1", retention: "7d", serviceMonitorNamespace: "shop",
            operator: new Bookinfo("dep", { objects: [], namespace: "x", awaitServiceEndpoints: true }),
        }));
        const sa = one(recorded, "kubernetes:core/v1:ServiceAccount");
        const role = one(recorded, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole");
        const binding = one(recorded, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding");
        const prom = one(recorded, "kubernetes:monitoring.coreos.com/v1:Prometheus");
        assert.deepEqual(role.inputs.rules, [
            { apiGroups: [""], resources: ["services", "endpoints", "pods"], verbs: ["get", "list", "watch"] },
            { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
        ]);
        assert.deepEqual(binding.inputs.subjects, [{ kind: "ServiceAccount", name: sa.inputs.metadata.name, namespace: sa.inputs.metadata.namespace }]);
        assert.deepEqual(binding.inputs.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.inputs.metadata.name });
        assert.equal(prom.inputs.spec.serviceAccountName, sa.inputs.metadata.name);
        assert.equal(sa.inputs.metadata.namespace, "obs");
        const ns = one(recorded, "kubernetes:core/v1:Namespace", "prometheus-ns");
        assert.equal(ns.inputs.metadata.labels["istio-injection"], "enabled");
    });
});

describe("MtlsServiceMonitor", () => {
    test("productpage's port is the one its Service names in the real bookinfo.yaml", async () => {
        const objects = await upstreamObjects("bookinfo", "1.28.10");
        const [target] = scrapeTargets(objects, ["productpage"], "1.28.10");
        const svc = objects.find((o) => o.kind === "Service" && o.metadata.name === "productpage")!;
        const ports = (svc.spec as { ports: { name: string; port: number }[] }).ports;
        assert.deepEqual(ports.map((p) => [p.name, p.port]), [["http", 9080]]);
        assert.equal(target.portName, "http");
        assert.notEqual(target.portName, "http-9080"); // the guide's name, which matches nothing
        assert.ok(matchesLabels(target.selector, svc.metadata.labels));
        // ... and only that Service.
        for (const other of objects.filter((o) => o.kind === "Service" && o !== svc)) assert.ok(!matchesLabels(target.selector, other.metadata.labels), other.metadata.name);
    });

    test("a service that Bookinfo does not deploy is named in the error", async () => {
        const objects = await upstreamObjects("bookinfo", "1.28.10");
        assert.throws(() => scrapeTargets(objects, ["productpage", "checkout"], "1.28.10"),
            { message: 'asm-prometheus-mtls:scrapeServices: "checkout" is not a Service of Bookinfo 1.28.10; accepted: details, productpage, ratings, reviews' });
    });

    test("scrapes over HTTPS through the scrape class of the Prometheus that selects it", async () => {
        const objects = await upstreamObjects("bookinfo", "1.28.10");
        const [target] = scrapeTargets(objects, ["productpage"], "1.28.10");
        const prometheus = await inStack(() => {
            const operator = new Bookinfo("dep", { objects: [], namespace: "x", awaitServiceEndpoints: true });
            const prometheus = new MeshPrometheus("prometheus", {
                namespace: "obs", name: "mesh", replicas: 1, version: "v3.13.1", retention: "7d", serviceMonitorNamespace: "shop", operator,
            });
            new MtlsServiceMonitor("monitor", { target, namespace: "shop", interval: "15s", path: "/metrics", prometheus, dependsOn: [operator] });
            return prometheus;
        });
        const sm = one(recorded, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor");
        const prom = one(recorded, "kubernetes:monitoring.coreos.com/v1:Prometheus");
        assert.equal(sm.inputs.spec.endpoints[0].tlsConfig, undefined);
        assert.deepEqual(sm.inputs.spec, {
            selector: { matchLabels: target.selector },
            scrapeClass: "istio-mtls",
            endpoints: [{ port: "http", scheme: "https", interval: "15s", path: "/metrics" }],
        });
        assert.ok(prom.inputs.spec.scrapeClasses.some((c: { name: string }) => c.name === sm.inputs.spec.scrapeClass));
        // Prometheus selects this ServiceMonitor by its labels and by its namespace's labels.
        assert.ok(matchesLabels(prom.inputs.spec.serviceMonitorSelector.matchLabels, sm.inputs.metadata.labels));
        const nsLabels = { "kubernetes.io/metadata.name": sm.inputs.metadata.namespace };
        assert.ok(matchesLabels(prom.inputs.spec.serviceMonitorNamespaceSelector.matchLabels, nsLabels));
        assert.ok(!matchesLabels(prom.inputs.spec.serviceMonitorNamespaceSelector.matchLabels, { "kubernetes.io/metadata.name": "default" }));
        assert.equal(await resolve(prometheus.namespaceName), "obs");
    });
});
