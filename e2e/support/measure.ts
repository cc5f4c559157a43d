import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";

export interface Measured {
    ms: number;
    /** Peak of the summed resident memory of the process and all its descendants. */
    peakMiB: number;
    /** Each process's resident memory at the moment of the peak, by a short name (see label()). */
    atPeak: Record<string, number>;
    code: number;
    output: string;
}

function children(): Map<number, number[]> {
    const tree = new Map<number, number[]>();
    for (const d of readdirSync("/proc")) {
        if (!/^\d+$/.test(d)) continue;
        try {
            const stat = readFileSync(`/proc/${d}/stat`, "utf8");
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            tree.set(ppid, [...(tree.get(ppid) ?? []), Number(d)]);
        } catch {
            // The process ended while we looked.
        }
    }
    return tree;
}

// Node processes are told apart by the SDK entry they run (cmd/run is the program, cmd/dynamic-provider the
// dynamic-provider host); other processes by their executable's name.
function label(pid: number): string {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    const exe = path.basename(argv[0] ?? "?");
    if (exe !== "node") return exe;
    const entry = argv.slice(1).find((a) => !a.startsWith("-") && /[/.]/.test(a));
    const cmd = entry && /cmd\/([a-z-]+)/.exec(entry);
    return cmd ? `node ${cmd[1]}` : `node ${entry ? path.basename(entry) : ""}`.trim();
}

/** The resident memory (KiB) of each process of the tree under root, by pid. */
function treeRss(root: number): Map<number, number> {
    const tree = children();
    const rss = new Map<number, number>();
    const stack = [root];
    while (stack.length) {
        const pid = stack.pop()!;
        try {
            const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
            if (m) rss.set(pid, Number(m[1]));
        } catch {
            // Gone already.
        }
        stack.push(...(tree.get(pid) ?? []));
    }
    return rss;
}

/** MiB by label(), for the sample that made a new peak only: naming costs a read per process. */
function byName(rss: Map<number, number>): Record<string, number> {
    const named: Record<string, number> = {};
    for (const [pid, kib] of rss) {
        try {
            const name = label(pid);
            named[name] = (named[name] ?? 0) + kib / 1024;
        } catch {
            // Gone since the sample.
        }
    }
    return named;
}

/** Runs a command, timing it and sampling the memory of its process tree every 50 ms. */
export function measure(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<Measured> {
    return new Promise((resolve) => {
        const t0 = process.hrtime.bigint();
        const p = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        p.stdout.on("data", (d) => (output += d));
        p.stderr.on("data", (d) => (output += d));
        let peak = 0;
        let atPeak: Record<string, number> = {};
        const timer = setInterval(() => {
            const rss = treeRss(p.pid!);
            const total = [...rss.values()].reduce((a, b) => a + b, 0);
            if (total > peak) [peak, atPeak] = [total, byName(rss)];
        }, 50);
        p.on("close", (code) => {
            clearInterval(timer);
            resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, peakMiB: peak / 1024, atPeak, code: code ?? -1, output });
        });
    });
}

export function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
