import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { connect as tlsConnect, PeerCertificate } from "node:tls";
import { after, before, describe, test } from "node:test";
import { CERT_CONTRACT, prometheusCertMount, sidecarAnnotations } from "../lib/certContract";
import { discoveryRbacName } from "../lib/names";
import { CHECK_QUERY } from "../lib/outputs";
import { makeCa, makeLeaf } from "../tests/support/pki";
import { configKey } from "../lib/config";
import { AGENT_METRICS, SELF_JOBS } from "../lib/alertRules";
import { DASHBOARD_UID, GRAFANA_DASHBOARD_LABEL, withAllValues } from "../lib/dashboard";
import { Cause, checkRemoteWrite, checkTargets, render, Report } from "../lib/verify";
import { TRUST_DOMAIN } from "./support/istio";
import { MESH_STACK, MeshWorld, podOf as meshPodOf, restartIstio, runAlertmanagerPod, runVerify as meshRunVerify, startMeshWorld, stopIstio, upMeshStack } from "./support/meshWorld";
import { PodRunner, RunningPod } from "./support/podRunner";
import { Notification, startWebhookReceiver, WebhookReceiver } from "./support/webhookReceiver";
import { eventually, generatedJobs, kubectl, kubectlJson, pulumi, pulumiOk, tearDown, track, World } from "./support/world";

// Mesh in a box: the stack applied with strictMtls to a cluster where istiod's real webhook injects the
// pods and its real CA issues their certificates; Prometheus 3 and productpage run as processes in pod
// network namespaces, and productpage sits behind a STRICT stand-in for its sidecar. What is observed is
// the thing the project exists for: a scrape over mutual TLS that succeeds.

const STACK = MESH_STACK;
const INTERVAL_S = 10;
/** The alerts' for, and Alertmanager's timers, short enough for each negative control to notify. */
const FOR_S = 20;
const GROUP_WAIT_S = 5;
const GROUP_INTERVAL_S = 10;
/** The issue's goal for a notification after a mistake: for + 2 scrape intervals + group_wait + 30 s. */
const NOTIFY_GOAL_S = FOR_S + 2 * INTERVAL_S + GROUP_WAIT_S + 30;
/** Workload certificates live this long, so the test sees the agents renew them (at about half of it). */
const CERT_TTL_S = 90;

let m: MeshWorld;
let w: World;
let runner: PodRunner;
let prom: RunningPod;
let pp: RunningPod;
let am: RunningPod;
let receiver: WebhookReceiver;

async function podOf(namespace: string, selector: string): Promise<any> {
    return meshPodOf(w, namespace, selector);
}

async function promApi(pathAndQuery: string): Promise<any> {
    const r = await fetch(`http://${prom.ip}:9090${pathAndQuery}`);
    if (!r.ok) throw new Error(`${pathAndQuery}: HTTP ${r.status}`);
    return ((await r.json()) as { data: any }).data;
}

before(async () => {
    // ASM_MESH_NATIVE_SIDECARS=true|false overrides istiod's own choice, to run the suite with the sidecar as a native sidecar too.
    const native = process.env.ASM_MESH_NATIVE_SIDECARS;
    m = await startMeshWorld({ certTtl: `${CERT_TTL_S}s`, nativeSidecars: native === undefined ? undefined : native === "true" });
    ({ w, runner } = m);
    receiver = await startWebhookReceiver("0.0.0.0");
});

after(async () => {
    runner?.stopAll();
    await receiver?.close();
    tearDown();
});

/** The receiver's URL as the Alertmanager pod reaches it (the node's address), one path per receiver. */
const hook = (receiverName: string) => `http://${m.nodeAddress}:${receiver.port}/${receiverName}`;
const firing = (path: string, alert: string) => (n: Notification) => n.path === `/${path}` && n.alerts.some((a) => a.name === alert && a.status === "firing");
const resolved = (path: string, alert: string) => (n: Notification) => n.path === `/${path}` && n.alerts.some((a) => a.name === alert && a.status === "resolved");

describe("mesh in a box: Prometheus scrapes productpage over STRICT mTLS", () => {
    test("pulumi up with strictMtls, awaiting real Service endpoints", async () => {
        await upMeshStack(m, `${INTERVAL_S}s`, {
            config: {
                alertmanager: true, alertmanagerReplicas: 1, alertTargetDownFor: `${FOR_S}s`, alertNoTargetFor: `${FOR_S}s`,
                alertGroupWait: `${GROUP_WAIT_S}s`, alertGroupInterval: `${GROUP_INTERVAL_S}s`, alertWatchdogInterval: `${GROUP_INTERVAL_S}s`,
            },
            secrets: { alertWebhookUrl: hook("warning"), alertCriticalWebhookUrl: hook("critical"), alertWatchdogWebhookUrl: hook("watchdog") },
        });
        assert.deepEqual(kubectlJson(w, ["get", "peerauthentication", "default", "-n", "bookinfo"]).spec, { mtls: { mode: "STRICT" } });
        // Endpoints exist because pods have addresses of the pod network.
        const slices = kubectlJson(w, ["get", "endpointslices", "-n", "bookinfo", "-l", "kubernetes.io/service-name=productpage"]).items;
        assert.match(slices[0].endpoints[0].addresses[0], /^10\.244\./);
    });

    test("a. the real injector mutated the Prometheus and productpage pods", async () => {
        const p = await podOf("monitoring", "app.kubernetes.io/name=prometheus");
        const all = [...(p.spec.initContainers ?? []), ...p.spec.containers];
        const proxy = all.find((c: any) => c.name === "istio-proxy");
        assert.ok(proxy, `no istio-proxy among ${all.map((c: any) => c.name).join(", ")}`);
        const env = Object.fromEntries((proxy.env ?? []).map((e: any) => [e.name, e.value]));
        assert.equal(env.OUTPUT_CERTS, CERT_CONTRACT.sidecarOutputDir);
        assert.ok(proxy.volumeMounts.some((m: any) => m.name === CERT_CONTRACT.volumeName && m.mountPath === CERT_CONTRACT.sidecarOutputDir), "the user volume mount");
        // holdApplicationUntilProxyStarts: the proxy comes first, and the kubelet waits for its postStart hook
        // (`pilot-agent wait`), or, as a native sidecar, for its startupProbe, before starting Prometheus.
        if (proxy.restartPolicy === "Always") assert.ok(proxy.startupProbe?.httpGet, "a native sidecar with a startupProbe");
        else assert.match(JSON.stringify(proxy.lifecycle?.postStart ?? {}), /pilot-agent.*wait/);
        const order = all.map((c: any) => c.name);
        assert.ok(order.indexOf("istio-proxy") < order.indexOf("prometheus"), order.join(","));
        // No interception: inbound ports and outbound ranges empty, as the annotations asked.
        assert.deepEqual(Object.fromEntries(Object.keys(sidecarAnnotations()).map((k) => [k, p.metadata.annotations[k]])), sidecarAnnotations());
        const init = (p.spec.initContainers ?? []).find((c: any) => c.name === "istio-init");
        if (init) {
            const args = init.args.join(" ");
            assert.match(args, /-i\s+(''|"")?(\s|$)|-i\s+-/, `outbound capture in ${args}`);
            assert.match(args, /-b\s+(''|"")?(\s|$)|-b\s+-/, `inbound capture in ${args}`);
        }
        const pod = await podOf("bookinfo", "app=productpage");
        assert.ok([...(pod.spec.initContainers ?? []), ...pod.spec.containers].some((c: any) => c.name === "istio-proxy"), "productpage injected");
    });

    test("b+e. productpage runs behind its STRICT stand-in, with a certificate from istiod", async () => {
        const pod = await podOf("bookinfo", "app=productpage");
        pp = await runner.run("bookinfo", pod.metadata.name);
        const certFile = path.join(pp.dirs.volumes["istio-envoy"], CERT_CONTRACT.files.certChain);
        await eventually("productpage's workload certificate", () => (existsSync(certFile) ? true : undefined), 60_000);
        const cert = new X509Certificate(readFileSync(certFile));
        assert.match(cert.subjectAltName ?? "", new RegExp(`URI:spiffe://${TRUST_DOMAIN}/ns/bookinfo/sa/bookinfo-productpage`));
        await eventually("productpage answering through the stand-in", () => (existsSync(pp.log("envoy-stand-in")) && /listening/.test(readFileSync(pp.log("envoy-stand-in"), "utf8")) ? true : undefined), 60_000);
        // From outside the pod, plaintext to the pod's port meets the sidecar and is refused.
        const plain = await fetch(`http://${pp.ip}:9080/metrics`).then((r) => `HTTP ${r.status}`, (e) => `error ${e.cause?.code ?? e.message}`);
        assert.match(plain, /^error /, plain);
        await eventually("the refusal logged as plaintext", () => (/refused: plaintext/.test(readFileSync(pp.log("envoy-stand-in"), "utf8")) ? true : undefined), 10_000);
    });

    test("b. the Prometheus pod's sidecar wrote the mesh certificate, readable by the Prometheus container", async () => {
        const pod = await podOf("monitoring", "app.kubernetes.io/name=prometheus");
        prom = await runner.run("monitoring", pod.metadata.name);
        const dir = prom.dirs.volumes[CERT_CONTRACT.volumeName];
        for (const f of Object.values(CERT_CONTRACT.files)) assert.ok(existsSync(path.join(dir, f)), f);
        const cert = new X509Certificate(readFileSync(path.join(dir, CERT_CONTRACT.files.certChain)));
        assert.match(cert.subjectAltName ?? "", new RegExp(`URI:spiffe://${TRUST_DOMAIN}/ns/monitoring/sa/${pod.spec.serviceAccountName}`));
        const root = new X509Certificate(readFileSync(path.join(dir, CERT_CONTRACT.files.ca)));
        assert.ok(cert.checkIssued(root) || cert.issuer === root.subject, "chained to the mesh root");
        const meshRoot = kubectlJson(w, ["get", "configmap", "istio-ca-root-cert", "-n", "monitoring"]).data[CERT_CONTRACT.files.ca];
        assert.equal(new X509Certificate(meshRoot).fingerprint256, root.fingerprint256);
        // Read through the Prometheus container's own mount, as its uid, gid and fsGroup.
        const sc = pod.spec.securityContext;
        const out = runner.exec(`monitoring/${pod.metadata.name}`, "prometheus", ["/usr/bin/sh", "-c", `id -u; id -G; cat ${prometheusCertMount().mountPath}/${CERT_CONTRACT.files.key}`]);
        const [uidLine, groups, ...key] = out.split("\n");
        assert.equal(Number(uidLine), sc.runAsUser);
        assert.notEqual(sc.runAsUser, 0);
        assert.ok(groups.split(" ").map(Number).includes(sc.fsGroup), groups);
        assert.equal(key.join("\n"), readFileSync(path.join(dir, CERT_CONTRACT.files.key), "utf8"));
    });

    test("c. Prometheus discovers productpage through EndpointSlices and scrapes it over mTLS", async () => {
        await eventually("Prometheus /-/ready", async () => ((await fetch(`http://${prom.ip}:9090/-/ready`).then((r) => r.ok, () => false)) ? true : undefined), 60_000);
        const t0 = Date.now();
        const job = JOB;
        let target: any;
        for (;;) {
            const data = await promApi("/api/v1/targets?state=active");
            target = data.activeTargets.find((t: any) => t.scrapePool === job);
            if (target?.health === "up") break;
            if (Date.now() - t0 > 2 * INTERVAL_S * 1000 + 5000) assert.fail(`target not UP within two scrape intervals: ${JSON.stringify(target ?? data.activeTargets.map((t: any) => t.scrapePool))}`);
            await new Promise((r) => setTimeout(r, 500));
        }
        assert.equal(target.scrapeUrl, `https://${pp.ip}:9080/metrics`);
        assert.equal(target.labels.namespace, "bookinfo");
        assert.equal(target.labels.pod, pp.name);
        const series = await eventually("series of the check query", async () => {
            const d = await promApi(`/api/v1/query?query=${encodeURIComponent(CHECK_QUERY)}`);
            return d.result.length > 0 ? d.result : undefined;
        }, 30_000);
        for (const s of series) {
            assert.equal(s.metric.namespace, "bookinfo");
            assert.equal(s.metric.pod, pp.name);
        }
        // What answers on productpage's pod port presents productpage's own workload certificate from istiod.
        const certDir = prom.dirs.volumes[CERT_CONTRACT.volumeName];
        const ppFile = path.join(pp.dirs.volumes["istio-envoy"], CERT_CONTRACT.files.certChain);
        const before = new X509Certificate(readFileSync(ppFile)).fingerprint256;
        const served = await new Promise<PeerCertificate>((resolve, reject) => {
            const s = tlsConnect({
                host: pp.ip, port: 9080, rejectUnauthorized: false, ALPNProtocols: ["h2", "http/1.1"],
                key: readFileSync(path.join(certDir, CERT_CONTRACT.files.key)), cert: readFileSync(path.join(certDir, CERT_CONTRACT.files.certChain)),
            }, () => {
                resolve(s.getPeerCertificate());
                s.destroy();
            });
            s.on("error", reject);
        });
        // (The agents renew every 45 s here: the file may have been replaced during the handshake.)
        assert.ok([before, new X509Certificate(readFileSync(ppFile)).fingerprint256].includes(served.fingerprint256), "the served certificate is productpage's file");
        assert.match(served.subjectaltname ?? "", /URI:spiffe:\/\/cluster\.local\/ns\/bookinfo\/sa\/bookinfo-productpage/);
        // productpage itself answered, the stand-in forwarding from inside the pod.
        assert.match(readFileSync(pp.log("productpage"), "utf8"), /"GET \/metrics HTTP\/1\.1" 200/);
        // Discovery really went through EndpointSlices, with Prometheus's own ServiceAccount token.
        const generated = generatedJobs(w).find((j: any) => j.job_name === job);
        assert.equal(generated.kubernetes_sd_configs[0].role, "endpointslice");
        assert.equal(generated.kubernetes_sd_configs[0].api_server, undefined, "in-cluster config");
    });

    test("f. the stack's port-forward command as printed, through the API server to the pod: npm run verify shows the UP table", async () => {
        const outputs = JSON.parse((await pulumiOk(w, ["stack", "output", "--json", "--stack", STACK])).stdout);
        // By hand first: exactly the printed command, then Prometheus's API on localhost:9090.
        const argv = outputs.portForwardCommand.split(" ");
        const pf = spawn(path.join(w.bin, argv[0]), argv.slice(1), { env: w.env, stdio: ["ignore", "pipe", "pipe"] });
        try {
            await eventually("the port-forward", async () => ((await fetch("http://127.0.0.1:9090/-/ready").then((r) => r.ok, () => false)) ? true : undefined), 30_000);
            const d = await (await fetch("http://127.0.0.1:9090/api/v1/targets?state=active")).json() as any;
            assert.equal(d.data.activeTargets.find((t: any) => t.scrapePool === JOB)?.health, "up");
        } finally {
            pf.kill("SIGTERM");
        }
        // Then the command a person runs: it opens the same forward itself.
        const r = runVerify(["--timeout", "60"]);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /port-forward: kubectl -n monitoring port-forward svc\/prometheus-operated 9090 -> http:\/\/127\.0\.0\.1:9090/);
        assert.match(r.stdout, new RegExp(`https://${pp.ip.replace(/\./g, "\\.")}:9080/metrics\\s+up\\s`));
        assert.match(r.stdout, /OK: every target UP over mTLS; python_gc_objects_collected_total returned \d+ series/);
        // Under the table, the stack's alerts: none firing in a healthy mesh (one may be pending, its for running).
        assert.match(r.stdout, /^(alerts: none of the stack's rules firing( \(Watchdog firing: the rules evaluate\))?|ALERT +SEVERITY +STATE +SINCE +SUMMARY)$/m);
        assert.doesNotMatch(r.stdout, /^\w+ +\w+ +firing /m);
        process.stdout.write(`${r.stdout}\n`);
    });

    test("h. rotation: three renewals of both certificates while Prometheus runs; no failed scrape, no restart", async () => {
        const key = `monitoring/${prom.name}`;
        const pid = runner.process(key, "prometheus")!.pid;
        const promCert = path.join(prom.dirs.volumes[CERT_CONTRACT.volumeName], CERT_CONTRACT.files.certChain);
        const serial = (f: string) => new X509Certificate(readFileSync(f)).serialNumber;
        const reloads = () => (readFileSync(pp.log("envoy-stand-in"), "utf8").match(/certificate reloaded/g) ?? []).length;
        const start = Date.now();
        const [firstReloads, serials] = [reloads(), [serial(promCert)]];
        let rotated = 0;
        for (let i = 0; i < 3; i++) {
            rotated = await eventually(`Prometheus's certificate renewed ${i + 1} times`, () => {
                const now = serial(promCert);
                if (serials.includes(now)) return undefined;
                serials.push(now);
                return Date.now();
            }, CERT_TTL_S * 1000);
        }
        await eventually("productpage's stand-in serving a renewed certificate three times", () => (reloads() - firstReloads >= 3 ? true : undefined), CERT_TTL_S * 1000);
        // A scrape after the last rotation, with the new files, succeeded.
        await eventually("a successful scrape after the last rotation", async () => {
            const t = (await promApi("/api/v1/targets?state=active")).activeTargets.find((x: any) => x.scrapePool === JOB);
            return t?.health === "up" && Date.parse(t.lastScrape) > rotated ? true : undefined;
        }, 3 * INTERVAL_S * 1000);
        // Prometheus's own record of the window: every scrape of productpage succeeded (a failed one is an up of 0), none was skipped.
        const window = Math.floor((Date.now() - start) / 1000);
        const over = async (fn: string) => Number((await promApi(`/api/v1/query?query=${encodeURIComponent(`${fn}(up{job="productpage",namespace="bookinfo"}[${window}s])`)}`)).result[0]?.value[1]);
        assert.equal(await over("min_over_time"), 1, "no 0 sample of up while the certificates rotated");
        assert.ok((await over("count_over_time")) >= Math.floor(window / INTERVAL_S) - 1, `a scrape every ${INTERVAL_S} s over ${window} s`);
        assert.equal(runner.process(key, "prometheus")!.pid, pid, "Prometheus was not restarted");
        assert.equal(runner.process(key, "prometheus")!.exitCode, null);
        const cert = new X509Certificate(readFileSync(promCert));
        const lifetime = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 1000;
        assert.ok(lifetime <= CERT_TTL_S + 120, `certificate lifetime ${lifetime} s`);
    });

    test("i. least privilege: Prometheus's ServiceAccount reads pods, Services and EndpointSlices where it discovers (its targets', its Alertmanager's), nowhere else", () => {
        const as = `--as=system:serviceaccount:monitoring:${prom.spec.serviceAccountName}`;
        const can = (verb: string, what: string, ns: string[]) => kubectlCan(["auth", "can-i", verb, what, ...ns, as]);
        for (const what of ["pods", "services", "endpointslices.discovery.k8s.io"]) {
            for (const ns of ["bookinfo", "monitoring"]) for (const verb of ["list", "watch"]) assert.equal(can(verb, what, ["-n", ns]), "yes", `${verb} ${what} in ${ns}`);
            for (const ns of ["default", "kube-system", "istio-system"]) assert.equal(can("list", what, ["-n", ns]), "no", `list ${what} in ${ns}`);
            assert.equal(can("list", what, ["--all-namespaces"]), "no", `list ${what} cluster-wide`);
        }
        for (const ns of ["bookinfo", "monitoring"]) assert.equal(can("get", "secrets", ["-n", ns]), "no", `secrets in ${ns}`);
        // And the scrape that the earlier cases saw UP was discovered with exactly these grants.
        assert.deepEqual(kubectlJson(w, ["get", "clusterrolebindings"]).items.filter((b: any) => (b.subjects ?? []).some((s: any) => s.namespace === "monitoring")), []);
    });

    test("j. alerts: the stack's rules run in the real Prometheus on what its own pod reports; a healthy mesh fires only the Watchdog", async () => {
        // Both scrapes of its own pod are up: its metrics, and its sidecar agent's on the status port.
        await eventually("Prometheus's scrapes of its own pod up", async () => {
            const own = (await promApi("/api/v1/targets?state=active")).activeTargets.filter((t: any) => Object.values(SELF_JOBS).includes(t.labels.job));
            return own.length === 2 && own.every((t: any) => t.health === "up") ? true : undefined;
        }, 3 * INTERVAL_S * 1000);
        // The agent reports the seconds left on the certificate Prometheus presents: less than its lifetime.
        const left = await eventually<number>("the agent's certificate expiry", async () => {
            const r = (await promApi(`/api/v1/query?query=${encodeURIComponent(`${AGENT_METRICS.certExpiry}{job="${SELF_JOBS.agent}",resource_name="${AGENT_METRICS.workloadResource}"}`)}`)).result;
            return r.length === 1 ? Number(r[0].value[1]) : undefined;
        }, 3 * INTERVAL_S * 1000);
        assert.ok(left > 0 && left <= CERT_TTL_S, `${left} s left`);
        // Every rule of the PrometheusRule, as the operator mounted it, evaluated without error.
        const groups = await eventually<any[]>("the rules evaluated", async () => {
            const g = (await promApi("/api/v1/rules?type=alert")).groups;
            return g.length === 2 && g.every((x: any) => x.rules.every((r: any) => r.lastEvaluation && !r.lastEvaluation.startsWith("0001"))) ? g : undefined;
        }, 3 * INTERVAL_S * 1000);
        assert.deepEqual(groups.map((g) => g.name).sort(), ["mesh-prometheus", "mtls-scrape"]);
        for (const r of groups.flatMap((g) => g.rules)) assert.equal(r.health, "ok", `${r.name}: ${r.lastError}`);
        // Over a certificate lifetime (a renewal included), nothing fires but the Watchdog.
        const firing = new Set<string>();
        const until = Date.now() + CERT_TTL_S * 1000;
        while (Date.now() < until) {
            for (const a of (await promApi("/api/v1/alerts")).alerts) if (a.state === "firing") firing.add(a.labels.alertname);
            await new Promise((r) => setTimeout(r, 2000));
        }
        assert.deepEqual([...firing], ["Watchdog"]);
    });

    test("m. Alertmanager in the mesh, under a mesh-wide STRICT policy: Prometheus delivers over mTLS with its mesh certificate, the Watchdog reaches the dead man's switch, plain HTTP is refused", async () => {
        const strict = path.join(w.tmp, "mesh-wide-strict.json");
        writeFileSync(strict, JSON.stringify({ apiVersion: "security.istio.io/v1", kind: "PeerAuthentication", metadata: { name: "default", namespace: "istio-system" }, spec: { mtls: { mode: "STRICT" } } }));
        kubectl(w, ["apply", "-f", strict]);
        const since = Date.now();
        am = await runAlertmanagerPod(m);
        const names = [...(am.spec.initContainers ?? []), ...am.spec.containers].map((c: any) => c.name);
        assert.ok(names.includes("istio-proxy"), names.join(","));
        // Prometheus found it through the Service's EndpointSlice, with the Role in its own namespace, at https.
        const url = `https://${am.ip}:9093/api/v2/alerts`;
        await eventually("Prometheus discovering the Alertmanager", async () => ((await promApi("/api/v1/alertmanagers")).activeAlertmanagers.some((a: any) => a.url === url) ? true : undefined), 60_000);
        // Prometheus -> the Alertmanager's STRICT sidecar (mTLS) -> Alertmanager -> its sidecar's outbound -> the webhook.
        const ping = await receiver.waitFor("of the Watchdog at the dead man's switch", since, firing("watchdog", "Watchdog"), 120_000);
        process.stdout.write(`the Watchdog reached the dead man's switch ${(ping.at - since) / 1000} s after the Alertmanager pod started\n`);
        await receiver.waitFor("of the Watchdog again", ping.at + 1, firing("watchdog", "Watchdog"), 3 * GROUP_INTERVAL_S * 1000);
        const log = readFileSync(am.log("envoy-stand-in"), "utf8");
        assert.doesNotMatch(log, /refused: client certificate/, "Prometheus's certificate admitted");
        // Without the mesh certificate, the Alertmanager's sidecar refuses the connection.
        const plain = await fetch(`http://${am.ip}:9093/api/v2/status`).then((r) => `HTTP ${r.status}`, (e) => `error ${e.cause?.code ?? e.message}`);
        assert.match(plain, /^error /, plain);
        await eventually("the plain request refused", () => (/refused: plaintext/.test(readFileSync(am.log("envoy-stand-in"), "utf8")) ? true : undefined), 10_000);
        // A healthy mesh: nothing but the Watchdog.
        assert.deepEqual(receiver.received.filter((n) => n.path !== "/watchdog").map((n) => `${n.path} ${n.alerts.map((a) => a.name)}`), []);
    });

    test("l. the dashboard, from its ConfigMap as Grafana's sidecar finds it: every query of every panel returns data from the real Prometheus", async () => {
        const maps = kubectlJson(w, ["get", "configmaps", "--all-namespaces", "-l", Object.entries(GRAFANA_DASHBOARD_LABEL).map(([k, v]) => `${k}=${v}`).join(",")]).items;
        assert.deepEqual(maps.map((c: any) => `${c.metadata.namespace}/${Object.keys(c.data).join(",")}`), [`monitoring/${DASHBOARD_UID}.json`]);
        const dashboard = JSON.parse(Object.values<string>(maps[0].data)[0]);
        const queries = dashboard.panels.flatMap((p: any) => p.targets.map((t: any) => ({ panel: p.title, expr: t.expr as string })));
        assert.ok(queries.length >= 10, `${queries.length} queries`);
        const empty: string[] = [];
        for (const q of queries) {
            const expr = withAllValues(q.expr);
            const result = (await promApi(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result;
            if (result.length === 0) empty.push(`${q.panel}: ${q.expr}`);
        }
        assert.deepEqual(empty, []);
    });

    test("k. istiod stopped: MeshCertificateNotRenewed fires before the certificate Prometheus presents expires, after which the mesh refuses it; istiod back, renewed and resolved", async () => {
        const alertState = async () => (await promApi("/api/v1/alerts")).alerts.find((a: any) => a.labels.alertname === "MeshCertificateNotRenewed")?.state as string | undefined;
        const promCert = path.join(prom.dirs.volumes[CERT_CONTRACT.volumeName], CERT_CONTRACT.files.certChain);
        const certDir = path.dirname(promCert);
        stopIstio(m);
        const stopped = Date.now();
        const fired = await eventually("MeshCertificateNotRenewed firing", async () => ((await alertState()) === "firing" ? Date.now() : undefined), 2 * CERT_TTL_S * 1000);
        // The last certificate the agent got before istiod stopped, which it can no longer renew.
        const expires = Date.parse(new X509Certificate(readFileSync(promCert)).validTo);
        process.stdout.write(`istiod stopped: MeshCertificateNotRenewed firing after ${(fired - stopped) / 1000} s, ${(expires - fired) / 1000} s before the certificate expires\n`);
        assert.ok(fired < expires, `the alert fired at ${new Date(fired).toISOString()}, the certificate expires at ${new Date(expires).toISOString()}`);
        // Delivered while Prometheus's certificate still opens the Alertmanager's sidecar.
        const note = await receiver.waitFor("of MeshCertificateNotRenewed", stopped, firing("warning", "MeshCertificateNotRenewed"), Math.max(1000, expires - Date.now()));
        process.stdout.write(`MeshCertificateNotRenewed delivered to the warning webhook ${(note.at - stopped) / 1000} s after istiod stopped, ${(expires - note.at) / 1000} s before the certificate expires\n`);
        // npm run verify lists it under its table (the targets are still UP: it exits 0).
        const v = runVerify(["--timeout", "30"]);
        assert.equal(v.status, 0, v.stdout + v.stderr);
        assert.match(v.stdout, /^MeshCertificateNotRenewed\s+warning\s+firing\s+\S+\s+The mesh certificate of Prometheus monitoring\/mesh is not being renewed$/m);

        // Once expired, a new connection with those files is refused by productpage's STRICT sidecar: the scrape
        // fails as soon as Prometheus connects again. (Its open keep-alive connection, checked only at the
        // handshake, carries on meanwhile: the target alone would not show it.)
        await new Promise((r) => setTimeout(r, Math.max(0, expires - Date.now()) + 1500));
        const refusals = () => (readFileSync(pp.log("envoy-stand-in"), "utf8").match(/refused: client certificate not from the mesh CA \(CERT_HAS_EXPIRED\)/g) ?? []).length;
        const before = refusals();
        await new Promise<void>((resolve) => {
            const sock = tlsConnect({ host: pp.ip, port: 9080, rejectUnauthorized: false, key: readFileSync(path.join(certDir, CERT_CONTRACT.files.key)), cert: readFileSync(promCert) });
            sock.on("close", () => resolve());
            sock.on("error", () => undefined);
        });
        await eventually("the expired certificate refused", () => (refusals() > before ? true : undefined), 10_000);
        const up = (await promApi("/api/v1/targets?state=active")).activeTargets.find((t: any) => t.scrapePool === JOB)?.health;
        process.stdout.write(`the expired certificate refused on a new connection; Prometheus's open connection kept the target ${up}\n`);

        await restartIstio(m);
        const back = Date.now();
        await eventually("Prometheus's certificate renewed", () => (Date.parse(new X509Certificate(readFileSync(promCert)).validTo) > Date.now() + CERT_TTL_S * 500 ? true : undefined), 2 * CERT_TTL_S * 1000);
        await eventually("MeshCertificateNotRenewed resolved", async () => ((await alertState()) === undefined ? true : undefined), 4 * INTERVAL_S * 1000);
        await eventually("productpage up", async () => ((await promApi("/api/v1/targets?state=active")).activeTargets.find((t: any) => t.scrapePool === JOB)?.health === "up" ? true : undefined), 3 * INTERVAL_S * 1000);
        process.stdout.write(`istiod back: renewed, the alert resolved and productpage up after ${(Date.now() - back) / 1000} s\n`);
    });

    test("d. durable: the claim is bound to a local volume, and what Prometheus scraped before its pod was deleted is still there after", async () => {
        const pvc = kubectlJson(w, ["get", "pvc", `prometheus-mesh-db-${prom.name}`, "-n", "monitoring"]);
        assert.equal(pvc.status.phase, "Bound");
        const pv = kubectlJson(w, ["get", "pv", pvc.spec.volumeName]);
        assert.ok(pv.spec.local?.path, "a local PersistentVolume");
        assert.equal(pv.spec.claimRef.name, pvc.metadata.name);
        // Samples of productpage's up series up to a moment before the delete, and their sum.
        const at = Date.now() / 1000;
        const query = `/api/v1/query?time=${at}&query=${encodeURIComponent(`count_over_time(up{job="productpage",namespace="bookinfo"}[10m])`)}`;
        const before = Number((await promApi(query)).result[0]?.value[1] ?? 0);
        assert.ok(before >= 2, `${before} samples scraped before the delete`);

        // What the sizing of docs/operations.md starts from (printed, not asserted): this Prometheus's footprint and its head series.
        const own = await (await fetch(`http://${prom.ip}:9090/metrics`)).text();
        const figure = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(own)?.[1] ?? NaN);
        const [rss, heap, series, cpu, started] = ["process_resident_memory_bytes", "go_memstats_heap_inuse_bytes", "prometheus_tsdb_head_series", "process_cpu_seconds_total", "process_start_time_seconds"].map(figure);
        process.stdout.write(`sizing: resident ${(rss / 2 ** 20).toFixed(0)} MiB, Go heap in use ${(heap / 2 ** 20).toFixed(0)} MiB, ${series} head series, ${((1000 * cpu) / (Date.now() / 1000 - started)).toFixed(1)} millicores on average since start\n`);

        const old = prom;
        kubectl(w, ["delete", "pod", old.name, "-n", "monitoring", "--wait=false"]);
        await runner.terminate(`monitoring/${old.name}`);
        prom = await rerunPrometheus(old.uid, true);
        assert.notEqual(prom.uid, old.uid);
        assert.notEqual(prom.dirs.base, old.dirs.base, "a new pod: new emptyDirs");
        await eventually("the new Prometheus ready", async () => ((await fetch(`http://${prom.ip}:9090/-/ready`).then((r) => r.ok, () => false)) ? true : undefined), 120_000);
        const after = Number((await promApi(query)).result[0]?.value[1] ?? 0);
        assert.equal(after, before, "every sample from before the delete is queryable after it");
        // And the new pod scrapes on, over mTLS.
        const back = await checkTargets(`http://${prom.ip}:9090`, { pools: [JOB], query: CHECK_QUERY, deadlineMs: 120_000, context: verifyContext() });
        assert.ok(back.ok, render(back, CHECK_QUERY));
    });

    describe("g. negative controls: each mistake takes the target down, and verify names its cause", () => {

        /**
         * Waits until verify reports this cause (the target DOWN or absent) and, given an alert, until its
         * notification reaches the critical webhook; then until the undo brings the target back UP and the
         * resolved notification arrives. Prints the times from the mistake and from the undo.
         */
        async function control(cause: Cause, mistake: () => Promise<void> | void, undo: () => Promise<void> | void, alert?: string): Promise<Report> {
            const t0 = Date.now();
            await mistake();
            const report = await eventually(`verify naming ${cause}`, async () => {
                const r = await checkTargets(`http://${prom.ip}:9090`, { pools: [JOB], query: CHECK_QUERY, deadlineMs: 0, context: verifyContext() });
                return r.failure?.cause === cause ? r : undefined;
            }, 120_000);
            assert.equal(report.ok, false);
            const note = alert ? await receiver.waitFor(`of ${alert}`, t0, firing("critical", alert), 3 * NOTIFY_GOAL_S * 1000) : undefined;
            const t1 = Date.now();
            await undo();
            const back = await checkTargets(`http://${prom.ip}:9090`, { pools: [JOB], query: CHECK_QUERY, deadlineMs: 120_000, context: verifyContext() });
            assert.ok(back.ok, `not UP again after undoing: ${render(back, CHECK_QUERY)}`);
            if (alert && note) {
                // A Prometheus restarted by the undo has forgotten the alert and never sends it resolved: the
                // Alertmanager resolves it when its endsAt passes, 4 resend delays (4 min) after the last send.
                const done = await receiver.waitFor(`of ${alert} resolved`, t1, resolved("critical", alert), (4 * 60 + 3 * GROUP_INTERVAL_S + 60) * 1000);
                process.stdout.write(`notification: ${cause}: ${alert} at the critical webhook ${(note.at - t0) / 1000} s after the mistake (goal ${NOTIFY_GOAL_S} s), resolved ${(done.at - t1) / 1000} s after the undo\n`);
            }
            return report;
        }

        const patch = (kind: string, name: string, ns: string, ops: unknown[]): void => void kubectl(w, ["patch", kind, name, "-n", ns, "--type=json", "-p", JSON.stringify(ops)]);

        test("scheme http against STRICT: handshake", async () => {
            const r = await control("handshake",
                () => patch("servicemonitor", "productpage", "bookinfo", [{ op: "replace", path: "/spec/endpoints/0/scheme", value: "http" }]),
                () => patch("servicemonitor", "productpage", "bookinfo", [{ op: "replace", path: "/spec/endpoints/0/scheme", value: "https" }]), "MtlsScrapeTargetDown");
            assert.match(r.rows[0].target, /^http:\/\//);
            assert.match(readFileSync(pp.log("envoy-stand-in"), "utf8"), /refused: plaintext/);
        });

        test("a client certificate from another CA: handshake", async () => {
            const dir = prom.dirs.volumes[CERT_CONTRACT.volumeName];
            foreignClientCert(dir, `spiffe://${TRUST_DOMAIN}/ns/monitoring/sa/${prom.spec.serviceAccountName}`);
            const m = prometheusCertMount().mountPath;
            const tls = (cert: string, key: string) => [{ op: "replace", path: "/spec/scrapeClasses/0/tlsConfig/certFile", value: cert }, { op: "replace", path: "/spec/scrapeClasses/0/tlsConfig/keyFile", value: key }];
            const before = refusals("client certificate not from the mesh CA");
            await control("handshake",
                () => patch("prometheus", "mesh", "monitoring", tls(`${m}/foreign-cert.pem`, `${m}/foreign-key.pem`)),
                () => patch("prometheus", "mesh", "monitoring", tls(`${m}/${CERT_CONTRACT.files.certChain}`, `${m}/${CERT_CONTRACT.files.key}`)), "MtlsScrapeTargetDown");
            assert.ok(refusals("client certificate not from the mesh CA") > before, "the stand-in refused the foreign certificate");
        });

        test("fallbackScrapeProtocol removed: content-type", async () => {
            let cli: ReturnType<typeof runVerify> | undefined;
            const r = await control("content-type",
                () => patch("prometheus", "mesh", "monitoring", [{ op: "remove", path: "/spec/scrapeClasses/0/fallbackScrapeProtocol" }]),
                () => {
                    // The command a person runs says the same, through the port-forward, and exits 1.
                    cli = runVerify(["--timeout", "5"]);
                    patch("prometheus", "mesh", "monitoring", [{ op: "add", path: "/spec/scrapeClasses/0/fallbackScrapeProtocol", value: "PrometheusText0.0.4" }]);
                }, "MtlsScrapeTargetDown");
            assert.match(r.rows[0].lastError, /text\/html/);
            assert.equal(cli!.status, 1, cli!.stdout + cli!.stderr);
            assert.match(cli!.stdout, /FAILED \(content-type\): Prometheus 3 refused the Content-Type/);
            assert.match(cli!.stdout, /next: kubectl -n monitoring get prometheus mesh/);
        });

        test("the RoleBinding removed: no target, forbidden in Prometheus's log", async () => {
            const name = discoveryRbacName("monitoring", "mesh");
            const saved = kubectlJson(w, ["get", "rolebinding", name, "-n", "bookinfo"]);
            const key = `monitoring/${prom.name}`;
            const file = path.join(w.tmp, "binding.json");
            await control("rbac", async () => {
                kubectl(w, ["delete", "rolebinding", name, "-n", "bookinfo"]);
                // A running discovery keeps its open watches; a restarted container lists again, as after a rollout.
                await runner.restart(key, "prometheus");
            }, async () => {
                writeFileSync(file, JSON.stringify({ apiVersion: saved.apiVersion, kind: saved.kind, metadata: { name, namespace: "bookinfo", labels: saved.metadata.labels }, roleRef: saved.roleRef, subjects: saved.subjects }));
                kubectl(w, ["create", "-f", file]);
                await runner.restart(key, "prometheus");
            }, "MtlsScrapeNoTarget");
            assert.match(readFileSync(prom.log("prometheus"), "utf8"), /forbidden/);
        });

        test("the Prometheus namespace without injection: Prometheus cannot load the mesh certificate its alerting needs and stops at start, naming the file; the startup probe fails; an awaiting up fails naming the sidecar; no alert can leave; pulumi up --refresh heals it", async () => {
            const old = prom;
            const t0 = Date.now();
            kubectl(w, ["label", "namespace", "monitoring", "istio-injection-"]);
            patch("prometheus", "mesh", "monitoring", [{ op: "remove", path: "/spec/podMetadata/labels/sidecar.istio.io~1inject" }]);
            prom = await rerunPrometheus(old.uid, false);
            // Prometheus reads the alerting client's certificate files when it loads its configuration (unlike a
            // scrape pool's, which fail per scrape): without them it does not start, and says which file.
            const stopped = await eventually("Prometheus stopped, naming the missing certificate", () => {
                const pr = runner.process(`monitoring/${prom.name}`, "prometheus");
                const log = readFileSync(prom.log("prometheus"), "utf8");
                return pr && pr.exitCode !== null && /no such file or directory/.test(log) ? log : undefined;
            }, 60_000);
            assert.match(stopped, /\/etc\/prom-certs\/(root-cert|cert-chain|key)\.pem/);
            // The startup probe, as the operator merged it into its container, run in that container: it fails.
            const container = prom.spec.containers.find((c: any) => c.name === "prometheus");
            const probe = container.startupProbe.exec.command as string[];
            const ran = (() => {
                try {
                    return { code: 0, out: runner.exec(`monitoring/${prom.name}`, "prometheus", probe) };
                } catch (e) {
                    return { code: (e as { status: number }).status, out: String((e as { stdout?: string }).stdout) };
                }
            })();
            assert.equal(ran.code, 1, ran.out);
            assert.match(ran.out, /no mesh certificate \/etc\/prom-certs\/root-cert\.pem: the pod has no istio-proxy sidecar/);
            // An up that waits for the Prometheus fails at once, naming the sidecar and the fix (kwok made the pod Ready).
            await pulumiOk(w, ["config", "set", "--stack", STACK, configKey("awaitPrometheus"), "true"]);
            const up = await pulumi(w, ["up", "--yes", "--stack", STACK]);
            const failedUp = up.stdout + up.stderr;
            assert.notEqual(up.code, 0, failedUp);
            assert.match(failedUp, new RegExp(`pod ${old.name.replace(/-\d+$/, "")}-\\d+ has no istio-proxy sidecar`));
            assert.match(failedUp, /istio-injection=enabled/);
            assert.match(failedUp, /kubectl -n monitoring delete pod prometheus-mesh-0/);
            // Nothing evaluates, so nothing is sent: what notices is the dead man's switch, whose Watchdog stops.
            assert.deepEqual(receiver.received.filter((n) => n.at >= t0 && n.path !== "/watchdog").map((n) => n.path), []);

            await pulumiOk(w, ["up", "--refresh", "--yes", "--stack", STACK]);
            prom = await rerunPrometheus(prom.uid, true);
            const back = await checkTargets(`http://${prom.ip}:9090`, { pools: [JOB], query: CHECK_QUERY, deadlineMs: 120_000, context: verifyContext() });
            assert.ok(back.ok, `not UP again after undoing: ${render(back, CHECK_QUERY)}`);
            // The new Prometheus delivers again (the Alertmanager still pings the switch with the Watchdog it holds
            // until that expires, so the receiver alone would not show it): its own counters, errors none.
            await eventually("the healed Prometheus delivering to the Alertmanager", async () => {
                const own = await (await fetch(`http://${prom.ip}:9090/metrics`)).text();
                const total = (name: string) => [...own.matchAll(new RegExp(`^${name}\\{alertmanager="https://${am.ip.replace(/\./g, "\\.")}:9093/api/v2/alerts"\\} (\\S+)$`, "gm"))].reduce((n, x) => n + Number(x[1]), 0);
                return total("prometheus_notifications_sent_total") > 0 && total("prometheus_notifications_errors_total") === 0 ? true : undefined;
            }, 120_000);
            await pulumiOk(w, ["preview", "--refresh", "--expect-no-changes", "--stack", STACK]);
        });
    });
});

describe("many clusters, one backend: remote write to a real Prometheus receiver with basic auth", () => {
    const [USER, PASSWORD] = ["box-writer", "remote-write-test-password"];
    let receiver: string;

    before(() => {
        const dir = mkdtempSync(path.join(w.tmp, "receiver-"));
        // The receiver's user, as Prometheus's web config wants it: a bcrypt hash (htpasswd -B).
        const hash = execFileSync("htpasswd", ["-nbB", USER, PASSWORD], { encoding: "utf8" }).trim().split(":")[1];
        writeFileSync(path.join(dir, "web.yml"), `basic_auth_users:\n  ${USER}: ${hash}\n`);
        writeFileSync(path.join(dir, "prometheus.yml"), "global: {}\n");
        const port = 19291;
        receiver = `http://${m.nodeAddress}:${port}`;
        const out = openSync(path.join(dir, "receiver.log"), "a");
        track(spawn(path.join(w.bin, "prometheus"), [
            `--config.file=${path.join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(dir, "data")}`,
            `--web.listen-address=${m.nodeAddress}:${port}`, `--web.config.file=${path.join(dir, "web.yml")}`, "--web.enable-remote-write-receiver",
        ], { env: w.env, detached: true, stdio: ["ignore", out, out] }));
        return pulumiOk(w, ["config", "set", "--secret", "--stack", STACK, configKey("remoteWritePassword"), PASSWORD]);
    });

    const fromReceiver = async (query: string) => {
        const r = await fetch(`${receiver}/api/v1/query?query=${encodeURIComponent(query)}`, { headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}` } });
        return ((await r.json()) as { data: { result: any[] } }).data.result;
    };

    test("productpage's series arrive with the stack's external labels; verify counts the samples the receiver took", async () => {
        await pulumiOk(w, ["config", "set", "--stack", STACK, configKey("remoteWriteUrl"), `${receiver}/api/v1/write`]);
        await pulumiOk(w, ["config", "set", "--secret", "--stack", STACK, configKey("remoteWriteUsername"), USER]);
        await pulumiOk(w, ["config", "set", "--stack", STACK, configKey("prometheusClusterLabel"), "box"]);
        await pulumiOk(w, ["up", "--yes", "--stack", STACK]);
        const series = await eventually("productpage's series at the receiver", async () => {
            const r = await fromReceiver(`${CHECK_QUERY}{namespace="bookinfo",cluster="box",environment="${STACK}"}`);
            return r.length > 0 ? r : undefined;
        }, 120_000);
        for (const s of series) assert.equal(s.metric.pod, pp.name);
        // The password is in no file the stack keeps in plain text.
        assert.equal(readFileSync(path.join(w.project, `Pulumi.${STACK}.yaml`), "utf8").includes(PASSWORD), false);
        const r = runVerify(["--timeout", "60"]);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.match(r.stdout, new RegExp(`remote write ${receiver.replace(/[.]/g, "\\.")}/api/v1/write: [1-9]\\d* samples sent, 0 refused`));
    });

    test("a wrong password: the sender's prometheus_remote_storage_samples_failed_total grows, and verify names remote-write", async () => {
        await pulumiOk(w, ["config", "set", "--secret", "--stack", STACK, configKey("remoteWritePassword"), "not-the-password"]);
        await pulumiOk(w, ["up", "--yes", "--stack", STACK]);
        const report = await eventually("remote write refused", async () => {
            const r = await checkRemoteWrite(`http://${prom.ip}:9090`, { windowMs: 10_000, context: verifyContext() });
            return r.ok ? undefined : r;
        }, 180_000);
        assert.equal(report.failure!.cause, "remote-write");
        assert.match(report.failure!.meaning, /samples refused by http:.*\/api\/v1\/write/);
        assert.match(readFileSync(prom.log("prometheus"), "utf8"), /401 Unauthorized/);
        const r = runVerify(["--timeout", "60"]);
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stdout, /FAILED \(remote-write\): the remote write endpoint refuses samples/);
    });
});

const JOB = "serviceMonitor/bookinfo/productpage/0";

function runVerify(args: string[]) {
    return meshRunVerify(w, args);
}

/** What verify tells a cause in: the mesh stack's names and the Prometheus pod run now. */
function verifyContext() {
    return { monitoringNamespace: "monitoring", appNamespace: "bookinfo", prometheusName: "mesh", prometheusPod: prom.name };
}

/** kubectl auth can-i's answer, which it also prints when it exits 1 (no). */
function kubectlCan(args: string[]): string {
    const r = spawnSync(path.join(w.bin, "kubectl"), ["--kubeconfig", w.kubeconfig, ...args], { env: w.env, encoding: "utf8" });
    return r.stdout.trim();
}

/** Refusals the productpage stand-in logged for a reason. */
function refusals(reason: string): number {
    return readFileSync(pp.log("envoy-stand-in"), "utf8").split("\n").filter((l) => l.includes(`refused: ${reason}`)).length;
}

/** A client certificate and key with the right SPIFFE identity, from a CA that is not the mesh's, into dir. */
function foreignClientCert(dir: string, spiffe: string): void {
    const tmp = mkdtempSync(path.join(w.tmp, "foreign-"));
    makeCa(tmp, "another-mesh");
    makeLeaf(tmp, "prometheus", "another-mesh", `URI:${spiffe}`);
    for (const [src, dst] of [["prometheus.crt", "foreign-cert.pem"], ["prometheus.key", "foreign-key.pem"]]) {
        writeFileSync(path.join(dir, dst), readFileSync(path.join(tmp, src)));
        chmodSync(path.join(dir, dst), 0o644);
    }
}

/** After the StatefulSet replaced the Prometheus pod: stop the old one here, run the new one, check its sidecar. */
async function rerunPrometheus(oldUid: string, injected: boolean): Promise<RunningPod> {
    const pod = await eventually("the replaced Prometheus pod", () => {
        const p = kubectlJson(w, ["get", "pods", "-n", "monitoring", "-l", "app.kubernetes.io/name=prometheus"]).items.find((x: any) => x.metadata.uid !== oldUid && x.status?.podIP && !x.metadata.deletionTimestamp);
        return p;
    }, 120_000);
    runner.stop(`monitoring/${prom.name}`);
    const names = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c: any) => c.name);
    assert.equal(names.includes("istio-proxy"), injected, names.join(","));
    return runner.run("monitoring", pod.metadata.name);
}
