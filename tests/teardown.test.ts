import * as pulumi from "@pulumi/pulumi";
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { configKey } from "../lib/config";
import { failingProgram, one, Recorded, runProgram, testConfig } from "./support/harness";

// README's teardown of a stack that created ACK and ASM, phase by phase, as the program declares it.

const PROD = { createCluster: true, nodeKeyPair: "ops", createMesh: true, zoneIds: ["cn-hangzhou-k"], vswitchCidrs: ["192.168.0.0/19"], deletionProtection: true };
const ACK = "alicloud:cs/managedKubernetes:ManagedKubernetes";
const ASM = "alicloud:servicemesh/serviceMesh:ServiceMesh";

const protectedOnes = (resources: Recorded[]) => resources.filter((r) => (r.opts as pulumi.CustomResourceOptions).protect === true).map((r) => r.name);

describe("teardown, in README's order", () => {
    test("running: the cluster is protected twice (ACK deletion protection, Pulumi protect) and attached to the mesh", async () => {
        const { resources } = await runProgram(testConfig(PROD));
        assert.equal(one(resources, ACK).inputs.deletionProtection, true);
        assert.deepEqual(protectedOnes(resources), ["cluster-ack"]);
        assert.deepEqual(one(resources, ASM).inputs.clusterIds, [one(resources, ACK).id]);
    });

    test("1. deletionProtection false: both protections off, nothing else changes", async () => {
        const before = await runProgram(testConfig(PROD));
        const { resources } = await runProgram(testConfig({ ...PROD, deletionProtection: false }));
        assert.equal(one(resources, ACK).inputs.deletionProtection, false);
        assert.deepEqual(protectedOnes(resources), []);
        assert.deepEqual(one(resources, ASM).inputs, one(before.resources, ASM).inputs);
        assert.deepEqual(resources.map((r) => r.name).sort(), before.resources.map((r) => r.name).sort());
    });

    test("2. meshDetachCluster true: the mesh has no cluster, the cluster and its objects stay", async () => {
        const before = await runProgram(testConfig({ ...PROD, deletionProtection: false }));
        const { resources } = await runProgram(testConfig({ ...PROD, deletionProtection: false, meshDetachCluster: true }));
        assert.deepEqual(one(resources, ASM).inputs.clusterIds, []);
        assert.deepEqual(one(resources, ACK).inputs, one(before.resources, ACK).inputs);
        assert.deepEqual(resources.map((r) => r.name).sort(), before.resources.map((r) => r.name).sort());
        // 3. pulumi destroy then meets no protection and a mesh without clusters.
        assert.deepEqual(protectedOnes(resources), []);
    });

    test("meshDetachCluster without a mesh of this stack is refused before anything is registered", async () => {
        const { error, resources } = await failingProgram(testConfig({ meshDetachCluster: true }));
        assert.match(String(error), new RegExp(`${configKey("meshDetachCluster")}: true is not accepted while ${configKey("createMesh")} is false`));
        assert.deepEqual(resources, []);
    });
});
