// The stack's alert rules under promtool, built by the toolchain from the same Prometheus module as the
// binary the mesh tests run: `check rules` with every lint fatal, and `test rules` on the hand-written
// cases of e2e/rules/ (series that must fire each alert, series that must not, the boundary of each `for`).
// The stack e2e runs the same cases on the rule file the real operator generates from the PrometheusRule.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import * as YAML from "yaml";
import { alertmanagerConfig } from "../lib/alertmanager";
import { mtlsAlertGroups, MtlsAlertOptions } from "../lib/alertRules";
import { parseConfig } from "../lib/config";
import { mtlsScrapeDashboard, withAllValues } from "../lib/dashboard";
import { promtoolTest, RULE_TESTS } from "./support/promtool";
import { toolchainBin } from "./support/world";

/** The options the default stack passes (config defaults), for Prometheus monitoring/mesh scraping bookinfo/productpage. */
function stackOptions(config: Record<string, string> = {}, remoteWrite = true, alertmanager = true): MtlsAlertOptions {
    const cfg = parseConfig({ "alicloud:region": "cn-hangzhou", ...Object.fromEntries(Object.entries(config).map(([k, v]) => [`asm-prometheus-mtls:${k}`, v])) });
    return { ...cfg.alerts!, appNamespaces: ["bookinfo"], scrapePools: ["serviceMonitor/bookinfo/productpage/0"], prometheus: "monitoring/mesh", remoteWrite, alertmanager };
}

let promtool = "";
let dir = "";

describe("alert rules under promtool", () => {
    before(() => {
        promtool = path.join(toolchainBin(), "promtool");
        dir = mkdtempSync(path.join(os.tmpdir(), "alert-rules-"));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    test("promtool is the toolchain's, of the Prometheus the mesh tests run", () => {
        const version = spawnSync(promtool, ["--version"], { encoding: "utf8" }).stdout;
        const prometheus = spawnSync(path.join(path.dirname(promtool), "prometheus"), ["--version"], { encoding: "utf8" }).stdout;
        assert.equal(/version (\S+)/.exec(version)![1], /version (\S+)/.exec(prometheus)![1]);
    });

    for (const remoteWrite of [false, true]) {
        test(`check rules, every lint fatal, finds nothing (remote write ${remoteWrite ? "on" : "off"})`, () => {
            const file = path.join(dir, `check-${remoteWrite}.yaml`);
            writeFileSync(file, YAML.stringify({ groups: mtlsAlertGroups(stackOptions({}, remoteWrite)) }));
            const r = spawnSync(promtool, ["check", "rules", "--lint=all", "--lint-fatal", file], { encoding: "utf8" });
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.match(r.stdout, new RegExp(`SUCCESS: ${mtlsAlertGroups(stackOptions({}, remoteWrite)).flatMap((g) => g.rules).length} rules found`));
        });
    }

    test("the dashboard's queries parse: promtool checks them as recording rules, with each variable's All value", () => {
        const d = mtlsScrapeDashboard({ appNamespaces: ["bookinfo"] }) as any;
        const exprs: string[] = d.panels.flatMap((p: any) => p.targets.map((t: any) => withAllValues(t.expr)));
        const file = path.join(dir, "dashboard.yaml");
        writeFileSync(file, YAML.stringify({ groups: [{ name: "dashboard", rules: exprs.map((expr, i) => ({ record: `dashboard:query_${i}`, expr })) }] }));
        const r = spawnSync(promtool, ["check", "rules", file], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.match(r.stdout, new RegExp(`SUCCESS: ${exprs.length} rules found`));
    });

    test("test rules: each alert fires on its series and not on the others, at the boundary of its for", () => {
        const files = readdirSync(RULE_TESTS);
        const r = promtoolTest(promtool, dir, { groups: mtlsAlertGroups(stackOptions()) }, files);
        assert.ok(r.ok, r.out);
        assert.equal(r.out.match(/SUCCESS/g)?.length, files.length, r.out);
    });

    test("every alert has a case where it fires and one where it does not", () => {
        const cases = readdirSync(RULE_TESTS).flatMap((f) => YAML.parse(readFileSync(path.join(RULE_TESTS, f), "utf8")).tests)
            .flatMap((t: any) => t.alert_rule_test as { alertname: string; exp_alerts: unknown[] }[]);
        for (const alert of mtlsAlertGroups(stackOptions()).flatMap((g) => g.rules).map((r) => r.alert)) {
            const mine = cases.filter((c) => c.alertname === alert);
            assert.ok(mine.some((c) => c.exp_alerts.length > 0), `${alert}: no case where it fires`);
            if (alert !== "Watchdog") assert.ok(mine.some((c) => c.exp_alerts.length === 0), `${alert}: no case where it stays silent`);
        }
    });

    // The cases hold the thresholds: a rule changed behind their back fails them, naming the alert.
    for (const [setting, value, alert] of [
        ["alertTargetDownFor", "6m", "MtlsScrapeTargetDown"],
        ["alertNoTargetFor", "11m", "MtlsScrapeNoTarget"],
        ["alertCertRemainingPercent", "44", "MeshCertificateNotRenewed"],
        ["meshCertTtl", "12h", "MeshCertificateNotRenewed"],
    ] as const) {
        test(`a rule with ${setting} ${value} fails the cases of ${alert}`, () => {
            const r = promtoolTest(promtool, dir, { groups: mtlsAlertGroups(stackOptions({ [setting]: value })) }, ["mtls-scrape.test.yaml"]);
            assert.equal(r.ok, false, r.out);
            const failed = [...r.out.matchAll(/alertname: (\w+), time:/g)].map((m) => m[1]);
            assert.deepEqual([...new Set(failed)], [alert], r.out);
        });
    }
});

// The Alertmanager configuration the stack writes, under amtool of the same module as the Alertmanager the
// mesh tests run: it loads, and each kind of alert the rules raise reaches the receiver it should.
describe("Alertmanager configuration under amtool", () => {
    let amtool = "";
    before(() => {
        amtool = path.join(toolchainBin(), "amtool");
        dir = mkdtempSync(path.join(os.tmpdir(), "alertmanager-config-"));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    /** The configuration of a stack with these webhook settings, as the component writes it. */
    function configFile(settings: Record<string, string>): string {
        const cfg = parseConfig({ "alicloud:region": "cn-hangzhou", "asm-prometheus-mtls:alertmanager": "true", "asm-prometheus-mtls:alertWebhookUrl": "https://hooks.example/w", ...Object.fromEntries(Object.entries(settings).map(([k, v]) => [`asm-prometheus-mtls:${k}`, v])) });
        const am = cfg.alertmanager!;
        const file = path.join(dir, `alertmanager-${Object.keys(settings).join("-") || "default"}.yaml`);
        writeFileSync(file, YAML.stringify(alertmanagerConfig({ ...am, critical: am.webhooks.critical !== undefined, watchdog: am.webhooks.watchdog !== undefined })));
        return file;
    }

    /** The receivers amtool routes an alert of these labels to. */
    function routes(file: string, labels: Record<string, string>): string[] {
        const r = spawnSync(amtool, ["config", "routes", "test", `--config.file=${file}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stdout + r.stderr);
        return r.stdout.trim().split(",").sort();
    }

    const severities = Object.fromEntries(mtlsAlertGroups(stackOptions()).flatMap((g) => g.rules).map((r) => [r.alert, r.labels.severity]));

    for (const [name, settings] of [["defaults", {}], ["critical and watchdog URLs", { alertCriticalWebhookUrl: "https://pager.example/c", alertWatchdogWebhookUrl: "https://dms.example/p" }]] as const) {
        test(`check-config loads it (${name})`, () => {
            const r = spawnSync(amtool, ["check-config", configFile(settings)], { encoding: "utf8" });
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.match(r.stdout, /SUCCESS/);
        });
    }

    test("every alert of the rules reaches its receiver by severity; the Watchdog only the dead man's switch", () => {
        const both = configFile({ alertCriticalWebhookUrl: "https://pager.example/c", alertWatchdogWebhookUrl: "https://dms.example/p" });
        const plain = configFile({});
        for (const [alert, severity] of Object.entries(severities)) {
            const labels = { alertname: alert, severity, namespace: "bookinfo", job: "productpage" };
            const expected = alert === "Watchdog" ? ["watchdog"] : severity === "critical" ? ["critical"] : ["webhook"];
            assert.deepEqual(routes(both, labels), expected, alert);
            assert.deepEqual(routes(plain, labels), alert === "Watchdog" ? ["null"] : ["webhook"], alert);
        }
        assert.ok(Object.values(severities).includes("critical") && Object.values(severities).includes("warning"));
    });
});
