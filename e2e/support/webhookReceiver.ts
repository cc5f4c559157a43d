import * as http from "node:http";
import { AddressInfo } from "node:net";

// The receiving end of Alertmanager's webhooks in the mesh tests: it records each notification (Alertmanager's
// webhook JSON, version 4) with the path it came to, which names the receiver, and when it arrived.

export interface Notification {
    /** The request path: the receiver whose URL it is. */
    path: string;
    /** firing or resolved: the group's status. */
    status: string;
    /** The alerts of the group, by name and own status. */
    alerts: { name: string; status: string; labels: Record<string, string> }[];
    at: number;
}

export interface WebhookReceiver {
    port: number;
    received: Notification[];
    /** The first notification after `since` that satisfies the predicate, waited for up to timeoutMs. */
    waitFor(what: string, since: number, match: (n: Notification) => boolean, timeoutMs: number): Promise<Notification>;
    close(): Promise<void>;
}

export function startWebhookReceiver(host: string): Promise<WebhookReceiver> {
    const received: Notification[] = [];
    const server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => {
            try {
                const j = JSON.parse(body);
                received.push({
                    path: req.url ?? "/",
                    status: j.status,
                    alerts: (j.alerts ?? []).map((a: any) => ({ name: a.labels?.alertname, status: a.status, labels: a.labels ?? {} })),
                    at: Date.now(),
                });
                res.writeHead(200).end();
            } catch {
                res.writeHead(400).end();
            }
        });
    });
    return new Promise((resolve) => server.listen(0, host, () => resolve({
        port: (server.address() as AddressInfo).port,
        received,
        async waitFor(what, since, match, timeoutMs) {
            const deadline = Date.now() + timeoutMs;
            for (;;) {
                const n = received.find((x) => x.at >= since && match(x));
                if (n) return n;
                if (Date.now() > deadline) {
                    const seen = received.filter((x) => x.at >= since).map((x) => `${x.path} ${x.status} ${x.alerts.map((a) => `${a.name}:${a.status}`).join(",")}`);
                    throw new Error(`no notification ${what} within ${timeoutMs / 1000} s; received since: ${seen.join("; ") || "nothing"}`);
                }
                await new Promise((r) => setTimeout(r, 250));
            }
        },
        close: () => new Promise<void>((r) => server.close(() => r())),
    })));
}
