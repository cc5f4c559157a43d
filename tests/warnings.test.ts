import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { warningLines } from "../e2e/support/warnings";

// Lines as the CLI printed them in this project's runs (non-interactive), before and after the quiet engine.
const PATH_WARNING = "warning: using pulumi-language-nodejs from $PATH at /root/.cache/asm-prom-mtls/toolchain/bin/pulumi-language-nodejs";
const INLINE = "    pulumi:pulumi:Stack asm-prometheus-mtls-dev  warning: using pulumi-resource-kubernetes from $PATH at /x/bin/pulumi-resource-kubernetes";
const SKEW = "    warning: resource plugin kubernetes is expected to have version >=4.34.2, but has 4.25.0; the wrong version may be on your path, or this may be a bug in the plugin";
const AWAITING = " +  kubernetes:apps/v1:Deployment bookinfo-reviews-v3 creating (0s) warning: [MinimumReplicasUnavailable] Deployment does not have minimum availability.";
const AWAITING_UPDATE = " ~  kubernetes:apps/v1:Deployment operator-prometheus-operator updating (12.5s) warning: [ProgressDeadlineExceeded] ReplicaSet has timed out progressing.";

describe("warningLines: what a run prints that a user would have to look into", () => {
    test("the engine's plugin warnings count, wherever they are printed", () => {
        const out = ["Previewing update (dev):", PATH_WARNING, INLINE, "Diagnostics:", "  pulumi:pulumi:Stack (asm-prometheus-mtls-dev):", SKEW].join("\n");
        assert.deepEqual(warningLines(out), [PATH_WARNING, INLINE, SKEW]);
    });
    test("the provider's progress while it waits for a Deployment does not; the same text on another kind does", () => {
        const service = AWAITING.replace("apps/v1:Deployment", "core/v1:Service");
        assert.deepEqual(warningLines([AWAITING, AWAITING_UPDATE, " +  kubernetes:apps/v1:Deployment x created (3s) ", service].join("\n")), [service]);
    });
    test("a run without warnings has none", () => {
        assert.deepEqual(warningLines("Updating (dev):\n +  pulumi:pulumi:Stack x created\nResources:\n    + 37 created\n"), []);
    });
});
