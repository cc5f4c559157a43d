// A Grafana dashboard of the mTLS scrape, as the JSON model Grafana imports: shipped in a ConfigMap the
// Grafana sidecar of kube-prometheus-stack loads, or imported by hand (ARMS Managed Service for Grafana
// included). Plain data, so the mesh tests run every query it holds against the real Prometheus.

import { AGENT_METRICS, certFloorSeconds, SELF_JOBS } from "./alertRules";

export interface DashboardOptions {
    /** Namespaces of the ServiceMonitors that use the mTLS scrape class (DNS labels). */
    appNamespaces: string[];
    /** The mesh certificates' lifetime and the share left below which the alert fires, drawn as a threshold. */
    certFloor?: { ttlSeconds: number; remainingPercent: number };
}

/** The dashboard's template variables, with the value each takes when "All" is selected. */
export const DASHBOARD_VARIABLES = { cluster: ".*" } as const;

/** A panel's query as Grafana sends it with "All" selected; a variable it does not define is left, for Prometheus to refuse. */
export function withAllValues(expr: string): string {
    return expr.replace(/\$(\w+)/g, (v: string, name: string) => DASHBOARD_VARIABLES[name as keyof typeof DASHBOARD_VARIABLES] ?? v);
}

interface Target {
    expr: string;
    legendFormat?: string;
}

interface Panel {
    title: string;
    description: string;
    type: "stat" | "timeseries";
    unit?: string;
    targets: Target[];
    /** Width in Grafana's 24 columns. */
    w: number;
    h: number;
    thresholds?: { color: string; value: number | null }[];
}

export const DASHBOARD_UID = "asm-prometheus-mtls-scrape";

/** The label kube-prometheus-stack's Grafana sidecar loads dashboards by (its default sidecar.dashboards.label and labelValue). */
export const GRAFANA_DASHBOARD_LABEL = { grafana_dashboard: "1" };

export function mtlsScrapeDashboard(o: DashboardOptions): Record<string, unknown> {
    // Series carry cluster only outside this Prometheus (remote write, ARMS); "All" matches them and the local ones.
    const cluster = `cluster=~"$cluster"`;
    const targets = `namespace=~"${o.appNamespaces.join("|")}", ${cluster}`;
    const floor = o.certFloor && certFloorSeconds(o.certFloor.ttlSeconds, o.certFloor.remainingPercent);
    const certThresholds = floor === undefined ? undefined : [{ color: "red", value: null }, { color: "green", value: floor }];
    const cert = `${AGENT_METRICS.certExpiry}{job="${SELF_JOBS.agent}", resource_name="${AGENT_METRICS.workloadResource}", ${cluster}}`;
    const panels: Panel[] = [
        { title: "mTLS targets up", description: "Targets of the ServiceMonitors that use the mTLS scrape class whose last scrape succeeded.", type: "stat", w: 6, h: 4, targets: [{ expr: `sum(up{${targets}})` }] },
        { title: "mTLS targets down", description: "Targets whose last scrape failed: npm run verify names the cause.", type: "stat", w: 6, h: 4, targets: [{ expr: `sum(1 - up{${targets}})` }], thresholds: [{ color: "green", value: null }, { color: "red", value: 1 }] },
        { title: "Firing alerts", description: "Alerts of the stack's rules that fire, the Watchdog left out.", type: "stat", w: 6, h: 4, targets: [{ expr: `count(ALERTS{alertstate="firing", alertname!="Watchdog", ${cluster}}) or vector(0)` }], thresholds: [{ color: "green", value: null }, { color: "red", value: 1 }] },
        { title: "Mesh certificate: time left", description: "The least time left on the certificate a Prometheus replica presents (its sidecar agent's metric); the agent renews it at half its lifetime.", type: "stat", unit: "s", w: 6, h: 4, targets: [{ expr: `min(${cert})` }], thresholds: certThresholds },
        { title: "Targets up by namespace and job", description: "Up and known targets of each mTLS job.", type: "timeseries", w: 12, h: 8, targets: [{ expr: `sum by (namespace, job) (up{${targets}})`, legendFormat: "{{namespace}}/{{job}} up" }, { expr: `count by (namespace, job) (up{${targets}})`, legendFormat: "{{namespace}}/{{job}} known" }] },
        { title: "Failed scrapes by namespace and job", description: "Targets down (a refused handshake, missing certificate files, an HTTP error, an unknown Content-Type).", type: "timeseries", w: 12, h: 8, targets: [{ expr: `sum by (namespace, job) (1 - up{${targets}})`, legendFormat: "{{namespace}}/{{job}}" }] },
        { title: "Scrape duration", description: "The slowest scrape of each job, the mTLS handshake included.", type: "timeseries", unit: "s", w: 8, h: 8, targets: [{ expr: `max by (namespace, job) (scrape_duration_seconds{${targets}})`, legendFormat: "{{namespace}}/{{job}}" }] },
        { title: "Samples per scrape", description: "Samples each job's targets returned in their last scrape.", type: "timeseries", w: 8, h: 8, targets: [{ expr: `sum by (namespace, job) (scrape_samples_scraped{${targets}})`, legendFormat: "{{namespace}}/{{job}}" }] },
        { title: "Targets discovered per ServiceMonitor", description: "A pool at 0 has no target (RBAC, selector, port name): MtlsScrapeNoTarget.", type: "timeseries", w: 8, h: 8, targets: [{ expr: `sum by (scrape_job) (prometheus_target_scrape_pool_targets{job="${SELF_JOBS.prometheus}", scrape_job=~"serviceMonitor/(${o.appNamespaces.join("|")})/.*", ${cluster}})`, legendFormat: "{{scrape_job}}" }] },
        { title: "Mesh certificate of each Prometheus replica", description: `Time left on the certificate its sidecar writes for the scrape: a saw tooth of renewals at half the lifetime.${o.certFloor ? ` Below the red line (${o.certFloor.remainingPercent}% of ${o.certFloor.ttlSeconds} s) a renewal was missed: MeshCertificateNotRenewed.` : ""}`, type: "timeseries", unit: "s", w: 24, h: 8, targets: [{ expr: cert, legendFormat: "{{instance}}" }], thresholds: certThresholds },
    ];

    const datasource = { type: "prometheus", uid: "${datasource}" };
    let x = 0;
    let y = 0;
    let rowHeight = 0;
    const laid = panels.map((p, i) => {
        if (x + p.w > 24) {
            x = 0;
            y += rowHeight;
            rowHeight = 0;
        }
        const gridPos = { x, y, w: p.w, h: p.h };
        x += p.w;
        rowHeight = Math.max(rowHeight, p.h);
        return {
            id: i + 1,
            type: p.type,
            title: p.title,
            description: p.description,
            datasource,
            gridPos,
            targets: p.targets.map((t, j) => ({ refId: String.fromCharCode(65 + j), datasource, expr: t.expr, ...(t.legendFormat ? { legendFormat: t.legendFormat } : {}) })),
            fieldConfig: {
                defaults: {
                    ...(p.unit ? { unit: p.unit } : {}),
                    ...(p.thresholds ? { thresholds: { mode: "absolute", steps: p.thresholds } } : {}),
                    ...(p.type === "timeseries" && p.thresholds ? { custom: { thresholdsStyle: { mode: "line" } } } : {}),
                },
                overrides: [],
            },
            options: p.type === "stat" ? { reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false }, colorMode: "value", graphMode: "area" } : { legend: { displayMode: "list", placement: "bottom" }, tooltip: { mode: "multi" } },
        };
    });

    return {
        uid: DASHBOARD_UID,
        title: "ASM: Prometheus mTLS scrape",
        description: "Prometheus scraping STRICT-mTLS workloads of Alibaba Cloud Service Mesh with the mesh certificate (asm-prometheus-mtls).",
        tags: ["asm", "istio", "mtls", "prometheus"],
        editable: true,
        timezone: "browser",
        schemaVersion: 39,
        version: 1,
        refresh: "30s",
        time: { from: "now-6h", to: "now" },
        graphTooltip: 1,
        annotations: { list: [] },
        links: [],
        templating: {
            list: [
                { name: "datasource", label: "Data source", type: "datasource", query: "prometheus", current: {}, hide: 0, refresh: 1, options: [] },
                {
                    name: "cluster", label: "Cluster", type: "query", datasource, query: { query: "label_values(up, cluster)", refId: "cluster" }, definition: "label_values(up, cluster)",
                    includeAll: true, allValue: DASHBOARD_VARIABLES.cluster, multi: false, current: { text: "All", value: "$__all" }, refresh: 2, hide: 0, options: [], sort: 1,
                },
            ],
        },
        panels: laid,
    };
}
