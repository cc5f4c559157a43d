import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import { AddressInfo, connect as netConnect } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import { after, before, describe, test } from "node:test";
import { startStrictInbound, StrictInbound } from "../e2e/support/strictInbound";
import { makeCa, makeLeaf } from "./support/pki";

// The STRICT stand-in on its own, with certificates made here by openssl: a mesh CA, the workload's
// certificate, and clients that must and must not get through.

const TD = "cluster.local";
let dir: string;
let app: http.Server;
let inbound: StrictInbound;
const seen: { url?: string; xfcc?: string } = {};

const ca = (name: string) => makeCa(dir, name);
const leaf = (name: string, issuer: string, san?: string) => makeLeaf(dir, name, issuer, san);

const file = (n: string) => path.join(dir, n);
const read = (n: string) => readFileSync(file(n));

/** Lays out the workload's files as pilot-agent does: written aside, then renamed into place. */
function writeWorkloadFiles(certName: string): void {
    const out = file("workload");
    mkdirSync(out, { recursive: true });
    for (const [src, dst] of [[`${certName}.key`, "key.pem"], [`${certName}.crt`, "cert-chain.pem"], ["mesh.crt", "root-cert.pem"]]) {
        writeFileSync(path.join(out, `.${dst}.tmp`), read(src));
        renameSync(path.join(out, `.${dst}.tmp`), path.join(out, dst));
    }
}

function client(name: string | undefined, extra: tls.ConnectionOptions = {}): tls.ConnectionOptions {
    return {
        host: "127.0.0.1", port: inbound.port, servername: "productpage",
        ca: read("mesh.crt"), rejectUnauthorized: false, // as Prometheus: insecure_skip_verify
        ...(name ? { key: read(`${name}.key`), cert: read(`${name}.crt`) } : {}),
        ...extra,
    };
}

/** GET path over HTTP/1.1 in TLS; resolves with the status and body, or rejects with the error. */
function get1(opts: tls.ConnectionOptions, urlPath = "/metrics"): Promise<{ status: number; body: string; alpn: string | false; serverCert: tls.PeerCertificate }> {
    return new Promise((resolve, reject) => {
        const sock = tls.connect({ ...opts, ALPNProtocols: ["http/1.1"] }, () => {
            const req = http.request({ createConnection: () => sock, path: urlPath, headers: { host: "productpage:9080" } }, (res) => {
                let body = "";
                res.on("data", (d) => (body += d));
                res.on("end", () => resolve({ status: res.statusCode!, body, alpn: sock.alpnProtocol ?? false, serverCert: sock.getPeerCertificate() }));
            });
            req.on("error", reject);
            req.end();
        });
        sock.on("error", reject);
        sock.on("close", () => reject(new Error("closed")));
    });
}

/** A refusal counted by the server for a reason matching re, after the client's attempt settles. */
async function refusedFor(re: RegExp, attempt: () => Promise<unknown>): Promise<string> {
    const before = new Map(inbound.refused);
    await attempt().then(() => assert.fail("the request went through"), () => undefined);
    for (let i = 0; i < 40; i++) {
        const hit = [...inbound.refused.entries()].find(([k, n]) => re.test(k) && n > (before.get(k) ?? 0));
        if (hit) return hit[0];
        await new Promise((r) => setTimeout(r, 25));
    }
    assert.fail(`no refusal matching ${re}; refused so far: ${JSON.stringify([...inbound.refused])}`);
}

before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "strict-inbound-"));
    ca("mesh");
    ca("other");
    leaf("productpage", "mesh", `URI:spiffe://${TD}/ns/bookinfo/sa/bookinfo-productpage`);
    leaf("productpage-next", "mesh", `URI:spiffe://${TD}/ns/bookinfo/sa/bookinfo-productpage`);
    leaf("prometheus", "mesh", `URI:spiffe://${TD}/ns/monitoring/sa/prometheus-mesh`);
    leaf("foreign-td", "mesh", "URI:spiffe://other.domain/ns/monitoring/sa/prometheus-mesh");
    leaf("no-spiffe", "mesh", "DNS:prometheus.monitoring");
    leaf("other-ca", "other", `URI:spiffe://${TD}/ns/monitoring/sa/prometheus-mesh`);
    writeWorkloadFiles("productpage");
    app = http.createServer((req, res) => {
        seen.url = req.url;
        seen.xfcc = req.headers["x-forwarded-client-cert"] as string;
        // As productpage does through Flask.
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end("python_gc_objects_collected_total{generation=\"0\"} 1.0\n");
    });
    await new Promise<void>((r) => app.listen(0, "127.0.0.1", () => r()));
    inbound = await startStrictInbound({
        listen: { host: "127.0.0.1", port: 0 },
        upstream: { host: "127.0.0.1", port: (app.address() as AddressInfo).port },
        certDir: file("workload"), trustDomain: TD, log: () => undefined,
    });
});

after(async () => {
    await inbound?.close();
    await new Promise((r) => app?.close(r));
    rmSync(dir, { recursive: true, force: true });
});

describe("STRICT inbound stand-in", () => {
    test("a mesh client certificate gets through over HTTP/1.1: plain HTTP upstream, caller named", async () => {
        const r = await get1(client("prometheus"));
        assert.equal(r.status, 200);
        assert.match(r.body, /python_gc_objects_collected_total/);
        assert.equal(r.alpn, "http/1.1");
        assert.equal(seen.url, "/metrics");
        assert.equal(seen.xfcc, `URI=spiffe://${TD}/ns/monitoring/sa/prometheus-mesh`);
        // It presents the workload's own certificate.
        assert.match(r.serverCert.subjectaltname ?? "", /URI:spiffe:\/\/cluster\.local\/ns\/bookinfo\/sa\/bookinfo-productpage/);
    });

    test("h2 is offered and works", async () => {
        const session = http2.connect(`https://127.0.0.1:${inbound.port}`, { ...client("prometheus"), ALPNProtocols: ["h2", "http/1.1"] } as http2.SecureClientSessionOptions);
        try {
            const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
                const s = session.request({ ":path": "/metrics" });
                let body = "";
                let status = 0;
                s.on("response", (h) => (status = Number(h[":status"])));
                s.on("data", (d) => (body += d));
                s.on("end", () => resolve({ status, body }));
                s.on("error", reject);
            });
            assert.equal((session.socket as tls.TLSSocket).alpnProtocol, "h2");
            assert.equal(status, 200);
            assert.match(body, /python_gc_objects_collected_total/);
        } finally {
            session.close();
        }
    });

    test("plaintext is refused", async () => {
        await refusedFor(/^plaintext$/, () => new Promise((resolve, reject) => {
            const s = netConnect(inbound.port, "127.0.0.1", () => s.write("GET /metrics HTTP/1.1\r\nHost: productpage\r\n\r\n"));
            let data = "";
            s.on("data", (d) => (data += d));
            s.on("close", () => (data.startsWith("HTTP/") ? resolve(data) : reject(new Error("closed"))));
            s.on("error", reject);
        }));
    });

    test("no client certificate is refused", async () => {
        await refusedFor(/^no client certificate$/, () => get1(client(undefined)));
    });

    test("a client certificate from another CA is refused", async () => {
        await refusedFor(/^client certificate not from the mesh CA/, () => get1(client("other-ca")));
    });

    test("a mesh certificate without a SPIFFE identity of this trust domain is refused", async () => {
        assert.match(await refusedFor(/^not a SPIFFE identity/, () => get1(client("no-spiffe"))), /no URI SAN/);
        assert.match(await refusedFor(/^not a SPIFFE identity/, () => get1(client("foreign-td"))), /spiffe:\/\/other\.domain\//);
    });

    test("TLS older than 1.2 is refused", async () => {
        await refusedFor(/^TLS version/, () => get1(client("prometheus", { minVersion: "TLSv1", maxVersion: "TLSv1.1", ciphers: "DEFAULT@SECLEVEL=0" })));
    });

    test("rotated files are served without a restart", async () => {
        const before = (await get1(client("prometheus"))).serverCert.serialNumber;
        const loads = inbound.loads;
        writeWorkloadFiles("productpage-next");
        for (let i = 0; i < 100 && inbound.loads === loads; i++) await new Promise((r) => setTimeout(r, 50));
        const r = await get1(client("prometheus"));
        assert.equal(r.status, 200);
        assert.notEqual(r.serverCert.serialNumber, before);
    });
});
