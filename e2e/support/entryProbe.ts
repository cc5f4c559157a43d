// Loaded with node --require into the bench's traced pulumi runs (NODE_OPTIONS): records when the
// program's entry module starts and ends loading, which the engine's traces cannot see, so that the
// bench can tell module loading from the program's own work. Active only in the process that runs the
// program (the SDK's cmd/run), and only when ASM_BENCH_PROBE_FILE names where to write.
import { appendFileSync } from "node:fs";
import Module = require("node:module");
import * as path from "node:path";

const out = process.env.ASM_BENCH_PROBE_FILE;

interface Loader {
    _load(request: string, parent: unknown, isMain: boolean): unknown;
    _resolveFilename(request: string, parent: unknown, isMain: boolean): string;
}

const runsProgram = /[\\/]cmd[\\/]run(?:[\\/]index\.js)?$/.test(process.argv[1] ?? "");
if (out && runsProgram) {
    const loader = Module as unknown as Loader;
    const load = loader._load;
    loader._load = function (request: string, parent: unknown, isMain: boolean) {
        let file: string | undefined;
        try {
            file = loader._resolveFilename(request, parent, isMain);
        } catch {
            // Not resolvable: the real loader reports it.
        }
        // Everything before the program comes from node_modules (the SDK) or is built in.
        if (!file || !path.isAbsolute(file) || file.split(path.sep).includes("node_modules")) return load.call(this, request, parent, isMain);
        loader._load = load;
        const start = Date.now();
        try {
            return load.call(this, request, parent, isMain);
        } finally {
            appendFileSync(out, JSON.stringify({ entry: file, start, end: Date.now() }) + "\n");
        }
    };
}
