import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AckCluster } from "../components/ackCluster";
import { AsmMesh, AsmMeshArgs } from "../components/asmMesh";
import { ACK_ARGS } from "./support/fixtures";
import { byType, inStack, one, resolve } from "./support/harness";

async function mesh(extra: Partial<AsmMeshArgs> = {}) {
    return inStack(() => {
        const cluster = new AckCluster("cluster", { ...ACK_ARGS, zoneIds: ["cn-hangzhou-k", "cn-hangzhou-j"], nodeCount: 1 });
        return new AsmMesh("mesh", { name: "m1", edition: "Pro", clusterSpec: "standard", forceDelete: false, detachCluster: false, cluster, ...extra });
    });
}

describe("AsmMesh", () => {
    test("attaches the cluster it is given, in that cluster's VPC, with CRs aggregated through the cluster's API server", async () => {
        const { value, resources } = await mesh();
        const asm = one(resources, "alicloud:servicemesh/serviceMesh:ServiceMesh");
        assert.equal(asm.inputs.serviceMeshName, "m1");
        // The cluster, its VPC and its first zone's vSwitch, by the ids the engine gave them.
        assert.deepEqual(asm.inputs.clusterIds, [one(resources, "alicloud:cs/managedKubernetes:ManagedKubernetes").id]);
        const vsw = byType(resources, "alicloud:vpc/switch:Switch").find((s) => s.inputs.zoneId === "cn-hangzhou-k")!;
        assert.deepEqual(asm.inputs.network, { vpcId: one(resources, "alicloud:vpc/network:Network").id, vswitcheList: vsw.id });
        assert.deepEqual(asm.inputs.extraConfiguration, { crAggregationEnabled: true });
        assert.deepEqual([asm.inputs.edition, asm.inputs.clusterSpec, asm.inputs.version, asm.inputs.force], ["Pro", "standard", undefined, false]);
        assert.deepEqual(asm.opts.customTimeouts, { create: "30m", update: "30m", delete: "30m" });
        assert.equal(await resolve(value.meshId), asm.id);
    });

    test("version and forced delete as configured", async () => {
        const { resources } = await mesh({ version: "v1.28.3.12-g1a2b3c4d-aliyun", forceDelete: true });
        const asm = one(resources, "alicloud:servicemesh/serviceMesh:ServiceMesh");
        assert.equal(asm.inputs.version, "v1.28.3.12-g1a2b3c4d-aliyun");
        assert.equal(asm.inputs.force, true);
    });
});

describe("AsmMesh teardown", () => {
    test("detachCluster leaves the mesh without clusters, the step before it can be deleted", async () => {
        const { resources } = await mesh({ detachCluster: true });
        assert.deepEqual(one(resources, "alicloud:servicemesh/serviceMesh:ServiceMesh").inputs.clusterIds, []);
    });
});
