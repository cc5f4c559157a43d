import * as pulumi from "@pulumi/pulumi";
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { describe, test } from "node:test";
import { configKey } from "../lib/config";
import { kubeconfigFile } from "../lib/kubeProvider";
import { discovery } from "./support/discovery";
import { callerKubeconfig, READY_ACCOUNT, Recorded, runProgram, testConfig } from "./support/harness";

// A pull request's preview and the deploy run as different identities, and ACK issues each its own
// kubeconfig for the same cluster. What the engine diffs (every resource's inputs, providers included)
// must not depend on whose kubeconfig it is, or every preview would show changes that no one made.

const CLUSTER = { createCluster: true, nodeKeyPair: "ops", zoneIds: ["cn-hangzhou-k"], vswitchCidrs: ["192.168.0.0/19"] };

/** A secret's value, as the engine compares it. */
function plain(value: unknown): unknown {
    if (value === null || typeof value !== "object") return value;
    const o = value as Record<string, unknown>;
    if (o[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) return plain(o.value);
    if (Array.isArray(value)) return value.map(plain);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, plain(v)]));
}

const inputsByResource = (rs: Recorded[]) => Object.fromEntries(rs.map((r) => [`${r.type}::${r.name}`, plain(r.inputs)]));

describe("the identity that runs the program is no change", () => {
    test("created cluster: the deploy role's up and the preview role's preview register the same inputs; each run's file holds its own kubeconfig", async () => {
        const config = testConfig(CLUSTER);
        const deploy = await runProgram(config, [], { ...READY_ACCOUNT, caller: "deploy-role" });
        assert.equal(readFileSync(kubeconfigFile("test"), "utf8"), callerKubeconfig("deploy-role"));
        const preview = await runProgram(config, [], { ...READY_ACCOUNT, caller: "preview-role" }, { preview: true });
        assert.equal(readFileSync(kubeconfigFile("test"), "utf8"), callerKubeconfig("preview-role"));
        assert.notEqual(callerKubeconfig("deploy-role"), callerKubeconfig("preview-role"));

        assert.deepEqual(inputsByResource(preview.resources), inputsByResource(deploy.resources));
        assert.ok(deploy.resources.some((r) => r.type === "pulumi:providers:kubernetes"));
        // Only its owner may read the credential.
        assert.equal(statSync(kubeconfigFile("test")).mode & 0o777, 0o600);
        assert.equal(statSync(kubeconfigFile("test").replace(/\/[^/]+$/, "")).mode & 0o077, 0);
    });

    test("existing cluster: two kubeconfigs for the same API server (the kubeconfig setting of each identity) register the same inputs", async () => {
        const api = await discovery(0);
        try {
            const asUser = (user: string) => api.kubeconfig.replace("token: t}", `token: ${user}}`);
            assert.notEqual(asUser("a"), asUser("b"));
            const runs = [];
            for (const user of ["deployer", "reader"]) {
                const run = await runProgram(testConfig({ kubeconfig: asUser(user) }), [configKey("kubeconfig")]);
                assert.equal(readFileSync(kubeconfigFile("test"), "utf8"), asUser(user));
                runs.push(inputsByResource(run.resources));
            }
            assert.deepEqual(runs[1], runs[0]);
        } finally {
            api.close();
        }
    });
});
