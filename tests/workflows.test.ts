import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import * as YAML from "yaml";
import { OIDC_ENV } from "../lib/config";

// The CI workflows as a reviewer of a production pipeline reads them: what each job may do, which
// secrets it can reach, and from where. actionlint (scripts/actionlint.sh, in .ci/run) checks the syntax.

const ROOT = path.join(__dirname, "..", "..");
const read = (f: string) => readFileSync(path.join(ROOT, f), "utf8");

interface Step {
    name?: string;
    uses?: string;
    run?: string;
    if?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
}
interface Job {
    if?: string;
    environment?: string;
    permissions?: Record<string, string>;
    strategy?: { matrix?: { include?: Record<string, unknown>[]; stack?: string[]; node?: number[] } };
    steps: Step[];
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

/**
 * Node.js release lines and the day each reaches its end of life (nodejs.org release schedule), as of the
 * day the table was last read. The check compares with that day, not the calendar: it changes with the table.
 */
const NODE_LINES = { reviewed: "2026-12-05", endOfLife: { "18": "2025-04-30", "20": "2026-04-30", "22": "2027-04-30", "24": "2028-04-30" } as Record<string, string> };

const secretsOf = (job: Job) => [...JSON.stringify(job).matchAll(/secrets\.([A-Z_]+)/g)].map((m) => m[1]).filter((s) => s !== "GITHUB_TOKEN");

const PULUMI_ACTION = "pulumi/actions";
const OIDC_ACTION = "./.github/actions/alibaba-oidc";
const isAction = (s: Step, action: string) => s.uses === action || s.uses?.startsWith(`${action}@`) === true;
/** Every step that runs the Pulumi CLI: the action, or a script that calls it (directly, or through npm run verify). */
const pulumiSteps = (job: Job) => job.steps.filter((s) => isAction(s, PULUMI_ACTION) || /(^|[\s;&|(])pulumi\s|npm run (-s )?verify/.test(s.run ?? ""));

/** The stacks a job runs, with the matrix entry each runs under (none without a matrix). */
function stacksOf(job: Job): { stack: string; entry: Record<string, unknown> }[] {
    const named = job.steps.find((s) => isAction(s, PULUMI_ACTION))?.with?.["stack-name"];
    if (named !== "${{ matrix.stack }}") return [{ stack: String(named), entry: {} }];
    return (job.strategy?.matrix?.include ?? []).map((entry) => ({ stack: String(entry.stack), entry }));
}

/** Whether a step runs for a matrix entry: no condition, or one of the matrix's own switches. */
function runsFor(s: Step, entry: Record<string, unknown>): boolean {
    if (s.if === undefined) return true;
    const m = /^matrix\.(\w+)$/.exec(s.if);
    assert.ok(m, `a condition the test cannot evaluate on ${s.uses ?? s.run}: ${s.if}`);
    return entry[m[1]] === true;
}

/** Whether a stack calls Alibaba Cloud: it creates the cluster (and the mesh) itself. */
function callsCloud(stack: string): boolean {
    const config = (YAML.parse(read(`Pulumi.${stack}.yaml`)) as { config: Record<string, unknown> }).config;
    return config["asm-prometheus-mtls:createCluster"] === true;
}

describe("CI workflows: short-lived credentials, scoped secrets, pinned tools", () => {
    test("no long-lived cloud key anywhere; cloud credentials through the OIDC action exactly where the stack calls the cloud, before pulumi runs", () => {
        const checked: string[] = [];
        for (const [name, wf] of Object.entries(WORKFLOWS)) {
            const text = JSON.stringify(wf);
            assert.doesNotMatch(text, /ALICLOUD_ACCESS_KEY|ALICLOUD_SECRET_KEY|ALIBABA_CLOUD_ACCESS_KEY/, name);
            for (const [id, job] of Object.entries(wf.jobs)) {
                const steps = pulumiSteps(job);
                if (steps.length === 0) continue;
                for (const { stack, entry } of stacksOf(job)) {
                    const oidc = job.steps.findIndex((s) => s.uses === OIDC_ACTION && runsFor(s, entry));
                    if (callsCloud(stack)) {
                        assert.ok(oidc >= 0 && oidc < job.steps.indexOf(steps[0]), `${name}.${id} (${stack}): credentials before the first pulumi step`);
                        assert.equal(job.permissions?.["id-token"], "write", `${name}.${id}`);
                    } else {
                        assert.equal(oidc, -1, `${name}.${id} (${stack}) never calls the cloud and must request no credentials`);
                    }
                    checked.push(`${name}.${id}.${stack}`);
                }
                // A job none of whose stacks calls the cloud gets no OIDC token at all.
                if (!stacksOf(job).some(({ stack }) => callsCloud(stack))) assert.equal(job.permissions?.["id-token"], undefined, `${name}.${id}`);
            }
        }
        // The checks above ran on every stack of both workflows, not on none.
        assert.deepEqual(checked.sort(), ["deploy.dev.dev", "deploy.prod.prod", "preview.preview.dev", "preview.preview.prod"]);
        assert.equal(callsCloud("prod"), true);
        assert.equal(callsCloud("dev"), false);
        const action = read(".github/actions/alibaba-oidc/action.yml");
        for (const v of [OIDC_ENV.oidcTokenFile, OIDC_ENV.roleArn, OIDC_ENV.oidcProviderArn]) assert.match(action, new RegExp(`${v}=`));
        // A run id in the session name would make every run a change of the provider's inputs.
        assert.doesNotMatch(action, new RegExp(OIDC_ENV.roleSessionName));
    });

    test("every action from another repository is pinned by full commit SHA, its version in a comment", () => {
        let count = 0;
        for (const file of [".github/workflows/preview.yml", ".github/workflows/deploy.yml", ".github/actions/alibaba-oidc/action.yml"]) {
            for (const line of read(file).split("\n")) {
                const m = /^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/.exec(line);
                if (!m || m[1].startsWith("./")) continue;
                count++;
                assert.match(m[1], /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${file}: ${line.trim()}`);
                assert.match(m[2], /^\s+# v\d+\.\d+\.\d+$/, `${file}: ${line.trim()} names no version`);
            }
        }
        assert.ok(count >= 8, `only ${count} pinned actions found`);
    });

    test("workflows grant nothing by default; each job only what it uses", () => {
        const allowed: Record<string, Record<string, string>> = {
            "preview.test": { contents: "read" },
            "preview.preview": { contents: "read", "id-token": "write", "pull-requests": "write" },
            "deploy.dev": { contents: "read" },
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
        assert.equal(job.steps.find((s) => s.uses === OIDC_ACTION)!.with!["role-arn"], "${{ vars.ALIBABA_CLOUD_PREVIEW_ROLE_ARN }}");
        const steps = pulumiSteps(job);
        assert.equal(steps.length, 1, "the preview job runs pulumi once, through the action");
        assert.equal(steps[0].with!.command, "preview");
        // The comment names the CRDs a bundle change touches (the set's crdDigests) only as a property diff.
        assert.equal(steps[0].with!.diff, true);
        assert.deepEqual(secretsOf(preview.jobs.test), []);
        assert.deepEqual(pulumiSteps(preview.jobs.test), []);
        assert.deepEqual(Object.keys(preview.on), ["pull_request"]);
    });

    test("deploys only from main, prod after dev, each in the environment of its stack, then verify proves the scrape", () => {
        assert.deepEqual(deploy.on.push, { branches: ["main"] });
        for (const stack of ["dev", "prod"]) {
            const job = deploy.jobs[stack];
            assert.equal(job.if, "github.ref == 'refs/heads/main'", stack);
            assert.equal(job.environment, stack);
            const oidc = job.steps.find((s) => s.uses === OIDC_ACTION);
            if (oidc) assert.equal(oidc.with!["role-arn"], "${{ vars.ALIBABA_CLOUD_DEPLOY_ROLE_ARN }}");
            const up = job.steps.findIndex((s) => isAction(s, PULUMI_ACTION));
            assert.equal(job.steps[up].with!.command, "up", stack);
            assert.equal(job.steps[up].with!["stack-name"], stack);
            // After the up, on the same stack: verify fails the job, and its table reaches the summary whatever happened.
            const verify = job.steps.findIndex((s) => new RegExp(`npm run -s verify -- --stack ${stack}\\b`).test(s.run ?? ""));
            assert.ok(verify > up, `${stack}: verify after the up`);
            assert.match(job.steps[verify].run!, /\| tee "\$RUNNER_TEMP\/verify.txt"/);
            assert.equal(job.steps[verify].if, undefined);
            const summary = job.steps.slice(verify + 1).find((s) => /GITHUB_STEP_SUMMARY/.test(s.run ?? ""));
            assert.equal(summary?.if, "always()", stack);
        }
        // A created cluster is reached with the kubeconfig the stack outputs.
        assert.match(deploy.jobs.prod.steps.find((s) => /verify/.test(s.run ?? ""))!.run!, /eval "\$\(pulumi stack output --stack prod kubeconfigCommand\)"/);
        assert.equal(deploy.jobs.prod.needs, "dev");
    });

    test("the Pulumi CLI is the toolchain's, and Node.js a line that had not reached its end of life when the table was read", () => {
        const pinned = /^PULUMI_VERSION=v(\S+)$/m.exec(read("toolchain/versions.env"))![1];
        for (const [name, wf] of Object.entries(WORKFLOWS)) {
            assert.equal(String(wf.env.PULUMI_VERSION), pinned, name);
            for (const [id, job] of Object.entries(wf.jobs)) {
                for (const s of job.steps) {
                    if (isAction(s, PULUMI_ACTION)) assert.equal(s.with!["pulumi-version"], "${{ env.PULUMI_VERSION }}", `${name}.${id}`);
                    if (isAction(s, "actions/setup-node")) {
                        const version = String(s.with!["node-version"]);
                        const lines = version === "${{ matrix.node }}" ? job.strategy!.matrix!.node!.map(String) : [version];
                        for (const line of lines) {
                            const eol = NODE_LINES.endOfLife[line];
                            assert.ok(eol, `${name}.${id}: Node.js ${line} is not a known LTS line`);
                            assert.ok(eol > NODE_LINES.reviewed, `${name}.${id}: Node.js ${line} reached its end of life on ${eol}`);
                        }
                    }
                }
            }
        }
    });

    test("every pull request's preview runs the policy pack, after the build that compiles it", () => {
        const steps = WORKFLOWS.preview.jobs.preview.steps;
        const preview = steps.findIndex((s) => isAction(s, PULUMI_ACTION));
        assert.equal(steps[preview].with!.policyPacks, "policy");
        assert.ok(existsSync(path.join(ROOT, "policy", "PulumiPolicy.yaml")));
        assert.ok(steps.findIndex((s) => s.run === "npm run build") < preview);
    });

    test("the tests run on every Node.js line package.json admits, from the lowest to .nvmrc's", () => {
        const pkg = JSON.parse(read("package.json"));
        const lowest = /^>=(\d+)$/.exec(pkg.engines.node)![1];
        const nvmrc = read(".nvmrc").trim();
        assert.ok(Number(lowest) <= Number(nvmrc), `.nvmrc ${nvmrc} is below engines ${pkg.engines.node}`);
        // Every LTS line from the lowest admitted to .nvmrc's.
        const expected = Object.keys(NODE_LINES.endOfLife).map(Number).filter((l) => l >= Number(lowest) && l <= Number(nvmrc));
        assert.deepEqual(WORKFLOWS.preview.jobs.test.strategy?.matrix?.node, expected);
        assert.ok(NODE_LINES.endOfLife[lowest] > NODE_LINES.reviewed, `engines admits Node.js ${lowest}, past its end of life`);
    });

    test("every Pulumi step keeps its temporary files (the provider's kubeconfig copies) in the runner's temp folder", () => {
        let count = 0;
        for (const [name, wf] of Object.entries(WORKFLOWS)) {
            for (const [id, job] of Object.entries(wf.jobs)) {
                for (const s of pulumiSteps(job)) {
                    count++;
                    assert.equal(s.env?.TMPDIR, "${{ runner.temp }}", `${name}.${id}: ${s.uses ?? s.run}`);
                }
            }
        }
        assert.equal(count, 5, "three pulumi/actions steps and two verify steps");
    });

    test("the step finder sees pulumi in a script, so the checks above cannot pass by its absence", () => {
        const job = (run: string): Job => ({ steps: [{ run }] });
        assert.equal(pulumiSteps(job("pulumi up --yes --stack dev")).length, 1);
        assert.equal(pulumiSteps(job('eval "$(pulumi stack output kubeconfigCommand)"')).length, 1);
        assert.equal(pulumiSteps(job("npm run -s verify -- --stack dev")).length, 1);
        assert.equal(pulumiSteps(job("npm ci")).length, 0);
        assert.equal(pulumiSteps({ steps: [{ uses: "pulumi/actions@8e5e406f4007fca908480587cb9893c07090f58d" }] }).length, 1);
    });
});
