import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";

const ROOT = path.resolve(__dirname, "..", "..");

// program.js, in a copy of the project: which module does requiring it load, the compiled program or
// index.ts? (npm test built dist/ and stamped it just before.)
describe("program.js, the entry point Pulumi runs", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "asm-entry-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    for (const f of ["program.js", "build-stamp.js", "index.ts", "versions.json", "tsconfig.json", "tsconfig.build.json"]) copyFileSync(path.join(ROOT, f), path.join(dir, f));
    for (const f of ["components", "lib", "policy", "node_modules", "dist"]) symlinkSync(path.join(ROOT, f), path.join(dir, f));
    const loaded = (): string[] => JSON.parse(execFileSync(process.execPath, ["-e", `
        const program = require(${JSON.stringify(path.join(dir, "program.js"))});
        if (typeof program !== "function") throw new Error("the program is not a function");
        console.log(JSON.stringify(Object.keys(require.cache).filter((k) => /[\\\\/]index\\.(js|ts)$/.test(k) && !k.includes("node_modules"))));
    `], { encoding: "utf8" }));

    test("built from exactly these sources: the compiled program, no TypeScript compiled", () => {
        assert.deepEqual(loaded(), [path.join(ROOT, "dist", "index.js")]);
    });

    test("keeps V8's compiled code of what it loads on disk, under the temporary folder, for the next run", () => {
        const tmp = path.join(dir, "tmp");
        mkdirSync(tmp);
        execFileSync(process.execPath, ["-e", `require(${JSON.stringify(path.join(dir, "program.js"))})`], { env: { ...process.env, TMPDIR: tmp } });
        const cached = readdirSync(tmp, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
        // Node names the folder node-compile-cache/<V8 version and flags>/, one file per module.
        assert.ok(cached.length > 100, `${cached.length} files under ${tmp}`);
        assert.ok(cached.every((e) => path.relative(tmp, e.parentPath).startsWith("node-compile-cache")));
    });

    test("a source edited after the build: index.ts through ts-node, never the stale build", () => {
        appendFileSync(path.join(dir, "index.ts"), "\n// edited\n");
        assert.deepEqual(loaded(), [path.join(dir, "index.ts")]);
    });
});
