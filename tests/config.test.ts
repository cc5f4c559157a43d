import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import * as YAML from "yaml";
import { ConfigError, parseConfig, PROJECT, SETTINGS } from "../lib/config";
import { recorded, runProgram, testConfig } from "./support/harness";

const ROOT = path.join(__dirname, "..", "..");
const P = PROJECT;

function problemsOf(raw: Record<string, string>): string[] {
    try {
        parseConfig(raw);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
        return e.problems;
    }
    assert.fail("config was accepted");
}

const REGION = { "alicloud:region": "cn-hangzhou" };
const CLUSTER = { ...REGION, [`${P}:createCluster`]: "true", [`${P}:zoneIds`]: '["cn-hangzhou-j","cn-hangzhou-k"]' };

// [what, raw config, the whole message expected: key, value given, what is accepted]
const BAD: [string, Record<string, string>, string][] = [
    ["no region", {}, "alicloud:region: not set; accepted: an Alibaba Cloud region id such as cn-hangzhou"],
    ["malformed region", { "alicloud:region": "Hangzhou" }, 'alicloud:region: "Hangzhou" is not accepted; accepted: a region id such as cn-hangzhou'],
    ["boolean of wrong type", { ...REGION, [`${P}:createCluster`]: "yes" }, `${P}:createCluster: "yes" is not a boolean; accepted: true or false`],
    ["integer of wrong type", { ...REGION, [`${P}:prometheusReplicas`]: "two" }, `${P}:prometheusReplicas: "two" is not an integer; accepted: a whole number`],
    ["fractional integer", { ...REGION, [`${P}:nodeCount`]: "1.5" }, `${P}:nodeCount: "1.5" is not an integer`],
    ["replicas < 1", { ...REGION, [`${P}:prometheusReplicas`]: "0" }, `${P}:prometheusReplicas: "0" is not accepted; accepted: an integer >= 1`],
    ["negative node count", { ...CLUSTER, [`${P}:nodeCount`]: "-2" }, `${P}:nodeCount: "-2" is not accepted; accepted: an integer >= 1`],
    ["list that is not a list", { ...REGION, [`${P}:scrapeServices`]: "productpage" }, `${P}:scrapeServices: "productpage" is not a list of strings`],
    ["empty scrape list", { ...REGION, [`${P}:scrapeServices`]: "[]" }, `${P}:scrapeServices: "[]" is not accepted; accepted: a non-empty list of Service names`],
    ["duplicate scrape services", { ...REGION, [`${P}:scrapeServices`]: '["productpage","productpage"]' }, `${P}:scrapeServices: "[\\"productpage\\",\\"productpage\\"]" is not accepted; accepted: a list of Service names without duplicates`],
    ["unknown mesh edition", { ...REGION, [`${P}:meshEdition`]: "Enterprise" }, `${P}:meshEdition: "Enterprise" is not accepted; accepted: one of Default, Pro`],
    ["unknown mesh spec", { ...REGION, [`${P}:meshClusterSpec`]: "large" }, `${P}:meshClusterSpec: "large" is not accepted; accepted: one of standard, enterprise, ultimate`],
    ["unknown ACK spec", { ...REGION, [`${P}:clusterSpec`]: "ack.pro.large" }, `${P}:clusterSpec: "ack.pro.large" is not accepted; accepted: one of ack.standard, ack.pro.small`],
    ["operator version not a version", { ...REGION, [`${P}:operatorVersion`]: "latest" }, `${P}:operatorVersion: "latest" is not accepted; accepted: a release tag such as v0.93.0`],
    ["operator version without v", { ...REGION, [`${P}:operatorVersion`]: "0.93.0" }, `${P}:operatorVersion: "0.93.0" is not accepted`],
    ["istio version not a version", { ...REGION, [`${P}:istioVersion`]: "master" }, `${P}:istioVersion: "master" is not accepted; accepted: an Istio tag such as 1.28.10`],
    ["prometheus 2", { ...REGION, [`${P}:prometheusVersion`]: "v2.26.0" }, `${P}:prometheusVersion: "v2.26.0" is not accepted; accepted: a Prometheus version >= v3.0.0 such as v3.13.1`],
    ["interval not a duration", { ...REGION, [`${P}:scrapeInterval`]: "30 seconds" }, `${P}:scrapeInterval: "30 seconds" is not accepted; accepted: a Prometheus duration such as 30s or 1m`],
    ["interval with a unit Prometheus lacks", { ...REGION, [`${P}:scrapeInterval`]: "1.5m" }, `${P}:scrapeInterval: "1.5m" is not accepted`],
    ["retention not a duration", { ...REGION, [`${P}:prometheusRetention`]: "forever" }, `${P}:prometheusRetention: "forever" is not accepted; accepted: a Prometheus duration such as 15d or 12h`],
    ["path without slash", { ...REGION, [`${P}:scrapePath`]: "metrics" }, `${P}:scrapePath: "metrics" is not accepted; accepted: a path starting with /`],
    ["mesh without cluster", { ...REGION, [`${P}:createMesh`]: "true" }, `${P}:createMesh: true is not accepted while ${P}:createCluster is false`],
    ["digest too short", { ...REGION, [`${P}:operatorSha256`]: "abc123" }, `${P}:operatorSha256: "abc123" is not accepted; accepted: 64 lower-case hex characters`],
    ["digest not hex", { ...REGION, [`${P}:bookinfoSha256`]: "z".repeat(64) }, `${P}:bookinfoSha256: "${"z".repeat(64)}" is not accepted; accepted: 64 lower-case hex characters`],
    ["template without {version}", { ...REGION, [`${P}:operatorUrlTemplate`]: "https://mirror.example/bundle.yaml" }, `${P}:operatorUrlTemplate: "https://mirror.example/bundle.yaml" is not accepted; accepted: an http(s):// or file:// URL containing {version}`],
    ["template of another scheme", { ...REGION, [`${P}:bookinfoUrlTemplate`]: "ftp://m/{version}/b.yaml" }, `${P}:bookinfoUrlTemplate: "ftp://m/{version}/b.yaml" is not accepted`],
    ["typo in a key", { ...REGION, [`${P}:prometheusReplica`]: "2" }, `${P}:prometheusReplica: unknown setting; did you mean ${P}:prometheusReplicas?`],
    ["unknown key", { ...REGION, [`${P}:colour`]: "blue" }, `${P}:colour: unknown setting; accepted keys are listed in README.md`],
    ["namespace not a DNS label", { ...REGION, [`${P}:appNamespace`]: "Book_Info" }, `${P}:appNamespace: "Book_Info" is not accepted; accepted: a DNS label`],
    ["same namespace twice", { ...REGION, [`${P}:appNamespace`]: "apps", [`${P}:monitoringNamespace`]: "apps" }, `${P}:monitoringNamespace: "apps" is not accepted; accepted: a namespace other than appNamespace`],
    ["namespace default", { ...REGION, [`${P}:monitoringNamespace`]: "default" }, `${P}:monitoringNamespace: "default" is not accepted; accepted: a namespace of this stack's own`],
    ["cluster without zones", { ...REGION, [`${P}:createCluster`]: "true" }, `${P}:zoneIds: [] is not accepted with createCluster`],
    ["zones and vswitches differ", { ...CLUSTER, [`${P}:vswitchCidrs`]: '["192.168.0.0/19"]' }, `${P}:vswitchCidrs: 1 CIDRs for 2 zones is not accepted; accepted: exactly one CIDR per entry of zoneIds`],
    ["bad CIDR", { ...CLUSTER, [`${P}:vpcCidr`]: "192.168.0.0/33" }, `${P}:vpcCidr: "192.168.0.0/33" is not accepted; accepted: an IPv4 CIDR`],
    ["bad vswitch CIDR", { ...CLUSTER, [`${P}:vswitchCidrs`]: '["10.0.0.0/8","300.1.0.0/16"]' }, `${P}:vswitchCidrs: "[\\"10.0.0.0/8\\",\\"300.1.0.0/16\\"]" is not accepted; accepted: a non-empty list of IPv4 CIDRs`],
    ["kubeconfig with a created cluster", { ...CLUSTER, [`${P}:kubeconfig`]: "apiVersion: v1" }, `${P}:kubeconfig: is set while ${P}:createCluster is true`],
    ["bad instance type", { ...CLUSTER, [`${P}:nodeInstanceTypes`]: '["g7.xlarge"]' }, `${P}:nodeInstanceTypes: "[\\"g7.xlarge\\"]" is not accepted; accepted: a list of ECS instance types such as ecs.g7.xlarge ("g7.xlarge" is not)`],
    ["timeout 0", { ...REGION, [`${P}:downloadTimeoutSeconds`]: "0" }, `${P}:downloadTimeoutSeconds: "0" is not accepted; accepted: an integer >= 1`],
];

describe("config validation", () => {
    test(`the table holds at least 25 bad inputs (${BAD.length})`, () => {
        assert.ok(BAD.length >= 25);
    });

    for (const [what, raw, expected] of BAD) {
        test(`rejects ${what}`, () => {
            const problems = problemsOf(raw);
            assert.ok(problems.some((p) => p.startsWith(expected)), `no problem starts with:\n  ${expected}\ngot:\n  ${problems.join("\n  ")}`);
        });
    }

    test("a kubeconfig in plain text is refused", () => {
        assert.throws(() => parseConfig({ ...REGION, [`${P}:kubeconfig`]: "apiVersion: v1" }, () => false), {
            message: /asm-prometheus-mtls:kubeconfig: stored in plain text; accepted: a secret value \(pulumi config set --secret kubeconfig \.\.\.\)/,
        });
        assert.equal(parseConfig({ ...REGION, [`${P}:kubeconfig`]: "apiVersion: v1" }, (k) => k === `${P}:kubeconfig`).existing.kubeconfig, "apiVersion: v1");
    });

    test("reports every problem at once", () => {
        const problems = problemsOf({ [`${P}:prometheusReplicas`]: "0", [`${P}:scrapeInterval`]: "soon" });
        assert.equal(problems.length, 3); // region, replicas, interval
    });

    test("the defaults make the documented dev setup", () => {
        const cfg = parseConfig(REGION);
        assert.equal(cfg.cluster.create, false);
        assert.equal(cfg.operator.version, "v0.93.0");
        assert.equal(cfg.bookinfo.version, "1.28.10");
        assert.equal(cfg.prometheus.version, "v3.13.1");
        assert.deepEqual(cfg.scrape, { services: ["productpage"], interval: "30s", path: "/metrics" });
        assert.equal(cfg.operator.retainCrds, true);
    });

    test("the stack files of the repository are valid", () => {
        for (const stack of ["dev", "prod"]) {
            const doc = YAML.parse(readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"));
            const raw: Record<string, string> = {};
            for (const [k, v] of Object.entries(doc.config as Record<string, unknown>)) raw[k] = typeof v === "string" ? v : JSON.stringify(v);
            const cfg = parseConfig(raw);
            if (stack === "prod") {
                assert.equal(cfg.cluster.create, true);
                assert.equal(cfg.mesh.create, true);
                assert.equal(cfg.cluster.deletionProtection, true);
            } else {
                assert.equal(cfg.cluster.create, false);
            }
        }
    });

    test("Pulumi.yaml declares every setting that has a default, with its type and default", () => {
        const project = YAML.parse(readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
        assert.equal(project.name, PROJECT);
        // A declared key without a default would be required by the engine: optional ones stay undeclared.
        const withDefault = (Object.entries(SETTINGS) as [string, { type: string; default?: unknown; description: string }][]).filter(([, s]) => s.default !== undefined);
        assert.deepEqual(Object.keys(project.config).sort(), withDefault.map(([k]) => k).sort());
        for (const [key, s] of withDefault) {
            assert.equal(project.config[key].type, s.type, key);
            assert.deepEqual(project.config[key].default, s.default, key);
            assert.equal(project.config[key].description, s.description, `${key}: run npm run config-docs`);
        }
    });

    test("README documents every setting with the text of lib/config.ts", () => {
        const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
        for (const [key, s] of Object.entries(SETTINGS) as [string, { description: string }][]) {
            const row = readme.split("\n").find((l) => l.startsWith("| `" + key + "` |"));
            assert.ok(row, `${key}: no row in README's table; run npm run config-docs`);
            assert.ok(row.includes(s.description.replace(/\|/g, "\\|")), `${key}: README's text differs from lib/config.ts; run npm run config-docs`);
        }
    });

    test("a bad config registers nothing", async () => {
        for (const [what, raw] of BAD) {
            await assert.rejects(runProgram({ ...testConfig(), ...raw, ...("alicloud:region" in raw ? {} : { "alicloud:region": "" }) }), ConfigError, what);
            assert.deepEqual(recorded.filter((r) => r.type !== "pulumi:pulumi:Stack").map((r) => r.name), [], what);
        }
    });
});
