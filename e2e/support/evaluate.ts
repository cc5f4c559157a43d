// Evaluates the program alone, under Pulumi's mocks (no engine, no provider, no cluster), with the config
// given as JSON in ASM_EVAL_CONFIG; prints the wall time and the number of resources registered.
import { performance } from "node:perf_hooks";
import { runProgram } from "../../tests/support/harness";

async function main() {
    const config = JSON.parse(process.env.ASM_EVAL_CONFIG ?? "{}") as Record<string, string>;
    const t0 = performance.now();
    const { resources } = await runProgram(config);
    console.log(JSON.stringify({ ms: performance.now() - t0, resources: resources.length }));
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
