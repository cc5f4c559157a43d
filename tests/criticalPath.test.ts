import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { Recorded, runProgram, testConfig } from "./support/harness";

// How long a first `pulumi up` of a new cluster and mesh takes is set by its longest chain of resources,
// each waiting for the ones before it. The chain is derived here from the dependencies the program really
// declares (explicit and through outputs, providers included), with the durations below.

/**
 * Minutes each kind of resource takes to create, as documented or observed (docs/operations.md, "The critical path").
 * Kubernetes objects other than those named take seconds.
 */
const MINUTES: Record<string, number> = {
    "alicloud:vpc/network:Network": 0.5,
    "alicloud:vpc/switch:Switch": 0.5,
    "alicloud:cs/managedKubernetes:ManagedKubernetes": 10,
    "alicloud:cs/nodePool:NodePool": 5,
    "alicloud:servicemesh/serviceMesh:ServiceMesh": 8,
    "kubernetes:apps/v1:Deployment": 1,
    "pulumi-nodejs:dynamic/kubernetes:CrdSet": 0.2,
    // The Prometheus pods pulled, injected, certified and Ready (the mesh in a box: under a minute).
    "pulumi-nodejs:dynamic/kubernetes:PrometheusReady": 1,
};
const minutesOf = (r: Recorded) => MINUTES[r.type] ?? (r.type.startsWith("pulumi:providers:") ? 0 : 0.05);

/** The longest chain of custom resources, by the sum of their durations. */
function criticalPath(resources: Recorded[]): { chain: Recorded[]; minutes: number } {
    const custom = new Map(resources.filter((r) => r.custom).map((r) => [`${r.type}::${r.name}`, r]));
    const memo = new Map<string, { chain: Recorded[]; minutes: number }>();
    const longestTo = (key: string): { chain: Recorded[]; minutes: number } => {
        const hit = memo.get(key);
        if (hit) return hit;
        const r = custom.get(key)!;
        const before = r.waitsFor.filter((k) => custom.has(k)).map(longestTo).sort((a, b) => b.minutes - a.minutes)[0] ?? { chain: [], minutes: 0 };
        const best = { chain: [...before.chain, r], minutes: before.minutes + minutesOf(r) };
        memo.set(key, best);
        return best;
    };
    return [...custom.keys()].map(longestTo).sort((a, b) => b.minutes - a.minutes)[0];
}

/** The chain as docs/operations.md shows it: kinds of resources (providers left out), and the total. */
function render(p: { chain: Recorded[]; minutes: number }): string {
    return `${p.chain.filter((r) => !r.type.startsWith("pulumi:providers:")).map((r) => r.type.split(":").pop()).join(" -> ")}: ${p.minutes.toFixed(1)} min`;
}

const CLUSTER = { createCluster: true, nodeKeyPair: "ops", zoneIds: ["cn-hangzhou-k"], vswitchCidrs: ["192.168.0.0/19"], strictMtls: true };
const page = () => readFileSync(path.join(__dirname, "..", "..", "docs", "operations.md"), "utf8");

describe("the critical path of a first up", () => {
    test("cluster and mesh: the mesh starts only once ACK is running, and the cluster's objects wait for it", async () => {
        const { resources } = await runProgram(testConfig({ ...CLUSTER, createMesh: true }));
        const mesh = resources.find((r) => r.type === "alicloud:servicemesh/serviceMesh:ServiceMesh")!;
        assert.ok(mesh.waitsFor.includes("alicloud:cs/managedKubernetes:ManagedKubernetes::cluster-ack"), mesh.waitsFor.join(", "));
        assert.ok(!mesh.waitsFor.includes("alicloud:cs/nodePool:NodePool::cluster-nodes"));
        const p = criticalPath(resources);
        assert.deepEqual(p.chain.map((r) => r.type.split(":").pop()).filter((t) => t !== "alicloud" && t !== "kubernetes").slice(0, 4), ["Network", "Switch", "ManagedKubernetes", "ServiceMesh"]);
        assert.ok(page().includes(render(p)), `docs/operations.md's critical path is not ${render(p)}`);
    });

    test("cluster without a mesh: the node pool is on the path instead", async () => {
        const p = criticalPath((await runProgram(testConfig(CLUSTER))).resources);
        assert.deepEqual(p.chain.map((r) => r.type.split(":").pop()).filter((t) => t !== "alicloud" && t !== "kubernetes").slice(0, 4), ["Network", "Switch", "ManagedKubernetes", "NodePool"]);
        assert.ok(page().includes(render(p)), `docs/operations.md's critical path is not ${render(p)}`);
    });
});
