// The entry point Pulumi runs (package.json "main"). Compiling index.ts and its modules through ts-node
// on every preview costs the program process about 0.7 s, so the program runs from dist/ when `npm run
// build` compiled it from exactly the sources beside this file (their digest is in dist/program.sha256);
// after any edit, before a build, it runs index.ts through ts-node as Pulumi does by default.
// `node program.js --stamp` writes the digest; the build runs it after tsc.
"use strict";
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

// What the compiled program is made of: tsc's inputs for index.ts and its imports, and its settings.
const SOURCES = ["index.ts", "components", "lib", "versions.json", "tsconfig.json", "tsconfig.build.json"];
const STAMP = path.join(__dirname, "dist", "program.sha256");

function files(rel) {
    const abs = path.join(__dirname, rel);
    if (!fs.statSync(abs).isDirectory()) return [rel];
    return fs.readdirSync(abs).sort().flatMap((f) => files(path.join(rel, f)));
}

function sourcesDigest() {
    const h = createHash("sha256");
    for (const f of SOURCES.flatMap(files)) h.update(`${f}\0`).update(fs.readFileSync(path.join(__dirname, f))).update("\0");
    return h.digest("hex");
}

function built() {
    try {
        return fs.readFileSync(STAMP, "utf8").trim() === sourcesDigest();
    } catch {
        return false;
    }
}

if (require.main === module) {
    if (process.argv.slice(2).join(" ") !== "--stamp") throw new Error(`program.js: ${JSON.stringify(process.argv.slice(2).join(" "))} is not accepted; accepted: --stamp (after tsc -p tsconfig.build.json)`);
    fs.writeFileSync(STAMP, `${sourcesDigest()}\n`);
} else if (built()) {
    module.exports = require("./dist/index.js");
} else {
    // Pulumi registers ts-node itself where its language host still runs TypeScript (Pulumi.yaml's
    // typescript option, which older hosts ignore); register it only where nothing did.
    if (!process[Symbol.for("ts-node.register.instance")]) require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "tsconfig.json") });
    module.exports = require("./index.ts");
}
