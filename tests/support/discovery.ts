import { rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export interface FakeApiServer {
    /** A kubeconfig whose current context is this server. */
    kubeconfig: string;
    /** Requests to security.istio.io/v1's discovery document so far. */
    requests: () => number;
    close: () => void;
}

/**
 * The two questions the program asks an API server before registering anything, answered from the
 * arguments: security.istio.io/v1's discovery document, 503 (an aggregated API not yet available) to the
 * first `unavailableFor` requests and then listing peerauthentications; and the Deployments of a
 * namespace, `deployments[namespace]` or none.
 */
export async function discovery(unavailableFor: number, deployments: Record<string, unknown[]> = {}): Promise<FakeApiServer> {
    let requests = 0;
    const answer = (url: string): [number, unknown] => {
        const list = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments$/.exec(url.split("?")[0]);
        if (list) return [200, { kind: "DeploymentList", apiVersion: "apps/v1", metadata: {}, items: deployments[list[1]] ?? [] }];
        if (url === "/apis/apps/v1") {
            return [200, { kind: "APIResourceList", apiVersion: "v1", groupVersion: "apps/v1", resources: [{ name: "deployments", singularName: "deployment", namespaced: true, kind: "Deployment", verbs: ["list"] }] }];
        }
        if (url !== "/apis/security.istio.io/v1") return [404, { kind: "Status", code: 404 }];
        requests++;
        if (requests <= unavailableFor) return [503, { kind: "Status", code: 503, message: "service unavailable" }];
        return [200, {
            kind: "APIResourceList", apiVersion: "v1", groupVersion: "security.istio.io/v1",
            resources: [{ name: "peerauthentications", singularName: "peerauthentication", namespaced: true, kind: "PeerAuthentication", verbs: ["get", "create"] }],
        }];
    };
    const api = await fakeApiServer((_method, url) => answer(url));
    return { kubeconfig: api.kubeconfig, requests: () => requests, close: api.close };
}

export interface Request {
    method: string;
    url: string;
    body: string;
}

/**
 * An HTTP server on 127.0.0.1 answering every request with what answer returns, and a kubeconfig for it
 * (contexts c and dev); seen lists the requests so far.
 */
export async function fakeApiServer(answer: (method: string, url: string, body: string) => [number, unknown]): Promise<{ kubeconfig: string; seen: Request[]; close: () => void }> {
    const seen: Request[] = [];
    const server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (d) => (body += d));
        req.on("end", () => {
            seen.push({ method: req.method ?? "", url: req.url ?? "", body });
            const [code, reply] = answer(req.method ?? "", req.url ?? "", body);
            res.writeHead(code, { "Content-Type": "application/json" }).end(JSON.stringify(reply));
        });
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    server.unref();
    const { port } = server.address() as AddressInfo;
    const kubeconfig = [
        "apiVersion: v1", "kind: Config", "current-context: c",
        // The Kubernetes client speaks plain HTTP only to a server marked insecure.
        "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:" + port + "', insecure-skip-tls-verify: true}}]",
        "users: [{name: u, user: {token: t}}]",
        // "dev": the context the program tests name.
        "contexts: [{name: c, context: {cluster: c, user: u}}, {name: dev, context: {cluster: c, user: u}}]",
    ].join("\n");
    return { kubeconfig, seen, close: () => server.close() };
}

let ambient: Promise<string> | undefined;

/** A kubeconfig file of an empty cluster, for programs that find the ambient kubeconfig (KUBECONFIG). */
export function emptyClusterKubeconfigFile(): Promise<string> {
    ambient ??= discovery(0).then((api) => {
        const file = path.join(os.tmpdir(), `asm-prom-test-kubeconfig-${process.pid}`);
        writeFileSync(file, api.kubeconfig, { mode: 0o600 });
        process.on("exit", () => rmSync(file, { force: true }));
        return file;
    });
    return ambient;
}
