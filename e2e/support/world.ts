import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import * as YAML from "yaml";
import { configKey, PROJECT, SettingName } from "../../lib/config";
import { OPERATOR_STATUS_GATE } from "../../lib/upstream";
import { mirrorDir, mirrorPath } from "../../tests/support/upstream";

// The world of the end-to-end tests: the pinned toolchain, a local control plane (scripts/cluster.sh),
// the mirror served over HTTP on 127.0.0.1, and a Pulumi project in a temporary folder whose state
// lives in a local file backend, its secrets under a passphrase.

export const ROOT = path.resolve(__dirname, "..", "..", "..");
const PASSPHRASE = "e2e-passphrase-not-a-secret";
/** The files the Pulumi program runs from: a project folder holds these (and node_modules, Pulumi.yaml). */
const PROGRAM_FILES = ["index.ts", "components", "lib", "policy", "versions.json", "package.json", "tsconfig.json", "tsconfig.build.json", "program.js", "build-stamp.js"];

export interface World {
    tmp: string;
    bin: string;
    clusterDir: string;
    kubeconfig: string;
    mirrorUrl: string;
    mirror: ChildProcess;
    project: string;
    stateDir: string;
    env: NodeJS.ProcessEnv;
}

export interface Run {
    code: number;
    stdout: string;
    stderr: string;
}

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
    return execFileSync(cmd, args, { cwd: ROOT, env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 << 20 });
}

/** The environment the local world runs a stack in (scripts/lib.sh, asm_local_pulumi_env). */
function localPulumiEnv(home: string): NodeJS.ProcessEnv {
    const out = sh("bash", ["-c", '. scripts/lib.sh && asm_local_pulumi_env "$1"', "_", home]);
    return Object.fromEntries(out.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

/** Builds what is missing of the pinned toolchain; returns its bin folder. */
export function toolchainBin(): string {
    const out = sh(path.join(ROOT, "scripts", "toolchain.sh"), []).trim().split("\n");
    return out[out.length - 1];
}

let current: World | undefined;
/** Pulumi CLIs still running, each the leader of its own process group (language host, providers). */
const running = new Set<ChildProcess>();

/** Kills every process whose environment carries the marker: plugins and daemons whose parent died. */
function sweep(marker: string): void {
    for (const d of readdirSync("/proc")) {
        if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
        try {
            if (readFileSync(`/proc/${d}/environ`, "utf8").split("\0").includes(marker)) process.kill(Number(d), "SIGKILL");
        } catch {
            // Gone, or not ours to read.
        }
    }
}

/** Stops what setUp started, also when a test failed or the process is interrupted. */
export function tearDown(): void {
    const w = current;
    if (!w) return;
    current = undefined;
    for (const p of running) {
        try {
            process.kill(-p.pid!, "SIGKILL");
        } catch {
            // Already gone.
        }
    }
    w.mirror.kill("SIGTERM");
    // Detached: a signal sent to our process group must not cut the teardown short.
    spawnSync("setsid", ["-w", path.join(ROOT, "scripts", "cluster.sh"), "down"], { env: { ...process.env, ASM_CLUSTER_DIR: w.clusterDir }, stdio: "inherit" });
    sweep(`ASM_E2E_RUN=${w.tmp}`);
    if (!process.env.ASM_E2E_KEEP) rmSync(w.tmp, { recursive: true, force: true });
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
        tearDown();
        process.exit(130);
    });
}
process.once("exit", tearDown);

export async function setUp(): Promise<World> {
    const tmp = mkdtempSync(path.join(os.tmpdir(), "asm-prom-e2e-"));
    try {
        return await build(tmp);
    } catch (e) {
        // Before the world exists nothing but the folder is there to remove; after, tearDown does it all.
        if (current) tearDown();
        else rmSync(tmp, { recursive: true, force: true });
        throw e;
    }
}

async function build(tmp: string): Promise<World> {
    const bin = toolchainBin();
    const clusterDir = path.join(tmp, "cluster");
    const env: NodeJS.ProcessEnv = {
        ...process.env,
        // Every process this run starts inherits the marker, so the teardown can find all of them.
        ASM_E2E_RUN: tmp,
        // The toolchain on PATH, a Pulumi home of the run's own whose plugin cache holds the toolchain's
        // Kubernetes provider, and the engine switches of the local world (scripts/lib.sh says why).
        ...localPulumiEnv(path.join(tmp, "pulumi-home")),
        ASM_CLUSTER_DIR: clusterDir,
        // kubectl's discovery cache, kept out of ~/.kube/cache.
        KUBECACHEDIR: path.join(tmp, "kube-cache"),
        // Temporary files, the Kubernetes provider's kubeconfig copies among them, go with the run.
        TMPDIR: path.join(tmp, "tmp"),
    };
    mkdirSync(env.TMPDIR!);

    const mirrorRoot = await mirrorDir(path.join(tmp, "mirror"));
    const portFile = path.join(tmp, "mirror.url");
    // With the run's marker, so the teardown's sweep stops it also when this process was killed first.
    const mirror = spawn(process.execPath, [path.join(ROOT, "scripts", "mirror-server.mjs"), "--root", mirrorRoot, "--port-file", portFile], { stdio: "ignore", env: { ...process.env, ASM_E2E_RUN: tmp } });
    const world: World = { tmp, bin, clusterDir, kubeconfig: path.join(clusterDir, "admin.kubeconfig"), mirrorUrl: "", mirror, project: path.join(tmp, "project"), stateDir: path.join(tmp, "state"), env };
    current = world;

    sh(path.join(ROOT, "scripts", "cluster.sh"), ["up"], env);
    for (let i = 0; i < 100 && !existsSync(portFile); i++) await new Promise((r) => setTimeout(r, 100));
    world.mirrorUrl = readFileSync(portFile, "utf8").trim();

    // A project folder of its own, so stack files and state never land in the work tree.
    mkdirSync(world.project);
    // dist too: program.js runs the compiled program when it was built from these sources.
    for (const f of [...PROGRAM_FILES, "node_modules", "dist"]) symlinkSync(path.join(ROOT, f), path.join(world.project, f));
    copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(world.project, "Pulumi.yaml"));
    mkdirSync(world.stateDir);
    Object.assign(env, {
        KUBECONFIG: world.kubeconfig,
        PULUMI_BACKEND_URL: `file://${world.stateDir}`,
        PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
        PULUMI_SKIP_CONFIRMATIONS: "true",
    });
    return world;
}

/**
 * The program as it was at an earlier commit of this repository, in a project folder of its own beside
 * the run's. Its stack files are the run's (symlinked), so one stack is driven by either code.
 */
export function projectAt(w: World, commit: string, stacks: string[]): string {
    const dir = path.join(w.tmp, `project-${commit.slice(0, 12)}`);
    mkdirSync(dir);
    // Those of the program files that commit had (program.js came later); it runs through ts-node.
    const had = new Set(execFileSync("git", ["-C", ROOT, "ls-tree", "--name-only", commit], { encoding: "utf8" }).split("\n"));
    const archive = spawnSync("git", ["-C", ROOT, "archive", "--format=tar", commit, ...PROGRAM_FILES.filter((f) => had.has(f)), "Pulumi.yaml"], { maxBuffer: 64 * 1024 * 1024 });
    if (archive.status !== 0) throw new Error(`git archive ${commit} failed (a clone with history is needed): ${archive.stderr}`);
    execFileSync("tar", ["-x", "-C", dir], { input: archive.stdout });
    symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
    for (const stack of stacks) symlinkSync(path.join(w.project, `Pulumi.${stack}.yaml`), path.join(dir, `Pulumi.${stack}.yaml`));
    return dir;
}

/** Registers a process the teardown must kill with its process group (it must be spawned detached). */
export function track(p: ChildProcess): ChildProcess {
    running.add(p);
    p.on("close", () => running.delete(p));
    return p;
}

/** Runs the Pulumi CLI in the project folder; resolves with its exit code and output. */
export function pulumi(w: World, args: string[], opts: { onSpawn?: (p: ChildProcess) => void; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Run> {
    return new Promise((resolve) => {
        const p = spawn("pulumi", [...args, "--non-interactive"], { cwd: opts.cwd ?? w.project, env: { ...w.env, ...opts.env }, detached: true });
        running.add(p);
        let stdout = "";
        let stderr = "";
        p.stdout.on("data", (d) => (stdout += d));
        p.stderr.on("data", (d) => (stderr += d));
        opts.onSpawn?.(p);
        p.on("close", (code) => {
            running.delete(p);
            resolve({ code: code ?? -1, stdout, stderr });
        });
    });
}

/** Like pulumi(), but throws with the output when the command fails. */
export async function pulumiOk(w: World, args: string[], env?: NodeJS.ProcessEnv): Promise<Run> {
    const r = await pulumi(w, args, { env });
    if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${r.code}\n--- stdout\n${r.stdout.slice(-6000)}\n--- stderr\n${r.stderr.slice(-6000)}`);
    return r;
}

export function kubectl(w: World, args: string[]): string {
    return sh(path.join(w.bin, "kubectl"), ["--kubeconfig", w.kubeconfig, ...args], w.env);
}

export function kubectlJson<T = any>(w: World, args: string[]): T {
    return JSON.parse(kubectl(w, [...args, "-o", "json"])) as T;
}

/** Whether an object exists, by kind and name (and namespace). */
export function exists(w: World, kind: string, name: string, namespace?: string): boolean {
    const r = spawnSync(path.join(w.bin, "kubectl"), ["--kubeconfig", w.kubeconfig, "get", kind, name, ...(namespace ? ["-n", namespace] : []), "--ignore-not-found", "-o", "name"], { env: w.env, encoding: "utf8" });
    return r.status === 0 && r.stdout.trim() !== "";
}

/** Config of a stack like dev, against the local cluster and the mirror. */
export function stackConfig(w: World, extra: Partial<Record<SettingName, unknown>> = {}): Record<string, unknown> {
    const settings: Partial<Record<SettingName, unknown>> = {
        operatorUrlTemplate: `${w.mirrorUrl}/${mirrorPath("operator")}`,
        bookinfoUrlTemplate: `${w.mirrorUrl}/${mirrorPath("bookinfo")}`,
        manifestCacheDir: path.join(w.tmp, "manifests"),
        prometheusReplicas: 1,
        // kwok's pod IPs are loopback addresses, which EndpointSlices refuse: no Service gets endpoints.
        awaitServiceEndpoints: false,
        // The operator does not run during every up here, and nothing would make the Prometheus Available
        // or accept a ServiceMonitor.
        awaitPrometheus: false,
        awaitServiceMonitors: false,
        // The local cluster's default class (scripts/cluster.sh): local volumes, bound when a pod is scheduled.
        prometheusStorageClass: "",
        ...extra,
    };
    return {
        "alicloud:region": "cn-hangzhou",
        ...Object.fromEntries(Object.entries(settings).map(([k, v]) => [configKey(k as SettingName), v])),
    };
}

/** The cluster's kubeconfig with certificates and key embedded, as a kubeconfig handed to CI would be. */
export function embeddedKubeconfig(w: World): string {
    return kubectl(w, ["config", "view", "--raw", "--flatten", "--minify"]);
}

/** The client key of that kubeconfig (base64), which must never be stored or logged in plain text. */
export function clientKeyData(w: World): string {
    return /client-key-data: (\S+)/.exec(embeddedKubeconfig(w))![1];
}

/** Creates a stack with a passphrase secrets provider and the kubeconfig of the local cluster as a secret. */
export async function newStack(w: World, stack: string, config: Record<string, unknown>): Promise<void> {
    await pulumiOk(w, ["stack", "init", stack, "--secrets-provider", "passphrase"]);
    await setKubeconfig(w, stack, embeddedKubeconfig(w));
    await setConfig(w, stack, config);
}

/** Sets the stack's kubeconfig, as a secret. */
export async function setKubeconfig(w: World, stack: string, kubeconfig: string): Promise<void> {
    await pulumiOk(w, ["config", "set", "--secret", "--stack", stack, configKey("kubeconfig"), kubeconfig]);
}

/**
 * Writes the API server has served to the objects a stack declares (apiserver_request_total of the
 * mutating verbs, dry runs and status updates left out).
 */
export function stackWrites(w: World): number {
    const kinds = new Set(["customresourcedefinitions", "prometheuses", "servicemonitors", "peerauthentications", "deployments", "services", "serviceaccounts", "clusterroles", "clusterrolebindings", "roles", "rolebindings", "poddisruptionbudgets", "namespaces"]);
    let n = 0;
    for (const line of kubectl(w, ["get", "--raw", "/metrics"]).split("\n")) {
        if (!line.startsWith("apiserver_request_total{")) continue;
        const l = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
        if (["APPLY", "PATCH", "CREATE", "UPDATE", "DELETE"].includes(l.verb) && l.dry_run === "" && l.subresource === "" && kinds.has(l.resource)) n += Number(line.split(" ").pop());
    }
    return n;
}

/** Replaces the plain (non-secret) config of a stack, keeping its secrets. */
export async function setConfig(w: World, stack: string, config: Record<string, unknown>): Promise<void> {
    const file = path.join(w.project, `Pulumi.${stack}.yaml`);
    const doc = YAML.parse(readFileSync(file, "utf8")) ?? {};
    const kept = Object.fromEntries(Object.entries(doc.config ?? {}).filter(([, v]) => typeof v === "object" && v !== null && "secure" in (v as object)));
    doc.config = { ...kept, ...config };
    writeFileSync(file, YAML.stringify(doc));
}

export async function mirrorStats(w: World): Promise<Record<string, number>> {
    return (await fetch(`${w.mirrorUrl}/__stats`)).json() as Promise<Record<string, number>>;
}

export interface Step {
    op: string;
    urn: string;
    type: string;
    name: string;
}

/** The steps `pulumi preview --json` plans, without the no-op ones. */
export async function plannedChanges(w: World, stack: string): Promise<Step[]> {
    const r = await pulumiOk(w, ["preview", "--stack", stack, "--json"]);
    const steps = (JSON.parse(r.stdout).steps ?? []) as { op: string; urn: string }[];
    return steps
        .filter((s) => s.op !== "same")
        .map((s) => {
            const parts = s.urn.split("::");
            return { op: s.op, urn: s.urn, type: parts[2].split("$").pop()!, name: parts[3] };
        });
}

export function stateFile(w: World, stack: string): string {
    return path.join(w.stateDir, ".pulumi", "stacks", PROJECT, `${stack}.json`);
}

/**
 * The prometheus-operator of the pinned release, run out of cluster against the local API server (the
 * bundle's own Deployment only gets a fake pod from kwok). It reconciles our Prometheus for real.
 */
export function startOperator(w: World): ChildProcess {
    const log = path.join(w.tmp, "operator.log");
    const out = openSync(log, "a");
    const p = spawn(path.join(w.bin, "prometheus-operator"), [
        "--web.listen-address=127.0.0.1:0",
        "--disable-unmanaged-prometheus-configuration=true",
        "--watch-referenced-objects-in-all-namespaces=true",
        // As the stack runs it (lib/upstream.ts): ServiceMonitors get their acceptance in their status.
        OPERATOR_STATUS_GATE,
    ], { env: { ...w.env, KUBECONFIG: w.kubeconfig }, detached: true, stdio: ["ignore", out, out] });
    return track(p);
}

/** The configuration the operator generated for Prometheus "mesh" (its Secret, gzipped). */
export function generatedConfig(w: World, namespace = "monitoring"): any {
    const secret = kubectlJson(w, ["get", "secret", "prometheus-mesh", "-n", namespace]);
    return YAML.parse(gunzipSync(Buffer.from(secret.data["prometheus.yaml.gz"], "base64")).toString("utf8"));
}

/** Its scrape jobs. */
export function generatedJobs(w: World): any[] {
    return generatedConfig(w).scrape_configs ?? [];
}

/** Polls fn (sync or async) until it returns a value that is not undefined, or fails after timeoutMs. */
export async function eventually<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
        try {
            const v = await fn();
            if (v !== undefined) return v;
        } catch (e) {
            last = e;
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
        await new Promise((r) => setTimeout(r, 500));
    }
}
