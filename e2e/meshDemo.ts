// The last step of npm run demo, inside scripts/netns.sh: the mesh stack applied to a local cluster with a
// real istiod, Prometheus and productpage run as processes, and npm run verify's table at the end. Every
// process it starts ends with it (the namespaces die with it).
import { MESH_STACK, runMeshPods, runVerify, startMeshWorld, upMeshStack } from "./support/meshWorld";
import { pulumiOk, tearDown } from "./support/world";

async function main(): Promise<number> {
    const t0 = Date.now();
    const m = await startMeshWorld();
    try {
        process.stderr.write("mesh: istiod is up; pulumi up of the stack with strictMtls ...\n");
        await upMeshStack(m, "10s");
        process.stderr.write("mesh: running the injected Prometheus and productpage pods ...\n");
        await runMeshPods(m);
        const outputs = JSON.parse((await pulumiOk(m.w, ["stack", "output", "--json", "--stack", MESH_STACK])).stdout);
        process.stdout.write(`\n$ npm run verify   (${outputs.portForwardCommand})\n`);
        const r = runVerify(m.w, ["--timeout", "120"]);
        process.stdout.write(r.stdout);
        if (r.status !== 0) process.stderr.write(r.stderr);
        process.stdout.write(`\nmesh in a box: ${r.status === 0 ? "productpage scraped over STRICT mTLS" : "FAILED"} in ${Math.round((Date.now() - t0) / 1000)} s; this world ends with the demo.\n`);
        return r.status ?? 1;
    } finally {
        m.runner.stopAll();
        tearDown();
    }
}

main().then((code) => process.exit(code), (e) => {
    process.stderr.write(`mesh: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
});
