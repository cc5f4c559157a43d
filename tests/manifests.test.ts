import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import * as YAML from "yaml";
import { configKey } from "../lib/config";
import { defaultCacheDir, loadManifest, ManifestError, manifestSource, parseManifest } from "../lib/manifests";
import { VERSIONS } from "../lib/versions";
import { CRD_SET } from "./support/fixtures";
import { failingProgram, runProgram, testConfig } from "./support/harness";
import { upstreamObjects } from "./support/upstream";

// A static server on 127.0.0.1 standing in for the release download, with faults on demand.
const BODY = YAML.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" } }) + "---\n" + YAML.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: "b" } });
const DIGEST = createHash("sha256").update(BODY).digest("hex");
const requests: string[] = [];
let server: http.Server;
let base: string;

before(async () => {
    server = http.createServer((req, res) => {
        requests.push(req.url!);
        const status = /\/status\/(\d+)\//.exec(req.url!)?.[1];
        if (status) {
            res.writeHead(Number(status)).end("nope");
            return;
        }
        res.writeHead(200, { "content-type": "application/yaml" }).end(BODY);
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((ok) => server.close(() => ok())));

const SETTINGS = { version: configKey("operatorVersion"), urlTemplate: configKey("operatorUrlTemplate"), sha256: configKey("operatorSha256") };
const OPERATOR = VERSIONS.prometheusOperator;
const made: string[] = [];
const tmp = () => {
    made.push(mkdtempSync(path.join(os.tmpdir(), "asm-prom-manifests-")));
    return made[made.length - 1];
};
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("manifest download", () => {
    test("verifies the digest, then serves later runs from the cache without a request", async () => {
        const cacheDir = tmp();
        const src = manifestSource({ known: { v1: DIGEST }, settings: SETTINGS, version: "v1", urlTemplate: `${base}/ok/{version}/bundle.yaml` });
        assert.equal(src.url, `${base}/ok/v1/bundle.yaml`);
        requests.length = 0;
        const first = await loadManifest(src, { cacheDir, timeoutSeconds: 5 });
        const second = await loadManifest(src, { cacheDir, timeoutSeconds: 5 });
        assert.deepEqual(first.objects.map((o) => o.kind), ["ConfigMap", "Secret"]);
        assert.deepEqual(second, first);
        assert.equal(first.cacheFile, path.join(cacheDir, `${DIGEST}.json`));
        assert.deepEqual(requests, ["/ok/v1/bundle.yaml"]);
        assert.deepEqual(readdirSync(cacheDir).sort(), [`${DIGEST}.json`, `${DIGEST}.yaml`]);
    });

    test("a cache that cannot be written still yields the objects, and says so", async () => {
        // A folder below a regular file cannot be created, not even by root.
        const file = path.join(tmp(), "a-file");
        writeFileSync(file, "");
        const src = manifestSource({ known: { v1: DIGEST }, settings: SETTINGS, version: "v1", urlTemplate: `${base}/ok/{version}/bundle.yaml` });
        const loaded = await loadManifest(src, { cacheDir: path.join(file, "cache"), timeoutSeconds: 5 });
        assert.deepEqual(loaded.objects.map((o) => o.kind), ["ConfigMap", "Secret"]);
        assert.equal(loaded.cacheFile, undefined);
    });

    test("a digest mismatch fails with both digests and caches nothing", async () => {
        const cacheDir = tmp();
        const wrong = "0".repeat(64);
        const src = manifestSource({ known: {}, settings: SETTINGS, version: "v1", urlTemplate: `${base}/ok/{version}/bundle.yaml`, sha256: wrong });
        await assert.rejects(loadManifest(src, { cacheDir, timeoutSeconds: 5 }), (e: Error) => {
            assert.ok(e instanceof ManifestError);
            assert.equal(e.message, `sha256 mismatch for ${base}/ok/v1/bundle.yaml: expected ${wrong} (${configKey("operatorSha256")} or the known digest of v1), got ${DIGEST}; nothing was applied`);
            return true;
        });
        assert.deepEqual(readdirSync(cacheDir), []);
    });

    for (const status of [404, 500]) {
        test(`HTTP ${status} fails with the URL, the setting and the status`, async () => {
            const src = manifestSource({ known: { v1: DIGEST }, settings: SETTINGS, version: "v1", urlTemplate: `${base}/status/${status}/{version}/bundle.yaml` });
            await assert.rejects(loadManifest(src, { cacheDir: tmp(), timeoutSeconds: 5 }), {
                message: `cannot download ${base}/status/${status}/v1/bundle.yaml (from ${configKey("operatorUrlTemplate")}): HTTP ${status} ${http.STATUS_CODES[status]}`,
            });
        });
    }

    test("an unreachable mirror fails with the URL", async () => {
        const closed = http.createServer();
        await new Promise<void>((ok) => closed.listen(0, "127.0.0.1", ok));
        const port = (closed.address() as AddressInfo).port;
        await new Promise<void>((ok) => closed.close(() => ok()));
        const src = manifestSource({ known: { v1: DIGEST }, settings: SETTINGS, version: "v1", urlTemplate: `http://127.0.0.1:${port}/{version}.yaml` });
        await assert.rejects(loadManifest(src, { cacheDir: tmp(), timeoutSeconds: 5 }), /^ManifestError: cannot download http:\/\/127.0.0.1:\d+\/v1.yaml \(from asm-prometheus-mtls:operatorUrlTemplate\): .*ECONNREFUSED/);
    });

    test("a version without a known digest needs one in config", () => {
        assert.throws(() => manifestSource({ known: OPERATOR.files.bundle.sha256, settings: SETTINGS, version: "v0.94.0", urlTemplate: "https://x/{version}" }), {
            message: `${configKey("operatorVersion")}: "v0.94.0" has no known sha256; accepted: one of ${Object.keys(OPERATOR.files.bundle.sha256).join(", ")}, or any version together with ${configKey("operatorSha256")} set to the digest of its file`,
        });
        assert.equal(manifestSource({ known: OPERATOR.files.bundle.sha256, settings: SETTINGS, version: "v0.94.0", urlTemplate: "https://x/{version}", sha256: DIGEST }).sha256, DIGEST);
    });

    test("the real bundle parses as YAML 1.2 (its enum holds a bare '=') into ten CRDs and five objects", async () => {
        const objects = await upstreamObjects("operator", OPERATOR.version);
        assert.deepEqual(objects.map((o) => o.kind).slice(10), ["ClusterRoleBinding", "ClusterRole", "Deployment", "ServiceAccount", "Service"]);
        assert.equal(objects.filter((o) => o.kind === "CustomResourceDefinition").length, 10);
        assert.equal(parseManifest("---\n# only a comment\n---\n").length, 0);
    });
});

describe("the program and its downloads", () => {
    test("a wrong digest registers nothing", async () => {
        const { error, resources } = await failingProgram(testConfig({ operatorSha256: "1".repeat(64), manifestCacheDir: tmp() }));
        assert.match(String(error), /sha256 mismatch/);
        assert.deepEqual(resources, []);
    });

    for (const status of [404, 500]) {
        test(`a mirror answering ${status} registers nothing`, async () => {
            const { error, resources } = await failingProgram(testConfig({ bookinfoUrlTemplate: `${base}/status/${status}/{version}/bookinfo.yaml`, manifestCacheDir: tmp() }));
            assert.match(String(error), new RegExp(`HTTP ${status}`));
            assert.deepEqual(resources, []);
        });
    }

    test("a download cache that cannot be written registers nothing: the CRDs are applied from it", async () => {
        const file = path.join(tmp(), "a-file");
        writeFileSync(file, "");
        const cacheDir = path.join(file, "cache");
        const { error, resources } = await failingProgram(testConfig({ manifestCacheDir: cacheDir }));
        assert.equal((error as Error).message, `${configKey("manifestCacheDir")}: cannot write to ${cacheDir}; the CRDs are applied from the verified bundle there; accepted: a writable folder`);
        assert.deepEqual(resources, []);
    });

    for (const strip of [false, true]) {
        test(`later runs take the CRDs' names and digests from the summary beside the download, not from the bundle (stripCrdDescriptions ${strip})`, async () => {
            const config = testConfig({ manifestCacheDir: tmp(), stripCrdDescriptions: strip });
            const crdSet = async () => {
                const { resources } = await runProgram(config);
                const set = resources.find((r) => r.type === CRD_SET)!.inputs;
                return { names: set.names, digest: set.digest, crdDigests: set.crdDigests, cacheFile: set.cacheFile };
            };
            const first = await crdSet();
            assert.equal(first.names.length, 10);
            // The parsed bundle emptied: a run that still read it would find no CRD and fail.
            writeFileSync(first.cacheFile, "[]");
            assert.deepEqual(await crdSet(), first);
        });
    }

    test("a scraped service that Bookinfo lacks registers nothing", async () => {
        const { error, resources } = await failingProgram(testConfig({ scrapeServices: ["productpage", "cart"] }));
        assert.match(String(error), new RegExp(`"cart" is not a Service of Bookinfo ${VERSIONS.istio.version}`));
        assert.deepEqual(resources, []);
    });
});

test("the stack caches its downloads under the scripts' cache root, with and without XDG_CACHE_HOME", () => {
    const root = (env: NodeJS.ProcessEnv) =>
        execFileSync("bash", ["-c", '. scripts/lib.sh && asm_cache_root'], { cwd: path.join(__dirname, "..", ".."), env, encoding: "utf8" }).trim();
    const saved = process.env.XDG_CACHE_HOME;
    try {
        delete process.env.XDG_CACHE_HOME;
        assert.equal(path.dirname(defaultCacheDir()), root(process.env));
        process.env.XDG_CACHE_HOME = "/tmp/xdg-elsewhere";
        assert.equal(defaultCacheDir(), path.join(root(process.env), "manifests"));
    } finally {
        if (saved === undefined) delete process.env.XDG_CACHE_HOME;
        else process.env.XDG_CACHE_HOME = saved;
    }
});
