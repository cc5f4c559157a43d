import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { monitorAcceptedProvider, prometheusReadyProvider } from "../lib/prometheusReady";
import { fakeApiServer } from "./support/discovery";

// The awaiter asks a real HTTP API (the Kubernetes client's requests, as to a cluster) what the operator
// reports, and which pods the current rollout has.

const STATE = { namespace: "monitoring", name: "mesh", generation: 3, timeoutSeconds: 5 };

interface World {
    available: { status: string; observedGeneration: number; reason?: string; message?: string } | undefined;
    pods: { name: string; revision: string; containers: string[]; initContainers?: string[]; deleting?: boolean }[];
    revision: string;
    /** Whether the StatefulSet controller has seen the operator's last change (default yes). */
    stsSeen?: boolean;
}

async function cluster(world: World) {
    return fakeApiServer((_method, url) => {
        const p = url.split("?")[0];
        if (p === "/apis/monitoring.coreos.com/v1/namespaces/monitoring/prometheuses/mesh") {
            return [200, { metadata: { name: "mesh", generation: 3 }, status: { conditions: world.available ? [{ type: "Available", ...world.available }] : [] } }];
        }
        if (p === "/apis/apps/v1/namespaces/monitoring/statefulsets/prometheus-mesh") return [200, { metadata: { generation: 7 }, status: { observedGeneration: world.stsSeen === false ? 6 : 7, updateRevision: world.revision } }];
        if (p === "/api/v1/namespaces/monitoring/pods") {
            assert.equal(new URL(url, "http://x").searchParams.get("labelSelector"), "operator.prometheus.io/name=mesh");
            return [200, {
                items: world.pods.map((x) => ({
                    metadata: { name: x.name, labels: { "controller-revision-hash": x.revision }, ...(x.deleting ? { deletionTimestamp: "2026-12-05T00:00:00Z" } : {}) },
                    spec: { containers: x.containers.map((name) => ({ name })), initContainers: (x.initContainers ?? []).map((name) => ({ name })) },
                })),
            }];
        }
        return [404, { kind: "Status", code: 404, message: `no ${p}` }];
    });
}

async function create(world: World, extra: Partial<typeof STATE> = {}): Promise<unknown> {
    const api = await cluster(world);
    try {
        await prometheusReadyProvider.create!({ ...STATE, ...extra, kubeconfig: api.kubeconfig });
        return undefined;
    } catch (e) {
        return e;
    } finally {
        api.close();
    }
}

describe("PrometheusReady: up waits for the operator, and names a missing sidecar", () => {
    test("Available at the applied generation: done", async () => {
        assert.equal(await create({ available: { status: "True", observedGeneration: 3 }, pods: [{ name: "prometheus-mesh-0", revision: "r2", containers: ["prometheus", "config-reloader"], initContainers: ["istio-proxy"] }], revision: "r2" }), undefined);
    });

    test("a pod of the current rollout without istio-proxy: fails at once, naming the sidecar, the namespace label and the fix", async () => {
        const t0 = Date.now();
        const e = await create({
            available: { status: "False", observedGeneration: 3, reason: "NoPodReady", message: "pod prometheus-mesh-0: containers with unready status: [prometheus]" },
            pods: [{ name: "prometheus-mesh-0", revision: "r2", containers: ["prometheus", "config-reloader"] }], revision: "r2",
        }, { timeoutSeconds: 60 });
        assert.ok(Date.now() - t0 < 10_000, "long before the timeout");
        assert.match(String(e), /pod prometheus-mesh-0 has no istio-proxy sidecar \(containers: prometheus, config-reloader\)/);
        assert.match(String(e), /istio-injection=enabled/);
        assert.match(String(e), /kubectl -n monitoring delete pod prometheus-mesh-0/);
    });

    test("a pod that kwok or a missing probe made Ready without istio-proxy still fails the up", async () => {
        const e = await create({ available: { status: "True", observedGeneration: 3 }, pods: [{ name: "prometheus-mesh-0", revision: "r2", containers: ["prometheus"] }], revision: "r2" });
        assert.match(String(e), /has no istio-proxy sidecar/);
    });

    test("while the StatefulSet controller has not seen the new template, its revision is not trusted", async () => {
        const e = await create({ available: { status: "False", observedGeneration: 3 }, pods: [{ name: "prometheus-mesh-0", revision: "r2", containers: ["prometheus"] }], revision: "r2", stsSeen: false });
        assert.match(String(e), /not Available after 5 s: Available False/);
    });

    test("Available for an older generation does not count; a pod of the old revision without sidecar is on its way out", async () => {
        const e = await create({
            available: { status: "True", observedGeneration: 2 },
            pods: [{ name: "prometheus-mesh-0", revision: "r1", containers: ["prometheus"] }], revision: "r2",
        });
        assert.match(String(e), /not Available after 5 s: the operator has not reported on it yet/);
    });

    test("a terminating pod without sidecar is not the rollout's; the deadline names the operator's message and the probe", async () => {
        const e = await create({
            available: { status: "False", observedGeneration: 3, reason: "NoPodReady", message: "pod prometheus-mesh-0: containers with unready status: [prometheus]" },
            pods: [{ name: "prometheus-mesh-0", revision: "r2", containers: ["prometheus"], deleting: true }], revision: "r2",
        });
        assert.match(String(e), /Prometheus monitoring\/mesh not Available after 5 s: Available False \(NoPodReady\): pod prometheus-mesh-0: containers with unready status: \[prometheus\]/);
        assert.match(String(e), /startup probe/);
    });

    test("diff: a new generation is a change; update waits only for a rollout, not for a rotated kubeconfig", async () => {
        assert.equal((await prometheusReadyProvider.diff!("id", { ...STATE }, { ...STATE, generation: 4 })).changes, true);
        assert.equal((await prometheusReadyProvider.diff!("id", { ...STATE }, { ...STATE })).changes, false);
        // No cluster answers: an update that waited would fail.
        const r = await prometheusReadyProvider.update!("id", { ...STATE, kubeconfig: "a.yaml" }, { ...STATE, kubeconfig: "b.yaml" });
        assert.equal((r.outs as { kubeconfig: string }).kubeconfig, "b.yaml");
    });
});

describe("MonitorAccepted: up fails with the operator's reason when it rejects a ServiceMonitor", () => {
    const MON = { namespace: "bookinfo", name: "productpage", prometheus: "monitoring/mesh", generation: 2, timeoutSeconds: 3 };

    async function accept(bindings: unknown[]): Promise<unknown> {
        const api = await fakeApiServer((_m, url) => (url.split("?")[0] === "/apis/monitoring.coreos.com/v1/namespaces/bookinfo/servicemonitors/productpage"
            ? [200, { metadata: { generation: 2 }, status: { bindings } }]
            : [404, { message: "no" }]));
        try {
            await monitorAcceptedProvider.create!({ ...MON, kubeconfig: api.kubeconfig });
            return undefined;
        } catch (e) {
            return e;
        } finally {
            api.close();
        }
    }
    const binding = (name: string, status: string, observedGeneration: number, reason?: string, message?: string) =>
        ({ group: "monitoring.coreos.com", resource: "prometheuses", name, namespace: "monitoring", conditions: [{ type: "Accepted", status, observedGeneration, reason, message }] });

    test("Accepted by its Prometheus at this generation: done", async () => {
        assert.equal(await accept([binding("other", "False", 2, "InvalidConfiguration", "x"), binding("mesh", "True", 2)]), undefined);
    });

    test("rejected: fails at once with the operator's reason and message", async () => {
        const e = await accept([binding("mesh", "False", 2, "InvalidConfiguration", 'scrapeClass "istio-mtls" not found in Prometheus scrapeClasses')]);
        assert.equal(String(e), 'Error: ServiceMonitor bookinfo/productpage is rejected by Prometheus monitoring/mesh, which scrapes nothing of it: InvalidConfiguration: scrapeClass "istio-mtls" not found in Prometheus scrapeClasses');
    });

    test("a verdict on an older generation, or none: the deadline says the gate and the operator are needed", async () => {
        for (const bindings of [[binding("mesh", "False", 1, "InvalidConfiguration", "old")], []]) {
            assert.match(String(await accept(bindings)), /reported no acceptance by Prometheus monitoring\/mesh within 3 s \(it reports it with its StatusForConfigurationResources feature gate/);
        }
    });
});
