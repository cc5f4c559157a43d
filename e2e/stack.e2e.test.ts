import assert from "node:assert/strict";
import { ChildProcess, execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import { constants as zlibConstants, gunzipSync } from "node:zlib";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import * as YAML from "yaml";
import { SELF_JOBS } from "../lib/alertRules";
import { certVolume, prometheusCertMount, scrapeTlsConfig, sidecarAnnotations } from "../lib/certContract";
import { configKey, PROMETHEUS_RESOURCES } from "../lib/config";
import { OPERATOR_STATUS_GATE } from "../lib/upstream";
import { kubeconfigFile } from "../lib/kubeProvider";
import { atVersion, VERSIONS } from "../lib/versions";
import { mirrorPath, upstreamObjects } from "../tests/support/upstream";
import { promtoolTest } from "./support/promtool";
import { warningLines } from "./support/warnings";
import {
    clientKeyData, embeddedKubeconfig, eventually, exists, generatedConfig, generatedJobs, kubectl, kubectlJson, mirrorStats, newStack, plannedChanges, pulumi, pulumiOk, ROOT, setConfig, projectAt, setKubeconfig, setUp, stackConfig, stackWrites, startOperator, stateFile, tearDown, World,
} from "./support/world";

// The real Pulumi engine applies the stack to a real API server. Cases run in order on one cluster.

const MONITORING_CRDS = ["alertmanagerconfigs", "alertmanagers", "podmonitors", "probes", "prometheusagents", "prometheuses", "prometheusrules", "scrapeconfigs", "servicemonitors", "thanosrulers"].map((p) => `${p}.monitoring.coreos.com`);
/** Case c's override; the later cases start from it. */
const OVERRIDE = { prometheusReplicas: 2, scrapeInterval: "1m", scrapeServices: ["productpage", "reviews"] };
const TO = VERSIONS.prometheusOperator.version;
const FROM = VERSIONS.prometheusOperator.upgradeFrom;
const BOOKINFO_DEPLOYMENTS = ["details-v1", "productpage-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3"];

let w: World;
let operator: ChildProcess | undefined;
before(async () => {
    w = await setUp();
});
after(() => tearDown());

function uid(kind: string, name: string, ns?: string): string {
    return kubectlJson(w, ["get", kind, name, ...(ns ? ["-n", ns] : [])]).metadata.uid;
}

function condition(obj: any, type: string): string | undefined {
    return obj.status?.conditions?.find((c: { type: string }) => c.type === type)?.status;
}

describe(`upgrade: operator ${FROM} -> ${TO} (its own stack, CRDs deleted on destroy)`, () => {
    const stack = "upgrade";

    test(`up at ${FROM}, then at ${TO}: CRDs updated in place, no custom resource deleted`, async () => {
        await newStack(w, stack, stackConfig(w, { operatorVersion: FROM, retainCrds: false }));
        await pulumiOk(w, ["up", "--yes", "--stack", stack]);
        assert.equal(kubectlJson(w, ["get", "deployment", "prometheus-operator", "-n", "default"]).spec.template.spec.containers[0].image.endsWith(`:${FROM}`), true);
        const before = {
            prometheus: uid("prometheus", "mesh", "monitoring"),
            sm: uid("servicemonitor", "productpage", "bookinfo"),
            crd: uid("crd", "prometheuses.monitoring.coreos.com"),
        };

        await setConfig(w, stack, stackConfig(w, { operatorVersion: TO, retainCrds: false }));
        const planned = await plannedChanges(w, stack);
        assert.deepEqual(planned.filter((s) => s.op !== "update").map((s) => `${s.op} ${s.type} ${s.name}`), []);
        assert.ok(planned.some((s) => s.op === "update" && s.type === "pulumi-nodejs:dynamic/kubernetes:CrdSet"), "the CRD set is updated");
        assert.ok(!planned.some((s) => s.type.startsWith("kubernetes:monitoring.coreos.com")), "no custom resource changes");

        await pulumiOk(w, ["up", "--yes", "--stack", stack]);
        assert.equal(kubectlJson(w, ["get", "deployment", "prometheus-operator", "-n", "default"]).spec.template.spec.containers[0].image.endsWith(`:${TO}`), true);
        assert.deepEqual({
            prometheus: uid("prometheus", "mesh", "monitoring"),
            sm: uid("servicemonitor", "productpage", "bookinfo"),
            crd: uid("crd", "prometheuses.monitoring.coreos.com"),
        }, before);
        for (const name of MONITORING_CRDS) {
            const crd = kubectlJson(w, ["get", "crd", name]);
            assert.equal(crd.metadata.annotations["operator.prometheus.io/version"], "0.93.0", name);
            assert.equal(condition(crd, "Established"), "True", name);
        }
        await pulumiOk(w, ["preview", "--expect-no-changes", "--stack", stack]);
    });

    test("destroy with retainCrds off removes the CRDs too", async () => {
        await pulumiOk(w, ["destroy", "--yes", "--stack", stack]);
        for (const crd of MONITORING_CRDS) assert.equal(exists(w, "crd", crd), false, crd);
        assert.equal(exists(w, "namespace", "bookinfo") && kubectlJson(w, ["get", "namespace", "bookinfo"]).status.phase !== "Terminating", false);
        await pulumiOk(w, ["stack", "rm", "--yes", "--stack", stack]);
    });
});

/** The last main before the upstream objects became the SDK's classes: the stacks teams run today. */
const EARLIER_MAIN = "8ce0ce471fc5901768e703bb34c70d3154a79955";

describe("upgrade: a stack made by earlier code moves to this code (its own stack)", () => {
    const stack = "moved";

    test("nothing is planned for deletion or replacement, only what is new is created, and every object keeps its uid", async () => {
        // Without the settings the earlier code did not know; they are added for the move.
        const config = stackConfig(w, { retainCrds: false });
        const unknownEarlier = [configKey("prometheusStorageClass"), configKey("awaitServiceMonitors")] as string[];
        await newStack(w, stack, Object.fromEntries(Object.entries(config).filter(([k]) => !unknownEarlier.includes(k))));
        const earlier = projectAt(w, EARLIER_MAIN, [stack]);
        await pulumiOk(w, ["--cwd", earlier, "up", "--yes", "--stack", stack]);
        await setConfig(w, stack, config);
        const uids = () => [
            uid("deployment", "prometheus-operator", "default"),
            uid("clusterrolebinding", "prometheus-operator"),
            uid("deployment", "productpage-v1", "bookinfo"),
            uid("service", "productpage", "bookinfo"),
            uid("prometheus", "mesh", "monitoring"),
        ];
        const before = uids();

        const planned = await plannedChanges(w, stack);
        // Discovery's grants move from a cluster-wide role to one in the app namespace; the alert rules, the
        // dashboard and Prometheus's scrapes of its own pod are new; nothing else is created or deleted.
        assert.deepEqual(planned.filter((s) => s.op !== "update").map((s) => `${s.op} ${s.type} ${s.name}`).sort(), [
            "create asm-prometheus-mtls:monitoring:MtlsScrapeAlerts alerts",
            "create asm-prometheus-mtls:monitoring:MtlsScrapeDashboard dashboard",
            "create kubernetes:core/v1:ConfigMap dashboard-dashboard",
            "create kubernetes:monitoring.coreos.com/v1:PrometheusRule alerts-rules",
            "create kubernetes:monitoring.coreos.com/v1alpha1:ScrapeConfig prometheus-agent", "create kubernetes:monitoring.coreos.com/v1alpha1:ScrapeConfig prometheus-self",
            "create kubernetes:rbac.authorization.k8s.io/v1:Role prometheus-discovery", "create kubernetes:rbac.authorization.k8s.io/v1:RoleBinding prometheus-discovery",
            "delete kubernetes:rbac.authorization.k8s.io/v1:ClusterRole prometheus-role", "delete kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding prometheus-binding",
        ]);
        // No moment without discovery: all through the up, the API server's authorizer lets Prometheus list its targets.
        const sa = "--as=system:serviceaccount:monitoring:prometheus-mesh";
        const answers: string[] = [];
        let upDone = false;
        const watcher = (async () => {
            while (!upDone) {
                answers.push(spawnSync(path.join(w.bin, "kubectl"), ["--kubeconfig", w.kubeconfig, "auth", "can-i", "list", "endpointslices.discovery.k8s.io", "-n", "bookinfo", sa], { env: w.env, encoding: "utf8" }).stdout.trim());
                await new Promise((r) => setTimeout(r, 50));
            }
        })();
        try {
            await pulumiOk(w, ["up", "--yes", "--stack", stack]);
        } finally {
            upDone = true;
            await watcher;
        }
        assert.ok(answers.length >= 10, `${answers.length} checks during the up`);
        assert.deepEqual([...new Set(answers)], ["yes"], `answers during the up: ${answers.join(",")}`);
        assert.equal(exists(w, "clusterrolebinding", "prometheus-monitoring-mesh"), false, "the cluster-wide binding is gone");
        assert.deepEqual(uids(), before);
        await pulumiOk(w, ["preview", "--expect-no-changes", "--stack", stack]);
        await pulumiOk(w, ["destroy", "--yes", "--stack", stack]);
        await pulumiOk(w, ["stack", "rm", "--yes", "--stack", stack]);
        kubectl(w, ["wait", "--for=delete", "namespace/bookinfo", "namespace/monitoring", "--timeout=120s"]);
    });
});

/** Step 2 and 3 of the guide, as it prints them (kubectl apply in default). */
const GUIDE_OBJECTS = [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "prometheus-full-access", namespace: "default" } },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "prometheus-full-access" }, rules: [{ apiGroups: [""], resources: ["services", "endpoints", "pods"], verbs: ["get", "list", "watch"] }] },
    {
        apiVersion: "monitoring.coreos.com/v1", kind: "Prometheus", metadata: { name: "default", namespace: "default", labels: { prometheus: "default" } },
        spec: { replicas: 2, version: "v2.26.0", serviceAccountName: "prometheus-full-access", serviceMonitorSelector: { matchLabels: { team: "bookinfo" } } },
    },
    {
        apiVersion: "monitoring.coreos.com/v1", kind: "ServiceMonitor", metadata: { name: "productpage", namespace: "default", labels: { app: "productpage", team: "bookinfo" } },
        spec: { selector: { matchLabels: { app: "productpage" } }, endpoints: [{ port: "http-9080", interval: "30s", path: "/metrics", scheme: "https", tlsConfig: { caFile: "/etc/prom-certs/root-cert.pem", certFile: "/etc/prom-certs/cert-chain.pem", keyFile: "/etc/prom-certs/key.pem", insecureSkipVerify: true } }] },
    },
];

describe("adoption: the guide's hand-made install taken over (its own stack)", () => {
    const stack = "adopt";
    const bundleUrl = () => `${w.mirrorUrl}/${atVersion(mirrorPath("operator"), TO)}`;
    const bookinfoUrl = () => `${w.mirrorUrl}/${atVersion(mirrorPath("bookinfo"), VERSIONS.istio.version)}`;
    const get = (kind: string, name: string) => kubectlJson(w, ["get", kind, name, "-n", "default", "--show-managed-fields"]);
    const managers = (o: any) => o.metadata.managedFields.map((f: any) => f.manager).sort();
    // The guide's names mapped onto the stack's settings: everything in default, the Prometheus called default.
    const guideLayout = { appNamespace: "default", monitoringNamespace: "default", prometheusName: "default" };

    test("refused without adoptExisting, nothing applied; with it, up takes over without a deletion, Bookinfo without a restart, the operator restarted once for its status gate, and nothing is left to change", async () => {
        // The guide, by hand, all in default: Bookinfo with injection, the operator bundle, its Prometheus and ServiceMonitor.
        kubectl(w, ["label", "namespace", "default", "istio-injection=enabled"]);
        kubectl(w, ["apply", "-n", "default", "-f", bookinfoUrl()]);
        kubectl(w, ["create", "-f", bundleUrl()]);
        kubectl(w, ["wait", "--for=condition=Established", ...MONITORING_CRDS.map((n) => `crd/${n}`), "--timeout=120s"]);
        const guideFile = path.join(w.tmp, "guide-objects.yaml");
        writeFileSync(guideFile, GUIDE_OBJECTS.map((o) => YAML.stringify(o)).join("---\n"));
        kubectl(w, ["apply", "-f", guideFile]);
        const handMade = Object.fromEntries(([["deployment", "prometheus-operator"], ["deployment", "productpage-v1"], ["prometheus", "default"], ["servicemonitor", "productpage"]] as const).map(([k, n]) => [`${k}/${n}`, get(k, n)]));
        assert.ok(!Object.values(handMade).some((o) => managers(o).some((m: string) => m.startsWith("pulumi"))));
        const replicaSets = (owner: string) => kubectlJson(w, ["get", "replicasets", "-n", "default"]).items.filter((rs: any) => rs.metadata.ownerReferences?.some((r: any) => r.uid === owner)).map((rs: any) => rs.metadata.uid).sort();
        const replicaSetsBefore = Object.fromEntries(["deployment/prometheus-operator", "deployment/productpage-v1"].map((key) => [key, replicaSets(handMade[key].metadata.uid)]));
        assert.ok(Object.values(replicaSetsBefore).every((l) => l.length === 1), JSON.stringify(replicaSetsBefore));

        await newStack(w, stack, stackConfig(w, guideLayout));
        const refused = await pulumi(w, ["up", "--yes", "--stack", stack]);
        assert.notEqual(refused.code, 0);
        assert.match(refused.stdout + refused.stderr, /the cluster already has Deployment default\/details-v1, default\/productpage-v1, default\/prometheus-operator, .*made outside Pulumi \(field managers: .*kubectl-create.*\)\. Set asm-prometheus-mtls:adoptExisting true/);
        for (const [key, o] of Object.entries(handMade)) assert.deepEqual(managers(get(...(key.split("/") as [string, string]))), managers(o), `the refused up applied nothing to ${key}`);

        await setConfig(w, stack, stackConfig(w, { ...guideLayout, adoptExisting: true }));
        await pulumiOk(w, ["up", "--yes", "--stack", stack]);
        for (const [key, o] of Object.entries(handMade)) {
            const now = get(...(key.split("/") as [string, string]));
            // The same objects: no custom resource deleted and created again.
            assert.equal(now.metadata.uid, o.metadata.uid, key);
            assert.ok(managers(now).some((m: string) => m.startsWith("pulumi-kubernetes")), `${key}: ${managers(now).join(",")}`);
        }
        // Bookinfo's pod template untouched and no new ReplicaSet: no rollout, no restart. (Its generation does
        // move: a Deployment counts annotation changes too, and adoption adds patchForce.)
        assert.deepEqual(get("deployment", "productpage-v1").spec.template, handMade["deployment/productpage-v1"].spec.template);
        assert.deepEqual(replicaSets(handMade["deployment/productpage-v1"].metadata.uid), replicaSetsBefore["deployment/productpage-v1"]);
        // The operator's template differs by the status gate alone: one rollout of a stateless Deployment.
        const operatorTemplate = structuredClone(handMade["deployment/prometheus-operator"].spec.template);
        operatorTemplate.spec.containers[0].args.push(OPERATOR_STATUS_GATE);
        assert.deepEqual(get("deployment", "prometheus-operator").spec.template, operatorTemplate);
        // The guide's Prometheus now runs as the stack declares it: the mTLS scrape class, its own ServiceAccount.
        const prometheus = get("prometheus", "default");
        assert.equal(prometheus.spec.scrapeClasses[0].name, "istio-mtls");
        assert.equal(prometheus.spec.serviceAccountName, "prometheus-default");
        assert.equal(get("servicemonitor", "productpage").spec.endpoints[0].scheme, "https");
        // default is labelled, not owned: there is no Namespace resource to delete it.
        assert.equal(kubectlJson(w, ["get", "namespace", "default"]).metadata.labels["istio-injection"], "enabled");
        await pulumiOk(w, ["preview", "--expect-no-changes", "--stack", stack]);

        // The operator and Bookinfo outlive the stack, as chosen; the stack's Prometheus and ServiceMonitor go.
        await setConfig(w, stack, stackConfig(w, { ...guideLayout, adoptExisting: true, keepOnDestroy: ["operator", "bookinfo"] }));
        await pulumiOk(w, ["up", "--yes", "--stack", stack]);
        await pulumiOk(w, ["destroy", "--yes", "--stack", stack]);
        for (const key of ["deployment/prometheus-operator", "deployment/productpage-v1"]) assert.equal(get(...(key.split("/") as [string, string])).metadata.uid, handMade[key].metadata.uid, key);
        assert.equal(exists(w, "prometheus", "default", "default"), false);
        assert.equal(exists(w, "servicemonitor", "productpage", "default"), false);
        const ns = kubectlJson(w, ["get", "namespace", "default"]);
        assert.equal(ns.status.phase, "Active");
        assert.equal(ns.metadata.labels["istio-injection"], "enabled");
        for (const crd of MONITORING_CRDS) assert.equal(exists(w, "crd", crd), true, `${crd} retained`);
        await pulumiOk(w, ["stack", "rm", "--yes", "--stack", stack]);

        // Back to an empty cluster for the next stacks.
        kubectl(w, ["delete", "--ignore-not-found", "-f", guideFile]);
        kubectl(w, ["delete", "--ignore-not-found", "-n", "default", "-f", bookinfoUrl()]);
        kubectl(w, ["delete", "--ignore-not-found", "-f", bundleUrl()]);
        kubectl(w, ["label", "namespace", "default", "istio-injection-"]);
        kubectl(w, ["wait", "--for=delete", "deployment/prometheus-operator", "deployment/productpage-v1", "-n", "default", "--timeout=120s"]);
    });
});

describe("CRDs another tool manages (its own stack)", () => {
    const stack = "crd-owner";

    test("are not taken over without adoptExisting, nothing applied; with it, they are", async () => {
        // One CRD of the bundle, applied by Helm (as its field manager says).
        const probes = (await upstreamObjects("operator", TO)).find((o) => o.metadata.name === "probes.monitoring.coreos.com")!;
        const file = path.join(w.tmp, "helm-probes.json");
        writeFileSync(file, JSON.stringify(probes));
        kubectl(w, ["apply", "--server-side", "--field-manager=helm", "-f", file]);

        await newStack(w, stack, stackConfig(w, { retainCrds: false }));
        const refused = await pulumi(w, ["up", "--yes", "--stack", stack]);
        assert.notEqual(refused.code, 0);
        assert.match(refused.stdout + refused.stderr, /CRDs managed by another tool: probes\.monitoring\.coreos\.com \(helm\)\. Nothing was applied\. Set asm-prometheus-mtls:adoptExisting true/);
        for (const crd of MONITORING_CRDS.filter((c) => c !== probes.metadata.name)) assert.equal(exists(w, "crd", crd), false, crd);

        await setConfig(w, stack, stackConfig(w, { retainCrds: false, adoptExisting: true }));
        await pulumiOk(w, ["up", "--yes", "--stack", stack]);
        const managers = kubectlJson(w, ["get", "crd", probes.metadata.name, "--show-managed-fields"]).metadata.managedFields.map((f: any) => f.manager);
        assert.ok(managers.includes("asm-prometheus-mtls"), managers.join(","));
        await pulumiOk(w, ["destroy", "--yes", "--stack", stack]);
        await pulumiOk(w, ["stack", "rm", "--yes", "--stack", stack]);
        for (const crd of MONITORING_CRDS) assert.equal(exists(w, "crd", crd), false, crd);
        kubectl(w, ["wait", "--for=delete", "namespace/bookinfo", "namespace/monitoring", "--timeout=120s"]);
    });
});

describe("the operator in a namespace of its own (its own stack)", () => {
    const stack = "operator-ns";
    const ns = "prometheus-operator";

    test("operatorNamespace moves the bundle's objects and its binding's subject there, without injection; destroy removes the namespace", async () => {
        await newStack(w, stack, stackConfig(w, { retainCrds: false, operatorNamespace: ns }));
        await pulumiOk(w, ["up", "--yes", "--stack", stack]);
        for (const kind of ["deployment", "serviceaccount", "service"]) {
            assert.equal(exists(w, kind, "prometheus-operator", ns), true, kind);
            assert.equal(exists(w, kind, "prometheus-operator", "default"), false, `${kind} in default`);
        }
        assert.deepEqual(kubectlJson(w, ["get", "clusterrolebinding", "prometheus-operator"]).subjects, [{ kind: "ServiceAccount", name: "prometheus-operator", namespace: ns }]);
        // The operator talks to the API server only: no sidecar.
        assert.equal(kubectlJson(w, ["get", "namespace", ns]).metadata.labels?.["istio-injection"], undefined);
        await pulumiOk(w, ["preview", "--expect-no-changes", "--stack", stack]);
        await pulumiOk(w, ["destroy", "--yes", "--stack", stack]);
        await pulumiOk(w, ["stack", "rm", "--yes", "--stack", stack]);
        kubectl(w, ["wait", "--for=delete", `namespace/${ns}`, "namespace/bookinfo", "namespace/monitoring", "--timeout=120s"]);
        for (const crd of MONITORING_CRDS) assert.equal(exists(w, "crd", crd), false, crd);
    });
});

describe("a stack like dev", () => {
    const stack = "dev";

    test("a. pulumi up applies everything the API server then holds", async () => {
        await newStack(w, stack, stackConfig(w));
        const up = await pulumiOk(w, ["up", "--yes", "--stack", stack]);
        // The engine finds its plugins where a released CLI keeps them, and the local world's provider skew
        // is accepted once (scripts/lib.sh): any warning left is one a user would have to look into.
        assert.deepEqual(warningLines(up.stdout + up.stderr), []);
        // The language host runs the program on the toolchain's Node.js (toolchain/versions.env), as in the demo.
        const about = JSON.parse((await pulumiOk(w, ["about", "--json", "--stack", stack])).stdout);
        const pinned = /^NODE_VERSION=(\S+)$/m.exec(readFileSync(path.join(__dirname, "..", "..", "toolchain", "versions.env"), "utf8"))![1];
        assert.equal(about.runtime.version, `v${pinned}`);

        for (const name of MONITORING_CRDS) {
            const crd = kubectlJson(w, ["get", "crd", name, "--show-managed-fields"]);
            assert.equal(condition(crd, "Established"), "True", name);
            // Applied server-side under the stack's own field manager, as kubectl apply --server-side would.
            assert.deepEqual(crd.metadata.managedFields.filter((f: any) => f.operation === "Apply").map((f: any) => f.manager), ["asm-prometheus-mtls"], name);
        }
        assert.equal(condition(kubectlJson(w, ["get", "deployment", "prometheus-operator", "-n", "default"]), "Available"), "True");

        for (const ns of ["bookinfo", "monitoring"]) {
            assert.equal(kubectlJson(w, ["get", "namespace", ns]).metadata.labels["istio-injection"], "enabled", ns);
        }
        const prom = kubectlJson(w, ["get", "prometheus", "mesh", "-n", "monitoring"]);
        assert.deepEqual(prom.spec.podMetadata.annotations, sidecarAnnotations());
        assert.deepEqual(prom.spec.volumes, [certVolume()]);
        assert.deepEqual(prom.spec.volumeMounts, [prometheusCertMount()]);
        assert.deepEqual(prom.spec.scrapeClasses, [{ name: "istio-mtls", tlsConfig: scrapeTlsConfig(), fallbackScrapeProtocol: "PrometheusText0.0.4" }]);
        assert.deepEqual(prom.spec.arbitraryFSAccessThroughSMs, { deny: true });
        assert.equal(prom.spec.version, VERSIONS.prometheus.version);
        assert.equal(prom.spec.replicas, 1);

        const sm = kubectlJson(w, ["get", "servicemonitor", "productpage", "-n", "bookinfo"]);
        assert.deepEqual(sm.spec.endpoints, [{ port: "http", scheme: "https", interval: "30s", path: "/metrics" }]);
        assert.equal(sm.spec.scrapeClass, "istio-mtls");
        // The selector matches the labels of the Service that is really there, on the port it really names.
        const svc = kubectlJson(w, ["get", "service", "productpage", "-n", "bookinfo"]);
        for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) assert.equal(svc.metadata.labels[k], v);
        assert.ok(svc.spec.ports.some((p: { name: string }) => p.name === sm.spec.endpoints[0].port));

        const sa = kubectlJson(w, ["get", "serviceaccount", prom.spec.serviceAccountName, "-n", "monitoring"]);
        const binding = kubectlJson(w, ["get", "rolebinding", "prometheus-monitoring-mesh", "-n", "bookinfo"]);
        assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: sa.metadata.name, namespace: "monitoring" }]);
        // The API server's own authorizer agrees that Prometheus may discover its targets there, and nowhere else.
        const as = `--as=system:serviceaccount:monitoring:${sa.metadata.name}`;
        for (const res of ["endpointslices.discovery.k8s.io", "services", "pods"]) {
            for (const verb of ["list", "watch"]) assert.equal(kubectl(w, ["auth", "can-i", verb, res, "-n", "bookinfo", as]).trim(), "yes", `${verb} ${res}`);
            for (const elsewhere of [["-n", "monitoring"], ["-n", "default"], ["--all-namespaces"]]) {
                assert.equal(spawnNo(() => kubectl(w, ["auth", "can-i", "list", res, ...elsewhere, as])), "no", `list ${res} ${elsewhere.join(" ")}`);
            }
        }
        assert.equal(spawnNo(() => kubectl(w, ["auth", "can-i", "get", "secrets", "-n", "bookinfo", as])), "no");

        const deployments = kubectlJson(w, ["get", "deployments", "-n", "bookinfo"]).items;
        assert.deepEqual(deployments.map((d: any) => d.metadata.name).sort(), BOOKINFO_DEPLOYMENTS);
        for (const d of deployments) assert.equal(condition(d, "Available"), "True", d.metadata.name);
        assert.deepEqual(kubectlJson(w, ["get", "services", "-n", "bookinfo"]).items.map((s: any) => s.metadata.name).sort(), ["details", "productpage", "ratings", "reviews"]);

        const outputs = JSON.parse((await pulumiOk(w, ["stack", "output", "--json", "--stack", stack])).stdout);
        assert.equal(outputs.portForwardCommand, "kubectl -n monitoring port-forward svc/prometheus-operated 9090");
        assert.equal(outputs.prometheusUrl, "http://localhost:9090");
        assert.equal(outputs.checkQuery, "python_gc_objects_collected_total");
        assert.deepEqual(outputs.serviceMonitors, ["productpage"]);
        // The printed command writes the dashboard's JSON, for an import by hand.
        const out = mkdtempSync(path.join(w.tmp, "dashboard-"));
        execFileSync("bash", ["-c", outputs.dashboardCommand], { cwd: out, env: w.env });
        const file = readdirSync(out);
        assert.equal(file.length, 1);
        assert.equal(JSON.parse(readFileSync(path.join(out, file[0]), "utf8")).uid, file[0].replace(/\.json$/, ""));
    });

    test("a. state: the kubeconfig is encrypted and no CRD schema is stored", () => {
        const state = readFileSync(stateFile(w, stack), "utf8");
        // The CRD set keeps names and digests; the ten schemas alone are 2.4 MB.
        assert.ok(state.length < 1_000_000, `state is ${state.length} bytes`);
        // A schema keyword (178 times in the bundle) and a text from the first schema.
        assert.equal(state.includes("x-kubernetes-int-or-string"), false);
        assert.equal(state.includes("AlertmanagerConfig configures the Prometheus Alertmanager"), false);
        const key = clientKeyData(w);
        assert.ok(!state.includes(key), "client key in plain text in the state");
        // The providers hold the path of the file the program wrote the kubeconfig to, readable by its owner only.
        const file = path.join(w.project, kubeconfigFile(stack));
        assert.ok(readFileSync(file, "utf8").includes(key));
        assert.equal(statSync(file).mode & 0o777, 0o600);
        const providers = JSON.parse(state).checkpoint.latest.resources.filter((r: { type: string }) => r.type === "pulumi:providers:kubernetes" || r.type === "pulumi-nodejs:dynamic/kubernetes:CrdSet");
        assert.deepEqual(providers.map((r: { inputs: { kubeconfig: string } }) => r.inputs.kubeconfig), [kubeconfigFile(stack), kubeconfigFile(stack)]);
        let longest = 0;
        JSON.parse(state, (_k, v) => {
            if (typeof v === "string") longest = Math.max(longest, v.length);
            return v;
        });
        assert.ok(longest < 200_000, `a ${longest}-character string in the state`);
    });

    test("a. logs: the CLI's automatic logs under PULUMI_HOME hold no plain-text client key", () => {
        const keyData = clientKeyData(w);
        // The base64 form as given, and a line of the PEM body inside it.
        const pemLine = Buffer.from(keyData, "base64").toString("utf8").split("\n")[1];
        const dir = path.join(w.env.PULUMI_HOME!, "logs");
        const files = readdirSync(dir);
        assert.ok(files.length > 0, "no automatic log to check");
        for (const f of files) {
            const raw = readFileSync(path.join(dir, f));
            // Logs of stack operations are encrypted with the stack's secrets provider; the others are gzip.
            const text = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw, { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString("utf8") : raw.toString("utf8");
            assert.ok(!text.includes(keyData) && !text.includes(pemLine), `client key in plain text in ${f}`);
        }
    });

    test("a. temporary files: the provider's copies of the kubeconfig stay in the run's TMPDIR, none in the system's", () => {
        const copies = (dir: string) => readdirSync(dir).filter((f) => /^kubeconfig\d+$/.test(f)).map((f) => path.join(dir, f));
        // The provider writes the kubeconfig it is given to a file for Helm and never removes it.
        assert.ok(copies(w.env.TMPDIR!).some((f) => readFileSync(f, "utf8").includes(clientKeyData(w))), "the provider wrote no copy where TMPDIR points");
        const leaked = copies(os.tmpdir()).filter((f) => readFileSync(f, "utf8").includes(clientKeyData(w)));
        assert.deepEqual(leaked, []);
    });

    test("a. the real prometheus-operator reconciles our Prometheus and ServiceMonitor", async () => {
        operator = startOperator(w);
        const sts = await eventually<any>("StatefulSet prometheus-mesh", () => (exists(w, "statefulset", "prometheus-mesh", "monitoring") ? kubectlJson(w, ["get", "statefulset", "prometheus-mesh", "-n", "monitoring"]) : undefined));
        // The Service the port-forward output names is the one the operator creates.
        const outputs = JSON.parse((await pulumiOk(w, ["stack", "output", "--json", "--stack", stack])).stdout);
        const [, ns, svc] = /^kubectl -n (\S+) port-forward svc\/(\S+) 9090$/.exec(outputs.portForwardCommand)!;
        await eventually(`Service ${svc}`, () => (exists(w, "service", svc, ns) ? true : undefined));
        assert.equal(kubectlJson(w, ["get", "service", svc, "-n", ns]).spec.ports[0].port, 9090);

        const pod = sts.spec.template;
        for (const [k, v] of Object.entries(sidecarAnnotations())) assert.equal(pod.metadata.annotations[k], v, k);
        assert.equal(pod.metadata.labels["sidecar.istio.io/inject"], "true");
        assert.deepEqual(pod.spec.volumes.find((v: { name: string }) => v.name === "istio-certs"), certVolume());
        const prometheusContainer = pod.spec.containers.find((c: { name: string }) => c.name === "prometheus");
        assert.deepEqual(prometheusContainer.volumeMounts.find((m: { name: string }) => m.name === "istio-certs"), prometheusCertMount());
        assert.equal(prometheusContainer.image.endsWith(`:${VERSIONS.prometheus.version}`), true, prometheusContainer.image);
        assert.deepEqual(prometheusContainer.resources, { requests: { cpu: PROMETHEUS_RESOURCES.cpuRequest, memory: PROMETHEUS_RESOURCES.memoryRequest }, limits: { memory: PROMETHEUS_RESOURCES.memoryLimit } });
        // Its data on a claim of the cluster's default class (the local cluster's volumes), bounded below its size.
        assert.deepEqual(sts.spec.volumeClaimTemplates.map((t: any) => [t.metadata.name, t.spec.storageClassName, t.spec.resources.requests.storage]), [["prometheus-mesh-db", undefined, "20Gi"]]);
        assert.ok(prometheusContainer.volumeMounts.some((m: any) => m.name === "prometheus-mesh-db" && m.mountPath === "/prometheus"));
        const claim = await eventually<any>("the claim bound", () => {
            const c = kubectlJson(w, ["get", "pvc", "prometheus-mesh-db-prometheus-mesh-0", "-n", "monitoring"]);
            return c.status?.phase === "Bound" ? c : undefined;
        });
        assert.equal(claim.spec.storageClassName, "local-disk");

        const job = await eventually<any>("the productpage scrape job", () => generatedJobs(w).find((j) => j.job_name === "serviceMonitor/bookinfo/productpage/0"));
        const tls = scrapeTlsConfig();
        assert.equal(job.scheme, "https");
        assert.deepEqual(job.tls_config, { ca_file: tls.caFile, cert_file: tls.certFile, key_file: tls.keyFile, insecure_skip_verify: true });
        assert.equal(job.fallback_scrape_protocol, "PrometheusText0.0.4");
        assert.equal(job.scrape_interval, "30s");

        await eventually("Prometheus Available", () => (condition(kubectlJson(w, ["get", "prometheus", "mesh", "-n", "monitoring"]), "Available") === "True" ? true : undefined));
        assert.equal(condition(kubectlJson(w, ["get", "prometheus", "mesh", "-n", "monitoring"]), "Reconciled"), "True");
    });

    test("a. the operator loads the alert rules and Prometheus's scrapes of its own pod; promtool's cases pass on the rule file Prometheus reads", async () => {
        const own = await eventually<any[]>("the self scrape jobs", () => {
            const jobs = generatedJobs(w).filter((j) => j.job_name.startsWith("scrapeConfig/monitoring/"));
            return jobs.length === 2 ? jobs : undefined;
        });
        const byName = Object.fromEntries(own.map((j) => [j.job_name, j]));
        const jobLabel = (j: any) => j.relabel_configs.find((r: any) => r.target_label === "job")?.replacement;
        const self = byName["scrapeConfig/monitoring/prometheus-mesh-self"];
        assert.deepEqual(self.static_configs.map((c: any) => c.targets), [["localhost:9090"]]);
        assert.equal(jobLabel(self), SELF_JOBS.prometheus);
        const agent = byName["scrapeConfig/monitoring/prometheus-mesh-agent"];
        assert.deepEqual(agent.static_configs.map((c: any) => c.targets), [["localhost:15020"]]);
        assert.equal(agent.metrics_path, "/stats/prometheus");
        assert.equal(jobLabel(agent), SELF_JOBS.agent);
        assert.deepEqual(agent.metric_relabel_configs.map((r: any) => [r.action, r.regex]), [["keep", "istio_agent_.*"]]);

        // The PrometheusRule, as the operator hands it to Prometheus: a file of the mounted rule ConfigMap.
        const config = await eventually<any>("rule_files in the config", () => {
            const c = generatedConfig(w);
            return c.rule_files?.length ? c : undefined;
        });
        // The operator lists a few rule ConfigMaps ahead of need; ours is the first, and the only one with a file.
        assert.ok(config.rule_files.includes("/etc/prometheus/rules/prometheus-mesh-rulefiles-0/*.yaml"), config.rule_files.join(", "));
        const cm = await eventually<any>("the rule ConfigMap", () => (exists(w, "configmap", "prometheus-mesh-rulefiles-0", "monitoring") ? kubectlJson(w, ["get", "configmap", "prometheus-mesh-rulefiles-0", "-n", "monitoring"]) : undefined));
        const all = kubectlJson(w, ["get", "configmaps", "-n", "monitoring"]).items.filter((c: any) => c.metadata.name.startsWith("prometheus-mesh-rulefiles-"));
        const files = Object.keys(cm.data);
        assert.deepEqual(all.flatMap((c: any) => Object.keys(c.data ?? {})), files);
        assert.equal(files.length, 1, files.join(", "));
        assert.match(files[0], /^monitoring-prometheus-mesh-mtls-scrape-.*\.yaml$/);
        const work = mkdtempSync(path.join(w.tmp, "rules-"));
        const r = promtoolTest(path.join(w.bin, "promtool"), work, cm.data[files[0]], ["mtls-scrape.test.yaml"]);
        assert.ok(r.ok, r.out);
    });

    test("a. a foreign ServiceMonitor naming files in the Prometheus pod is refused (arbitraryFSAccessThroughSMs)", async () => {
        const foreign = {
            apiVersion: "monitoring.coreos.com/v1", kind: "ServiceMonitor",
            metadata: { name: "steal-key", namespace: "bookinfo", labels: { "monitoring.asm-prometheus-mtls.io/prometheus": "mesh" } },
            spec: { selector: { matchLabels: { app: "details" } }, endpoints: [{ port: "http", scheme: "https", tlsConfig: { keyFile: scrapeTlsConfig().keyFile, certFile: scrapeTlsConfig().certFile } }] },
        };
        const file = path.join(w.tmp, "foreign-sm.json");
        writeFileSync(file, JSON.stringify(foreign));
        kubectl(w, ["apply", "--server-side", "-f", file]);
        await eventually("the InvalidConfiguration event", () => kubectlJson(w, ["get", "events", "-n", "bookinfo", "--field-selector", "involvedObject.name=steal-key"]).items.find((e: any) => e.reason === "InvalidConfiguration"));
        assert.equal(generatedJobs(w).some((j) => j.job_name.startsWith("serviceMonitor/bookinfo/steal-key/")), false);
        assert.ok(generatedJobs(w).some((j) => j.job_name === "serviceMonitor/bookinfo/productpage/0"));
        kubectl(w, ["delete", "-f", file]);
    });

    test("a. a ServiceMonitor its Prometheus rejects (a scrape class it lacks) fails up with the operator's reason; up --refresh heals", async () => {
        const accepted = () => kubectlJson(w, ["get", "servicemonitor", "productpage", "-n", "bookinfo"]).status?.bindings
            ?.find((b: any) => b.resource === "prometheuses" && b.name === "mesh")?.conditions?.find((c: any) => c.type === "Accepted")?.status;
        // The operator runs with the stack's status gate, and accepts ours.
        await eventually("productpage Accepted", () => (accepted() === "True" ? true : undefined));
        // Someone renames the Prometheus's scrape class behind the stack's back: the operator drops the monitor.
        kubectl(w, ["patch", "prometheus", "mesh", "-n", "monitoring", "--type=json", "-p", JSON.stringify([{ op: "replace", path: "/spec/scrapeClasses/0/name", value: "renamed" }])]);
        await eventually("productpage rejected", () => (accepted() === "False" ? true : undefined));
        await setConfig(w, stack, stackConfig(w, { awaitServiceMonitors: true }));
        const up = await pulumi(w, ["up", "--yes", "--stack", stack]);
        assert.notEqual(up.code, 0, up.stdout);
        assert.match(up.stdout + up.stderr, /ServiceMonitor bookinfo\/productpage is rejected by Prometheus monitoring\/mesh, which scrapes nothing of it: InvalidConfiguration: .*scrapeClass "istio-mtls" not found in Prometheus scrapeClasses/);
        // A refresh finds the renamed class, the up puts it back, the operator accepts the monitor, the wait passes.
        await pulumiOk(w, ["up", "--refresh", "--yes", "--stack", stack]);
        assert.equal(accepted(), "True");
        // The cases after run without an operator at times: no waits in the stack again.
        await setConfig(w, stack, stackConfig(w));
        await pulumiOk(w, ["up", "--yes", "--stack", stack]);
    });

    test("b. idempotence: a preview right after finds nothing to change and downloads nothing", async () => {
        const before = await mirrorStats(w);
        const preview = await pulumiOk(w, ["preview", "--expect-no-changes", "--stack", stack]);
        assert.deepEqual(await mirrorStats(w), before);
        assert.deepEqual(warningLines(preview.stdout + preview.stderr), []);
    });

    test("b. the program runs with Pulumi.yaml's runtime options: node gets its nodeargs", async () => {
        const { nodeargs } = YAML.parse(readFileSync(path.join(w.project, "Pulumi.yaml"), "utf8")).runtime.options;
        assert.ok(nodeargs, "Pulumi.yaml sets runtime.options.nodeargs");
        // The language host logs the program's command line at verbosity 5.
        const preview = await pulumiOk(w, ["preview", "--expect-no-changes", "--stack", stack, "-v=5", "--logtostderr", "--logflow"]);
        const launch = (preview.stdout + preview.stderr).split("\n").filter((l) => l.includes("Language host launching process:"));
        // The same line, echoed by each log sink; the host joins the binary and its arguments without a space.
        assert.ok(launch.length > 0, "the language host logged no launch");
        for (const l of launch) assert.match(l, new RegExp(`launching process: +\\S*/node ?${nodeargs.replace(/[-=]/g, "\\$&")} \\S+/cmd/run/index\\.js `));
    });

    test("b. the policy pack (policy/): this stack passes it; another team's ServiceMonitor in the STRICT namespace over http fails its preview with the policy's message, and passes over https with the mTLS scrape class", async () => {
        // The local toolchain's language host cannot run a pack folder (no RunPlugin): its executable runs it.
        const pack = path.join(w.project, "policy", "analyzer");
        const ours = await pulumiOk(w, ["preview", "--expect-no-changes", "--stack", stack, "--policy-pack", pack]);
        assert.match(ours.stdout, /asm-prometheus-mtls/);
        assert.doesNotMatch(ours.stdout + ours.stderr, /mandatory|advisory|violation/i);

        // Another team's program, in a project of its own, with the STRICT namespace named in the pack's config
        // (its PeerAuthentication is not in that stack).
        const other = path.join(w.tmp, "other-team");
        mkdirSync(other);
        symlinkSync(path.join(w.project, "node_modules"), path.join(other, "node_modules"));
        writeFileSync(path.join(other, "Pulumi.yaml"), "name: other-team\nruntime: nodejs\nmain: index.js\n");
        writeFileSync(path.join(other, "index.js"), [
            `const k8s = require("@pulumi/kubernetes");`,
            `const provider = new k8s.Provider("cluster", { enableServerSideApply: true });`,
            `const https = process.env.SCRAPE_HTTPS === "true";`,
            `new k8s.apiextensions.CustomResource("reviews", { apiVersion: "monitoring.coreos.com/v1", kind: "ServiceMonitor",`,
            `    metadata: { name: "reviews-other-team", namespace: "bookinfo" },`,
            `    spec: { selector: { matchLabels: { app: "reviews" } }, endpoints: [{ port: "http", ...(https ? { scheme: "https" } : {}) }], ...(https ? { scrapeClass: "istio-mtls" } : {}) } }, { provider });`,
        ].join("\n"));
        const config = path.join(other, "policy-config.json");
        writeFileSync(config, JSON.stringify({ "mtls-scrape-under-strict": { strictNamespaces: ["bookinfo"] } }));
        writeFileSync(path.join(other, "package.json"), JSON.stringify({ name: "other-team", main: "index.js" }));
        const init = await pulumi(w, ["stack", "init", "other", "--secrets-provider", "passphrase"], { cwd: other });
        assert.equal(init.code, 0, init.stderr);
        const preview = (https: boolean) => pulumi(w, ["preview", "--stack", "other", "--policy-pack", pack, "--policy-pack-config", config], { cwd: other, env: { SCRAPE_HTTPS: String(https) } });
        const plain = await preview(false);
        assert.notEqual(plain.code, 0, plain.stdout);
        const out = plain.stdout + plain.stderr;
        assert.match(out, /mtls-scrape-under-strict/);
        assert.match(out, /ServiceMonitor bookinfo\/reviews-other-team selects pods in bookinfo, where STRICT mTLS refuses plain-text scrapes: endpoint 0 uses scheme "http"; accepted: "https"/);
        const fixed = await preview(true);
        assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
        await pulumi(w, ["stack", "rm", "--yes", "--stack", "other"], { cwd: other });
    });

    test("b. drift: a CRD deleted behind the stack's back is found by refresh and applied again", async () => {
        // No custom resource of this kind exists, so deleting its CRD loses nothing.
        const crd = "probes.monitoring.coreos.com";
        kubectl(w, ["delete", "crd", crd, "--wait=true"]);
        await pulumiOk(w, ["refresh", "--yes", "--stack", stack]);
        const planned = await plannedChanges(w, stack);
        assert.deepEqual(planned.map((s) => `${s.op} ${s.type} ${s.name}`), ["update pulumi-nodejs:dynamic/kubernetes:CrdSet operator-crds"]);
        await pulumiOk(w, ["up", "--yes", "--stack", stack]);
        assert.equal(condition(kubectlJson(w, ["get", "crd", crd]), "Established"), "True");
        await pulumiOk(w, ["preview", "--expect-no-changes", "--stack", stack]);
    });

    /**
     * Another identity for the same cluster: a ServiceAccount bound to a ClusterRole, as a kubeconfig that
     * differs from the stack's own only in its user. remove() deletes the account and its binding.
     */
    function serviceAccountKubeconfig(name: string, clusterRole: string): { kubeconfig: string; remove: () => void } {
        kubectl(w, ["create", "serviceaccount", name, "-n", "kube-system"]);
        kubectl(w, ["create", "clusterrolebinding", name, `--clusterrole=${clusterRole}`, `--serviceaccount=kube-system:${name}`]);
        const token = kubectl(w, ["create", "token", name, "-n", "kube-system", "--duration=1h"]).trim();
        const other = YAML.parse(embeddedKubeconfig(w));
        other.users[0].user = { token };
        return {
            kubeconfig: YAML.stringify(other),
            remove: () => {
                kubectl(w, ["delete", "clusterrolebinding", name]);
                kubectl(w, ["delete", "serviceaccount", name, "-n", "kube-system"]);
            },
        };
    }

    test("b. a rotated credential alone is no change: the preview finds none, the up writes nothing", async () => {
        // Another credential with the same rights.
        const rotated = serviceAccountKubeconfig("ci-deployer", "cluster-admin");
        const original = embeddedKubeconfig(w);
        await setKubeconfig(w, stack, rotated.kubeconfig);
        const before = stackWrites(w);
        await pulumiOk(w, ["preview", "--expect-no-changes", "--stack", stack]);
        await pulumiOk(w, ["up", "--yes", "--stack", stack]);
        assert.equal(stackWrites(w) - before, 0, "writes to the cluster after a credential change alone");
        await pulumiOk(w, ["preview", "--expect-no-changes", "--stack", stack]);

        await setKubeconfig(w, stack, original);
        await pulumiOk(w, ["up", "--yes", "--stack", stack]);
        rotated.remove();
    });

    test("b. a pull request's read-only identity previews: no change where there is none, the change where there is one, nothing written", async () => {
        // The preview role's grant, as Kubernetes' own read-only role (view) stands in for ACK's restricted.
        const reader = serviceAccountKubeconfig("ci-preview", "view");
        assert.equal(spawnNo(() => kubectl(w, ["auth", "can-i", "patch", "deployments", "-n", "bookinfo", "--as=system:serviceaccount:kube-system:ci-preview"])), "no");
        const original = embeddedKubeconfig(w);
        const config = stackConfig(w);
        try {
            await setKubeconfig(w, stack, reader.kubeconfig);
            const before = stackWrites(w);
            await pulumiOk(w, ["preview", "--expect-no-changes", "--stack", stack]);
            // A change: the provider's server-side dry run is refused (403), and it shows the diff from the inputs.
            await setConfig(w, stack, { ...config, scrapeInterval: "45s" });
            const planned = await plannedChanges(w, stack);
            assert.deepEqual(planned.map((p) => `${p.op} ${p.type} ${p.name}`).sort(), [
                "update kubernetes:monitoring.coreos.com/v1:ServiceMonitor monitor-productpage-sm",
                "update kubernetes:monitoring.coreos.com/v1alpha1:ScrapeConfig prometheus-agent",
                "update kubernetes:monitoring.coreos.com/v1alpha1:ScrapeConfig prometheus-self",
            ]);
            assert.equal(stackWrites(w) - before, 0, "writes to the cluster by previews");
        } finally {
            await setConfig(w, stack, config);
            await setKubeconfig(w, stack, original);
            reader.remove();
        }
        await pulumiOk(w, ["preview", "--expect-no-changes", "--stack", stack]);
    });

    test("b. a CRD co-owned by a former pulumi-kubernetes field manager is taken over: fields the bundle drops go", async () => {
        // A stack from before the CRD set applied each CRD as its own resource, under pulumi-kubernetes-<id>.
        const crd = "probes.monitoring.coreos.com";
        const live = kubectlJson(w, ["get", "crd", crd]);
        const file = path.join(w.tmp, "former-owner.json");
        writeFileSync(file, JSON.stringify({ apiVersion: live.apiVersion, kind: live.kind, metadata: { name: crd }, spec: live.spec }));
        kubectl(w, ["apply", "--server-side", "--force-conflicts", "--field-manager=pulumi-kubernetes-0123abcd", "-f", file]);
        const managers = () => kubectlJson(w, ["get", "crd", crd, "--show-managed-fields"]).metadata.managedFields.filter((f: any) => f.operation === "Apply").map((f: any) => f.manager).sort();
        assert.deepEqual(managers(), ["asm-prometheus-mtls", "pulumi-kubernetes-0123abcd"]);
        const schemaText = () => JSON.stringify(kubectlJson(w, ["get", "crd", crd]).spec.versions[0].schema.openAPIV3Schema);

        // Stripping the descriptions removes fields: only once nobody else owns them.
        await setConfig(w, stack, stackConfig(w, { stripCrdDescriptions: true }));
        assert.deepEqual((await plannedChanges(w, stack)).map((s) => `${s.op} ${s.type} ${s.name}`), ["update pulumi-nodejs:dynamic/kubernetes:CrdSet operator-crds"]);
        await pulumiOk(w, ["up", "--yes", "--stack", stack]);
        assert.deepEqual(managers(), ["asm-prometheus-mtls"]);
        assert.equal(/"description":"/.test(schemaText()), false);

        await setConfig(w, stack, stackConfig(w));
        await pulumiOk(w, ["up", "--yes", "--stack", stack]);
        assert.ok(/"description":"/.test(schemaText()));
        await pulumiOk(w, ["preview", "--expect-no-changes", "--stack", stack]);
    });

    test("c. an override changes exactly what it should, replacing nothing", async () => {
        await setConfig(w, stack, stackConfig(w, OVERRIDE));
        const planned = await plannedChanges(w, stack);
        assert.deepEqual(planned.map((s) => `${s.op} ${s.type} ${s.name}`).sort(), [
            "create asm-prometheus-mtls:monitoring:MtlsServiceMonitor monitor-reviews",
            "create kubernetes:monitoring.coreos.com/v1:ServiceMonitor monitor-reviews-sm",
            "create kubernetes:policy/v1:PodDisruptionBudget prometheus-pdb",
            "update kubernetes:monitoring.coreos.com/v1:Prometheus prometheus-prometheus",
            // The new ServiceMonitor's pool joins MtlsScrapeNoTarget; Prometheus's own scrapes take the interval.
            "update kubernetes:monitoring.coreos.com/v1:PrometheusRule alerts-rules",
            "update kubernetes:monitoring.coreos.com/v1:ServiceMonitor monitor-productpage-sm",
            "update kubernetes:monitoring.coreos.com/v1alpha1:ScrapeConfig prometheus-agent",
            "update kubernetes:monitoring.coreos.com/v1alpha1:ScrapeConfig prometheus-self",
        ]);
        const promUid = uid("prometheus", "mesh", "monitoring");
        await pulumiOk(w, ["up", "--yes", "--stack", stack]);
        assert.equal(kubectlJson(w, ["get", "prometheus", "mesh", "-n", "monitoring"]).spec.replicas, 2);
        assert.equal(uid("prometheus", "mesh", "monitoring"), promUid);
        assert.equal(kubectlJson(w, ["get", "servicemonitor", "productpage", "-n", "bookinfo"]).spec.endpoints[0].interval, "1m");
        assert.equal(kubectlJson(w, ["get", "servicemonitor", "reviews", "-n", "bookinfo"]).spec.endpoints[0].port, "http");
        await pulumiOk(w, ["preview", "--expect-no-changes", "--stack", stack]);
        // The operator carries the change through: two replicas, a job for the new ServiceMonitor.
        await eventually("2 replicas", () => (kubectlJson(w, ["get", "statefulset", "prometheus-mesh", "-n", "monitoring"]).spec.replicas === 2 ? true : undefined));
        // The real scheduler puts them on nodes of different zones, each with a claim bound to a volume there,
        // and the budget lets a drain evict one of them.
        const pods = await eventually<any[]>("2 scheduled Prometheus pods", () => {
            const items = kubectlJson(w, ["get", "pods", "-n", "monitoring", "-l", "app.kubernetes.io/name=prometheus"]).items.filter((p: any) => p.spec.nodeName);
            return items.length === 2 ? items : undefined;
        });
        const nodes = pods.map((p) => kubectlJson(w, ["get", "node", p.spec.nodeName]));
        assert.notEqual(nodes[0].metadata.name, nodes[1].metadata.name);
        assert.notEqual(nodes[0].metadata.labels["topology.kubernetes.io/zone"], nodes[1].metadata.labels["topology.kubernetes.io/zone"]);
        for (const p of pods) {
            const claim = kubectlJson(w, ["get", "pvc", `prometheus-mesh-db-${p.metadata.name}`, "-n", "monitoring"]);
            assert.equal(claim.status.phase, "Bound");
            const pv = kubectlJson(w, ["get", "pv", claim.spec.volumeName]);
            assert.deepEqual(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values, [p.spec.nodeName]);
        }
        await eventually("the budget allowing one disruption", () => (kubectlJson(w, ["get", "pdb", "prometheus-mesh", "-n", "monitoring"]).status?.disruptionsAllowed === 1 ? true : undefined));
        const job = await eventually<any>("the reviews scrape job", () => generatedJobs(w).find((j) => j.job_name === "serviceMonitor/bookinfo/reviews/0"));
        assert.equal(job.scheme, "https");
        assert.equal(job.scrape_interval, "1m");
        operator?.kill("SIGTERM");
        operator = undefined;
    });

    test("d. a changed bundle: preview dry-runs the changed CRDs on the API server and lists them; a refused one fails preview and up with nothing applied", async () => {
        const base = stackConfig(w, OVERRIDE);
        const original = await (await fetch(`${w.mirrorUrl}/${atVersion(mirrorPath("operator"), TO)}`)).text();
        // The pinned bundle with CRDs edited, as a file:// download pinned by its own digest.
        const bundle = (label: string, edits: Record<string, (spec: any) => void>) => {
            const docs = YAML.parseAllDocuments(original).map((d) => d.toJS()).filter((d) => d);
            for (const [name, edit] of Object.entries(edits)) edit(docs.find((d) => d.kind === "CustomResourceDefinition" && d.metadata.name === name).spec);
            const text = docs.map((d) => YAML.stringify(d)).join("---\n");
            mkdirSync(path.join(w.tmp, label, TO), { recursive: true });
            writeFileSync(path.join(w.tmp, label, TO, "bundle.yaml"), text);
            return { ...base, [configKey("operatorUrlTemplate")]: `file://${w.tmp}/${label}/{version}/bundle.yaml`, [configKey("operatorSha256")]: createHash("sha256").update(text).digest("hex") };
        };
        // A release that adds a field: the API server accepts it.
        const newField = (spec: any) => (spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.e2eNote = { type: "string" });
        // A CRD's scope is immutable: the API server refuses the change.
        const toCluster = (spec: any) => (spec.scope = "Cluster");
        const rv = (name: string) => kubectlJson(w, ["get", "crd", name]).metadata.resourceVersion;
        const before = Object.fromEntries(MONITORING_CRDS.map((n) => [n, rv(n)]));

        await setConfig(w, stack, bundle("accepted", { "alertmanagers.monitoring.coreos.com": newField }));
        const preview = await pulumiOk(w, ["preview", "--diff", "--stack", stack]);
        const listed = MONITORING_CRDS.filter((n) => new RegExp(`~ ${n.replace(/\./g, "\\.")} *: "[0-9a-f]{64}" => "[0-9a-f]{64}"`).test(preview.stdout));
        assert.deepEqual(listed, ["alertmanagers.monitoring.coreos.com"], preview.stdout.slice(-3000));

        await setConfig(w, stack, bundle("refused", { "alertmanagers.monitoring.coreos.com": newField, "podmonitors.monitoring.coreos.com": toCluster }));
        for (const command of ["preview", "up"]) {
            const r = await pulumi(w, [command, ...(command === "up" ? ["--yes"] : []), "--stack", stack]);
            assert.notEqual(r.code, 0, command);
            assert.match(r.stdout + r.stderr, /the API server refuses CRD podmonitors\.monitoring\.coreos\.com of the new bundle \(server-side dry run\): HTTP 422: .*spec\.scope: Invalid value: "Cluster": field is immutable.*Nothing was applied\./, command);
        }
        // Dry runs only: not even the accepted CRD, which comes first in the bundle, was written.
        assert.deepEqual(Object.fromEntries(MONITORING_CRDS.map((n) => [n, rv(n)])), before);
        assert.equal(kubectlJson(w, ["get", "crd", "alertmanagers.monitoring.coreos.com"]).spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.e2eNote, undefined);

        await setConfig(w, stack, base);
        await pulumiOk(w, ["preview", "--expect-no-changes", "--stack", stack]);
    });

    test("e. a wrong bundle digest fails before anything is applied", async () => {
        const base = stackConfig(w, OVERRIDE);
        const version = kubectlJson(w, ["get", "prometheus", "mesh", "-n", "monitoring"]).metadata.resourceVersion;
        await setConfig(w, stack, { ...base, [configKey("operatorSha256")]: "0".repeat(64), [configKey("prometheusReplicas")]: 3 });
        const r = await pulumi(w, ["up", "--yes", "--stack", stack]);
        assert.notEqual(r.code, 0);
        assert.match(r.stdout + r.stderr, new RegExp(`sha256 mismatch for ${w.mirrorUrl}/${atVersion(mirrorPath("operator"), TO)}: expected 0{64}`));
        assert.match(r.stdout + r.stderr, new RegExp(`got ${VERSIONS.prometheusOperator.files.bundle.sha256[TO]}`));
        assert.equal(kubectlJson(w, ["get", "prometheus", "mesh", "-n", "monitoring"]).metadata.resourceVersion, version);
        await setConfig(w, stack, base);
    });

    for (const status of [404, 500]) {
        test(`e. the mirror answering ${status} fails with a clear message and nothing applied`, async () => {
            const base = stackConfig(w, OVERRIDE);
            const version = kubectlJson(w, ["get", "prometheus", "mesh", "-n", "monitoring"]).metadata.resourceVersion;
            await setConfig(w, stack, {
                ...base,
                [configKey("bookinfoUrlTemplate")]: `${w.mirrorUrl}/fault/${status}/${mirrorPath("bookinfo")}`,
                [configKey("manifestCacheDir")]: path.join(w.tmp, `empty-cache-${status}`),
                [configKey("prometheusReplicas")]: 3,
            });
            const r = await pulumi(w, ["up", "--yes", "--stack", stack]);
            assert.notEqual(r.code, 0);
            assert.match(r.stdout + r.stderr, new RegExp(`cannot download ${w.mirrorUrl}/fault/${status}/${atVersion(mirrorPath("bookinfo"), VERSIONS.istio.version)} \\(from ${configKey("bookinfoUrlTemplate")}\\): HTTP ${status}`));
            assert.equal(kubectlJson(w, ["get", "prometheus", "mesh", "-n", "monitoring"]).metadata.resourceVersion, version);
            await setConfig(w, stack, base);
        });
    }

    test("e. the API server killed in the middle of pulumi up and started again: the next up converges", async () => {
        // Moving Bookinfo to another namespace replaces its objects: a long enough update to interrupt.
        const moved = stackConfig(w, { ...OVERRIDE, appNamespace: "shop" });
        await setConfig(w, stack, moved);
        let killed = false;
        let restarted: Promise<void> | undefined;
        let interrupted = false;
        const run = pulumi(w, ["up", "--yes", "--stack", stack], {
            onSpawn: (child) => {
                const poll = setInterval(() => {
                    if (!killed && exists(w, "namespace", "shop")) {
                        killed = true;
                        clearInterval(poll);
                        clusterCtl("stop-apiserver");
                        // Down for 5 s, then back. Creates sent during the outage failed; a Deployment whose
                        // ServiceAccount was among them never becomes Available, and the provider would wait
                        // for it until its 10-minute timeout. After 60 s the run is interrupted, as a person would.
                        restarted = new Promise((ok) => setTimeout(() => {
                            clusterCtl("start-apiserver");
                            setTimeout(() => {
                                interrupted = child.exitCode === null;
                                if (interrupted) child.kill("SIGINT");
                            }, 60_000).unref();
                            ok();
                        }, 5000));
                    }
                }, 200);
                poll.unref();
            },
        });
        const r = await run;
        assert.ok(killed, "the API server was not stopped during the update");
        await restarted;
        process.stderr.write(`interrupted pulumi up: exit ${r.code}${interrupted ? " after SIGINT" : ""}\n`);

        await pulumiOk(w, ["up", "--yes", "--stack", stack]);
        const deployments = kubectlJson(w, ["get", "deployments", "-n", "shop"]).items;
        assert.deepEqual(deployments.map((d: any) => d.metadata.name).sort(), BOOKINFO_DEPLOYMENTS);
        for (const d of deployments) assert.equal(condition(d, "Available"), "True", d.metadata.name);
        assert.deepEqual(kubectlJson(w, ["get", "servicemonitors", "-n", "shop"]).items.map((s: any) => s.metadata.name).sort(), ["productpage", "reviews"]);
        assert.deepEqual(kubectlJson(w, ["get", "prometheuses", "-A"]).items.map((p: any) => `${p.metadata.namespace}/${p.metadata.name}`), ["monitoring/mesh"]);
        assert.equal(exists(w, "namespace", "bookinfo") && kubectlJson(w, ["get", "namespace", "bookinfo"]).status.phase !== "Terminating", false);
        await pulumiOk(w, ["preview", "--expect-no-changes", "--stack", stack]);
    });

    test("f. STRICT PeerAuthentication: up waits until the API server serves it, and fails clearly when it never does", async () => {
        // No Istio API yet (a cluster not in a mesh, or an attach still in progress): up stops at the deadline.
        await setConfig(w, stack, stackConfig(w, { ...OVERRIDE, appNamespace: "shop", strictMtls: true, meshApiTimeoutSeconds: 3 }));
        const refused = await pulumi(w, ["up", "--yes", "--stack", stack]);
        assert.notEqual(refused.code, 0);
        assert.match(refused.stdout + refused.stderr, /security\.istio\.io\/v1 peerauthentications is not served by the cluster's API server after 3 s \(last answer: HTTP 404\); attach the cluster to an ASM mesh/);
        assert.equal(exists(w, "crd", "peerauthentications.security.istio.io"), false);

        // The API arrives while up waits, as ASM's aggregation does after the attach: up applies the policy then.
        await setConfig(w, stack, stackConfig(w, { ...OVERRIDE, appNamespace: "shop", strictMtls: true, meshApiTimeoutSeconds: 120 }));
        const up = pulumi(w, ["up", "--yes", "--stack", stack]);
        await new Promise((r) => setTimeout(r, 5000));
        kubectl(w, ["apply", "--server-side", "-f", `${w.mirrorUrl}/${atVersion(mirrorPath("istioCrds"), VERSIONS.istio.version)}`]);
        const r = await up;
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const pa = kubectlJson(w, ["get", "peerauthentication", "default", "-n", "shop"]);
        assert.deepEqual(pa.spec, { mtls: { mode: "STRICT" } });
        assert.equal(pa.apiVersion, "security.istio.io/v1");
        await pulumiOk(w, ["preview", "--expect-no-changes", "--stack", stack]);
    });

    test("f. examples/existing-cluster with the real engine: another team's program adds its own Prometheus, ServiceMonitor and STRICT policy beside the stack's, which the operator reconciles; its destroy leaves the stack's alone", async () => {
        // The other team's namespace and its own project folder (the example's files, its own stack).
        kubectl(w, ["create", "namespace", "payments"]);
        operator = startOperator(w);
        const dir = path.join(w.tmp, "example");
        mkdirSync(dir);
        const example = path.join(ROOT, "examples", "existing-cluster");
        copyFileSync(path.join(example, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
        symlinkSync(path.join(example, "index.ts"), path.join(dir, "index.ts"));
        symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
        // ts-node compiles the components the example imports with the project's compiler options.
        writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ extends: path.join(ROOT, "tsconfig.json"), include: ["index.ts"] }));
        const run = async (args: string[]) => {
            const r = await pulumi(w, [...args, "--stack", "example"], { cwd: dir });
            assert.equal(r.code, 0, `pulumi ${args.join(" ")}\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
            return r;
        };
        const init = await pulumi(w, ["stack", "init", "example", "--secrets-provider", "passphrase"], { cwd: dir });
        assert.equal(init.code, 0, init.stderr);
        await run(["config", "set", "--secret", "kubeconfig", embeddedKubeconfig(w)]);
        await run(["config", "set", "appNamespace", "payments"]);
        await run(["config", "set", "awaitAvailable", "false"]);
        await run(["up", "--yes"]);

        const sm = kubectlJson(w, ["get", "servicemonitor", "checkout", "-n", "payments"]);
        const prom = kubectlJson(w, ["get", "prometheus", "mesh", "-n", "mesh-monitoring"]);
        assert.deepEqual(prom.spec.serviceMonitorSelector.matchLabels, sm.metadata.labels);
        assert.ok(prom.spec.scrapeClasses.some((c: { name: string }) => c.name === sm.spec.scrapeClass));
        assert.deepEqual(kubectlJson(w, ["get", "peerauthentication", "default", "-n", "payments"]).spec, { mtls: { mode: "STRICT" } });
        // The real operator makes its StatefulSet and a scrape job for the other team's Service, over https.
        await eventually("StatefulSet prometheus-mesh in mesh-monitoring", () => (exists(w, "statefulset", "prometheus-mesh", "mesh-monitoring") ? true : undefined));
        const job = await eventually<any>("the checkout scrape job", () => {
            try {
                return (generatedConfig(w, "mesh-monitoring").scrape_configs ?? []).find((j: any) => j.job_name === "serviceMonitor/payments/checkout/0");
            } catch {
                return undefined;
            }
        });
        assert.equal(job.scheme, "https");
        assert.equal(job.tls_config.cert_file, scrapeTlsConfig().certFile);
        const outputs = JSON.parse((await run(["stack", "output", "--json"])).stdout);
        assert.equal(outputs.scrapePool, job.job_name);
        assert.equal(outputs.prometheus, "mesh-monitoring/mesh");

        // Two programs, one cluster: the stack's own objects are untouched, before and after the example goes.
        await pulumiOk(w, ["preview", "--expect-no-changes", "--stack", stack]);
        await run(["destroy", "--yes"]);
        assert.equal(exists(w, "servicemonitor", "checkout", "payments"), false);
        assert.equal(exists(w, "prometheus", "mesh", "mesh-monitoring"), false);
        assert.ok(exists(w, "prometheus", "mesh", "monitoring"), "the stack's Prometheus stays");
        await pulumiOk(w, ["preview", "--expect-no-changes", "--stack", stack]);
        operator?.kill("SIGTERM");
        operator = undefined;
    });

    test("g. destroy removes everything the stack created, the operator clearing its finalizer first; the CRDs stay", async () => {
        // The operator's status gate put its finalizer on the Prometheus; on a cluster the operator's Deployment
        // outlives the Prometheus in a destroy (the Prometheus depends on it) and clears it. Here it stands in.
        assert.deepEqual(kubectlJson(w, ["get", "prometheus", "mesh", "-n", "monitoring"]).metadata.finalizers, ["monitoring.coreos.com/status-cleanup"]);
        operator = startOperator(w);
        // The preview says so: the CRD set is retained, not deleted.
        // The run's PULUMI_SKIP_CONFIRMATIONS counts as --yes, which --preview-only refuses.
        const preview = await pulumiOk(w, ["destroy", "--preview-only", "--stack", stack], { PULUMI_SKIP_CONFIRMATIONS: "false" });
        assert.match(preview.stdout, /CrdSet\s+operator-crds\s+delete\[retain\]/);
        await pulumiOk(w, ["destroy", "--yes", "--stack", stack]);
        for (const crd of MONITORING_CRDS) assert.equal(exists(w, "crd", crd), true, crd);
        assert.equal(exists(w, "deployment", "prometheus-operator", "default"), false);
        assert.equal(exists(w, "clusterrole", "prometheus-monitoring-mesh"), false);
        assert.equal(exists(w, "clusterrolebinding", "prometheus-monitoring-mesh"), false);
        assert.equal(exists(w, "clusterrole", "prometheus-operator"), false);
        for (const ns of ["shop", "monitoring"]) {
            assert.ok(!exists(w, "namespace", ns) || kubectlJson(w, ["get", "namespace", ns]).status.phase === "Terminating", ns);
        }
        assert.equal(kubectlJson(w, ["get", "prometheuses", "-A"]).items.length, 0);
        operator?.kill("SIGTERM");
        operator = undefined;
    });
});

test("kubectl's discovery cache stays in the run's folder, none lands in ~/.kube/cache", () => {
    const server = new URL(kubectlJson(w, ["config", "view", "--minify"]).clusters[0].cluster.server);
    const entry = `${server.hostname}_${server.port}`;
    assert.equal(existsSync(path.join(w.env.KUBECACHEDIR!, "discovery", entry)), true, "the run's cache is used");
    assert.equal(existsSync(path.join(os.homedir(), ".kube", "cache", "discovery", entry)), false);
});

function clusterCtl(cmd: string): void {
    execFileSync(path.join(__dirname, "..", "..", "scripts", "cluster.sh"), [cmd], { env: w.env, stdio: "inherit" });
}

function spawnNo(fn: () => string): string {
    try {
        return fn().trim();
    } catch (e) {
        return String((e as { stdout?: string }).stdout ?? "").trim();
    }
}
