import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AckCluster } from "../components/ackCluster";
import { ACK_ARGS } from "./support/fixtures";
import { byType, CREDENTIAL_KUBECONFIG, failingProgram, inStack, isSecret, one, resolve, runProgram, testConfig } from "./support/harness";

const ARGS = ACK_ARGS;

describe("AckCluster", () => {
    test("a VPC, one vSwitch per zone with its CIDR, the cluster on those vSwitches, and a node pool on the cluster", async () => {
        const { value: cluster, resources, invokes } = await inStack(() => new AckCluster("cluster", ARGS));
        const vpc = one(resources, "alicloud:vpc/network:Network");
        assert.deepEqual([vpc.inputs.vpcName, vpc.inputs.cidrBlock], ["c1", "10.0.0.0/16"]);
        // Each resource gets the ids of the ones it is built on, as the engine handed them out.
        const switches = byType(resources, "alicloud:vpc/switch:Switch");
        assert.deepEqual(switches.map((v) => [v.inputs.zoneId, v.inputs.cidrBlock, v.inputs.vpcId]), [
            ["cn-hangzhou-j", "10.0.0.0/20", vpc.id],
            ["cn-hangzhou-k", "10.0.16.0/20", vpc.id],
        ]);
        const ack = one(resources, "alicloud:cs/managedKubernetes:ManagedKubernetes");
        assert.ok(vpc.id && ack.id && switches.every((v) => v.id), "the engine gave each an id");
        assert.deepEqual(ack.inputs.vswitchIds, switches.map((v) => v.id));
        assert.deepEqual([ack.inputs.podCidr, ack.inputs.serviceCidr, ack.inputs.clusterSpec], ["172.20.0.0/16", "172.21.0.0/20", "ack.pro.small"]);
        assert.equal(ack.opts.protect, false);
        const pool = one(resources, "alicloud:cs/nodePool:NodePool");
        assert.deepEqual([pool.inputs.clusterId, pool.inputs.desiredSize, pool.inputs.keyName, pool.inputs.systemDiskCategory], [ack.id, "2", "ops", "cloud_essd"]);
        // The nodes over both vSwitches' zones evenly: what makes the Prometheus replicas' zone spread satisfiable.
        assert.deepEqual([pool.inputs.vswitchIds, pool.inputs.multiAzPolicy], [ack.inputs.vswitchIds, "BALANCE"]);
        assert.equal(byType(resources, "alicloud:ecs/keyPair:KeyPair").length, 0);
        assert.deepEqual(await resolve(cluster.vswitchIds[0]), switches[0].id);
        assert.equal(await resolve(cluster.vpcId), vpc.id);
        assert.deepEqual(invokes.map((i) => [i.token, i.inputs.clusterId]), [["alicloud:cs/getClusterCredential:getClusterCredential", ack.id]]);
        assert.equal(await resolve(cluster.kubeconfig), CREDENTIAL_KUBECONFIG);
        assert.equal(await isSecret(cluster.kubeconfig), true);
    });

    test("deletion protection also protects the cluster in Pulumi", async () => {
        const { resources } = await inStack(() => new AckCluster("cluster", { ...ARGS, deletionProtection: true }));
        const ack = one(resources, "alicloud:cs/managedKubernetes:ManagedKubernetes");
        assert.equal(ack.inputs.deletionProtection, true);
        assert.equal(ack.opts.protect, true);
    });

    test("clusterAdmins: each identity gets the cluster's admin role, a RAM role marked as one", async () => {
        const { resources } = await inStack(() => new AckCluster("cluster", { ...ARGS, admins: ["user:2000000000000001", "role:3000000000000002"] }));
        const cluster = one(resources, "alicloud:cs/managedKubernetes:ManagedKubernetes").id;
        assert.deepEqual(byType(resources, "alicloud:cs/kubernetesPermission:KubernetesPermission").map((p) => [p.inputs.uid, p.inputs.permissions]), [
            ["2000000000000001", [{ cluster, roleType: "cluster", roleName: "admin", isCustom: false, isRamRole: false }]],
            ["3000000000000002", [{ cluster, roleType: "cluster", roleName: "admin", isCustom: false, isRamRole: true }]],
        ]);
    });

    test("clusterReaders (the CI preview role): ACK's read-only restricted role on the whole cluster, as the program registers it", async () => {
        const { resources } = await runProgram(testConfig({ createCluster: true, nodeKeyPair: "ops", zoneIds: ["cn-hangzhou-k"], vswitchCidrs: ["192.168.0.0/19"], clusterAdmins: ["role:3000000000000002"], clusterReaders: ["role:3000000000000003"] }));
        const cluster = one(resources, "alicloud:cs/managedKubernetes:ManagedKubernetes").id;
        assert.deepEqual(byType(resources, "alicloud:cs/kubernetesPermission:KubernetesPermission").map((p) => [p.name, p.inputs.uid, p.inputs.permissions]), [
            ["cluster-admin-3000000000000002", "3000000000000002", [{ cluster, roleType: "cluster", roleName: "admin", isCustom: false, isRamRole: true }]],
            ["cluster-reader-3000000000000003", "3000000000000003", [{ cluster, roleType: "cluster", roleName: "restricted", isCustom: false, isRamRole: true }]],
        ]);
        const { error, resources: none } = await failingProgram(testConfig({ clusterReaders: ["role:3000000000000003"] }));
        assert.match(String(error), /clusterReaders: \["role:3000000000000003"\] is not accepted while asm-prometheus-mtls:createCluster is false/);
        assert.deepEqual(none, []);
        const both = await failingProgram(testConfig({ createCluster: true, nodeKeyPair: "ops", zoneIds: ["cn-hangzhou-k"], vswitchCidrs: ["192.168.0.0/19"], clusterAdmins: ["role:3000000000000003"], clusterReaders: ["role:3000000000000003"] }));
        assert.match(String(both.error), /clusterReaders: \["role:3000000000000003"\] is not accepted while also in asm-prometheus-mtls:clusterAdmins/);
    });

    test("a public key becomes the nodes' key pair", async () => {
        const { resources } = await inStack(() => new AckCluster("cluster", { ...ARGS, nodeLogin: { publicKey: "ssh-ed25519 AAAAC3Nza ops@example" } }));
        const key = one(resources, "alicloud:ecs/keyPair:KeyPair");
        assert.deepEqual([key.inputs.keyPairName, key.inputs.publicKey], ["c1-nodes", "ssh-ed25519 AAAAC3Nza ops@example"]);
        assert.equal(one(resources, "alicloud:cs/nodePool:NodePool").inputs.keyName, "c1-nodes");
    });

    test("apiServerAllowedCidrs: a whitelist ACL with ACK's control-plane range and the VPC added, made before the cluster, and the command that binds it to port 6443", async () => {
        const { value: cluster, resources } = await inStack(() => new AckCluster("cluster", { ...ARGS, apiServerAllowedCidrs: ["203.0.113.0/24", "10.0.0.0/16"] }));
        const acl = one(resources, "alicloud:slb/acl:Acl");
        assert.deepEqual([acl.inputs.name, acl.inputs.ipVersion], ["c1-apiserver", "ipv4"]);
        const entries = byType(resources, "alicloud:slb/aclEntryAttachment:AclEntryAttachment");
        // The VPC's CIDR is listed once although the user named it too.
        assert.deepEqual(entries.map((e) => [e.inputs.aclId, e.inputs.entry]), [
            [acl.id, "100.104.0.0/16"],
            [acl.id, "10.0.0.0/16"],
            [acl.id, "203.0.113.0/24"],
        ]);
        // The cluster waits for the entries, so a destroy deletes the cluster (and the binding) first.
        const ack = one(resources, "alicloud:cs/managedKubernetes:ManagedKubernetes");
        for (const e of entries) assert.ok(ack.waitsFor.includes(`${e.type}::${e.name}`), e.name);
        // The load balancer ACK reports for the cluster's API server, and the ACL made here.
        assert.equal(
            await resolve(cluster.apiServerAclCommand!),
            `aliyun slb SetLoadBalancerTCPListenerAttribute --RegionId cn-hangzhou --LoadBalancerId ${await resolve(cluster.cluster.slbId)} --ListenerPort 6443 --AclStatus on --AclType white --AclId ${acl.id}`,
        );
    });

    test("without apiServerAllowedCidrs: no ACL and no command", async () => {
        const { value: cluster, resources } = await inStack(() => new AckCluster("cluster", ARGS));
        assert.equal(byType(resources, "alicloud:slb/acl:Acl").length + byType(resources, "alicloud:slb/aclEntryAttachment:AclEntryAttachment").length, 0);
        assert.equal(cluster.apiServerAclCommand, undefined);
    });
});
