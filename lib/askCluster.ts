import { spawn } from "node:child_process";
import * as path from "node:path";
import type { Questions } from "./clusterQuestions";

/**
 * Asks the cluster one of clusterQuestions.ts's questions in a short-lived Node.js process. The
 * Kubernetes client they need takes about 80 MiB once loaded, which a module cannot give back: in the
 * program it would stay for the whole run, beside the providers the engine starts after it (measured by
 * `npm run bench`, peak memory of pulumi up). The child's error becomes this promise's, message intact.
 */
export function askCluster<Q extends keyof Questions>(question: Q, ...args: Parameters<Questions[Q]>): Promise<Awaited<ReturnType<Questions[Q]>>> {
    // Compiled (dist/lib/askCluster.js) beside the compiled script; from source (ts-node) beside the source.
    const fromSource = __filename.endsWith(".ts");
    const script = path.join(__dirname, `clusterQuestions.${fromSource ? "ts" : "js"}`);
    const child = spawn(process.execPath, [...(fromSource ? ["--require", "ts-node/register/transpile-only"] : []), script], {
        stdio: ["pipe", "pipe", "pipe"],
        env: { ...process.env, ...(fromSource ? { TS_NODE_PROJECT: path.join(__dirname, "..", "tsconfig.json") } : {}) },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.stdin.end(JSON.stringify({ question, args }));
    return new Promise((resolve, reject) => {
        child.on("error", (e) => reject(new Error(`cannot start ${process.execPath} to ask the cluster (${question}): ${e.message}`)));
        child.on("close", (code, signal) => {
            let reply: { answer?: unknown; error?: string } = {};
            try {
                reply = JSON.parse(Buffer.concat(out).toString("utf8"));
            } catch {
                // Died before it answered: what it printed says why.
            }
            if (code === 0 && "answer" in reply) resolve(reply.answer as Awaited<ReturnType<Questions[Q]>>);
            else reject(new Error(reply.error ?? `asking the cluster (${question}) failed (${signal ?? `exit ${code}`}): ${Buffer.concat(err).toString("utf8").trim().slice(-2000) || "no output"}`));
        });
    });
}
