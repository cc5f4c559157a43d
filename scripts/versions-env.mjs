#!/usr/bin/env node
// Prints the toolchain pins that versions.json holds as shell assignments; scripts/lib.sh evaluates
// them after toolchain/versions.env, so a tool built to match the stack is pinned in one place.
import { readFileSync } from "node:fs";

const v = JSON.parse(readFileSync(new URL("../versions.json", import.meta.url), "utf8"));
const fail = (msg) => {
    process.stderr.write(`versions.json: ${msg}\n`);
    process.exit(1);
};

// Prometheus 3.X.Y is published as the Go module version v0.3XX.Y.
const prom = /^v3\.(\d{1,2})\.(\d+)$/.exec(v.prometheus.version);
if (!prom) fail(`prometheus.version ${JSON.stringify(v.prometheus.version)} is not a Prometheus 3 release (v3.MINOR.PATCH)`);

const pins = {
    PROMETHEUS_OPERATOR_VERSION: v.prometheusOperator.version,
    PROMETHEUS_VERSION: v.prometheus.version,
    PROMETHEUS_MODULE_VERSION: `v0.3${prom[1].padStart(2, "0")}.${prom[2]}`,
    ALERTMANAGER_VERSION: v.alertmanager.version,
    PULUMI_KUBERNETES_VERSION: v.kubernetesProvider.plugin,
    PULUMI_KUBERNETES_PROVIDER_MODULE: v.kubernetesProvider.pluginModule,
    PULUMI_KUBERNETES_SDK_MODULE: `v${v.kubernetesProvider.plugin}`,
    // The provider version the SDK asks the engine for, under which the local world's plugin cache holds the built plugin.
    PULUMI_KUBERNETES_SDK_VERSION: v.kubernetesProvider.sdk,
};
for (const [k, value] of Object.entries(pins)) {
    // Evaluated by a shell: only version characters pass.
    if (typeof value !== "string" || !/^[A-Za-z0-9.+-]+$/.test(value)) fail(`${k} would be ${JSON.stringify(value)}`);
}
process.stdout.write(Object.entries(pins).map(([k, value]) => `${k}=${value}\n`).join(""));
