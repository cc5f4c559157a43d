/**
 * The warning lines of a Pulumi run that a user would have to look into. One kind is left out: the
 * Kubernetes provider's progress while it waits for a Deployment it is creating or updating, which it
 * prints at warning severity as the Deployment's own condition (`[MinimumReplicasUnavailable] Deployment
 * does not have minimum availability` until its pods are ready; pulumi-kubernetes pkg/await/deployment.go).
 * It is a status line that the next one replaces, never part of the run's Diagnostics.
 *
 * As a script, it reads a run's output on stdin, prints those lines and exits 1 when there are any.
 */
const AWAIT_PROGRESS = /^\s*[+~]?\s*kubernetes:apps\/v1:Deployment \S+ (creating|updating) \(\d+(\.\d+)?s\) warning: \[\w+\] /;

export function warningLines(output: string): string[] {
    return output.split("\n").filter((l) => /\bwarning\b/i.test(l) && !AWAIT_PROGRESS.test(l));
}

if (require.main === module) {
    const chunks: Buffer[] = [];
    process.stdin.on("data", (c: Buffer) => chunks.push(c));
    process.stdin.on("end", () => {
        const found = warningLines(Buffer.concat(chunks).toString("utf8"));
        for (const l of found) console.log(l);
        process.exitCode = found.length > 0 ? 1 : 0;
    });
}
