import { existsSync } from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { CERT_CONTRACT } from "../../lib/certContract";
import { startStrictInbound } from "./strictInbound";

// What the mesh tests run in place of Envoy in an injected pod (no Envoy binary exists here), beside the
// real pilot-agent. It waits for the workload certificate the agent writes, as Envoy waits for its SDS
// secrets, then serves:
// - the health listener on 15021: /healthz/ready relays the agent's own /healthz/ready (15020), which is
//   what the injected postStart hook (`pilot-agent wait`) and the native sidecar's startupProbe poll;
// - with --inbound, the STRICT inbound listener where the pod's istio-init rules redirect inbound traffic
//   (15006), forwarding plain HTTP to the application;
// - with --outbound, the listener where those rules redirect the application's outbound traffic (15001):
//   plain HTTP passed through to the host and port its Host header names, as Envoy's passthrough cluster
//   does for a destination outside the mesh (ALLOW_ANY), e.g. Alertmanager's webhooks.
//
// node envoyStandIn.js --cert-dir DIR --trust-domain TD [--health 0.0.0.0:15021] [--agent 127.0.0.1:15020]
//                      [--inbound 0.0.0.0:15006 --upstream 127.0.0.1:9080] [--outbound 0.0.0.0:15001]
//                      [--wait-for-certs SECONDS]


function arg(name: string, fallback?: string): string {
    const i = process.argv.indexOf(`--${name}`);
    const v = i >= 0 ? process.argv[i + 1] : fallback;
    if (v === undefined) throw new Error(`--${name} is required`);
    return v;
}

function hostPort(s: string): { host: string; port: number } {
    const i = s.lastIndexOf(":");
    return { host: s.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(s.slice(i + 1)) };
}

async function main(): Promise<void> {
    const certDir = arg("cert-dir");
    const deadline = Date.now() + Number(arg("wait-for-certs", "120")) * 1000;
    while (Object.values(CERT_CONTRACT.files).some((f) => !existsSync(path.join(certDir, f)))) {
        if (Date.now() > deadline) throw new Error(`no workload certificate in ${certDir}`);
        await new Promise((r) => setTimeout(r, 200));
    }
    const log = (l: string) => process.stderr.write(`${new Date().toISOString()} ${l}\n`);
    log(`envoy-stand-in: workload certificate found in ${certDir}`);
    if (process.argv.includes("--inbound")) {
        await startStrictInbound({ listen: hostPort(arg("inbound")), upstream: hostPort(arg("upstream")), certDir, trustDomain: arg("trust-domain"), log });
    }
    if (process.argv.includes("--outbound")) {
        const listen = hostPort(arg("outbound"));
        // Its own connections leave as uid 1337, which the istio-init rules never redirect.
        http.createServer((req, res) => {
            const dest = hostPort(req.headers.host?.includes(":") ? req.headers.host : `${req.headers.host}:80`);
            const up = http.request({ host: dest.host, port: dest.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
                res.writeHead(r.statusCode ?? 502, r.headers);
                r.pipe(res);
            });
            up.on("error", (e) => {
                log(`envoy-stand-in: outbound to ${req.headers.host} failed: ${e.message}`);
                if (!res.headersSent) res.writeHead(503);
                res.end();
            });
            req.pipe(up);
        }).listen(listen.port, listen.host, () => log(`envoy-stand-in: outbound passthrough on ${listen.host}:${listen.port}`));
    }
    const agent = hostPort(arg("agent", "127.0.0.1:15020"));
    const health = hostPort(arg("health", "0.0.0.0:15021"));
    http.createServer((req, res) => {
        if (req.url !== "/healthz/ready") {
            res.writeHead(404).end();
            return;
        }
        http.get({ host: agent.host, port: agent.port, path: "/healthz/ready", timeout: 2000 }, (a) => {
            res.writeHead(a.statusCode ?? 503).end();
            a.resume();
        }).on("error", () => res.writeHead(503).end());
    }).listen(health.port, health.host, () => log(`envoy-stand-in: health listener on ${health.host}:${health.port}`));
}

main().catch((e) => {
    process.stderr.write(`envoy-stand-in: ${(e as Error).message}\n`);
    process.exit(1);
});
