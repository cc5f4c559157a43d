import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import * as YAML from "yaml";

// The CI workflows as a reviewer of a production pipeline reads them: what each job may do, which
// secrets it can reach, and from where. actionlint (scripts/actionlint.sh, in .ci/run) checks the syntax.

const ROOT = path.join(__dirname, "..", "..");
const read = (f: string) => readFileSync(path.join(ROOT, f), "utf8");

interface Job {
    if?: string;
    environment?: string;
    permissions?: Record<string, string>;
    steps: { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> }[];
    needs?: string | string[];
}
interface Workflow {
    on: Record<string, unknown>;
    env: Record<string, string>;
    permissions: Record<string, string>;
    jobs: Record<string, Job>;
}

const preview = YAML.parse(read(".github/workflows/preview.yml")) as Workflow;
const deploy = YAML.parse(read(".github/workflows/deploy.yml")) as Workflow;
const WORKFLOWS = { preview, deploy };

/** Node.js release lines and the day each reaches its end of life (nodejs.org release schedule). */
const NODE_END_OF_LIFE: Record<string, string> = { "18": "2025-04-30", "20": "2026-04-30", "22": "2027-04-30", "24": "2028-04-30" };

const secretsOf = (job: Job) => [...JSON.stringify(job).matchAll(/secrets\.([A-Z_]+)/g)].map((m) => m[1]).filter((s) => s !== "GITHUB_TOKEN");

describe("CI workflows: short-lived credentials, scoped secrets, pinned tools", () => {
    test("no long-lived cloud key anywhere; Alibaba Cloud access only through the OIDC action", () => {
        for (const [name, wf] of Object.entries(WORKFLOWS)) {
            const text = JSON.stringify(wf);
            assert.doesNotMatch(text, /ALICLOUD_ACCESS_KEY|ALICLOUD_SECRET_KEY|ALIBABA_CLOUD_ACCESS_KEY/, name);
            for (const [id, job] of Object.entries(wf.jobs)) {
                const usesCloud = job.steps.some((s) => s.uses === "pulumi/actions@v7");
                if (!usesCloud) continue;
                const oidc = job.steps.findIndex((s) => s.uses === "./.github/actions/alibaba-oidc");
                assert.ok(oidc >= 0 && oidc < job.steps.findIndex((s) => s.uses === "pulumi/actions@v7"), `${name}.${id}: credentials before pulumi`);
                assert.equal(job.permissions?.["id-token"], "write", `${name}.${id}`);
            }
        }
        const action = read(".github/actions/alibaba-oidc/action.yml");
        for (const v of ["ALIBABA_CLOUD_OIDC_TOKEN_FILE", "ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN"]) assert.match(action, new RegExp(`${v}=`));
    });

    test("workflows grant nothing by default; each job only what it uses", () => {
        const allowed: Record<string, Record<string, string>> = {
            "preview.test": { contents: "read" },
            "preview.preview": { contents: "read", "id-token": "write", "pull-requests": "write" },
            "deploy.dev": { contents: "read", "id-token": "write" },
            "deploy.prod": { contents: "read", "id-token": "write" },
        };
        for (const [name, wf] of Object.entries(WORKFLOWS)) {
            assert.deepEqual(wf.permissions, {}, name);
            for (const [id, job] of Object.entries(wf.jobs)) assert.deepEqual(job.permissions, allowed[`${name}.${id}`], `${name}.${id}`);
        }
    });

    test("every job that reads a secret runs in a GitHub environment; previews in their own, with the read-only role", () => {
        for (const [name, wf] of Object.entries(WORKFLOWS)) {
            for (const [id, job] of Object.entries(wf.jobs)) {
                if (secretsOf(job).length > 0) assert.ok(job.environment, `${name}.${id} reads ${secretsOf(job).join(", ")} outside an environment`);
            }
        }
        const job = preview.jobs.preview;
        assert.equal(job.environment, "preview-${{ matrix.stack }}");
        assert.equal(job.if, "github.event.pull_request.head.repo.full_name == github.repository");
        assert.equal(job.steps.find((s) => s.uses === "./.github/actions/alibaba-oidc")!.with!["role-arn"], "${{ vars.ALIBABA_CLOUD_PREVIEW_ROLE_ARN }}");
        assert.equal(job.steps.find((s) => s.uses === "pulumi/actions@v7")!.with!.command, "preview");
        // The comment names the CRDs a bundle change touches (the set's crdDigests) only as a property diff.
        assert.equal(job.steps.find((s) => s.uses === "pulumi/actions@v7")!.with!.diff, true);
        assert.deepEqual(secretsOf(preview.jobs.test), []);
        assert.deepEqual(Object.keys(preview.on), ["pull_request"]);
    });

    test("deploys only from main, prod after dev, each in the environment of its stack with the deploy role", () => {
        assert.deepEqual(deploy.on.push, { branches: ["main"] });
        for (const stack of ["dev", "prod"]) {
            const job = deploy.jobs[stack];
            assert.equal(job.if, "github.ref == 'refs/heads/main'", stack);
            assert.equal(job.environment, stack);
            assert.equal(job.steps.find((s) => s.uses === "./.github/actions/alibaba-oidc")!.with!["role-arn"], "${{ vars.ALIBABA_CLOUD_DEPLOY_ROLE_ARN }}");
            assert.equal(job.steps.find((s) => s.uses === "pulumi/actions@v7")!.with!["stack-name"], stack);
        }
        assert.equal(deploy.jobs.prod.needs, "dev");
    });

    test("the Pulumi CLI is the toolchain's, and Node.js a line that has not reached its end of life", () => {
        const pinned = /^PULUMI_VERSION=v(\S+)$/m.exec(read("toolchain/versions.env"))![1];
        const today = new Date().toISOString().slice(0, 10);
        for (const [name, wf] of Object.entries(WORKFLOWS)) {
            assert.equal(String(wf.env.PULUMI_VERSION), pinned, name);
            for (const [id, job] of Object.entries(wf.jobs)) {
                for (const s of job.steps) {
                    if (s.uses === "pulumi/actions@v7") assert.equal(s.with!["pulumi-version"], "${{ env.PULUMI_VERSION }}", `${name}.${id}`);
                    if (s.uses?.startsWith("actions/setup-node@")) {
                        const line = String(s.with!["node-version"]);
                        assert.ok(NODE_END_OF_LIFE[line], `${name}.${id}: Node.js ${line} is not a known LTS line`);
                        assert.ok(NODE_END_OF_LIFE[line] > today, `${name}.${id}: Node.js ${line} reached its end of life on ${NODE_END_OF_LIFE[line]}`);
                    }
                }
            }
        }
    });

    test("every Pulumi step keeps its temporary files (the provider's kubeconfig copies) in the runner's temp folder", () => {
        for (const [name, wf] of Object.entries(WORKFLOWS)) {
            for (const [id, job] of Object.entries(wf.jobs)) {
                for (const s of job.steps.filter((x) => x.uses === "pulumi/actions@v7")) assert.equal(s.env?.TMPDIR, "${{ runner.temp }}", `${name}.${id}`);
            }
        }
    });
});
