// The questions the program asks the cluster itself, answered in a process of their own (askCluster.ts).
// Run as a script: reads {"question", "args"} as JSON on stdin and writes {"answer"} or {"error"} as JSON on
// stdout. The credentials travel on stdin, never in argv or the environment, where ps would show them.
import { waitUntilServed } from "./apiServed";
import { handMadeDeployments } from "./handMade";

export const QUESTIONS = { handMadeDeployments, waitUntilServed };
export type Questions = typeof QUESTIONS;

async function answer(input: string): Promise<unknown> {
    const { question, args } = JSON.parse(input) as { question: keyof Questions; args: unknown[] };
    const fn = QUESTIONS[question] as (...a: unknown[]) => Promise<unknown>;
    if (typeof fn !== "function") throw new Error(`no such question: ${JSON.stringify(question)}; accepted: ${Object.keys(QUESTIONS).join(", ")}`);
    return fn(...args);
}

if (require.main === module) {
    const chunks: Buffer[] = [];
    process.stdin.on("data", (c: Buffer) => chunks.push(c));
    process.stdin.on("end", () => {
        answer(Buffer.concat(chunks).toString("utf8")).then(
            (a) => process.stdout.write(JSON.stringify({ answer: a ?? null })),
            (e: unknown) => {
                process.stdout.write(JSON.stringify({ error: e instanceof Error ? e.message : String(e) }));
                process.exitCode = 1;
            },
        );
    });
}
