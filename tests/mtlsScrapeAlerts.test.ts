import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { AlertRule, mtlsAlertGroups, RUNBOOK_ANCHORS, SELF_JOBS } from "../lib/alertRules";
import { configKey, parseConfig } from "../lib/config";
import { byType, failingProgram, one, runProgram, testConfig } from "./support/harness";

const RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";
const SCRAPE_CONFIG = "kubernetes:monitoring.coreos.com/v1alpha1:ScrapeConfig";

const rulesOf = (r: { inputs: Record<string, any> }): AlertRule[] => r.inputs.spec.groups.flatMap((g: { rules: AlertRule[] }) => g.rules);
const ruleNamed = (r: { inputs: Record<string, any> }, alert: string) => rulesOf(r).find((x) => x.alert === alert)!;
/** The label values a PromQL expression selects with equality matchers, by label. */
const matchers = (expr: string, label: string) => [...expr.matchAll(new RegExp(`\\b${label}="([^"]*)"`, "g"))].map((m) => m[1]);

describe("MtlsScrapeAlerts in the stack", () => {
    test("the Prometheus loads the rule (labels and namespace its selectors match) and scrapes what the rules read", async () => {
        const { resources } = await runProgram(testConfig({ appNamespace: "shop", monitoringNamespace: "obs", prometheusName: "edge", scrapeServices: ["productpage", "reviews"] }));
        const prom = one(resources, "kubernetes:monitoring.coreos.com/v1:Prometheus");
        const rule = one(resources, RULE);
        assert.equal(rule.inputs.metadata.namespace, "obs");
        assert.equal(rule.inputs.metadata.name, "prometheus-edge-mtls-scrape");
        assert.deepEqual(prom.inputs.spec.ruleSelector, { matchLabels: rule.inputs.metadata.labels });
        assert.deepEqual(prom.inputs.spec.ruleNamespaceSelector, { matchLabels: { "kubernetes.io/metadata.name": "obs" } });
        // The CRD defines the kind: the rule waits for the operator's.
        assert.ok(rule.waitsFor.some((k) => k.endsWith("::operator-crds")), rule.waitsFor.join(", "));

        // Each ServiceMonitor's pool, as the operator will name it from the object's namespace and name.
        const monitors = byType(resources, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor");
        assert.deepEqual(matchers(ruleNamed(rule, "MtlsScrapeNoTarget").expr, "scrape_job").filter((v, i, a) => a.indexOf(v) === i).sort(),
            monitors.map((m) => `serviceMonitor/${m.inputs.metadata.namespace}/${m.inputs.metadata.name}/0`).sort());
        assert.match(ruleNamed(rule, "MtlsScrapeTargetDown").expr, /up\{namespace=~"shop"\}/);

        // The jobs the rules read are the jobs of the Prometheus's own ScrapeConfigs, which it selects.
        const scrapes = byType(resources, SCRAPE_CONFIG);
        assert.deepEqual(scrapes.map((s) => s.inputs.spec.jobName).sort(), [SELF_JOBS.prometheus, SELF_JOBS.agent].sort());
        for (const s of scrapes) {
            assert.equal(s.inputs.metadata.namespace, "obs");
            assert.deepEqual(prom.inputs.spec.scrapeConfigSelector, { matchLabels: s.inputs.metadata.labels });
            assert.equal(s.inputs.spec.scrapeInterval, "30s");
        }
        assert.deepEqual(prom.inputs.spec.scrapeConfigNamespaceSelector, { matchLabels: { "kubernetes.io/metadata.name": "obs" } });
        const jobsRead = new Set(rulesOf(rule).flatMap((r) => matchers(r.expr, "job")));
        assert.deepEqual([...jobsRead].sort(), scrapes.map((s) => s.inputs.spec.jobName).sort());
        const agent = scrapes.find((s) => s.inputs.spec.jobName === SELF_JOBS.agent)!;
        assert.deepEqual(agent.inputs.spec.staticConfigs, [{ targets: ["localhost:15020"] }]);
        assert.equal(agent.inputs.spec.metricsPath, "/stats/prometheus");
        // What the agent's endpoint merges in from Envoy is dropped; the metric the certificate alerts read is kept.
        const keep = new RegExp(`^(?:${agent.inputs.spec.metricRelabelings[0].regex})$`);
        assert.ok(keep.test("istio_agent_cert_expiry_seconds"));
        assert.equal(keep.test("envoy_server_uptime"), false);
    });

    test("the thresholds come from the settings", async () => {
        const { resources } = await runProgram(testConfig({ alertTargetDownFor: "15m", alertNoTargetFor: "20m", meshCertTtl: "2h", alertCertRemainingPercent: 40 }));
        const rule = one(resources, RULE);
        assert.equal(ruleNamed(rule, "MtlsScrapeTargetDown").for, "15m");
        assert.equal(ruleNamed(rule, "MtlsScrapeNoTarget").for, "20m");
        assert.match(ruleNamed(rule, "MeshCertificateNotRenewed").expr, / < 2880$/);
    });

    test("remote write adds its alert; alertRules false declares no rule", async () => {
        const plain = await runProgram(testConfig());
        assert.equal(ruleNamed(one(plain.resources, RULE), "PrometheusRemoteStorageFailures"), undefined);
        const rw = await runProgram(testConfig({ remoteWriteUrl: "https://rw.example/api/v1/write" }));
        assert.ok(ruleNamed(one(rw.resources, RULE), "PrometheusRemoteStorageFailures"));
        const off = await runProgram(testConfig({ alertRules: false }));
        assert.deepEqual(byType(off.resources, RULE), []);
        // Prometheus still watches itself: the self scrapes do not depend on the rules.
        assert.equal(byType(off.resources, SCRAPE_CONFIG).length, 2);
    });

    test("a bad threshold is refused before anything is registered", async () => {
        const { error, resources } = await failingProgram(testConfig({ alertCertRemainingPercent: 50, alertTargetDownFor: "" }));
        assert.match(String(error), new RegExp(`${configKey("alertCertRemainingPercent")}: "50" is not accepted; accepted: an integer from 1 to 48`));
        assert.match(String(error), new RegExp(`${configKey("alertTargetDownFor")}: "" is not accepted; accepted: a Prometheus duration`));
        assert.deepEqual(resources, []);
    });
});

describe("alert rules", () => {
    const defaults = parseConfig({ "alicloud:region": "cn-hangzhou" }).alerts!;
    const groups = mtlsAlertGroups({ ...defaults, appNamespaces: ["bookinfo"], scrapePools: ["serviceMonitor/bookinfo/productpage/0"], prometheus: "monitoring/mesh", remoteWrite: true, alertmanager: true });

    test("each has a severity, a summary and a runbook; the mTLS ones link to a row of docs/troubleshooting.md", () => {
        const page = readFileSync(path.join(__dirname, "..", "..", "docs", "troubleshooting.md"), "utf8");
        const ids = new Set([...page.matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1]));
        for (const anchor of Object.values(RUNBOOK_ANCHORS)) assert.ok(ids.has(anchor), anchor);
        for (const r of groups.flatMap((g) => g.rules)) {
            assert.ok(["critical", "warning", "none"].includes(r.labels.severity), r.alert);
            assert.ok(r.annotations.summary.length > 10, r.alert);
            const local = /^docs\/troubleshooting\.md#(.+)$/.exec(r.annotations.runbook_url);
            if (local) assert.ok(ids.has(local[1]), `${r.alert}: ${r.annotations.runbook_url}`);
            else assert.match(r.annotations.runbook_url, /^https:\/\/runbooks\.prometheus-operator\.dev\/runbooks\/(prometheus|general)\/[a-z]+$/, r.alert);
        }
    });

    test("alertRunbookUrl moves every mTLS runbook, the anchors kept", () => {
        const moved = mtlsAlertGroups({ ...defaults, runbookBase: "https://wiki.example/mtls", appNamespaces: ["a"], scrapePools: [], prometheus: "m/p", remoteWrite: false, alertmanager: false });
        const urls = moved.flatMap((g) => g.rules).map((r) => r.annotations.runbook_url).filter((u) => !u.startsWith("https://runbooks."));
        assert.ok(urls.length >= 3);
        for (const u of urls) assert.match(u, /^https:\/\/wiki\.example\/mtls#[a-z-]+$/);
        // Without a ServiceMonitor there is no pool to miss.
        assert.equal(moved.flatMap((g) => g.rules).some((r) => r.alert === "MtlsScrapeNoTarget"), false);
    });
});
