import * as http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * An API server's discovery endpoint for security.istio.io/v1: answers 503 (an aggregated API not yet
 * available) to the first `unavailableFor` requests, then lists peerauthentications.
 */
export async function discovery(unavailableFor: number): Promise<{ kubeconfig: string; requests: () => number; close: () => void }> {
    let requests = 0;
    const server = http.createServer((req, res) => {
        if (req.url !== "/apis/security.istio.io/v1") {
            res.writeHead(404).end();
            return;
        }
        requests++;
        if (requests <= unavailableFor) {
            res.writeHead(503, { "Content-Type": "application/json" }).end(JSON.stringify({ kind: "Status", code: 503, message: "service unavailable" }));
            return;
        }
        res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({
            kind: "APIResourceList", apiVersion: "v1", groupVersion: "security.istio.io/v1",
            resources: [{ name: "peerauthentications", singularName: "peerauthentication", namespaced: true, kind: "PeerAuthentication", verbs: ["get", "create"] }],
        }));
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const { port } = server.address() as AddressInfo;
    const kubeconfig = [
        "apiVersion: v1", "kind: Config", "current-context: c",
        // The Kubernetes client speaks plain HTTP only to a server marked insecure.
        "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:" + port + "', insecure-skip-tls-verify: true}}]",
        "users: [{name: u, user: {token: t}}]",
        "contexts: [{name: c, context: {cluster: c, user: u}}]",
    ].join("\n");
    return { kubeconfig, requests: () => requests, close: () => server.close() };
}
