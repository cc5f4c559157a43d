import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { configKey } from "../lib/config";
import { ACK_SERVICE_ROLES } from "../lib/prerequisites";
import { failingProgram, READY_ACCOUNT, runProgram, testConfig } from "./support/harness";

const CLUSTER = { createCluster: true, zoneIds: ["cn-hangzhou-k"], vswitchCidrs: ["192.168.0.0/19"] };
const cloudResources = (rs: { type: string }[]) => rs.filter((r) => r.type.startsWith("alicloud:"));

describe("a fresh account: prerequisites checked before anything is created", () => {
    test("a ready account: the roles are read, ACK is not touched unless asked", async () => {
        const { invokes } = await runProgram(testConfig(CLUSTER));
        assert.deepEqual(invokes.map((i) => i.token).slice(0, 1), ["alicloud:ram/getRoles:getRoles"]);
        assert.ok(!invokes.some((i) => i.token === "alicloud:cs/getAckService:getAckService"));
    });

    test("missing service roles: the error names each one and the step; no cloud resource is registered", async () => {
        const account = { ...READY_ACCOUNT, roles: READY_ACCOUNT.roles.filter((r) => r !== "AliyunCSManagedKubernetesRole" && r !== "AliyunCSManagedNetworkRole") };
        const { error, resources } = await failingProgram(testConfig(CLUSTER), [], account);
        assert.match(String(error), /lacks the ACK service roles AliyunCSManagedKubernetesRole, AliyunCSManagedNetworkRole; nothing was created/);
        assert.match(String(error), /Cloud Resource Access Authorization/);
        assert.deepEqual(cloudResources(resources), []);
    });

    test("activateAck opens ACK first (its only check), and a refusal stops the run", async () => {
        const { invokes } = await runProgram(testConfig({ ...CLUSTER, activateAck: true }));
        assert.deepEqual(invokes.slice(0, 2).map((i) => [i.token, i.inputs.enable, i.inputs.type]), [
            ["alicloud:cs/getAckService:getAckService", "On", "propayasgo"],
            ["alicloud:ram/getRoles:getRoles", undefined, undefined],
        ]);
        const { error, resources } = await failingProgram(testConfig({ ...CLUSTER, activateAck: true }), [], { ...READY_ACCOUNT, ackStatusWhenOpened: "" });
        assert.match(String(error), /ACK could not be activated/);
        assert.deepEqual(cloudResources(resources), []);
    });

    test("an account without ACK at all: the message also names the activation setting", async () => {
        const { error } = await failingProgram(testConfig(CLUSTER), [], { ...READY_ACCOUNT, roles: [] });
        assert.match(String(error), new RegExp(`${ACK_SERVICE_ROLES.join(", ")}; nothing was created`));
        assert.match(String(error), new RegExp(`${configKey("activateAck")} true`));
    });

    test("an existing cluster needs no cloud check", async () => {
        const { invokes } = await runProgram(testConfig({}));
        assert.deepEqual(invokes, []);
    });
});
