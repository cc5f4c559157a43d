import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { configKey, SettingName } from "../../lib/config";
import { VERSIONS } from "../../lib/versions";
import { productpageDir } from "../../tests/support/upstream";
import { Istio, ISTIOD_HOST, runIstiod, startIstio, TRUST_DOMAIN } from "./istio";
import { ImageTable, PodRunner, RunningPod, Stand } from "./podRunner";
import { eventually, kubectl, kubectlJson, newStack, pulumiOk, ROOT, setUp, stackConfig, startOperator, World } from "./world";

// The world of the mesh tests and of the demo's last step: the e2e world (local cluster, mirror, Pulumi
// project) with pod network addresses, istiod, and a process kubelet for the pods that matter. It must run
// inside scripts/netns.sh.

const SHIMS = path.join(ROOT, "e2e", "productpage-shims");
/** Where the stand-in for productpage's Envoy finds the workload certificate pilot-agent writes for it: Envoy's own volume. */
const STAND_IN_CERTS = "/etc/istio/proxy";
export const MESH_STACK = "mesh";

export interface MeshWorld {
    w: World;
    runner: PodRunner;
    nodeAddress: string;
    istio: Istio;
    /** What istiod was started with, for a restart. */
    istioOptions: { certTtl?: string; nativeSidecars?: boolean };
}

/** Whether this namespace maps the uids pods run as (root everywhere; a subordinate range for a user). */
function mapsPodUsers(): boolean {
    const ranges = readFileSync("/proc/self/uid_map", "utf8").trim().split("\n").map((l) => l.trim().split(/\s+/).map(Number));
    return [0, 1000, 1337, 2000, 65534].every((u) => ranges.some(([inner, , count]) => u >= inner && u < inner + count));
}

/** What each container image runs here. */
function images(bin: string): ImageTable {
    return (image, c): Stand | undefined => {
        if (/\/proxyv2:/.test(image)) {
            const hasOutput = (c.env ?? []).some((e: { name: string }) => e.name === "OUTPUT_CERTS");
            return {
                entrypoint: ["/usr/local/bin/pilot-agent"],
                binds: { [path.join(bin, "pilot-agent")]: "/usr/local/bin/pilot-agent" },
                // No Envoy binary exists here: the agent runs proxyless, as a certificate writer.
                env: { DISABLE_ENVOY: "true", ...(c.name === "istio-proxy" && !hasOutput ? { OUTPUT_CERTS: STAND_IN_CERTS } : {}) },
            };
        }
        if (/prometheus-config-reloader:/.test(image)) return { entrypoint: [], emulate: c.name.startsWith("init-") ? "config-reloader-init" : "config-reloader" };
        if (/\/prometheus\/prometheus:/.test(image)) {
            // The image runs as nobody unless the pod says otherwise.
            return { entrypoint: ["/usr/local/bin/prometheus"], binds: { [path.join(bin, "prometheus")]: "/usr/local/bin/prometheus" }, workingDir: "/prometheus", user: 65534 };
        }
        if (/\/prometheus\/alertmanager:/.test(image)) {
            return { entrypoint: ["/usr/local/bin/alertmanager"], binds: { [path.join(bin, "alertmanager")]: "/usr/local/bin/alertmanager" }, workingDir: "/alertmanager", user: 65534 };
        }
        if (/examples-bookinfo-productpage-v1:/.test(image)) {
            return {
                entrypoint: ["/usr/bin/python3", "productpage.py", "9080"],
                binds: { [productpageDir(VERSIONS.istio.version)]: "/opt/microservices", [SHIMS]: "/opt/shims" },
                workingDir: "/opt/microservices",
                env: { PYTHONPATH: "/opt/shims", PYTHONUNBUFFERED: "1" },
            };
        }
        return undefined;
    };
}

/** Sets up the world and istiod; certTtl: the workload certificates' lifetime (SECRET_TTL). */
export async function startMeshWorld(o: { certTtl?: string; nativeSidecars?: boolean } = {}): Promise<MeshWorld> {
    if (process.env.ASM_IN_NETNS !== "1") throw new Error("the mesh world runs in a network namespace of its own: run it through scripts/netns.sh (npm run test:e2e:mesh)");
    if (!mapsPodUsers()) throw new Error("the process kubelet runs each container as the pod's own uid (1000, 1337, 65534), which this user namespace does not map: run as root, or give the user a subordinate id range (/etc/subuid, /etc/subgid) and install uidmap (scripts/netns.sh uses them)");
    const nodeAddress = process.env.ASM_NODE_ADDRESS!;
    const w = await setUp();
    const runner = new PodRunner({
        cluster: {
            kubectl: (args) => kubectl(w, args),
            apiserverPort: Number(new URL(kubectlJson(w, ["config", "view", "--minify"]).clusters[0].cluster.server).port),
            nodeAddress,
        },
        root: path.join(w.tmp, "pods"),
        images: images(w.bin),
        hosts: { [ISTIOD_HOST]: nodeAddress },
        portForwards: true,
        marker: ["ASM_E2E_RUN", w.tmp],
        companions: (c, pod) => {
            // Envoy's part of the sidecar: our stand-in, as uid 1337. STRICT inbound where the pod's traffic is captured.
            if (c.name !== "istio-proxy") return [];
            const env = Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value]));
            const captured = pod.metadata.annotations?.["traffic.sidecar.istio.io/includeInboundPorts"] !== "";
            const capturesOutbound = pod.metadata.annotations?.["traffic.sidecar.istio.io/includeOutboundIPRanges"] !== "";
            const port = pod.spec.containers.find((x: any) => x.name !== "istio-proxy")?.ports?.[0]?.containerPort;
            return [{
                name: "envoy-stand-in",
                argv: ["/usr/bin/node", path.join(ROOT, "dist", "e2e", "support", "envoyStandIn.js"), "--cert-dir", env.OUTPUT_CERTS ?? STAND_IN_CERTS, "--trust-domain", TRUST_DOMAIN,
                    ...(captured ? ["--inbound", "0.0.0.0:15006", "--upstream", `127.0.0.1:${port}`] : []),
                    ...(capturesOutbound ? ["--outbound", "0.0.0.0:15001"] : [])],
                uid: 1337, gid: 1337,
                // The stand-in reads the certificate contract (lib/), which loads yaml from node_modules.
                binds: { [path.join(ROOT, "dist")]: path.join(ROOT, "dist"), [path.join(ROOT, "node_modules")]: path.join(ROOT, "node_modules") },
            }];
        },
    });
    const istio = await startIstio(w, nodeAddress, o);
    return { w, runner, nodeAddress, istio, istioOptions: o };
}

/** Stops istiod: the agents can no longer renew their certificates. */
export function stopIstio(m: MeshWorld): void {
    m.istio.istiod.kill("SIGTERM");
}

/** Starts istiod again, with the same options, on the objects already applied. */
export async function restartIstio(m: MeshWorld): Promise<void> {
    const old = m.istio.istiod;
    // Its ports are free once it has exited.
    if (old.exitCode === null && old.signalCode === null) await new Promise((r) => old.once("exit", r));
    m.istio = await runIstiod(m.w, m.nodeAddress, m.istioOptions);
}

/**
 * pulumi up of the mesh stack (STRICT mTLS, endpoints awaited), then the operator, out of cluster, once its CRDs exist.
 * The alert rules evaluate at the scrape interval and know the certificates' lifetime (certTtl, as istiod was given).
 */
export async function upMeshStack(m: MeshWorld, scrapeInterval: string, extra: { config?: Partial<Record<SettingName, unknown>>; secrets?: Partial<Record<SettingName, string>> } = {}): Promise<void> {
    const certTtl = m.istioOptions.certTtl === undefined ? {} : { meshCertTtl: m.istioOptions.certTtl };
    await newStack(m.w, MESH_STACK, stackConfig(m.w, { strictMtls: true, awaitServiceEndpoints: true, scrapeInterval, prometheusEvaluationInterval: scrapeInterval, ...certTtl, ...extra.config }));
    for (const [k, v] of Object.entries(extra.secrets ?? {})) await pulumiOk(m.w, ["config", "set", "--secret", "--stack", MESH_STACK, configKey(k as SettingName), v!]);
    await pulumiOk(m.w, ["up", "--yes", "--stack", MESH_STACK]);
    startOperator(m.w);
}

/** The pod of a workload once the API server holds it with an IP, by label. */
export async function podOf(w: World, namespace: string, selector: string): Promise<any> {
    return eventually(`a pod ${selector} in ${namespace} with an IP`, () => {
        const items = kubectlJson(w, ["get", "pods", "-n", namespace, "-l", selector]).items.filter((p: any) => p.status?.podIP && !p.metadata.deletionTimestamp);
        return items[0];
    }, 240_000);
}

/** Runs the Alertmanager's pod as processes, once the operator has made it. */
export async function runAlertmanagerPod(m: MeshWorld): Promise<RunningPod> {
    return m.runner.run("monitoring", (await podOf(m.w, "monitoring", "app.kubernetes.io/name=alertmanager")).metadata.name);
}

/** Runs productpage's pod, then Prometheus's, as processes. */
export async function runMeshPods(m: MeshWorld): Promise<{ pp: RunningPod; prom: RunningPod }> {
    const pp = await m.runner.run("bookinfo", (await podOf(m.w, "bookinfo", "app=productpage")).metadata.name);
    const prom = await m.runner.run("monitoring", (await podOf(m.w, "monitoring", "app.kubernetes.io/name=prometheus")).metadata.name);
    return { pp, prom };
}

/** npm run verify against the mesh stack, from the project folder, as a person would run it. */
export function runVerify(w: World, args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [path.join(ROOT, "dist", "cli", "verify.js"), "--stack", MESH_STACK, ...args], { cwd: w.project, env: w.env, encoding: "utf8", timeout: 180_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
