import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { CAUSES, classify, counter, explain, remoteQueues, renderAlerts, RulesData, stackAlerts } from "../lib/verify";

// The causes verify names, from the error texts Prometheus 3.13 sets on a target (scrape/scrape.go,
// model/textparse, prometheus/common's http_config). The mesh e2e tests provoke each for real.

const CTX = { monitoringNamespace: "monitoring", appNamespace: "bookinfo", prometheusName: "mesh", prometheusPod: "prometheus-mesh-0" };

describe("verify: classify a target's last error", () => {
    const cases: [string, string][] = [
        ['received unsupported Content-Type "text/html; charset=utf-8" and no fallback_scrape_protocol specified for target', "content-type"],
        ["server returned HTTP status 503 Service Unavailable", "http-status"],
        ["unable to use specified client cert (/etc/prom-certs/cert-chain.pem) & key (/etc/prom-certs/key.pem): open /etc/prom-certs/cert-chain.pem: no such file or directory", "cert-files"],
        ["unable to read CA cert: open /etc/prom-certs/root-cert.pem: no such file or directory", "cert-files"],
        ['Get "https://10.244.0.7:9080/metrics": EOF', "handshake"],
        ['Get "https://10.244.0.7:9080/metrics": read tcp 10.244.0.9:40312->10.244.0.7:9080: read: connection reset by peer', "handshake"],
        ['Get "https://10.244.0.7:9080/metrics": remote error: tls: certificate required', "handshake"],
        ['Get "http://10.244.0.7:9080/metrics": net/http: HTTP/1.x transport connection broken: malformed HTTP response "\\x15\\x03\\x01\\x00\\x02\\x02"', "handshake"],
        ['Get "https://10.244.0.7:9080/metrics": context deadline exceeded', "down"],
    ];
    for (const [err, cause] of cases) test(`${cause}: ${err.slice(0, 70)}`, () => assert.equal(classify(err).cause, cause));

    test("counters of Prometheus's own /metrics, summed over labels, 0 when absent", () => {
        const text = [
            "# HELP prometheus_sd_kubernetes_failures_total The number of failed WATCH/LIST requests.",
            "# TYPE prometheus_sd_kubernetes_failures_total counter",
            "prometheus_sd_kubernetes_failures_total 3",
            'prometheus_target_scrape_pools_failed_total{x="a"} 1',
            'prometheus_target_scrape_pools_failed_total{x="b"} 2e0',
        ].join("\n");
        assert.equal(counter(text, "prometheus_sd_kubernetes_failures_total"), 3);
        assert.equal(counter(text, "prometheus_target_scrape_pools_failed_total"), 3);
        assert.equal(counter(text, "prometheus_target_sync_failed_total"), 0);
    });

    test("remote write queues from Prometheus's own /metrics: sent and refused samples per endpoint", () => {
        // As Prometheus 3.16 prints them (storage/remote/queue_manager.go: remote_name and url are constant labels).
        const text = [
            "# TYPE prometheus_remote_storage_samples_total counter",
            'prometheus_remote_storage_samples_total{remote_name="3f2a1b",url="http://10.0.0.1:19291/api/v1/write"} 1234',
            'prometheus_remote_storage_samples_failed_total{remote_name="3f2a1b",url="http://10.0.0.1:19291/api/v1/write"} 56',
            'prometheus_remote_storage_samples_total{remote_name="9c8d7e",url="https://arms.example/api/v3/write"} 7e3',
            'prometheus_remote_storage_samples_failed_total{remote_name="9c8d7e",url="https://arms.example/api/v3/write"} 0',
            'prometheus_remote_storage_samples_pending{remote_name="9c8d7e",url="https://arms.example/api/v3/write"} 12',
        ].join("\n");
        assert.deepEqual(remoteQueues(text), [
            { url: "http://10.0.0.1:19291/api/v1/write", sent: 1234, failed: 56 },
            { url: "https://arms.example/api/v3/write", sent: 7000, failed: 0 },
        ]);
        assert.deepEqual(remoteQueues("prometheus_sd_kubernetes_failures_total 3\n"), []);
    });

    test("an HTTP status names the status", () => assert.equal(classify("server returned HTTP status 404 Not Found").detail, "HTTP 404 Not Found"));

    test("every cause explains itself with a command naming the stack's objects", () => {
        for (const c of CAUSES) {
            const e = explain(c, CTX, "x");
            assert.ok(e.meaning.length > 10, c);
            assert.match(e.next, /monitoring|bookinfo/, c);
        }
        assert.match(explain("rbac", CTX).next, /system:serviceaccount:monitoring:prometheus-mesh/);
    });

    test("docs/troubleshooting.md has a row for each cause, and no other, each with its anchor", () => {
        const page = readFileSync(path.join(__dirname, "..", "..", "docs", "troubleshooting.md"), "utf8");
        const rows = [...page.matchAll(/^\| ((?:<a id="[a-z-]+"><\/a>)*)((?:`[a-z-]+`(?:, )?)+) \|/gm)];
        const named = rows.flatMap((m) => [...m[2].matchAll(/`([a-z-]+)`/g)].map((x) => x[1]));
        assert.deepEqual([...named].sort(), [...CAUSES].sort());
        const anchors = rows.flatMap((m) => [...m[1].matchAll(/id="([a-z-]+)"/g)].map((x) => x[1]));
        assert.deepEqual(anchors.sort(), [...CAUSES].sort());
    });
});

describe("verify: the stack's alerts under the table", () => {
    // As Prometheus 3.16 answers /api/v1/rules?type=alert (web/api/v1: groups, rules, their alerts).
    const rule = (name: string, severity: string, alerts: { state: string; activeAt: string; summary: string }[]) => ({
        name, type: "alerting", health: "ok", labels: { severity }, annotations: {},
        alerts: alerts.map((a) => ({ state: a.state, activeAt: a.activeAt, labels: { alertname: name, severity }, annotations: { summary: a.summary }, value: "1e+00" })),
    });
    const data = (mtls: ReturnType<typeof rule>[], other: ReturnType<typeof rule>[] = []): RulesData => ({
        groups: [
            { name: "mtls-scrape", rules: mtls },
            { name: "mesh-prometheus", rules: [rule("Watchdog", "none", [{ state: "firing", activeAt: "2026-12-06T08:00:00Z", summary: "always" }])] },
            { name: "another-team", rules: other },
        ],
    });
    const GROUPS = ["mtls-scrape", "mesh-prometheus"];

    test("a healthy stack: nothing but the Watchdog, which says the rules evaluate", () => {
        const a = stackAlerts(data([rule("MtlsScrapeTargetDown", "critical", [])]), GROUPS);
        assert.deepEqual(a, { rows: [], watchdog: true, missing: [] });
        assert.equal(renderAlerts(a), "\nalerts: none of the stack's rules firing (Watchdog firing: the rules evaluate)");
    });

    test("firing before pending, with severity, since and the expanded summary; another team's groups left out", () => {
        const a = stackAlerts(data([
            rule("MtlsScrapeTargetDown", "critical", [{ state: "pending", activeAt: "2026-12-06T08:21:00Z", summary: "mTLS scrape of bookinfo/productpage failing" }]),
            rule("MeshCertificateNotRenewed", "warning", [{ state: "firing", activeAt: "2026-12-06T08:20:58Z", summary: "The mesh certificate of Prometheus monitoring/mesh is not being renewed" }]),
        ], [rule("TheirAlert", "critical", [{ state: "firing", activeAt: "2026-12-06T07:00:00Z", summary: "not ours" }])]), GROUPS);
        assert.deepEqual(a.rows.map((r) => [r.alert, r.severity, r.state]), [["MeshCertificateNotRenewed", "warning", "firing"], ["MtlsScrapeTargetDown", "critical", "pending"]]);
        assert.deepEqual(renderAlerts(a).split("\n").slice(1), [
            "ALERT                      SEVERITY  STATE    SINCE                 SUMMARY",
            "MeshCertificateNotRenewed  warning   firing   2026-12-06T08:20:58Z  The mesh certificate of Prometheus monitoring/mesh is not being renewed",
            "MtlsScrapeTargetDown       critical  pending  2026-12-06T08:21:00Z  mTLS scrape of bookinfo/productpage failing",
        ]);
    });

    test("rule groups Prometheus has not loaded are named", () => {
        const a = stackAlerts({ groups: [] }, GROUPS);
        assert.deepEqual(a.missing, GROUPS);
        assert.match(renderAlerts(a), /alerts: Prometheus has not loaded the stack's rule groups mtls-scrape, mesh-prometheus/);
    });
});
