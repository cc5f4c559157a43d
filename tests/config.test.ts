import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import * as YAML from "yaml";
import { ConfigError, configKey, durationSeconds, ENGINE_CONFIG, parseConfig, PROJECT, SETTINGS } from "../lib/config";
import { VERSIONS } from "../lib/versions";
import { failingProgram, testConfig } from "./support/harness";

const ROOT = path.join(__dirname, "..", "..");
const OPERATOR = VERSIONS.prometheusOperator.version;

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
const CLUSTER = { ...REGION, [configKey("createCluster")]: "true", [configKey("zoneIds")]: '["cn-hangzhou-j","cn-hangzhou-k"]', [configKey("nodeKeyPair")]: "ops" };
const NO_LOGIN = Object.fromEntries(Object.entries(CLUSTER).filter(([k]) => k !== configKey("nodeKeyPair")));

// [what, raw config, the whole message expected: key, value given, what is accepted]
const BAD: [string, Record<string, string>, string][] = [
    ["no region", {}, "alicloud:region: not set; accepted: an Alibaba Cloud region id such as cn-hangzhou"],
    ["malformed region", { "alicloud:region": "Hangzhou" }, 'alicloud:region: "Hangzhou" is not accepted; accepted: a region id such as cn-hangzhou'],
    ["boolean of wrong type", { ...REGION, [configKey("createCluster")]: "yes" }, `${configKey("createCluster")}: "yes" is not a boolean; accepted: true or false`],
    ["integer of wrong type", { ...REGION, [configKey("prometheusReplicas")]: "two" }, `${configKey("prometheusReplicas")}: "two" is not an integer; accepted: a whole number`],
    ["fractional integer", { ...REGION, [configKey("nodeCount")]: "1.5" }, `${configKey("nodeCount")}: "1.5" is not an integer`],
    ["replicas < 1", { ...REGION, [configKey("prometheusReplicas")]: "0" }, `${configKey("prometheusReplicas")}: "0" is not accepted; accepted: an integer >= 1`],
    ["negative node count", { ...CLUSTER, [configKey("nodeCount")]: "-2" }, `${configKey("nodeCount")}: "-2" is not accepted; accepted: an integer >= 1`],
    ["list that is not a list", { ...REGION, [configKey("scrapeServices")]: "productpage" }, `${configKey("scrapeServices")}: "productpage" is not a list of strings`],
    ["empty scrape list", { ...REGION, [configKey("scrapeServices")]: "[]" }, `${configKey("scrapeServices")}: "[]" is not accepted; accepted: a non-empty list of Service names`],
    ["duplicate scrape services", { ...REGION, [configKey("scrapeServices")]: '["productpage","productpage"]' }, `${configKey("scrapeServices")}: "[\\"productpage\\",\\"productpage\\"]" is not accepted; accepted: a list of Service names without duplicates`],
    ["unknown mesh edition", { ...REGION, [configKey("meshEdition")]: "Enterprise" }, `${configKey("meshEdition")}: "Enterprise" is not accepted; accepted: one of Default, Pro`],
    ["unknown mesh spec", { ...REGION, [configKey("meshClusterSpec")]: "large" }, `${configKey("meshClusterSpec")}: "large" is not accepted; accepted: one of standard, enterprise, ultimate`],
    ["Pro with the free spec", { ...REGION, [configKey("meshClusterSpec")]: "standard" }, `${configKey("meshClusterSpec")}: "standard" is not accepted with ${configKey("meshEdition")} Pro; accepted: enterprise or ultimate (or unset)`],
    ["Default with a paid spec", { ...REGION, [configKey("meshEdition")]: "Default", [configKey("meshClusterSpec")]: "ultimate" }, `${configKey("meshClusterSpec")}: "ultimate" is not accepted with ${configKey("meshEdition")} Default; accepted: standard (or unset)`],
    ["mirror with a scheme", { ...REGION, [configKey("imageRegistryMirror")]: "https://acr.example/mirror/" }, `${configKey("imageRegistryMirror")}: "https://acr.example/mirror/" is not accepted; accepted: a registry host with an optional port and path, without scheme or trailing slash`],
    ["cluster without a node login", NO_LOGIN, `${configKey("nodeKeyPair")}: neither it nor nodeSshPublicKey is set with createCluster; accepted: exactly one of nodeKeyPair`],
    ["cluster with two node logins", { ...CLUSTER, [configKey("nodeSshPublicKey")]: "ssh-ed25519 AAAAC3Nza ops@example" }, `${configKey("nodeKeyPair")}: set together with nodeSshPublicKey with createCluster`],
    ["public key that is not one", { ...NO_LOGIN, [configKey("nodeSshPublicKey")]: "-----BEGIN PUBLIC KEY-----" }, `${configKey("nodeSshPublicKey")}: "-----BEGIN PUBLIC KEY-----" is not accepted; accepted: an OpenSSH public key line`],
    ["unknown ACK spec", { ...REGION, [configKey("clusterSpec")]: "ack.pro.large" }, `${configKey("clusterSpec")}: "ack.pro.large" is not accepted; accepted: one of ack.standard, ack.pro.small`],
    ["operator version not a version", { ...REGION, [configKey("operatorVersion")]: "latest" }, `${configKey("operatorVersion")}: "latest" is not accepted; accepted: a release tag such as ${OPERATOR}`],
    ["operator version without v", { ...REGION, [configKey("operatorVersion")]: "0.93.0" }, `${configKey("operatorVersion")}: "0.93.0" is not accepted`],
    ["istio version not a version", { ...REGION, [configKey("istioVersion")]: "master" }, `${configKey("istioVersion")}: "master" is not accepted; accepted: an Istio tag such as ${VERSIONS.istio.version}`],
    ["prometheus 2", { ...REGION, [configKey("prometheusVersion")]: "v2.26.0" }, `${configKey("prometheusVersion")}: "v2.26.0" is not accepted; accepted: a Prometheus version >= v3.0.0 such as ${VERSIONS.prometheus.version}`],
    ["interval not a duration", { ...REGION, [configKey("scrapeInterval")]: "30 seconds" }, `${configKey("scrapeInterval")}: "30 seconds" is not accepted; accepted: a Prometheus duration such as 30s or 1m`],
    ["interval with a unit Prometheus lacks", { ...REGION, [configKey("scrapeInterval")]: "1.5m" }, `${configKey("scrapeInterval")}: "1.5m" is not accepted`],
    ["empty interval, which Prometheus refuses", { ...REGION, [configKey("scrapeInterval")]: "" }, `${configKey("scrapeInterval")}: "" is not accepted; accepted: a Prometheus duration`],
    ["certificate threshold where the agent renews", { ...REGION, [configKey("alertCertRemainingPercent")]: "49" }, `${configKey("alertCertRemainingPercent")}: "49" is not accepted; accepted: an integer from 1 to 48 (the agent renews at 49 to 51%)`],
    ["runbook URL with its own anchor", { ...REGION, [configKey("alertRunbookUrl")]: "https://wiki.example/mtls#top" }, `${configKey("alertRunbookUrl")}: "https://wiki.example/mtls#top" is not accepted; accepted: an http(s) URL or a path`],
    ["certificate lifetime not a duration", { ...REGION, [configKey("meshCertTtl")]: "1 day" }, `${configKey("meshCertTtl")}: "1 day" is not accepted; accepted: a Prometheus duration such as 24h`],
    ["retention not a duration", { ...REGION, [configKey("prometheusRetention")]: "forever" }, `${configKey("prometheusRetention")}: "forever" is not accepted; accepted: a Prometheus duration such as 15d or 12h`],
    ["storage size in bytes", { ...REGION, [configKey("prometheusStorageSize")]: "20000000000" }, `${configKey("prometheusStorageSize")}: "20000000000" is not accepted; accepted: a size in Mi, Gi or Ti such as 20Gi`],
    ["retention size in Kubernetes units", { ...REGION, [configKey("prometheusRetentionSize")]: "17Gi" }, `${configKey("prometheusRetentionSize")}: "17Gi" is not accepted; accepted: a Prometheus size such as 17GB or 512MB`],
    ["retention size as large as the volume", { ...REGION, [configKey("prometheusStorageSize")]: "50Gi", [configKey("prometheusRetentionSize")]: "50GB" }, `${configKey("prometheusRetentionSize")}: "50GB" is not accepted with ${configKey("prometheusStorageSize")} 50Gi; accepted: less than the volume (about 85% of it, or unset), since the WAL counts and compaction needs room`],
    ["retention size beyond the default volume", { ...REGION, [configKey("prometheusRetentionSize")]: "1TB" }, `${configKey("prometheusRetentionSize")}: "1TB" is not accepted with ${configKey("prometheusStorageSize")} 20Gi`],
    ["memory request above its limit", { ...REGION, [configKey("prometheusMemoryRequest")]: "4Gi", [configKey("prometheusMemoryLimit")]: "2048Mi" }, `${configKey("prometheusMemoryRequest")}: "4Gi" is not accepted with ${configKey("prometheusMemoryLimit")} 2048Mi; accepted: at most the limit`],
    ["cpu request above its limit", { ...REGION, [configKey("prometheusCpuRequest")]: "1.5", [configKey("prometheusCpuLimit")]: "1000m" }, `${configKey("prometheusCpuRequest")}: "1.5" is not accepted with ${configKey("prometheusCpuLimit")} 1000m; accepted: at most the limit`],
    ["cpu in cores with a unit", { ...REGION, [configKey("prometheusCpuRequest")]: "2 cores" }, `${configKey("prometheusCpuRequest")}: "2 cores" is not accepted; accepted: a CPU quantity such as 250m or 1`],
    ["storage class with capitals", { ...REGION, [configKey("prometheusStorageClass")]: "Alicloud-Disk" }, `${configKey("prometheusStorageClass")}: "Alicloud-Disk" is not accepted; accepted: a StorageClass name`],
    ["more replicas than the nodes the stack creates", { ...CLUSTER, [configKey("prometheusReplicas")]: "3", [configKey("nodeCount")]: "2" }, `${configKey("prometheusReplicas")}: 3 is not accepted with ${configKey("nodeCount")} 2; accepted: at most one replica per node`],
    ["remote write URL with a password in it", { ...REGION, [configKey("remoteWriteUrl")]: "https://u:p@receiver.example/write" }, `${configKey("remoteWriteUrl")}: "https://u:p@receiver.example/write" is not accepted; accepted: an http:// or https:// URL without user or password in it`],
    ["remote write user without password", { ...REGION, [configKey("remoteWriteUrl")]: "https://receiver.example/write", [configKey("remoteWriteUsername")]: "u" }, `${configKey("remoteWriteUsername")}: set without ${configKey("remoteWritePassword")}; accepted: both (basic auth) or neither`],
    ["remote write credentials without an endpoint", { ...REGION, [configKey("remoteWriteUsername")]: "u", [configKey("remoteWritePassword")]: "p" }, `${configKey("remoteWriteUsername")}: set while ${configKey("remoteWriteUrl")} is not; accepted: credentials only together with the endpoint they are for`],
    ["external label with a space", { ...REGION, [configKey("prometheusEnvironmentLabel")]: "prod east" }, `${configKey("prometheusEnvironmentLabel")}: "prod east" is not accepted; accepted: a label value of letters, digits, '.', '_' or '-' (at most 63)`],
    ["path without slash", { ...REGION, [configKey("scrapePath")]: "metrics" }, `${configKey("scrapePath")}: "metrics" is not accepted; accepted: a path starting with /`],
    ["mesh without cluster", { ...REGION, [configKey("createMesh")]: "true" }, `${configKey("createMesh")}: true is not accepted while ${configKey("createCluster")} is false`],
    ["digest too short", { ...REGION, [configKey("operatorSha256")]: "abc123" }, `${configKey("operatorSha256")}: "abc123" is not accepted; accepted: 64 lower-case hex characters`],
    ["digest not hex", { ...REGION, [configKey("bookinfoSha256")]: "z".repeat(64) }, `${configKey("bookinfoSha256")}: "${"z".repeat(64)}" is not accepted; accepted: 64 lower-case hex characters`],
    ["template without {version}", { ...REGION, [configKey("operatorUrlTemplate")]: "https://mirror.example/bundle.yaml" }, `${configKey("operatorUrlTemplate")}: "https://mirror.example/bundle.yaml" is not accepted; accepted: an http(s):// or file:// URL containing {version}`],
    ["template of another scheme", { ...REGION, [configKey("bookinfoUrlTemplate")]: "ftp://m/{version}/b.yaml" }, `${configKey("bookinfoUrlTemplate")}: "ftp://m/{version}/b.yaml" is not accepted`],
    ["typo in a key", { ...REGION, [`${PROJECT}:prometheusReplica`]: "2" }, `${PROJECT}:prometheusReplica: unknown setting; did you mean ${configKey("prometheusReplicas")}?`],
    ["unknown key", { ...REGION, [`${PROJECT}:colour`]: "blue" }, `${PROJECT}:colour: unknown setting; accepted keys are listed in docs/configuration.md`],
    ["namespace not a DNS label", { ...REGION, [configKey("appNamespace")]: "Book_Info" }, `${configKey("appNamespace")}: "Book_Info" is not accepted; accepted: a DNS label`],
    ["same namespace twice", { ...REGION, [configKey("appNamespace")]: "apps", [configKey("monitoringNamespace")]: "apps" }, `${configKey("monitoringNamespace")}: "apps" is not accepted; accepted: a namespace other than appNamespace`],
    ["namespace of Kubernetes' own", { ...REGION, [configKey("monitoringNamespace")]: "kube-public" }, `${configKey("monitoringNamespace")}: "kube-public" is not accepted; accepted: not kube-*`],
    ["cluster without zones", { ...REGION, [configKey("createCluster")]: "true" }, `${configKey("zoneIds")}: [] is not accepted with createCluster`],
    ["zones and vswitches differ", { ...CLUSTER, [configKey("vswitchCidrs")]: '["192.168.0.0/19"]' }, `${configKey("vswitchCidrs")}: 1 CIDRs for 2 zones is not accepted; accepted: exactly one CIDR per entry of zoneIds`],
    ["bad CIDR", { ...CLUSTER, [configKey("vpcCidr")]: "192.168.0.0/33" }, `${configKey("vpcCidr")}: "192.168.0.0/33" is not accepted; accepted: an IPv4 CIDR`],
    ["bad vswitch CIDR", { ...CLUSTER, [configKey("vswitchCidrs")]: '["10.0.0.0/8","300.1.0.0/16"]' }, `${configKey("vswitchCidrs")}: "[\\"10.0.0.0/8\\",\\"300.1.0.0/16\\"]" is not accepted; accepted: a non-empty list of IPv4 CIDRs`],
    ["kubeconfig with a created cluster", { ...CLUSTER, [configKey("kubeconfig")]: "apiVersion: v1" }, `${configKey("kubeconfig")}: is set while ${configKey("createCluster")} is true`],
    ["bad instance type", { ...CLUSTER, [configKey("nodeInstanceTypes")]: '["g7.xlarge"]' }, `${configKey("nodeInstanceTypes")}: "[\\"g7.xlarge\\"]" is not accepted; accepted: a list of ECS instance types such as ecs.g7.xlarge ("g7.xlarge" is not)`],
    ["API server whitelist entry not a CIDR", { ...CLUSTER, [configKey("apiServerAllowedCidrs")]: '["203.0.113.7"]' }, `${configKey("apiServerAllowedCidrs")}: "[\\"203.0.113.7\\"]" is not accepted; accepted: a list of IPv4 CIDRs such as ["203.0.113.0/24"] without duplicates`],
    ["API server whitelist on an existing cluster", { ...REGION, [configKey("apiServerAllowedCidrs")]: '["203.0.113.0/24"]' }, `${configKey("apiServerAllowedCidrs")}: ["203.0.113.0/24"] is not accepted while ${configKey("createCluster")} is false; accepted: []`],
    ["operator in the app's namespace", { ...REGION, [configKey("operatorNamespace")]: "bookinfo" }, `${configKey("operatorNamespace")}: "bookinfo" is not accepted; accepted: a namespace other than appNamespace and monitoringNamespace`],
    ["operator in kube-system", { ...REGION, [configKey("operatorNamespace")]: "kube-system" }, `${configKey("operatorNamespace")}: "kube-system" is not accepted; accepted: a DNS label`],
    ["timeout 0", { ...REGION, [configKey("downloadTimeoutSeconds")]: "0" }, `${configKey("downloadTimeoutSeconds")}: "0" is not accepted; accepted: an integer >= 1`],
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
        assert.throws(() => parseConfig({ ...REGION, [configKey("kubeconfig")]: "apiVersion: v1" }, () => false), {
            message: /asm-prometheus-mtls:kubeconfig: stored in plain text; accepted: a secret value \(pulumi config set --secret kubeconfig \.\.\.\)/,
        });
        assert.equal(parseConfig({ ...REGION, [configKey("kubeconfig")]: "apiVersion: v1" }, (k) => k === `${configKey("kubeconfig")}`).existing.kubeconfig, "apiVersion: v1");
    });

    test("reports every problem at once", () => {
        const problems = problemsOf({ [configKey("prometheusReplicas")]: "0", [configKey("scrapeInterval")]: "soon" });
        assert.equal(problems.length, 3); // region, replicas, interval
    });

    test("the guide's layout, everything in default, is accepted: default is shared, never created", () => {
        const cfg = parseConfig({ ...REGION, [configKey("appNamespace")]: "default", [configKey("monitoringNamespace")]: "default", [configKey("prometheusName")]: "default" });
        assert.deepEqual(cfg.namespaces, { app: "default", monitoring: "default" });
        assert.equal(cfg.operator.namespace, "default");
    });

    test("the defaults make the documented dev setup", () => {
        const cfg = parseConfig(REGION);
        assert.equal(cfg.cluster.create, false);
        assert.equal(cfg.operator.version, OPERATOR);
        assert.equal(cfg.bookinfo.version, VERSIONS.istio.version);
        assert.equal(cfg.prometheus.version, VERSIONS.prometheus.version);
        assert.deepEqual(cfg.scrape, { services: ["productpage"], interval: "30s", path: "/metrics" });
        assert.equal(cfg.operator.retainCrds, true);
        // The spec follows the edition unless set.
        assert.deepEqual([cfg.mesh.edition, cfg.mesh.clusterSpec], ["Pro", "enterprise"]);
        assert.equal(parseConfig({ ...REGION, [configKey("meshEdition")]: "Default" }).mesh.clusterSpec, "standard");
        assert.equal(parseConfig({ ...REGION, [configKey("meshClusterSpec")]: "ultimate" }).mesh.clusterSpec, "ultimate");
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
        assert.deepEqual(Object.keys(project.config).sort(), [...Object.keys(ENGINE_CONFIG), ...withDefault.map(([k]) => k)].sort());
        for (const [key, v] of Object.entries(ENGINE_CONFIG)) assert.deepEqual(project.config[key], v, `${key}: run npm run config-docs`);
        for (const [key, s] of withDefault) {
            assert.equal(project.config[key].type, s.type, key);
            assert.deepEqual(project.config[key].default, s.default, key);
            assert.equal(project.config[key].description, s.description, `${key}: run npm run config-docs`);
        }
    });

    test("docs/configuration.md documents every setting with the text and the rule of lib/config.ts", () => {
        const page = readFileSync(path.join(ROOT, "docs", "configuration.md"), "utf8");
        const cell = (text: string) => text.replace(/\|/g, "\\|");
        for (const [key, s] of Object.entries(SETTINGS) as [string, { description: string; accepts?: { accepted: string } }][]) {
            const row = page.split("\n").find((l) => l.startsWith("| `" + key + "` |"));
            assert.ok(row, `${key}: no row in docs/configuration.md's table; run npm run config-docs`);
            assert.ok(row.includes(cell(s.description)), `${key}: docs/configuration.md's text differs from lib/config.ts; run npm run config-docs`);
            if (s.accepts) assert.ok(row.includes(cell(s.accepts.accepted)), `${key}: docs/configuration.md does not show what it accepts; run npm run config-docs`);
        }
    });

    test("each setting's own rule is in SETTINGS: docs/configuration.md shows the CIDR and namespace rules", () => {
        for (const key of ["vpcCidr", "podCidr", "serviceCidr", "appNamespace", "monitoringNamespace"] as const) {
            assert.ok((SETTINGS[key] as { accepts?: unknown }).accepts, key);
        }
        assert.match(SETTINGS.appNamespace.accepts.accepted, /not kube-\*.*default it only labels/);
    });

    test("a bad config registers nothing", async () => {
        for (const [what, raw] of BAD) {
            const { error, resources } = await failingProgram({ ...testConfig(), ...raw, ...("alicloud:region" in raw ? {} : { "alicloud:region": "" }) });
            assert.ok(error instanceof ConfigError, what);
            // Printed as its message alone: no stack frames (lib/checked.ts says why).
            assert.equal(error.stack, `ConfigError: ${error.message}`, what);
            assert.deepEqual(resources.map((r) => r.name), [], what);
        }
    });
});

test("durations in seconds, as Prometheus reads them", () => {
    assert.equal(durationSeconds("24h"), 86400);
    assert.equal(durationSeconds("1h30m"), 5400);
    assert.equal(durationSeconds("1d12h"), 129600);
    assert.equal(durationSeconds("90s"), 90);
    assert.equal(durationSeconds("1500ms"), 1.5);
    assert.equal(parseConfig({ ...REGION, [configKey("meshCertTtl")]: "2h" }).alerts?.certTtlSeconds, 7200);
    assert.equal(parseConfig({ ...REGION, [configKey("alertRules")]: "false" }).alerts, undefined);
});
