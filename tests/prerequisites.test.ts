import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { configKey } from "../lib/config";
import { ACK_SERVICE_ROLES, ACTIVATION_DEFERRED } from "../lib/prerequisites";
import { failingProgram, Invoke, READY_ACCOUNT, runProgram, testConfig } from "./support/harness";

const CLUSTER = { createCluster: true, nodeKeyPair: "ops", zoneIds: ["cn-hangzhou-k"], vswitchCidrs: ["192.168.0.0/19"] };
const cloudResources = (rs: { type: string }[]) => rs.filter((r) => r.type.startsWith("alicloud:"));
/** Invokes that would switch something on in the account: the provider's data sources that open a service take enable: "On". */
const enabling = (is: Invoke[]) => is.filter((i) => "enable" in i.inputs || Object.values(i.inputs).includes("On"));
/** An account where nothing was ever done: ACK never opened, none of its service roles. */
const FRESH_ACCOUNT = { ...READY_ACCOUNT, roles: ["AliyunECSDefaultRole"] };

describe("a fresh account: prerequisites checked before anything is created", () => {
    test("a ready account: the roles are read, ACK is not touched unless asked", async () => {
        const { invokes } = await runProgram(testConfig(CLUSTER));
        assert.deepEqual(invokes.map((i) => i.token).slice(0, 3), ["alicloud:cs/getManagedKubernetesClusters:getManagedKubernetesClusters", "alicloud:ecs/getInstanceTypes:getInstanceTypes", "alicloud:ram/getRoles:getRoles"]);
        assert.equal(invokes[0].inputs.nameRegex, "^asm-prom$");
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
        assert.deepEqual(invokes.slice(0, 4).map((i) => [i.token, i.inputs.enable, i.inputs.type]), [
            ["alicloud:cs/getManagedKubernetesClusters:getManagedKubernetesClusters", undefined, undefined],
            ["alicloud:cs/getAckService:getAckService", "On", "propayasgo"],
            ["alicloud:ecs/getInstanceTypes:getInstanceTypes", undefined, undefined],
            ["alicloud:ram/getRoles:getRoles", undefined, undefined],
        ]);
        const { error, resources } = await failingProgram(testConfig({ ...CLUSTER, activateAck: true }), [], { ...READY_ACCOUNT, ackStatusWhenOpened: "" });
        assert.match(String(error), /ACK could not be activated/);
        assert.deepEqual(cloudResources(resources), []);
    });

    test("a preview opens nothing, also with activateAck: it warns with the step, and a fresh account's missing roles fail it", async () => {
        const fresh = await failingProgram(testConfig({ ...CLUSTER, activateAck: true }), [], FRESH_ACCOUNT, { preview: true });
        assert.deepEqual(enabling(fresh.invokes), []);
        assert.deepEqual(fresh.warnings, [ACTIVATION_DEFERRED]);
        assert.match(String(fresh.error), /lacks the ACK service roles .*; nothing was created/);
        assert.deepEqual(cloudResources(fresh.resources), []);

        // An account whose roles are granted: the preview goes on and shows the plan, still without opening ACK.
        const ready = await runProgram(testConfig({ ...CLUSTER, activateAck: true }), [], READY_ACCOUNT, { preview: true });
        assert.deepEqual(enabling(ready.invokes), []);
        assert.deepEqual(ready.warnings, [ACTIVATION_DEFERRED]);
        assert.ok(cloudResources(ready.resources).length > 0);
        assert.match(ACTIVATION_DEFERRED, new RegExp(`^${configKey("activateAck")}: .*\`pulumi up\` opens it`));

        // Without activateAck a preview has nothing to warn about; the update of `pulumi up` is where ACK opens.
        assert.deepEqual((await runProgram(testConfig(CLUSTER), [], READY_ACCOUNT, { preview: true })).warnings, []);
        assert.equal(enabling((await runProgram(testConfig({ ...CLUSTER, activateAck: true }))).invokes).length, 1);
    });

    test("an account without ACK at all: the message also names the activation setting", async () => {
        const { error } = await failingProgram(testConfig(CLUSTER), [], { ...READY_ACCOUNT, roles: [] });
        assert.match(String(error), new RegExp(`${ACK_SERVICE_ROLES.join(", ")}; nothing was created`));
        assert.match(String(error), new RegExp(`${configKey("activateAck")} true`));
    });

    test("once the stack's cluster exists, one lookup and nothing else: a stock-out does not fail its previews", async () => {
        const account = { ...READY_ACCOUNT, roles: [], instanceTypes: { "*": [] }, clusters: ["asm-prom", "asm-prom-other"] };
        const { invokes } = await runProgram(testConfig(CLUSTER), [], account);
        assert.deepEqual(invokes.map((i) => i.token), ["alicloud:cs/getManagedKubernetesClusters:getManagedKubernetesClusters", "alicloud:cs/getClusterCredential:getClusterCredential"]);
    });

    test("an existing cluster needs no cloud check", async () => {
        const { invokes } = await runProgram(testConfig({}));
        assert.deepEqual(invokes, []);
    });

    test("no configured instance type offered in a zone: the error names the zone and types offered there", async () => {
        const account = { ...READY_ACCOUNT, instanceTypes: { "cn-hangzhou-k": ["ecs.c7.xlarge", "ecs.u1-c1m4.xlarge"], "*": ["ecs.g7.xlarge"] } };
        const { error, resources } = await failingProgram(testConfig({ ...CLUSTER, zoneIds: ["cn-hangzhou-j", "cn-hangzhou-k"], vswitchCidrs: ["192.168.0.0/19", "192.168.32.0/19"] }), [], account);
        assert.equal((error as Error).message, `${configKey("nodeInstanceTypes")}: none of ecs.g7.xlarge, ecs.g6.xlarge is offered for ACK workers with ESSD disks in cn-hangzhou-k; accepted: a type offered there, such as ecs.c7.xlarge, ecs.u1-c1m4.xlarge`);
        assert.deepEqual(cloudResources(resources), []);
        const asked = (await runProgram(testConfig(CLUSTER))).invokes.filter((i) => i.token === "alicloud:ecs/getInstanceTypes:getInstanceTypes");
        assert.deepEqual(asked.map((i) => [i.inputs.availabilityZone, i.inputs.kubernetesNodeRole, i.inputs.systemDiskCategory]), [["cn-hangzhou-k", "Worker", "cloud_essd"]]);
    });
});
