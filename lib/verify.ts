// Step 4 of the guide as code: ask a running Prometheus whether every ServiceMonitor target of the stack
// is UP over mTLS, and when one is not, say why in the terms of docs/troubleshooting.md's table. It
// talks only to Prometheus's HTTP API, so it works the same through a port-forward to a real cluster
// and against the local one.

import { discoveryRbacName, prometheusServiceAccount, remoteWriteSecretName } from "./names";

/** Every cause verify names; docs/troubleshooting.md's table has a row for each (a test keeps them in sync). */
export const CAUSES = ["no-target", "rbac", "cert-files", "handshake", "http-status", "content-type", "down", "remote-write"] as const;
export type Cause = (typeof CAUSES)[number];

export interface Context {
    monitoringNamespace: string;
    appNamespace: string;
    prometheusName: string;
    /** The Prometheus pod (StatefulSet pod 0) the causes point at. */
    prometheusPod: string;
}

/** One line per cause: what it means and the next command to run. docs/troubleshooting.md's table says the same. */
export function explain(cause: Cause, c: Context, detail = ""): { meaning: string; next: string } {
    const prom = `kubectl -n ${c.monitoringNamespace}`;
    const sa = `system:serviceaccount:${c.monitoringNamespace}:${prometheusServiceAccount(c.prometheusName)}`;
    switch (cause) {
        case "remote-write":
            return { meaning: `the remote write endpoint refuses samples: ${detail}; a 401 or 403 is the credentials (remoteWriteUsername, remoteWritePassword), a 404 the URL`, next: `${prom} logs ${c.prometheusPod} -c prometheus | grep -i "remote"; ${prom} get secret ${remoteWriteSecretName(c.prometheusName)}` };
        case "rbac":
            return { meaning: `Prometheus may not list the targets: its ServiceAccount lacks the RoleBinding in ${c.appNamespace}`, next: `kubectl auth can-i list endpointslices.discovery.k8s.io -n ${c.appNamespace} --as=${sa}; kubectl -n ${c.appNamespace} get rolebinding ${discoveryRbacName(c.monitoringNamespace, c.prometheusName)}; ${prom} logs ${c.prometheusPod} -c prometheus | grep forbidden` };
        case "no-target":
            return { meaning: "no target: the ServiceMonitor is not selected, or selects no Service port", next: `kubectl -n ${c.appNamespace} get servicemonitors --show-labels; kubectl -n ${c.appNamespace} get endpointslices` };
        case "cert-files":
            return { meaning: "the mesh certificate files are missing: the Prometheus pod has no sidecar, OUTPUT_CERTS was lost, or Prometheus started before the sidecar wrote them (no scrape pool until the next reload)", next: `${prom} get pod ${c.prometheusPod} -o jsonpath='{.spec.containers[*].name}'  (must list istio-proxy); kubectl get namespace ${c.monitoringNamespace} --show-labels` };
        case "handshake":
            return { meaning: "the target refused the TLS handshake: a certificate not from the mesh CA, or scheme http against STRICT", next: `istioctl x describe pod <target pod> -n ${c.appNamespace}; ${prom} exec ${c.prometheusPod} -c istio-proxy -- openssl x509 -noout -issuer -in /etc/istio-output-certs/cert-chain.pem` };
        case "http-status":
            return { meaning: `the sidecar accepted TLS but the application answered ${detail || "an error status"}: wrong port or path, or the app is not ready`, next: `kubectl -n ${c.appNamespace} get svc -o wide; kubectl -n ${c.appNamespace} get pods` };
        case "content-type":
            return { meaning: "Prometheus 3 refused the Content-Type: no fallbackScrapeProtocol for this target", next: `${prom} get prometheus ${c.prometheusName} -o jsonpath='{.spec.scrapeClasses}'  (must set fallbackScrapeProtocol)` };
        case "down":
            return { meaning: `the target is down: ${detail}`, next: `${prom} logs ${c.prometheusPod} -c prometheus --tail 50` };
    }
}

/** The cause of a target's last scrape error. */
export function classify(lastError: string): { cause: Cause; detail: string } {
    const e = lastError;
    if (/unsupported Content-Type|fallback_scrape_protocol/i.test(e)) return { cause: "content-type", detail: e };
    const status = /server returned HTTP status ([^"]+?)(?:$|")/.exec(e);
    if (status) return { cause: "http-status", detail: `HTTP ${status[1].trim()}` };
    if (/no such file or directory|unable to (load|use|read) (specified )?(ca|client)|unable to load|cert-chain\.pem|key\.pem|root-cert\.pem/i.test(e)) return { cause: "cert-files", detail: e };
    if (/tls:|x509|handshake|EOF|connection reset by peer|broken pipe|malformed HTTP response|first record does not look like a TLS handshake|http: server gave HTTP response to HTTPS client/i.test(e)) return { cause: "handshake", detail: e };
    return { cause: "down", detail: e };
}

export interface Row {
    target: string;
    health: string;
    lastScrape: string;
    lastError: string;
    cause?: Cause;
}

export interface Report {
    ok: boolean;
    rows: Row[];
    /** Series the check query returned. */
    series: number;
    /** The first cause found, with its explanation. */
    failure?: { cause: Cause; meaning: string; next: string };
}

interface ActiveTarget {
    scrapePool: string;
    scrapeUrl: string;
    health: string;
    lastScrape: string;
    lastError: string;
}

export async function api<T>(base: string, path: string): Promise<T> {
    const r = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000) }).catch((e: Error) => {
        throw new Error(`cannot reach Prometheus at ${base}: ${(e.cause as Error | undefined)?.message ?? e.message}`);
    });
    if (!r.ok) throw new Error(`${base}${path}: HTTP ${r.status}`);
    const body = (await r.json()) as { status: string; data: T; error?: string };
    if (body.status !== "success") throw new Error(`${base}${path}: ${body.error}`);
    return body.data;
}

/** A counter of Prometheus's own /metrics (it need not scrape itself), 0 when absent. */
/** One remote write queue as Prometheus's own metrics show it: samples sent, and those refused for good. */
export interface RemoteQueue {
    url: string;
    sent: number;
    failed: number;
}

/** The remote write queues of a Prometheus, from its /metrics text (prometheus_remote_storage_*, by url). */
export function remoteQueues(metricsText: string): RemoteQueue[] {
    const queues = new Map<string, RemoteQueue>();
    for (const line of metricsText.split("\n")) {
        const m = /^prometheus_remote_storage_samples_(total|failed_total)\{([^}]*)\} ([0-9.eE+-]+)$/.exec(line);
        const url = m ? /(?:^|,)url="([^"]*)"/.exec(m[2])?.[1] : undefined;
        if (!m || url === undefined) continue;
        const q = queues.get(url) ?? { url, sent: 0, failed: 0 };
        if (m[1] === "total") q.sent = Number(m[3]);
        else q.failed = Number(m[3]);
        queues.set(url, q);
    }
    return [...queues.values()];
}

/**
 * Whether the remote write queues deliver: samples refused for good (a 4xx such as a wrong password) in a
 * window of windowMs, long enough for the queues to send at least one batch (their deadline is 5 s).
 * Without remote write there is no queue, and nothing to check.
 */
export async function checkRemoteWrite(base: string, o: { windowMs: number; context: Context }): Promise<{ ok: boolean; queues: (RemoteQueue & { failedInWindow: number; sentInWindow: number })[]; failure?: { cause: Cause; meaning: string; next: string } }> {
    const read = async () => remoteQueues(await (await fetch(`${base}/metrics`)).text());
    const before = await read();
    if (before.length === 0) return { ok: true, queues: [] };
    await new Promise((r) => setTimeout(r, o.windowMs));
    const queues = (await read()).map((q) => {
        const b = before.find((x) => x.url === q.url) ?? { sent: 0, failed: 0 };
        return { ...q, failedInWindow: q.failed - b.failed, sentInWindow: q.sent - b.sent };
    });
    const bad = queues.find((q) => q.failedInWindow > 0);
    if (!bad) return { ok: true, queues };
    return { ok: false, queues, failure: { cause: "remote-write", ...explain("remote-write", o.context, `${bad.failedInWindow} of ${bad.sentInWindow} samples refused by ${bad.url} in ${o.windowMs / 1000} s`) } };
}

export function counter(metricsText: string, name: string): number {
    let sum = 0;
    for (const line of metricsText.split("\n")) {
        const m = new RegExp(`^${name}(\\{[^}]*\\})? ([0-9.eE+-]+)$`).exec(line);
        if (m) sum += Number(m[2]);
    }
    return sum;
}

/**
 * Why a scrape pool has no target: its HTTP client could not be made (a TLS file missing or unreadable, as
 * when Prometheus has no sidecar, or started before the sidecar wrote the files), Kubernetes discovery was
 * refused (RBAC), or nothing was selected.
 */
async function absentCause(base: string): Promise<Cause> {
    const r = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) });
    const text = r.ok ? await r.text() : "";
    if (counter(text, "prometheus_target_scrape_pools_failed_total") > 0) return "cert-files";
    if (counter(text, "prometheus_sd_kubernetes_failures_total") > 0) return "rbac";
    return "no-target";
}

/**
 * Polls until every expected scrape pool has targets and all are UP (then runs the check query), or until
 * the deadline; reports the rows and, on failure, the cause.
 */
export async function checkTargets(base: string, o: { pools: string[]; query: string; deadlineMs: number; context: Context; pollMs?: number }): Promise<Report> {
    const end = Date.now() + o.deadlineMs;
    for (;;) {
        let activeTargets: ActiveTarget[];
        try {
            ({ activeTargets } = await api<{ activeTargets: ActiveTarget[] }>(base, "/api/v1/targets?state=active"));
        } catch (e) {
            // A Prometheus that is restarting, or a port-forward whose pod was replaced, answers again soon.
            if (Date.now() > end) throw e;
            await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
            continue;
        }
        const rows: Row[] = [];
        let failure: Report["failure"];
        for (const pool of o.pools) {
            const ts = activeTargets.filter((t) => t.scrapePool === pool);
            if (ts.length === 0) {
                const cause = await absentCause(base);
                rows.push({ target: pool, health: "absent", lastScrape: "-", lastError: "no target discovered", cause });
                failure ??= { cause, ...explain(cause, o.context) };
                continue;
            }
            for (const t of ts) {
                const row: Row = { target: t.scrapeUrl, health: t.health, lastScrape: t.lastScrape, lastError: t.lastError };
                if (t.health !== "up") {
                    const c = t.health === "unknown" && !t.lastError ? undefined : classify(t.lastError);
                    if (c) {
                        row.cause = c.cause;
                        failure ??= { cause: c.cause, ...explain(c.cause, o.context, c.detail) };
                    }
                }
                rows.push(row);
            }
        }
        const allUp = rows.length > 0 && rows.every((r) => r.health === "up");
        if (allUp) {
            const q = await api<{ result: unknown[] }>(base, `/api/v1/query?query=${encodeURIComponent(o.query)}`);
            if (q.result.length > 0) return { ok: true, rows, series: q.result.length };
            if (Date.now() > end) return { ok: false, rows, series: 0, failure: { cause: "down", meaning: `targets are UP but ${o.query} returns nothing: another application or metric name`, next: `query up{namespace="${o.context.appNamespace}"}` } };
        } else if (Date.now() > end) {
            return { ok: false, rows, series: 0, failure: failure ?? { cause: "down", meaning: "targets not scraped yet", next: `kubectl -n ${o.context.monitoringNamespace} logs ${o.context.prometheusPod} -c prometheus --tail 50` } };
        }
        await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
    }
}

/** The report as a table, then the verdict; what verify prints. */
export function render(r: Report, query: string): string {
    const head: Row = { target: "TARGET", health: "HEALTH", lastScrape: "LAST SCRAPE", lastError: "LAST ERROR" };
    const rows = [head, ...r.rows];
    const w = (k: keyof Row) => Math.max(...rows.map((x) => String(x[k] ?? "").length));
    const line = (x: Row) => [x.target.padEnd(w("target")), x.health.padEnd(w("health")), x.lastScrape.padEnd(w("lastScrape")), x.lastError || "-"].join("  ");
    const out = rows.map(line);
    if (r.ok) out.push("", `OK: every target UP over mTLS; ${query} returned ${r.series} series`);
    else if (r.failure) out.push("", `FAILED (${r.failure.cause}): ${r.failure.meaning}`, `next: ${r.failure.next}`);
    return out.join("\n");
}

/** An alert of the stack's rules that is not inactive, as verify lists it. */
export interface AlertRow {
    alert: string;
    severity: string;
    state: "pending" | "firing";
    since: string;
    /** The summary annotation, as Prometheus expanded it for this alert. */
    summary: string;
}

/** What /api/v1/rules?type=alert returns (the parts verify reads). */
export interface RulesData {
    groups: { name: string; rules: { name: string; alerts?: { state: string; activeAt?: string; labels: Record<string, string>; annotations: Record<string, string> }[] }[] }[];
}

/**
 * The alerts of the stack's rule groups that fire or are pending, the Watchdog apart (it always fires: its
 * firing says the rules evaluate); missing: the stack's groups Prometheus has not loaded.
 */
export function stackAlerts(data: RulesData, groups: string[]): { rows: AlertRow[]; watchdog: boolean; missing: string[] } {
    const mine = data.groups.filter((g) => groups.includes(g.name));
    const alerts = mine.flatMap((g) => g.rules.flatMap((r) => (r.alerts ?? []).map((a) => ({ rule: r.name, ...a }))));
    const rows = alerts.filter((a) => a.rule !== "Watchdog" && (a.state === "firing" || a.state === "pending")).map((a) => ({
        alert: a.rule,
        severity: a.labels.severity ?? "-",
        state: a.state as "pending" | "firing",
        since: a.activeAt ?? "-",
        summary: a.annotations.summary ?? "",
    }));
    const order = (r: AlertRow) => (r.state === "firing" ? 0 : 1);
    rows.sort((x, y) => order(x) - order(y) || x.alert.localeCompare(y.alert));
    return { rows, watchdog: alerts.some((a) => a.rule === "Watchdog" && a.state === "firing"), missing: groups.filter((n) => !mine.some((g) => g.name === n)) };
}

/** The alerts block verify prints under its table. */
export function renderAlerts(a: ReturnType<typeof stackAlerts>): string {
    const out: string[] = [""];
    if (a.missing.length > 0) out.push(`alerts: Prometheus has not loaded the stack's rule groups ${a.missing.join(", ")} (docs/alerts.md)`);
    if (a.rows.length === 0) {
        out.push(`alerts: none of the stack's rules firing${a.watchdog ? " (Watchdog firing: the rules evaluate)" : ""}`);
        return out.join("\n");
    }
    const head = { alert: "ALERT", severity: "SEVERITY", state: "STATE", since: "SINCE", summary: "SUMMARY" };
    const rows = [head, ...a.rows];
    const w = (k: keyof AlertRow) => Math.max(...rows.map((r) => r[k].length));
    for (const r of rows) out.push([r.alert.padEnd(w("alert")), r.severity.padEnd(w("severity")), r.state.padEnd(w("state")), r.since.padEnd(w("since")), r.summary].join("  "));
    return out.join("\n");
}
