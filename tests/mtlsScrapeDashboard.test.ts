import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SELF_JOBS } from "../lib/alertRules";
import { DASHBOARD_VARIABLES, GRAFANA_DASHBOARD_LABEL, mtlsScrapeDashboard, withAllValues } from "../lib/dashboard";
import { byType, one, runProgram, testConfig } from "./support/harness";

const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";

/** The dashboard ConfigMaps the program declares (the operator bundle has none). */
function dashboards(resources: { type: string; inputs: Record<string, any> }[]) {
    return byType(resources as never, CONFIG_MAP).filter((c) => c.inputs.metadata.labels?.grafana_dashboard !== undefined);
}

describe("MtlsScrapeDashboard in the stack", () => {
    test("a ConfigMap beside Prometheus, labelled for Grafana's sidecar, whose queries name the app namespace and the jobs Prometheus scrapes", async () => {
        const { resources } = await runProgram(testConfig({ appNamespace: "shop", monitoringNamespace: "obs" }));
        const [cm] = dashboards(resources);
        assert.equal(cm.inputs.metadata.namespace, "obs");
        assert.deepEqual(cm.inputs.metadata.labels, GRAFANA_DASHBOARD_LABEL);
        const [file, json] = Object.entries<string>(cm.inputs.data)[0];
        const dashboard = JSON.parse(json);
        assert.equal(file, `${dashboard.uid}.json`);
        const exprs: string[] = dashboard.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr));
        assert.ok(exprs.filter((e) => /\bup\{/.test(e)).every((e) => e.includes(`namespace=~"shop"`)), exprs.join("\n"));
        const jobs = new Set(exprs.flatMap((e) => [...e.matchAll(/\bjob="([^"]+)"/g)].map((m) => m[1])));
        const scrapeJobs = byType(resources, "kubernetes:monitoring.coreos.com/v1alpha1:ScrapeConfig").map((s) => s.inputs.spec.jobName);
        for (const j of jobs) assert.ok(scrapeJobs.includes(j), `${j} is scraped`);
        // The certificate panels draw the alert's floor: 45% of 24h.
        const certPanel = dashboard.panels.find((p: any) => p.title === "Mesh certificate: time left");
        assert.deepEqual(certPanel.fieldConfig.defaults.thresholds.steps.map((s: any) => s.value), [null, 38880]);
    });

    test("grafanaDashboardNamespace moves it; grafanaDashboard false drops it; without alert rules no floor is drawn", async () => {
        const moved = await runProgram(testConfig({ grafanaDashboardNamespace: "grafana" }));
        assert.equal(one(moved.resources, CONFIG_MAP, "dashboard-dashboard").inputs.metadata.namespace, "grafana");
        assert.deepEqual(dashboards((await runProgram(testConfig({ grafanaDashboard: false }))).resources), []);
        const [cm] = dashboards((await runProgram(testConfig({ alertRules: false }))).resources);
        const dashboard = JSON.parse(Object.values<string>(cm.inputs.data)[0]);
        assert.ok(dashboard.panels.every((p: any) => p.fieldConfig.defaults.thresholds === undefined || !p.title.includes("certificate")));
    });
});

describe("dashboard model", () => {
    const d = mtlsScrapeDashboard({ appNamespaces: ["bookinfo"], certFloor: { ttlSeconds: 86400, remainingPercent: 45 } }) as any;

    test("panels fit Grafana's 24 columns without overlapping, with unique ids and refIds", () => {
        const cells = new Set<string>();
        for (const p of d.panels) {
            assert.ok(p.gridPos.x >= 0 && p.gridPos.x + p.gridPos.w <= 24, p.title);
            for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
                for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
                    assert.ok(!cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`);
                    cells.add(`${x},${y}`);
                }
            }
            assert.equal(new Set(p.targets.map((t: any) => t.refId)).size, p.targets.length, p.title);
        }
        assert.equal(new Set(d.panels.map((p: any) => p.id)).size, d.panels.length);
    });

    test("every panel queries the data source the viewer picks, and every variable a query uses is defined with its All value", () => {
        const variables = d.templating.list.map((v: any) => v.name);
        assert.deepEqual(variables, ["datasource", "cluster"]);
        for (const p of d.panels) {
            for (const ds of [p.datasource, ...p.targets.map((t: any) => t.datasource)]) assert.deepEqual(ds, { type: "prometheus", uid: "${datasource}" }, p.title);
            for (const t of p.targets) {
                for (const [, v] of t.expr.matchAll(/\$(\w+)/g)) {
                    assert.ok(variables.includes(v), `${p.title}: $${v}`);
                    assert.ok(v in DASHBOARD_VARIABLES, `${p.title}: $${v} has an All value`);
                }
            }
        }
        const cluster = d.templating.list.find((v: any) => v.name === "cluster");
        assert.equal(cluster.allValue, DASHBOARD_VARIABLES.cluster);
        assert.equal(cluster.includeAll, true);
    });

    test("a query as Grafana sends it with All: known variables take their All value, an unknown one stays for Prometheus to refuse", () => {
        assert.equal(withAllValues('up{cluster=~"$cluster", x="$other"}'), 'up{cluster=~".*", x="$other"}');
    });

    test("the certificate panels read the agent's job, which the alerts read too", () => {
        const cert = d.panels.filter((p: any) => /certificate/i.test(p.title)).flatMap((p: any) => p.targets.map((t: any) => t.expr));
        assert.equal(cert.length, 2);
        for (const e of cert) assert.match(e, new RegExp(`job="${SELF_JOBS.agent}"`));
    });
});
