import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { api, checkRemoteWrite, checkTargets, render, renderAlerts, RulesData, stackAlerts } from "../lib/verify";

// npm run verify [-- --stack NAME] [--prometheus-url URL] [--timeout SECONDS] [--local-port PORT]
// Reads the stack's outputs, opens the port-forward the stack prints (unless --prometheus-url names a
// Prometheus already reachable), waits until every ServiceMonitor target is UP or the deadline passes,
// runs the check query, and prints one row per target; with remote write, whether its endpoint took the
// samples of the last 15 s; then the stack's alerts that fire or are pending. Exit 0: all UP, the query returns series, no sample refused;
// exit 1: the cause and the next command to run; exit 2: verify itself could not run.

interface Outputs {
    portForwardCommand: string;
    checkQuery: string;
    monitoringNamespace: string;
    appNamespace: string;
    prometheusName: string;
    serviceMonitors: string[];
    /** The stack's alert rules by group, when it declares them. */
    alerts?: Record<string, string[]>;
}

function flag(name: string): string | undefined {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : undefined;
}

function outputs(stack: string | undefined): Outputs {
    const out = execFileSync("pulumi", ["stack", "output", "--json", ...(stack ? ["--stack", stack] : [])], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    const o = JSON.parse(out) as Outputs;
    for (const k of ["portForwardCommand", "checkQuery", "monitoringNamespace", "appNamespace", "prometheusName", "serviceMonitors"] as const) {
        if (o[k] === undefined) throw new Error(`stack output ${k} is missing: run pulumi up first`);
    }
    return o;
}

/** Runs the stack's port-forward command as printed (with another local port if asked); resolves with its URL. */
function portForward(command: string, localPort: string | undefined): Promise<{ url: string; child: ChildProcess }> {
    const argv = command.split(/\s+/);
    if (localPort) argv[argv.length - 1] = `${localPort}:${argv[argv.length - 1]}`;
    const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    return new Promise((resolve, reject) => {
        let err = "";
        const timer = setTimeout(() => reject(new Error(`${argv.join(" ")} did not forward within 30 s: ${err}`)), 30_000);
        child.stderr!.on("data", (d) => (err += d));
        child.stdout!.on("data", (d) => {
            const m = /Forwarding from (127\.0\.0\.1|\[::1\]):(\d+)/.exec(String(d));
            if (m) {
                clearTimeout(timer);
                resolve({ url: `http://127.0.0.1:${m[2]}`, child });
            }
        });
        child.on("exit", (code) => {
            clearTimeout(timer);
            reject(new Error(`${argv.join(" ")} exited ${code}: ${err.trim()}`));
        });
    });
}

/** Three of the queues' 5 s batch deadlines: a queue that sends anything sends within it. */
const REMOTE_WRITE_WINDOW_MS = 15_000;

async function main(): Promise<number> {
    const o = outputs(flag("stack") ?? process.env.PULUMI_STACK);
    const timeoutS = Number(flag("timeout") ?? 120);
    let forward: ChildProcess | undefined;
    let base = flag("prometheus-url");
    try {
        if (!base) {
            const pf = await portForward(o.portForwardCommand, flag("local-port"));
            forward = pf.child;
            base = pf.url;
            console.log(`port-forward: ${o.portForwardCommand} -> ${base}`);
        }
        const context = { monitoringNamespace: o.monitoringNamespace, appNamespace: o.appNamespace, prometheusName: o.prometheusName, prometheusPod: `prometheus-${o.prometheusName}-0` };
        const report = await checkTargets(base, {
            pools: o.serviceMonitors.map((sm) => `serviceMonitor/${o.appNamespace}/${sm}/0`),
            query: o.checkQuery,
            deadlineMs: timeoutS * 1000,
            context,
        });
        console.log(render(report, o.checkQuery));
        if (o.alerts) console.log(renderAlerts(stackAlerts(await api<RulesData>(base, "/api/v1/rules?type=alert"), Object.keys(o.alerts))));
        if (!report.ok) return 1;
        const remote = await checkRemoteWrite(base, { windowMs: REMOTE_WRITE_WINDOW_MS, context });
        for (const q of remote.queues) console.log(`remote write ${q.url}: ${q.sentInWindow} samples sent, ${q.failedInWindow} refused in the last ${REMOTE_WRITE_WINDOW_MS / 1000} s`);
        if (remote.failure) console.log(`FAILED (${remote.failure.cause}): ${remote.failure.meaning}\nnext: ${remote.failure.next}`);
        return remote.ok ? 0 : 1;
    } finally {
        forward?.kill("SIGTERM");
    }
}

main().then((code) => process.exit(code), (e) => {
    console.error(`verify: ${(e as Error).message}`);
    process.exit(2);
});
