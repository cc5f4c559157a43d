import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { configKey } from "../lib/config";
import { kubeconfigFile } from "../lib/kubeProvider";
import { OPERATOR_STATUS_GATE, reportsAcceptance, withStatusGate } from "../lib/upstream";
import { VERSIONS } from "../lib/versions";
import { discovery } from "./support/discovery";
import { byType, CREDENTIAL_KUBECONFIG, failingProgram, isSecret, one, PROVIDER_OUTPUTS, runProgram, testConfig } from "./support/harness";

const KUBE_TYPES_PREFIX = "kubernetes:";

describe("whole program: existing cluster", () => {
    test("declares operator, Bookinfo, Prometheus and one ServiceMonitor through the configured context", async () => {
        const { outputs, resources, invokes } = await runProgram(testConfig({ kubeContext: "dev" }));
        assert.equal(byType(resources, "pulumi:providers:alicloud").length, 0);
        assert.equal(resources.filter((r) => r.type.startsWith("alicloud:")).length, 0);
        const provider = one(resources, "pulumi:providers:kubernetes");
        assert.equal(provider.inputs.context, "dev");
        // No kubeconfig of the stack's own: the SDK passes the ambient KUBECONFIG's path itself.
        assert.match(String(provider.inputs.kubeconfig), /asm-prom-test-kubeconfig-\d+$/);
        assert.equal(provider.inputs.upsertExistingObjects, "false");
        assert.equal(provider.inputs.enableServerSideApply, "true");
        assert.deepEqual(byType(resources, "kubernetes:core/v1:Namespace").map((n) => n.inputs.metadata.name).sort(), ["bookinfo", "monitoring"]);
        one(resources, "kubernetes:monitoring.coreos.com/v1:Prometheus");
        const sm = one(resources, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor");
        assert.equal(sm.inputs.metadata.namespace, "bookinfo");
        assert.equal(byType(resources, "kubernetes:security.istio.io/v1:PeerAuthentication").length, 0);
        assert.deepEqual(outputs, {
            portForwardCommand: "kubectl -n monitoring port-forward svc/prometheus-operated 9090",
            prometheusUrl: "http://localhost:9090",
            targetsUrl: "http://localhost:9090/targets",
            checkQuery: "python_gc_objects_collected_total",
            monitoringNamespace: "monitoring",
            appNamespace: "bookinfo",
            prometheusName: "mesh",
            serviceMonitors: ["productpage"],
            operatorVersion: VERSIONS.prometheusOperator.version,
            strictMtls: false,
            alertRules: "prometheus-mesh-mtls-scrape",
            alerts: {
                "mtls-scrape": ["MtlsScrapeTargetDown", "MtlsScrapeNoTarget", "MeshCertificateNotRenewed", "MeshCertificateExpiryUnknown"],
                "mesh-prometheus": ["PrometheusBadConfig", "PrometheusKubernetesListWatchFailures", "PrometheusRuleFailures", "PrometheusTargetSyncFailure", "Watchdog"],
            },
            dashboardCommand: "kubectl -n monitoring get configmap grafana-dashboard-asm-prometheus-mtls-scrape -o jsonpath='{.data.asm-prometheus-mtls-scrape\\.json}' > asm-prometheus-mtls-scrape.json",
        });
        assert.equal(invokes.length, 0);
    });

    test("a kubeconfig from config reaches the provider through the file the program writes, never as text", async () => {
        const { kubeconfig } = await discovery(0);
        const { resources } = await runProgram(testConfig({ kubeconfig }), [configKey("kubeconfig")]);
        const provider = one(resources, "pulumi:providers:kubernetes");
        assert.equal(provider.inputs.kubeconfig, kubeconfigFile("test"));
        assert.equal(readFileSync(kubeconfigFile("test"), "utf8"), kubeconfig);
    });

    test("a kubeconfig set without --secret is refused before anything is registered", async () => {
        const { error, resources } = await failingProgram(testConfig({ kubeconfig: "apiVersion: v1\nkind: Config\n" }));
        assert.match(String(error), /kubeconfig: stored in plain text/);
        assert.deepEqual(resources, []);
    });

    test("renderYamlToDirectory: the provider writes files and gets no cluster credentials", async () => {
        const { resources } = await runProgram(testConfig({ kubeconfig: "apiVersion: v1\n", renderYamlToDirectory: "/tmp/out" }), [configKey("kubeconfig")]);
        const provider = one(resources, "pulumi:providers:kubernetes");
        assert.equal(provider.inputs.renderYamlToDirectory, "/tmp/out");
        assert.equal(provider.inputs.kubeconfig, undefined);
        assert.equal(provider.inputs.context, undefined);
    });

    test("overrides: namespaces, replicas, several scraped services, STRICT mTLS", async () => {
        const { outputs, resources } = await runProgram(testConfig({
            appNamespace: "shop", monitoringNamespace: "obs", prometheusReplicas: 3, scrapeServices: ["productpage", "reviews"], scrapeInterval: "1m", strictMtls: true,
        }));
        const sms = byType(resources, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor");
        assert.deepEqual(sms.map((s) => s.inputs.metadata.name).sort(), ["productpage", "reviews"]);
        for (const sm of sms) {
            assert.equal(sm.inputs.metadata.namespace, "shop");
            assert.equal(sm.inputs.spec.endpoints[0].interval, "1m");
            assert.equal(sm.inputs.spec.endpoints[0].port, "http");
        }
        const prom = one(resources, "kubernetes:monitoring.coreos.com/v1:Prometheus");
        assert.equal(prom.inputs.spec.replicas, 3);
        assert.deepEqual(prom.inputs.spec.serviceMonitorNamespaceSelector, { matchLabels: { "kubernetes.io/metadata.name": "shop" } });
        const pa = one(resources, "kubernetes:security.istio.io/v1:PeerAuthentication");
        assert.deepEqual(pa.inputs.metadata, { name: "default", namespace: "shop" });
        assert.deepEqual(pa.inputs.spec, { mtls: { mode: "STRICT" } });
        assert.equal(outputs.portForwardCommand, "kubectl -n obs port-forward svc/prometheus-operated 9090");
        assert.equal(outputs.strictMtls, true);
    });
});

describe("whole program: cluster created", () => {
    test("VPC, vSwitch per zone, ACK cluster, node pool; kubeconfig from the cluster credential, secret", async () => {
        const { raw, outputs, resources, invokes } = await runProgram(testConfig({
            createCluster: true, nodeKeyPair: "ops", zoneIds: ["cn-hangzhou-j", "cn-hangzhou-k"], deletionProtection: true, nodeCount: 3,
        }));
        const cloud = one(resources, "pulumi:providers:alicloud");
        assert.equal(cloud.inputs.region, "cn-hangzhou");
        one(resources, "alicloud:vpc/network:Network");
        const vsw = byType(resources, "alicloud:vpc/switch:Switch");
        assert.deepEqual(vsw.map((v) => [v.inputs.zoneId, v.inputs.cidrBlock]), [["cn-hangzhou-j", "192.168.0.0/19"], ["cn-hangzhou-k", "192.168.32.0/19"]]);
        const ack = one(resources, "alicloud:cs/managedKubernetes:ManagedKubernetes");
        assert.equal(ack.inputs.clusterSpec, "ack.pro.small");
        assert.equal(ack.inputs.deletionProtection, true);
        assert.equal(ack.opts.protect, true);
        assert.ok(ack.id && vsw.every((v) => v.id), "the engine gave each an id");
        assert.deepEqual(ack.inputs.vswitchIds, vsw.map((v) => v.id));
        assert.equal(ack.inputs.workerVswitchIds, undefined);
        const pool = one(resources, "alicloud:cs/nodePool:NodePool");
        assert.equal(pool.inputs.desiredSize, "3");
        assert.equal(pool.inputs.clusterId, ack.id);
        assert.deepEqual(pool.inputs.instanceTypes, ["ecs.g7.xlarge", "ecs.g6.xlarge"]);
        // The prerequisites check (tests/prerequisites.test.ts) first: the cluster does not exist yet; then the credential.
        assert.deepEqual(invokes.map((i) => [i.token, i.inputs.clusterId]), [["alicloud:cs/getManagedKubernetesClusters:getManagedKubernetesClusters", undefined], ["alicloud:ecs/getInstanceTypes:getInstanceTypes", undefined], ["alicloud:ecs/getInstanceTypes:getInstanceTypes", undefined], ["alicloud:ram/getRoles:getRoles", undefined], ["alicloud:cs/getClusterCredential:getClusterCredential", ack.id]]);
        // The provider reads the cluster's kubeconfig from the file the program wrote it to (tests/kubeconfigIdentity.test.ts).
        const kube = one(resources, "pulumi:providers:kubernetes");
        assert.equal(kube.inputs.kubeconfig, kubeconfigFile("test"));
        assert.equal(readFileSync(kubeconfigFile("test"), "utf8"), CREDENTIAL_KUBECONFIG);
        // The CRDs are applied outside the provider, to the same cluster.
        assert.equal(one(resources, "pulumi-nodejs:dynamic/kubernetes:CrdSet").inputs.kubeconfig, kubeconfigFile("test"));
        assert.equal(outputs.clusterId, ack.id);
        assert.equal(outputs.kubeconfig, CREDENTIAL_KUBECONFIG);
        // The port-forward works as printed once the kubeconfig is written where the other output puts it.
        assert.equal(outputs.kubeconfigCommand, "(umask 077 && pulumi stack output --stack test --show-secrets kubeconfig > kubeconfig-test.yaml)");
        assert.equal(outputs.portForwardCommand, "kubectl --kubeconfig kubeconfig-test.yaml -n monitoring port-forward svc/prometheus-operated 9090");
        assert.equal(await isSecret(raw.kubeconfig as never), true);
        assert.equal(outputs.meshId, undefined);
        assert.equal(resources.filter((r) => r.type.startsWith("alicloud:servicemesh")).length, 0);
    });
});

describe("whole program: API server whitelist", () => {
    test("apiServerAllowedCidrs prints the command that binds the ACL, in the stack's region", async () => {
        const { outputs, resources } = await runProgram(testConfig({ createCluster: true, nodeKeyPair: "ops", zoneIds: ["cn-hangzhou-k"], vswitchCidrs: ["192.168.0.0/19"], apiServerAllowedCidrs: ["198.51.100.0/24"] }));
        assert.deepEqual(byType(resources, "alicloud:slb/aclEntryAttachment:AclEntryAttachment").map((e) => e.inputs.entry), ["100.104.0.0/16", "192.168.0.0/16", "198.51.100.0/24"]);
        // The load balancer ACK made for the API server, as the provider reports it, and the ACL the stack made.
        const slb = PROVIDER_OUTPUTS["alicloud:cs/managedKubernetes:ManagedKubernetes"].slbId;
        const acl = one(resources, "alicloud:slb/acl:Acl").id;
        assert.equal(outputs.apiServerAclCommand, `aliyun slb SetLoadBalancerTCPListenerAttribute --RegionId cn-hangzhou --LoadBalancerId ${slb} --ListenerPort 6443 --AclStatus on --AclType white --AclId ${acl}`);
    });
});

describe("whole program: cluster and mesh created", () => {
    test("the mesh attaches the new cluster, aggregates CRs, waits 30 minutes, and is not forced on delete", async () => {
        const { outputs, resources } = await runProgram(testConfig({
            createCluster: true, nodeKeyPair: "ops", createMesh: true, zoneIds: ["cn-hangzhou-k"], vswitchCidrs: ["192.168.0.0/19"], strictMtls: true, meshVersion: "v1.28.3.12-g1a2b3c4d-aliyun",
        }));
        const mesh = one(resources, "alicloud:servicemesh/serviceMesh:ServiceMesh");
        const ack = one(resources, "alicloud:cs/managedKubernetes:ManagedKubernetes");
        assert.deepEqual(mesh.inputs.clusterIds, [ack.id]);
        assert.deepEqual(mesh.inputs.network, { vpcId: one(resources, "alicloud:vpc/network:Network").id, vswitcheList: one(resources, "alicloud:vpc/switch:Switch").id });
        assert.deepEqual(mesh.inputs.extraConfiguration, { crAggregationEnabled: true });
        assert.equal(mesh.inputs.edition, "Pro");
        assert.equal(mesh.inputs.clusterSpec, "enterprise");
        assert.equal(mesh.inputs.version, "v1.28.3.12-g1a2b3c4d-aliyun");
        assert.equal(mesh.inputs.force, false);
        assert.deepEqual(mesh.opts.customTimeouts, { create: "30m", update: "30m", delete: "30m" });
        // In parallel with the node pool: nothing makes the mesh wait for it.
        assert.ok(!mesh.waitsFor.some((k) => k.startsWith("alicloud:cs/nodePool:NodePool")), mesh.waitsFor.join(", "));
        // Everything in the cluster waits for the nodes and the mesh attach, through the provider it uses.
        const kube = one(resources, "pulumi:providers:kubernetes");
        for (const k of ["alicloud:cs/nodePool:NodePool::cluster-nodes", "alicloud:servicemesh/serviceMesh:ServiceMesh::mesh-asm"]) assert.ok(kube.waitsFor.includes(k), k);
        const pa = one(resources, "kubernetes:security.istio.io/v1:PeerAuthentication");
        for (const k of ["kubernetes:core/v1:Namespace::bookinfo-ns", "alicloud:servicemesh/serviceMesh:ServiceMesh::mesh-asm"]) assert.ok(pa.waitsFor.includes(k), k);
        // The ids the engine gave the mesh and the cluster, passed on.
        assert.equal(outputs.meshId, mesh.id);
        assert.equal(outputs.clusterId, ack.id);
        assert.ok(resources.filter((r) => r.type.startsWith(KUBE_TYPES_PREFIX)).length > 20);
    });

    test("forced delete only when configured", async () => {
        const { resources } = await runProgram(testConfig({ createCluster: true, nodeKeyPair: "ops", createMesh: true, zoneIds: ["cn-hangzhou-k"], vswitchCidrs: ["192.168.0.0/19"], meshForceDelete: true }));
        assert.equal(one(resources, "alicloud:servicemesh/serviceMesh:ServiceMesh").inputs.force, true);
    });
});

describe("whole program: explicit providers", () => {
    // Pulumi.yaml disables the default providers (ENGINE_CONFIG); this finds a missed provider option first.
    const cases: [string, Parameters<typeof testConfig>[0]][] = [
        ["existing cluster", { strictMtls: true }],
        ["cluster and mesh created", { createCluster: true, nodeKeyPair: "ops", createMesh: true, zoneIds: ["cn-hangzhou-k"], vswitchCidrs: ["192.168.0.0/19"], strictMtls: true, apiServerAllowedCidrs: ["198.51.100.0/24"], clusterAdmins: ["user:2000000000000001"] }],
    ];
    for (const [what, config] of cases) {
        test(`${what}: every resource and every data source names its provider`, async () => {
            const { resources, invokes } = await runProgram(testConfig(config));
            const missed = [
                ...resources.filter((r) => r.custom && /^(kubernetes|alicloud):/.test(r.type) && !r.provider?.startsWith(`pulumi:providers:${r.type.split(":")[0]}::`)).map((r) => `${r.type}::${r.name}`),
                ...invokes.filter((i) => !i.provider?.startsWith("pulumi:providers:alicloud::")).map((i) => i.token),
            ];
            assert.deepEqual(missed, []);
            assert.ok(resources.length > 20 && (what === "existing cluster" || invokes.length > 0));
        });
    }
});

describe("whole program: operator namespace", () => {
    test("operatorNamespace moves the bundle's namespaced objects and its binding's subject into a namespace the stack creates", async () => {
        const { resources } = await runProgram(testConfig({ operatorNamespace: "prom-operator" }));
        const ns = byType(resources, "kubernetes:core/v1:Namespace").find((n) => n.inputs.metadata.name === "prom-operator");
        assert.ok(ns, "the operator's namespace is created");
        assert.equal(ns.inputs.metadata.labels, undefined, "not labelled for injection");
        const operatorObjects = resources.filter((r) => r.name.startsWith("operator-") && r.inputs.metadata?.namespace !== undefined);
        assert.deepEqual([...new Set(operatorObjects.map((r) => r.inputs.metadata.namespace))], ["prom-operator"]);
        assert.deepEqual(operatorObjects.map((r) => r.type).sort(), ["kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service", "kubernetes:core/v1:ServiceAccount"]);
        const binding = one(resources, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "operator-prometheus-operator");
        assert.deepEqual(binding.inputs.subjects, [{ kind: "ServiceAccount", name: "prometheus-operator", namespace: "prom-operator" }]);
        const deployment = one(resources, "kubernetes:apps/v1:Deployment", "operator-prometheus-operator");
        assert.ok(deployment.waitsFor.includes(`kubernetes:core/v1:Namespace::${ns.name}`));
    });

    test("the default keeps the bundle's own namespace and creates none for the operator", async () => {
        const { resources } = await runProgram(testConfig());
        assert.equal(one(resources, "kubernetes:apps/v1:Deployment", "operator-prometheus-operator").inputs.metadata.namespace, "default");
        assert.deepEqual(byType(resources, "kubernetes:core/v1:Namespace").map((n) => n.inputs.metadata.name).sort(), ["bookinfo", "monitoring"]);
    });
});

describe("whole program: ServiceMonitors the operator may reject", () => {
    test("the operator runs with its status gate, and up waits for each ServiceMonitor's acceptance by our Prometheus", async () => {
        const { resources } = await runProgram(testConfig({ scrapeServices: ["productpage", "reviews"] }));
        const deployment = one(resources, "kubernetes:apps/v1:Deployment", "operator-prometheus-operator");
        const gated = deployment.inputs.spec.template.spec.containers.filter((c: { args?: string[] }) => c.args?.includes(OPERATOR_STATUS_GATE));
        assert.deepEqual(gated.map((c: { name: string }) => c.name), ["prometheus-operator"]);
        const waits = byType(resources, "pulumi-nodejs:dynamic/kubernetes:MonitorAccepted");
        assert.deepEqual(waits.map((r) => [r.inputs.namespace, r.inputs.name, r.inputs.prometheus, r.inputs.timeoutSeconds]).sort(), [
            ["bookinfo", "productpage", "monitoring/mesh", 300],
            ["bookinfo", "reviews", "monitoring/mesh", 300],
        ]);
        for (const r of waits) assert.ok(r.waitsFor.some((k) => k.startsWith("kubernetes:monitoring.coreos.com/v1:ServiceMonitor::")), "after its ServiceMonitor");
    });

    test("without awaitServiceMonitors (no operator runs) nothing waits for acceptance", async () => {
        const { resources } = await runProgram(testConfig({ awaitServiceMonitors: false }));
        assert.equal(byType(resources, "pulumi-nodejs:dynamic/kubernetes:MonitorAccepted").length, 0);
    });

    test("an operator older than v0.86.0 has no such gate and gets none (it would refuse to start)", () => {
        const deployment = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "op" }, spec: { template: { spec: { containers: [{ name: "op", args: ["--prometheus-config-reloader=x"] }, { name: "side", args: ["-v"] }] } } } };
        const args = (objects: typeof deployment[]) => objects[0].spec.template.spec.containers.map((c) => c.args);
        assert.deepEqual(args(withStatusGate([deployment], "v0.85.1") as typeof deployment[]), [["--prometheus-config-reloader=x"], ["-v"]]);
        assert.deepEqual(args(withStatusGate([deployment], "v0.86.0") as typeof deployment[]), [["--prometheus-config-reloader=x", OPERATOR_STATUS_GATE], ["-v"]]);
        assert.equal(reportsAcceptance("v1.0.0"), true);
    });
});
