import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { ACCESS_KEY_ENV, OIDC_ENV } from "../lib/config";
import { failingProgram, one, runProgram, testConfig } from "./support/harness";

// What the Alibaba Cloud provider is registered with: a CI job's OIDC identity as the provider's
// assumeRoleWithOidc block, or nothing beyond the region for the ambient chain of a laptop.

const CLUSTER = { createCluster: true, nodeKeyPair: "ops", zoneIds: ["cn-hangzhou-k"], vswitchCidrs: ["192.168.0.0/19"] };
const PROVIDER = "pulumi:providers:alicloud";
const dir = mkdtempSync(path.join(os.tmpdir(), "asm-prom-oidc-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN_FILE = path.join(dir, "alibaba-oidc-token");
writeFileSync(TOKEN_FILE, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", { mode: 0o600 });

const JOB = {
    [OIDC_ENV.roleArn]: "acs:ram::1234567890123456:role/asm-prom-deploy",
    [OIDC_ENV.oidcProviderArn]: "acs:ram::1234567890123456:oidc-provider/github",
    [OIDC_ENV.oidcTokenFile]: TOKEN_FILE,
};

/** Runs fn with exactly these cloud variables in the environment (the others of OIDC_ENV and the AccessKey's removed). */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
    const names = [...Object.values(OIDC_ENV), ...ACCESS_KEY_ENV, ...Object.keys(vars)];
    const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
    for (const n of names) delete process.env[n];
    Object.assign(process.env, vars);
    try {
        return await fn();
    } finally {
        for (const [n, v] of Object.entries(saved)) {
            if (v === undefined) delete process.env[n];
            else process.env[n] = v;
        }
    }
}

async function providerInputs(vars: Record<string, string>) {
    const { resources } = await withEnv(vars, () => runProgram(testConfig(CLUSTER)));
    const inputs = one(resources, PROVIDER).inputs;
    // The SDK sends the block as JSON (provider.ts: pulumi.output(args.assumeRoleWithOidc).apply(JSON.stringify)).
    return { region: inputs.region, oidc: inputs.assumeRoleWithOidc === undefined ? undefined : JSON.parse(inputs.assumeRoleWithOidc) };
}

describe("the Alibaba Cloud provider's login", () => {
    test("a CI job's OIDC variables become the provider's assumeRoleWithOidc block, with a session name stable across runs", async () => {
        const first = await providerInputs(JOB);
        assert.deepEqual(first, {
            region: "cn-hangzhou",
            oidc: { roleArn: JOB[OIDC_ENV.roleArn], oidcProviderArn: JOB[OIDC_ENV.oidcProviderArn], oidcTokenFile: TOKEN_FILE, roleSessionName: "asm-prometheus-mtls-test" },
        });
        assert.deepEqual(await providerInputs(JOB), first, "a second run registers the same inputs");
        const named = await providerInputs({ ...JOB, [OIDC_ENV.roleSessionName]: "github-dev" });
        assert.equal(named.oidc.roleSessionName, "github-dev");
    });

    test("without them the provider keeps its ambient chain: no block, only the region", async () => {
        assert.deepEqual(await providerInputs({}), { region: "cn-hangzhou", oidc: undefined });
    });

    test("an existing cluster registers no cloud provider, whatever the job's identity", async () => {
        const { resources } = await withEnv(JOB, () => runProgram(testConfig({})));
        assert.deepEqual(resources.filter((r) => r.type === PROVIDER), []);
    });

    test("a partial, malformed or conflicting identity stops the program before anything is registered, naming the variable", async () => {
        const cases: [Record<string, string>, RegExp][] = [
            [{ [OIDC_ENV.roleArn]: JOB[OIDC_ENV.roleArn] }, /ALIBABA_CLOUD_OIDC_PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE: not set while ALIBABA_CLOUD_ROLE_ARN is; accepted: all three OIDC variables/],
            [{ ...JOB, [OIDC_ENV.roleArn]: "asm-prom-deploy" }, /ALIBABA_CLOUD_ROLE_ARN: "asm-prom-deploy" is not accepted; accepted: a RAM role ARN/],
            [{ ...JOB, [OIDC_ENV.oidcTokenFile]: path.join(dir, "missing") }, /ALIBABA_CLOUD_OIDC_TOKEN_FILE: ".*missing" does not exist/],
            [{ ...JOB, ALICLOUD_ACCESS_KEY: "LTAI000" }, /ALICLOUD_ACCESS_KEY: set together with ALIBABA_CLOUD_ROLE_ARN; accepted: one kind of credential/],
        ];
        for (const [vars, message] of cases) {
            const { error, resources } = await withEnv(vars, () => failingProgram(testConfig(CLUSTER)));
            assert.match(String(error), message);
            assert.deepEqual(resources, [], JSON.stringify(vars));
        }
    });
});
