import { readFileSync, watch, FSWatcher } from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import { AddressInfo } from "node:net";
import * as path from "node:path";
import { TLSSocket } from "node:tls";
import { CERT_CONTRACT } from "../../lib/certContract";

// A stand-in for the STRICT inbound chain of an Istio sidecar, for machines without Envoy: on the
// workload's port (reached through the pod's own iptables redirect, as Envoy's 15006 listener is), it
// accepts TLS only, requires a client certificate that chains to the mesh root and carries a
// spiffe://<trust domain>/ URI SAN, offers ALPN h2 and http/1.1 with TLS 1.2 to 1.3, and forwards plain
// HTTP to the application. Its own certificate is the workload's, as pilot-agent writes it; a rotated
// file is picked up without a restart. What Envoy does beyond that (authorization policies, telemetry,
// the Istio ALPN values) is not imitated.

export interface StrictInboundOptions {
    listen: { host: string; port: number };
    upstream: { host: string; port: number };
    /** Folder holding the files pilot-agent writes to OUTPUT_CERTS (CERT_CONTRACT.files). */
    certDir: string;
    trustDomain: string;
    log?: (line: string) => void;
}

export interface StrictInbound {
    port: number;
    /** Handshakes refused so far, by reason: "no client certificate", "not a SPIFFE identity of <td>", ... */
    refused: Map<string, number>;
    /** Requests forwarded to the application so far. */
    forwarded: number;
    /** How often the certificate files were loaded (1 at start). */
    loads: number;
    close(): Promise<void>;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "host"]);

function credentials(dir: string) {
    return {
        key: readFileSync(path.join(dir, CERT_CONTRACT.files.key)),
        cert: readFileSync(path.join(dir, CERT_CONTRACT.files.certChain)),
        ca: readFileSync(path.join(dir, CERT_CONTRACT.files.ca)),
    };
}

/** The URI SANs of a peer certificate, from Node's "URI:a, DNS:b" form. */
function uriSans(subjectaltname: string | undefined): string[] {
    return (subjectaltname ?? "").split(/,\s*/).filter((s) => s.startsWith("URI:")).map((s) => s.slice(4));
}

export function startStrictInbound(o: StrictInboundOptions): Promise<StrictInbound> {
    const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
    const refused = new Map<string, number>();
    const refuse = (reason: string) => {
        refused.set(reason, (refused.get(reason) ?? 0) + 1);
        log(`strict-inbound: refused: ${reason}`);
    };
    const state = { forwarded: 0, loads: 1 };
    const prefix = `spiffe://${o.trustDomain}/`;

    const server = http2.createSecureServer({
        ...credentials(o.certDir),
        allowHTTP1: true, // ALPN h2,http/1.1, as Envoy's inbound listener offers
        requestCert: true,
        rejectUnauthorized: false,
        minVersion: "TLSv1.2",
        maxVersion: "TLSv1.3",
    });

    // The chain is checked here rather than by rejectUnauthorized, so each refusal has its reason (under
    // TLS 1.3 the client's certificate arrives after the server's Finished, and a rejection is only a hang-up).
    const admit = (sock: TLSSocket): string | undefined => {
        const peer = sock.getPeerCertificate();
        if (!peer || Object.keys(peer).length === 0) return "no client certificate";
        if (!sock.authorized) return `client certificate not from the mesh CA (${sock.authorizationError})`;
        const ids = uriSans(peer.subjectaltname);
        if (!ids.some((u) => u.startsWith(prefix))) return `not a SPIFFE identity of ${o.trustDomain} (${ids.join(" ") || "no URI SAN"})`;
        return undefined;
    };
    server.on("secureConnection", (sock: TLSSocket) => {
        const reason = admit(sock);
        if (reason) {
            refuse(reason);
            sock.destroy();
        }
    });
    server.on("tlsClientError", (err: NodeJS.ErrnoException) => {
        const m = err.message;
        if (/http request/i.test(m) || err.code === "ERR_SSL_HTTP_REQUEST") refuse("plaintext");
        else if (/version|protocol/i.test(m)) refuse(`TLS version (${m})`);
        else refuse(`handshake: ${m}`);
    });

    server.on("request", (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
        const sock = req.socket as unknown as TLSSocket;
        if (admit(sock)) {
            sock.destroy();
            return;
        }
        const peer = uriSans(sock.getPeerCertificate?.()?.subjectaltname).find((u) => u.startsWith(prefix)) ?? "";
        const headers: http.OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(req.headers)) if (!k.startsWith(":") && !HOP_BY_HOP.has(k)) headers[k] = v;
        headers.host = req.authority ?? req.headers.host ?? `${o.upstream.host}:${o.upstream.port}`;
        // Envoy tells the application who called, in the same header.
        headers["x-forwarded-client-cert"] = `URI=${peer}`;
        const up = http.request({ host: o.upstream.host, port: o.upstream.port, method: req.method, path: req.url, headers }, (ur) => {
            const out: http.OutgoingHttpHeaders = {};
            for (const [k, v] of Object.entries(ur.headers)) if (!HOP_BY_HOP.has(k)) out[k] = v;
            res.writeHead(ur.statusCode ?? 502, out);
            ur.pipe(res as unknown as NodeJS.WritableStream);
            state.forwarded++;
        });
        up.on("error", (e) => {
            // What Envoy answers when the application does not.
            if (!res.headersSent) res.writeHead(503, { "content-type": "text/plain" });
            res.end(`upstream connect error: ${e.message}\n`);
        });
        req.pipe(up);
    });

    // pilot-agent replaces the files by rename; reload on any change of the folder.
    let timer: NodeJS.Timeout | undefined;
    const reload = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
            try {
                server.setSecureContext({ ...credentials(o.certDir), minVersion: "TLSv1.2", maxVersion: "TLSv1.3" });
                state.loads++;
                log(`strict-inbound: certificate reloaded from ${o.certDir}`);
            } catch (e) {
                log(`strict-inbound: reload failed, keeping the previous certificate: ${(e as Error).message}`);
            }
        }, 200);
    };
    const watcher: FSWatcher = watch(o.certDir, reload);

    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(o.listen.port, o.listen.host, () => {
            const port = (server.address() as AddressInfo).port;
            log(`strict-inbound: listening on ${o.listen.host}:${port}, forwarding to ${o.upstream.host}:${o.upstream.port}`);
            resolve({
                port,
                refused,
                get forwarded() {
                    return state.forwarded;
                },
                get loads() {
                    return state.loads;
                },
                close: () => new Promise<void>((ok) => {
                    watcher.close();
                    clearTimeout(timer);
                    server.close(() => ok());
                }),
            });
        });
    });
}
