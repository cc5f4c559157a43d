// npm run bench: on one local cluster, in one run, times pulumi against kubectl on the same objects.
// Not a test: it prints a table and writes .bench/latest.json. Rounds: BENCH_ROUNDS (default 3).
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { PROJECT } from "../lib/config";
import { formatPhases, Phase, phases, readProbe, readSpans } from "./support/breakdown";
import { measure, Measured, median } from "./support/measure";
import { newStack, pulumiOk, ROOT, setUp, stackConfig, stateFile, tearDown, World } from "./support/world";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
// BENCH_STRIP_CRD_DESCRIPTIONS=true measures both sides with stripCrdDescriptions on.
const EXTRA = process.env.BENCH_STRIP_CRD_DESCRIPTIONS === "true" ? { stripCrdDescriptions: true } : {};
// BENCH_CRDS=provider times the stack with crdManagement provider (one provider resource per CRD); kubectl's
// side is the same either way.
const CRDS = process.env.BENCH_CRDS ?? "set";
if (CRDS !== "set" && CRDS !== "provider") throw new Error(`BENCH_CRDS: ${JSON.stringify(CRDS)} is not accepted; accepted: set or provider`);
// BENCH_PULUMI_ENV="NAME=value ..." sets these for every timed pulumi command (engine switches such as
// PULUMI_PARALLEL_DIFF), so that their effect is measured in the same run as kubectl.
const PULUMI_ENV: Record<string, string> = Object.fromEntries((process.env.BENCH_PULUMI_ENV ?? "").split(/\s+/).filter(Boolean).map((kv) => {
    const m = /^(PULUMI_[A-Z0-9_]+)=(.*)$/.exec(kv);
    if (!m) throw new Error(`BENCH_PULUMI_ENV: ${JSON.stringify(kv)} is not accepted; accepted: PULUMI_NAME=value pairs separated by spaces`);
    return [m[1], m[2]];
}));

// A ratio against kubectl only means something on an idle machine: the short kubectl side waits on the
// API server, which a busy machine slows more than the engine. The bench waits for the 1-minute load
// average to fall below BENCH_MAX_LOAD (default 0.5) and refuses to report ratios if it does not.
const MAX_LOAD = Number(process.env.BENCH_MAX_LOAD ?? 0.5);
if (!(MAX_LOAD > 0)) throw new Error(`BENCH_MAX_LOAD: ${JSON.stringify(process.env.BENCH_MAX_LOAD)} is not accepted; accepted: a load average above 0`);

async function quietMachine(): Promise<number> {
    const deadline = Date.now() + 180_000;
    for (;;) {
        const load = os.loadavg()[0];
        if (load <= MAX_LOAD || Date.now() > deadline) return load;
        process.stderr.write(`load average ${load.toFixed(2)} > ${MAX_LOAD}: waiting for the machine to settle\n`);
        await new Promise((r) => setTimeout(r, 15_000));
    }
}

interface Row {
    name: string;
    runs: Measured[];
}

function must(m: Measured, what: string): Measured {
    if (m.code !== 0) throw new Error(`${what} exited ${m.code}:\n${m.output.slice(-4000)}`);
    return m;
}

async function main() {
    const loadAtStart = await quietMachine();
    const w: World = await setUp();
    try {
        const pulumiArgs = (stack: string, ...a: string[]) => [...a, "--stack", stack, "--non-interactive"];
        const run = (args: string[]) => measure("pulumi", args, { cwd: w.project, env: { ...w.env, ...PULUMI_ENV } });
        const kubectl = (args: string[]) => measure(path.join(w.bin, "kubectl"), ["--kubeconfig", w.kubeconfig, ...args], { env: w.env });

        // The objects as the stack itself renders them, for kubectl to apply.
        const rendered = path.join(w.tmp, "rendered");
        await newStack(w, "render", stackConfig(w, { ...EXTRA, renderYamlToDirectory: rendered }));
        // The provider takes KUBECONFIG from the environment too, and refuses it next to rendering.
        const kubeconfigEnv = w.env.KUBECONFIG;
        delete w.env.KUBECONFIG;
        await pulumiOk(w, ["up", "--yes", "--skip-preview", "--stack", "render"]);
        w.env.KUBECONFIG = kubeconfigEnv;
        const crdDir = path.join(rendered, "0-crd");
        const manifestDir = path.join(rendered, "1-manifest");
        const files = readdirSync(crdDir).length + readdirSync(manifestDir).length;
        // kubectl applies a folder in name order: namespaces first, as Pulumi orders them.
        const renderedNamespaces = readdirSync(manifestDir)
            .map((f) => ({ file: path.join(manifestDir, f), obj: YAML.parse(readFileSync(path.join(manifestDir, f), "utf8")) }))
            .filter((r) => r.obj?.kind === "Namespace");
        const nsFiles = renderedNamespaces.map((r) => r.file);
        const namespaces = renderedNamespaces.map((r) => `namespace/${r.obj.metadata.name}`);
        if (namespaces.length !== 2) throw new Error(`expected 2 rendered namespaces, found ${namespaces.join(", ") || "none"} in ${readdirSync(manifestDir).join(", ")}`);
        // Untimed: a namespace being deleted cannot be filled again until it is gone.
        const namespacesGone = async () => must(await kubectl(["wait", "--for=delete", ...namespaces, "--timeout=300s"]), "kubectl wait for deletion");

        await newStack(w, "bench", stackConfig(w, { ...EXTRA, crdManagement: CRDS, retainCrds: false }));
        const rows: Record<string, Row> = {
            up: { name: "pulumi up (empty -> done)", runs: [] },
            apply: { name: "kubectl apply --server-side + wait", runs: [] },
            preview: { name: "pulumi preview (no change)", runs: [] },
            diff: { name: "kubectl diff --server-side (no change)", runs: [] },
            evaluate: { name: "program evaluation alone (mocks)", runs: [] },
        };

        let stateBytes = 0;
        for (let i = 0; i < ROUNDS; i++) {
            process.stderr.write(`round ${i + 1}/${ROUNDS}\n`);
            rows.up.runs.push(must(await run(pulumiArgs("bench", "up", "--yes", "--skip-preview")), "pulumi up"));
            // The file backend writes <stack>.json, or <stack>.json.zst with PULUMI_DIY_BACKEND_ZSTD.
            const state = [stateFile(w, "bench"), `${stateFile(w, "bench")}.zst`].find((f) => existsSync(f));
            if (!state) throw new Error(`no state file for stack bench under ${w.stateDir}`);
            stateBytes = statSync(state).size;
            rows.preview.runs.push(must(await run(pulumiArgs("bench", "preview", "--expect-no-changes")), "pulumi preview"));
            must(await run(pulumiArgs("bench", "destroy", "--yes", "--skip-preview")), "pulumi destroy");
            await namespacesGone();

            // The same readiness Pulumi awaits: CRDs Established, then Deployments Available.
            const t0 = Date.now();
            let peak = 0;
            for (const step of [
                ["apply", "--server-side", "-f", crdDir],
                ["wait", "--for=condition=Established", "crd", "--all", "--timeout=300s"],
                ["apply", "--server-side", ...nsFiles.flatMap((f) => ["-f", f])],
                ["apply", "--server-side", "-f", manifestDir],
                ["wait", "--for=condition=Available", "deployment", "--all", "--all-namespaces", "--timeout=600s"],
            ]) peak = Math.max(peak, must(await kubectl(step), `kubectl ${step[0]}`).peakMiB);
            rows.apply.runs.push({ ms: Date.now() - t0, peakMiB: peak, atPeak: {}, code: 0, output: "" });
            const diff = await kubectl(["diff", "--server-side", "-f", crdDir, "-f", manifestDir]);
            if (diff.code !== 0) throw new Error(`kubectl diff found changes (exit ${diff.code}):\n${diff.output.slice(-3000)}`);
            rows.diff.runs.push(diff);
            must(await kubectl(["delete", "--wait=true", "--ignore-not-found", "-f", manifestDir]), "kubectl delete");
            must(await kubectl(["delete", "--wait=true", "--ignore-not-found", "-f", crdDir]), "kubectl delete crds");
            await namespacesGone();

            const evalConfig = Object.fromEntries(Object.entries(stackConfig(w, { ...EXTRA, crdManagement: CRDS })).map(([k, v]) => [k, String(v)]));
            const ev = must(await measure(process.execPath, [path.join(ROOT, "dist", "e2e", "support", "evaluate.js")], {
                env: { ...w.env, ASM_EVAL_CONFIG: JSON.stringify(evalConfig) },
            }), "evaluate");
            rows.evaluate.runs.push({ ...ev, ms: JSON.parse(ev.output.trim().split("\n").pop()!).ms });
        }

        // One more up and no-change preview, traced (untimed above: tracing costs a little), for the breakdown.
        const traced = async (label: string, args: string[]): Promise<Phase[]> => {
            const trace = path.join(w.tmp, `${label}.otel.jsonl`);
            const probe = path.join(w.tmp, `${label}.probe.jsonl`);
            must(await measure("pulumi", [...args, "--otel-traces", `file://${trace}`], {
                cwd: w.project,
                env: { ...w.env, ...PULUMI_ENV, NODE_OPTIONS: `--require ${path.join(__dirname, "support", "entryProbe.js")}`, ASM_BENCH_PROBE_FILE: probe },
            }), `traced pulumi ${label}`);
            return phases(readSpans(trace), readProbe(probe));
        };
        const upPhases = await traced("up", pulumiArgs("bench", "up", "--yes", "--skip-preview"));
        const previewPhases = await traced("preview", pulumiArgs("bench", "preview", "--expect-no-changes"));
        must(await run(pulumiArgs("bench", "destroy", "--yes", "--skip-preview")), "pulumi destroy");
        const loadAtEnd = os.loadavg()[0];

        const summary = Object.fromEntries(Object.entries(rows).map(([k, r]) => {
            const ms = r.runs.map((x) => x.ms);
            return [k, { name: r.name, rounds: ms.length, median_s: median(ms) / 1000, min_s: Math.min(...ms) / 1000, max_s: Math.max(...ms) / 1000, peak_mib: Math.max(...r.runs.map((x) => x.peakMiB)) }];
        }));
        const upPeak = rows.up.runs.reduce((a, b) => (b.peakMiB > a.peakMiB ? b : a));
        const peakParts = Object.entries(upPeak.atPeak).sort((a, b) => b[1] - a[1]);
        const ratios = {
            up_vs_kubectl_apply: summary.up.median_s / summary.apply.median_s,
            preview_vs_kubectl_diff: summary.preview.median_s / summary.diff.median_s,
        };

        const pad = (s: string, n: number) => s.padEnd(n);
        console.log(`\n${files} objects, ${ROUNDS} rounds each (median, min-max, peak RSS of the process tree)`);
        console.log(`config: ${JSON.stringify({ ...EXTRA, crdManagement: CRDS })}; pulumi environment: ${JSON.stringify(PULUMI_ENV)}\n`);
        console.log(`${pad("", 42)}${pad("median s", 10)}${pad("min-max s", 14)}peak MiB`);
        for (const s of Object.values(summary)) {
            console.log(`${pad(s.name, 42)}${pad(s.median_s.toFixed(2), 10)}${pad(`${s.min_s.toFixed(2)}-${s.max_s.toFixed(2)}`, 14)}${s.peak_mib.toFixed(0)}`);
        }
        console.log(`\nstate after up: ${stateBytes} bytes`);
        console.log(`machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; 1-minute load average ${loadAtStart.toFixed(2)} at start (at most ${MAX_LOAD}), ${loadAtEnd.toFixed(2)} at the end (the bench's own)`);
        const busy = loadAtStart > MAX_LOAD;
        if (busy) {
            console.log(`\n!!! THE MACHINE WAS BUSY (load ${loadAtStart.toFixed(2)} > ${MAX_LOAD}): no ratio is reported; stop what else runs and bench again. !!!`);
        } else {
            console.log(`up / (kubectl apply + wait): ${ratios.up_vs_kubectl_apply.toFixed(2)}x   (goal <= 2)`);
            console.log(`preview / kubectl diff:      ${ratios.preview_vs_kubectl_diff.toFixed(2)}x   (goal <= 1.5)`);
            console.log(`peak memory of pulumi up:    ${summary.up.peak_mib.toFixed(0)} MiB (goal < 700)`);
        }
        console.log(`  its processes at that peak: ${peakParts.map(([n, mib]) => `${n} ${mib.toFixed(0)}`).join(", ")} (MiB)`);
        console.log(`\n${formatPhases("where one no-change preview's time goes (traced):", previewPhases)}`);
        console.log(`\n${formatPhases("where one up's time goes (traced):", upPhases)}`);

        mkdirSync(path.join(ROOT, ".bench"), { recursive: true });
        writeFileSync(path.join(ROOT, ".bench", "latest.json"), JSON.stringify({ date: new Date().toISOString(), project: PROJECT, rounds: ROUNDS, load_at_start: loadAtStart, busy, breakdown: { preview: previewPhases, up: upPhases }, config: { ...EXTRA, crdManagement: CRDS }, pulumi_env: PULUMI_ENV, objects: files, state_bytes: stateBytes, up_peak_by_process_mib: Object.fromEntries(peakParts.map(([n, m]) => [n, Math.round(m)])), ...(busy ? {} : ratios), rows: summary }, null, 2) + "\n");
        console.log(`\nwritten: .bench/latest.json`);
    } finally {
        tearDown();
    }
}

main().catch((e) => {
    console.error(e);
    tearDown();
    process.exit(1);
});
