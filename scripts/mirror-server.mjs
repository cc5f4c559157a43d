#!/usr/bin/env node
// A static file server over a mirror folder of the upstream files (the layout of versions.json's mirror paths), listening on 127.0.0.1
// only, so the stack downloads its manifests over HTTP exactly as from the release URLs.
//   GET /<path>                 the file under the root, or 404
//   GET /fault/<status>/<path>  answers <status> (fault tests: 404, 500, ...)
//   GET /__stats                JSON: requests served per path (to prove what was downloaded)
// Usage: node scripts/mirror-server.mjs --root DIR [--port N] [--port-file FILE]
import { createReadStream, promises as fs, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { parseArgs } from "node:util";

export function startMirror(root, port = 0) {
    const base = path.resolve(root);
    const stats = {};
    const server = http.createServer(async (req, res) => {
        const url = new URL(req.url ?? "/", "http://127.0.0.1");
        const p = decodeURIComponent(url.pathname);
        if (p === "/__stats") {
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(stats));
            return;
        }
        stats[p] = (stats[p] ?? 0) + 1;
        const fault = /^\/fault\/(\d{3})\//.exec(p);
        if (fault) {
            res.writeHead(Number(fault[1]), { "content-type": "text/plain" }).end(`fault injected: ${fault[1]}\n`);
            return;
        }
        const file = path.join(base, p);
        if (!file.startsWith(base + path.sep)) {
            res.writeHead(403).end();
            return;
        }
        try {
            const st = await fs.stat(file);
            if (!st.isFile()) throw new Error("not a file");
            res.writeHead(200, { "content-type": "application/yaml", "content-length": st.size });
            createReadStream(file).pipe(res);
        } catch {
            res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
        }
    });
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => {
            const { port: bound } = server.address();
            resolve({ server, url: `http://127.0.0.1:${bound}`, stats, close: () => new Promise((ok) => server.close(() => ok())) });
        });
    });
}

if (import.meta.url === `file://${process.argv[1]}`) {
    const { values } = parseArgs({ options: { root: { type: "string" }, port: { type: "string", default: "0" }, "port-file": { type: "string" } } });
    if (!values.root) {
        console.error("usage: mirror-server.mjs --root DIR [--port N] [--port-file FILE]");
        process.exit(2);
    }
    const m = await startMirror(values.root, Number(values.port));
    if (values["port-file"]) writeFileSync(values["port-file"], m.url + "\n");
    console.log(`mirror of ${path.resolve(values.root)} at ${m.url}`);
    const stop = () => m.close().then(() => process.exit(0));
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
}
