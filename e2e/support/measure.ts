import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export interface Measured {
    ms: number;
    /** Peak of the summed resident memory of the process and all its descendants. */
    peakMiB: number;
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

function treeRssKiB(root: number): number {
    const tree = children();
    let total = 0;
    const stack = [root];
    while (stack.length) {
        const pid = stack.pop()!;
        try {
            const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
            if (m) total += Number(m[1]);
        } catch {
            // Gone already.
        }
        stack.push(...(tree.get(pid) ?? []));
    }
    return total;
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
        const timer = setInterval(() => {
            peak = Math.max(peak, treeRssKiB(p.pid!));
        }, 50);
        p.on("close", (code) => {
            clearInterval(timer);
            resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, peakMiB: peak / 1024, code: code ?? -1, output });
        });
    });
}

export function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
