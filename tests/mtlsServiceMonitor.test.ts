import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Bookinfo } from "../components/bookinfo";
import { MeshPrometheus } from "../components/meshPrometheus";
import { MtlsServiceMonitor } from "../components/mtlsServiceMonitor";
import { configKey } from "../lib/config";
import { scrapeTargets } from "../lib/upstream";
import { bookinfoObjects, ISTIO_VERSION, matchesLabels, operator, operatorObjects, prometheusArgs } from "./support/fixtures";
import { inStack, one, resolve } from "./support/harness";

describe("MtlsServiceMonitor", () => {
    test("productpage's port is the one its Service names in the real bookinfo.yaml", async () => {
        const objects = await bookinfoObjects();
        const [target] = scrapeTargets(objects, ["productpage"], ISTIO_VERSION);
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
        const objects = await bookinfoObjects();
        assert.throws(() => scrapeTargets(objects, ["productpage", "checkout"], ISTIO_VERSION),
            { message: `${configKey("scrapeServices")}: "checkout" is not a Service of Bookinfo ${ISTIO_VERSION}; accepted: details, productpage, ratings, reviews` });
    });

    test("scrapes over HTTPS through the scrape class of the Prometheus that selects it, after the operator and the app", async () => {
        const [objects, bundle] = await Promise.all([bookinfoObjects(), operatorObjects()]);
        const [target] = scrapeTargets(objects, ["productpage"], ISTIO_VERSION);
        const { value, resources } = await inStack(() => {
            const op = operator(bundle);
            const app = new Bookinfo("bookinfo", { objects, namespace: "shop", awaitServiceEndpoints: true });
            const prometheus = new MeshPrometheus("prometheus", prometheusArgs({ replicas: 1, serviceMonitorNamespace: app.namespaceName }), { dependsOn: [op] });
            new MtlsServiceMonitor("monitor", { namespace: app.namespaceName, target, interval: "15s", path: "/metrics", prometheus }, { dependsOn: [op, app] });
            return { op, app, prometheus };
        });
        const sm = one(resources, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor");
        const prom = one(resources, "kubernetes:monitoring.coreos.com/v1:Prometheus");
        assert.equal(sm.inputs.spec.endpoints[0].tlsConfig, undefined);
        assert.deepEqual(sm.inputs.spec, {
            selector: { matchLabels: target.selector },
            scrapeClass: "istio-mtls",
            endpoints: [{ port: "http", scheme: "https", interval: "15s", path: "/metrics" }],
        });
        assert.equal(sm.inputs.metadata.namespace, "shop");
        assert.ok(prom.inputs.spec.scrapeClasses.some((c: { name: string }) => c.name === sm.inputs.spec.scrapeClass));
        // Prometheus selects this ServiceMonitor by its labels and by its namespace's labels.
        assert.ok(matchesLabels(prom.inputs.spec.serviceMonitorSelector.matchLabels, sm.inputs.metadata.labels));
        const nsLabels = { "kubernetes.io/metadata.name": sm.inputs.metadata.namespace };
        assert.ok(matchesLabels(prom.inputs.spec.serviceMonitorNamespaceSelector.matchLabels, nsLabels));
        assert.ok(!matchesLabels(prom.inputs.spec.serviceMonitorNamespaceSelector.matchLabels, { "kubernetes.io/metadata.name": "default" }));
        for (const k of ["kubernetes:apps/v1:Deployment::operator-prometheus-operator", "kubernetes:apps/v1:Deployment::bookinfo-productpage-v1", "kubernetes:core/v1:Namespace::bookinfo-ns"]) assert.ok(sm.waitsFor.includes(k), k);
        assert.equal(await resolve(value.prometheus.namespaceName), "obs");
    });
});
