import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { SETTINGS } from "../lib/config";
import { atVersion, knownDigestsLine, UpstreamFile, VERSIONS } from "../lib/versions";
import { MIRROR, mirrorSums } from "./support/upstream";

// versions.json is the one place of every upstream version and digest. These tests fail when anything
// that must agree with it does not, and when a pinned version is spelled out anywhere else in the code.

const ROOT = path.join(__dirname, "..", "..");
const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");
const OPERATOR = VERSIONS.prometheusOperator;
const ISTIO = VERSIONS.istio;
const PROVIDER = VERSIONS.kubernetesProvider;

/** The pins the toolchain scripts end up with (toolchain/versions.env plus what versions.json adds). */
function toolchainPins(): Record<string, string> {
    const names = ["PROMETHEUS_OPERATOR_VERSION", "PROMETHEUS_VERSION", "PROMETHEUS_MODULE_VERSION", "PULUMI_KUBERNETES_VERSION", "PULUMI_KUBERNETES_PROVIDER_MODULE", "PULUMI_KUBERNETES_SDK_MODULE", "PULUMI_KUBERNETES_SDK_VERSION"];
    const out = execFileSync("bash", ["-c", `. scripts/lib.sh && asm_load_versions && for v in ${names.join(" ")}; do printf '%s=%s\\n' "$v" "\${!v}"; done`], { cwd: ROOT, encoding: "utf8" });
    return Object.fromEntries(out.trim().split("\n").map((l) => l.split("=") as [string, string]));
}

/** The version a wrapper go.mod requires of a module. */
function required(tool: string, module: string): string | undefined {
    const m = new RegExp(`^\\s*(?:require\\s+)?${module.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\\s+(\\S+)`, "m").exec(read(`toolchain/${tool}/go.mod`));
    return m?.[1];
}

describe("versions.json: one place per version and digest", () => {
    test("the config defaults are the table's versions and URLs", () => {
        assert.equal(SETTINGS.operatorVersion.default, OPERATOR.version);
        assert.equal(SETTINGS.operatorUrlTemplate.default, OPERATOR.files.bundle.url);
        assert.equal(SETTINGS.istioVersion.default, ISTIO.version);
        assert.equal(SETTINGS.bookinfoUrlTemplate.default, ISTIO.files.bookinfo.url);
        assert.equal(SETTINGS.prometheusVersion.default, VERSIONS.prometheus.version);
    });

    test("every pinned release has the digest of each of its files", () => {
        const need: [string, UpstreamFile, string][] = [
            ["operator bundle", OPERATOR.files.bundle, OPERATOR.version],
            ["operator bundle (upgradeFrom)", OPERATOR.files.bundle, OPERATOR.upgradeFrom],
            ...Object.entries(ISTIO.files).map(([name, file]) => [`istio ${name}`, file, ISTIO.version] as [string, UpstreamFile, string]),
        ];
        for (const [what, file, version] of need) {
            assert.match(file.sha256[version] ?? "", /^[0-9a-f]{64}$/, `${what} ${version}`);
            assert.ok(file.url.includes("{version}") && file.mirror.includes("{version}"), what);
        }
        assert.notEqual(OPERATOR.upgradeFrom, OPERATOR.version);
    });

    test("the mirror's SHA256SUMS agree with the table for every file it holds", { skip: MIRROR ? false : "ASM_UPSTREAM_MIRROR is not set" }, () => {
        const sums = mirrorSums();
        let compared = 0;
        for (const file of [OPERATOR.files.bundle, ...Object.values(ISTIO.files)]) {
            for (const [version, digest] of Object.entries(file.sha256)) {
                const rel = atVersion(file.mirror, version);
                if (!sums.has(rel)) continue;
                assert.equal(sums.get(rel), digest, rel);
                assert.equal(createHash("sha256").update(readFileSync(path.join(MIRROR!, rel))).digest("hex"), digest, rel);
                compared++;
            }
        }
        assert.ok(compared >= 4, `${compared} files compared`);
    });

    test("the toolchain builds what the stack pins: operator, Prometheus, provider plugin", () => {
        const pins = toolchainPins();
        assert.equal(pins.PROMETHEUS_OPERATOR_VERSION, OPERATOR.version);
        assert.equal(pins.PROMETHEUS_VERSION, VERSIONS.prometheus.version);
        // Prometheus 3.X.Y is the Go module version v0.3XX.Y.
        const [, minor, patch] = /^v3\.(\d+)\.(\d+)$/.exec(VERSIONS.prometheus.version)!;
        assert.equal(pins.PROMETHEUS_MODULE_VERSION, `v0.3${minor.padStart(2, "0")}.${patch}`);
        assert.equal(pins.PULUMI_KUBERNETES_VERSION, PROVIDER.plugin);
        assert.equal(pins.PULUMI_KUBERNETES_PROVIDER_MODULE, PROVIDER.pluginModule);
        assert.equal(pins.PULUMI_KUBERNETES_SDK_MODULE, `v${PROVIDER.plugin}`);
        // The local world's plugin cache files the plugin under the version the installed SDK asks for.
        assert.equal(pins.PULUMI_KUBERNETES_SDK_VERSION, JSON.parse(read("package.json")).dependencies["@pulumi/kubernetes"]);

        // The wrapper modules were synced from those pins (scripts/toolchain.sh --sync).
        assert.equal(required("prometheus-operator", "github.com/prometheus-operator/prometheus-operator"), pins.PROMETHEUS_OPERATOR_VERSION);
        assert.equal(required("prometheus", "github.com/prometheus/prometheus"), pins.PROMETHEUS_MODULE_VERSION);
        assert.equal(required("pulumi-resource-kubernetes", "github.com/pulumi/pulumi-kubernetes/provider/v4"), pins.PULUMI_KUBERNETES_PROVIDER_MODULE);
        assert.equal(required("pulumi-resource-kubernetes", "github.com/pulumi/pulumi-kubernetes/sdk/v4"), pins.PULUMI_KUBERNETES_SDK_MODULE);
    });

    test("toolchain/versions.env does not pin again what versions.json holds", () => {
        const env = read("toolchain/versions.env");
        for (const key of Object.keys(toolchainPins())) assert.doesNotMatch(env, new RegExp(`^${key}=`, "m"), key);
    });

    test("package.json installs the table's Kubernetes SDK; the toolchain's plugin may differ only by being older in the same major", () => {
        const pkg = JSON.parse(read("package.json"));
        const lock = JSON.parse(read("package-lock.json"));
        assert.equal(pkg.dependencies["@pulumi/kubernetes"], PROVIDER.sdk);
        assert.equal(lock.packages["node_modules/@pulumi/kubernetes"].version, PROVIDER.sdk);
        // The one pair allowed to disagree, and only in this direction, with its reason written down.
        const parse = (v: string) => v.split(".").map(Number);
        const [sdk, plugin] = [parse(PROVIDER.sdk), parse(PROVIDER.plugin)];
        assert.equal(plugin[0], sdk[0], "same major version");
        assert.ok(plugin[1] < sdk[1] || (plugin[1] === sdk[1] && plugin[2] <= sdk[2]), `plugin ${PROVIDER.plugin} is newer than sdk ${PROVIDER.sdk}`);
        assert.ok(PROVIDER.pluginMayBeOlderBecause.length > 40);
    });

    test("docs/configuration.md's known digests are the table's", () => {
        const line = knownDigestsLine();
        // Every known version is named, so the line cannot silently lose one.
        for (const v of [...Object.keys(OPERATOR.files.bundle.sha256), ...Object.keys(ISTIO.files.bookinfo.sha256)]) assert.ok(line.includes(v), v);
        assert.ok(read("docs/configuration.md").includes(line), "run npm run config-docs");
    });

    test("no pinned version is spelled out in code or prose outside the table and the files generated from it", () => {
        const pinned = [OPERATOR.version, OPERATOR.upgradeFrom, ISTIO.version, VERSIONS.prometheus.version];
        // Generated from the table (and checked by other tests): Pulumi.yaml, go.mod/go.sum, the npm lock;
        // docs/configuration.md's settings table and known-digests line are generated too.
        const generated = /^(versions\.json|Pulumi\.yaml|package(-lock)?\.json|toolchain\/.*\/go\.(mod|sum))$/;
        const files = execFileSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" }).trim().split("\n")
            .filter((f) => !generated.test(f) && /\.(ts|mjs|sh|env|ya?ml|md|json)$|^\.ci\/run$/.test(f) && existsSync(path.join(ROOT, f)));
        const found: string[] = [];
        for (const f of files) {
            let text = read(f);
            if (f === "docs/configuration.md") text = text.split("\n").filter((l) => !l.startsWith("| `") && !l.startsWith("Known digests: ")).join("\n");
            for (const v of pinned) {
                // As written, or escaped inside a regular expression literal (v3\.13\.1).
                const dot = String.raw`(\.|\\\.)`;
                const re = new RegExp(`(?<![\\w.])${v.split(".").join(dot)}(?![\\w.])`);
                if (re.test(text)) found.push(`${f}: ${v}`);
            }
        }
        assert.deepEqual(found, []);
    });
});
