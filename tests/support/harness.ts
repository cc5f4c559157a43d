import * as pulumi from "@pulumi/pulumi";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { configKey, PROJECT, SettingName } from "../../lib/config";
import { ACK_SERVICE_ROLES } from "../../lib/prerequisites";
import { emptyClusterKubeconfigFile } from "./discovery";
import { urlTemplate } from "./upstream";

// Runs the real program (or a component) under Pulumi's mocks and returns what that run registered, with
// the resource options as the engine receives them in the registration request (mocks get inputs only).

export interface Recorded {
    type: string;
    name: string;
    /** The id the engine gave it (a custom resource), which other resources and outputs receive from it. */
    id?: string;
    custom: boolean;
    inputs: Record<string, any>;
    opts: Requested;
    /** "type::name" of every resource this one waits for, implicit (its inputs' outputs) and explicit, and its provider. */
    waitsFor: string[];
    /** "type::name" of the provider given in its options; undefined: the engine's default provider. */
    provider?: string;
}

/** The options of a registration, as the engine receives them. */
export interface Requested {
    protect?: boolean;
    retainOnDelete?: boolean;
    customTimeouts?: { create?: string; update?: string; delete?: string };
    additionalSecretOutputs: string[];
    /** The type of each alias (the SDK's Kubernetes classes alias their kinds' earlier apiVersions). */
    aliasTypes: string[];
}

export interface Invoke {
    token: string;
    inputs: Record<string, any>;
    /** As for a resource: undefined means the default provider. */
    provider?: string;
}

/** What one run registered (the root stack resource left out), which functions it invoked, what it warned. */
export interface Registered {
    resources: Recorded[];
    invokes: Invoke[];
    /** pulumi.log.warn's messages (with no engine under the mocks, the SDK prints them with console.warn). */
    warnings: string[];
}

/** How the engine runs the program: `pulumi preview` (and the first pass of `pulumi up`) is a dry run. */
export interface RunMode {
    preview?: boolean;
}

/** The SDK's switch for a unit test's dry run (settings.ts documents it for tests; its typings omit it). */
function setDryRun(on: boolean): void {
    const fn = (pulumi.runtime as unknown as { _setIsDryRun?: (v: boolean) => void })._setIsDryRun;
    if (!fn) throw new Error("@pulumi/pulumi no longer exports runtime _setIsDryRun; update tests/support/harness.ts");
    fn(on);
}

/** The run in progress: the mocks are process-wide, so each run gets its own record, and runs never overlap. */
let current: (Registered & { account: Account }) | undefined;

/** The cloud account as the provider's data sources describe it. */
export interface Account {
    /** RAM role names. */
    roles: string[];
    /** What cs.getAckService reports when asked to open ACK. */
    ackStatusWhenOpened: string;
    /** Instance types ecs.getInstanceTypes offers, by zone ("*": any other zone). */
    instanceTypes: Record<string, string[]>;
    /** Names of the ACK managed clusters the account already has. */
    clusters: string[];
    /** Whose kubeconfig cs.getClusterCredential returns: ACK issues one per RAM identity. Unset: CREDENTIAL_KUBECONFIG's. */
    caller?: string;
}

/** An account ready for ACK: its service roles granted, ACK activated. */
export const READY_ACCOUNT: Account = {
    roles: [...ACK_SERVICE_ROLES, "AliyunECSDefaultRole"],
    ackStatusWhenOpened: "Opened",
    instanceTypes: { "*": ["ecs.c7.xlarge", "ecs.g6.xlarge", "ecs.g7.xlarge"] },
    clusters: [],
};

function record(): NonNullable<typeof current> {
    if (!current) throw new Error("a resource was registered outside inStack/runProgram");
    return current;
}

export const CREDENTIAL_KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    client-key-data: c2VjcmV0\n";

/** The kubeconfig ACK issues a RAM identity for the same cluster: same server, its own client key. */
export function callerKubeconfig(caller: string): string {
    return CREDENTIAL_KUBECONFIG.replace("name: admin", `name: ${caller}`).replace("c2VjcmV0", Buffer.from(`key of ${caller}`).toString("base64"));
}

/** A private key as the providers return one (PEM). */
export const CREDENTIAL_PEM_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n";

/**
 * Outputs the real providers return beyond the inputs, as the providers' schemas name them: the
 * credentials (neither is marked sensitive there), so tests see what state would hold, and the API
 * server's load balancer.
 */
export const PROVIDER_OUTPUTS: Record<string, Record<string, unknown>> = {
    "alicloud:cs/managedKubernetes:ManagedKubernetes": { slbId: "lb-apiserver", certificateAuthority: { clusterCert: "LS0tLS1CRUdJTg==", clientCert: "LS0tLS1CRUdJTg==", clientKey: CREDENTIAL_PEM_KEY } },
    "alicloud:servicemesh/serviceMesh:ServiceMesh": { kubeconfig: CREDENTIAL_KUBECONFIG },
};

pulumi.runtime.setMocks(
    {
        newResource(args) {
            const run = record();
            const id = args.custom === false ? undefined : `${args.name}-id`;
            if (args.type !== "pulumi:pulumi:Stack") {
                const key = `${args.type}::${args.name}`;
                const seen = requests.get(key);
                run.resources.push({ type: args.type, name: args.name, id, custom: args.custom ?? true, inputs: args.inputs, opts: seen?.opts ?? { additionalSecretOutputs: [], aliasTypes: [] }, waitsFor: seen?.waitsFor ?? [], provider: args.provider ? keyOf(args.provider) : undefined });
            }
            return { id, state: { ...args.inputs, ...PROVIDER_OUTPUTS[args.type] } };
        },
        call(args) {
            record().invokes.push({ token: args.token, inputs: args.inputs, provider: args.provider ? keyOf(args.provider) : undefined });
            const account = record().account;
            if (args.token === "alicloud:cs/getClusterCredential:getClusterCredential") {
                return { ...args.inputs, kubeConfig: account.caller === undefined ? CREDENTIAL_KUBECONFIG : callerKubeconfig(account.caller), id: "cred" };
            }
            if (args.token === "alicloud:ram/getRoles:getRoles") {
                const re = new RegExp(args.inputs.nameRegex ?? "");
                return { ...args.inputs, names: account.roles.filter((r) => re.test(r)), ids: [], roles: [], id: "roles" };
            }
            if (args.token === "alicloud:cs/getManagedKubernetesClusters:getManagedKubernetesClusters") {
                const re = new RegExp(args.inputs.nameRegex ?? "");
                return { ...args.inputs, names: account.clusters.filter((c) => re.test(c)), ids: [], clusters: [], id: "clusters" };
            }
            if (args.token === "alicloud:ecs/getInstanceTypes:getInstanceTypes") {
                return { ...args.inputs, ids: account.instanceTypes[args.inputs.availabilityZone] ?? account.instanceTypes["*"] ?? [], instanceTypes: [], id: "types" };
            }
            if (args.token === "alicloud:cs/getAckService:getAckService") {
                return { ...args.inputs, status: args.inputs.enable === "On" ? account.ackStatusWhenOpened : "", id: "ack" };
            }
            throw new Error(`unexpected invoke ${args.token}`);
        },
    },
    PROJECT,
    "test",
    false,
);

/** "type::name" of a URN (urn:pulumi:stack::project::parent$type::name) or of a provider reference (URN::id). */
function keyOf(urn: string): string {
    const [, , qualifiedType, name] = urn.split("::");
    return `${qualifiedType.split("$").pop()}::${name}`;
}

// The mocks see inputs only; the options and the dependencies the SDK computed (explicit, implicit through
// outputs, and the provider) travel in the registration request, read here before the mocks get it.
const requests = new Map<string, { opts: Requested; waitsFor: string[] }>();
{
    interface RegisterRequest {
        getType(): string;
        getName(): string;
        getDependenciesList(): string[];
        getProvider(): string;
        hasProtect(): boolean;
        getProtect(): boolean | undefined;
        hasRetainondelete(): boolean;
        getRetainondelete(): boolean | undefined;
        getCustomtimeouts(): { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined;
        getAdditionalsecretoutputsList(): string[];
        getAliasesList(): { getUrn(): string; getSpec(): { getType(): string } | undefined }[];
    }
    const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: RegisterRequest, callback: unknown): unknown };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
        const provider = req.getProvider();
        const timeouts = req.getCustomtimeouts();
        const opts: Requested = {
            protect: req.hasProtect() ? req.getProtect() : undefined,
            retainOnDelete: req.hasRetainondelete() ? req.getRetainondelete() : undefined,
            customTimeouts: timeouts && { create: timeouts.getCreate() || undefined, update: timeouts.getUpdate() || undefined, delete: timeouts.getDelete() || undefined },
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
            aliasTypes: req.getAliasesList().map((a) => a.getSpec()?.getType() || keyOf(a.getUrn()).split("::")[0]),
        };
        requests.set(`${req.getType()}::${req.getName()}`, { opts, waitsFor: [...req.getDependenciesList(), ...(provider ? [provider] : [])].map(keyOf) });
        return register(req, callback);
    };
}

/** Runs fn as the body of a root stack, as the engine does; returns what it registered, or how it failed. */
export async function attempt<T>(fn: () => Promise<T> | T, account: Account = READY_ACCOUNT, mode: RunMode = {}): Promise<Registered & { value?: T; error?: unknown }> {
    if (current) throw new Error("runs under the mocks must not overlap");
    const run: Registered & { account: Account } = { resources: [], invokes: [], warnings: [], account };
    current = run;
    let value: T | undefined;
    let error: unknown;
    const warn = console.warn;
    console.warn = (...args: unknown[]) => {
        const text = args.map(String).join(" ");
        if (text.startsWith("warning: [runtime] ")) run.warnings.push(text.slice("warning: [runtime] ".length));
        else warn(...args);
    };
    setDryRun(mode.preview === true);
    try {
        // The error is kept out of the stack resource, whose own promises would otherwise reject unhandled.
        await pulumi.runtime.runInPulumiStack(async () => {
            try {
                value = await fn();
            } catch (e) {
                error = e;
            }
            return {};
        });
        await settle();
    } finally {
        current = undefined;
        console.warn = warn;
        setDryRun(false);
    }
    return { value, error, resources: run.resources, invokes: run.invokes, warnings: run.warnings };
}

/** Inside a run: resolves once the resource is registered, which waits for every input. */
export function registered(resource: pulumi.Resource): Promise<void> {
    return new Promise((ok) => resource.urn.apply(() => ok()));
}

/** Runs fn as the body of a root stack; throws what fn threw. */
export async function inStack<T>(fn: () => Promise<T> | T, account: Account = READY_ACCOUNT, mode: RunMode = {}): Promise<Registered & { value: T }> {
    const run = await attempt(fn, account, mode);
    if (run.error !== undefined) throw run.error;
    return { ...run, value: run.value as T };
}

/** The provider's key of the region, which the stack requires. */
const REGION_KEY = "alicloud:region";

/** Config for the program: the mirror (or real URLs), a private download cache, and the given keys. */
export function testConfig(extra: Partial<Record<SettingName | typeof REGION_KEY, string | number | boolean | string[]>> = {}): Record<string, string> {
    const base: typeof extra = {
        [REGION_KEY]: "cn-hangzhou",
        operatorUrlTemplate: urlTemplate("operator"),
        bookinfoUrlTemplate: urlTemplate("bookinfo"),
        manifestCacheDir: CACHE_DIR,
        // No API server answers under the mocks; tests/strictMtls.test.ts gives the wait one.
        meshApiTimeoutSeconds: 0,
        ...extra,
    };
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(base)) {
        const key = k === REGION_KEY ? k : configKey(k as SettingName);
        out[key] = Array.isArray(v) ? JSON.stringify(v) : String(v);
    }
    return out;
}

const CACHE_DIR = mkdtempSync(path.join(os.tmpdir(), "asm-prom-test-cache-"));
process.on("exit", () => rmSync(CACHE_DIR, { recursive: true, force: true }));

/**
 * The program runs in its project folder, where it keeps the kubeconfig file it writes (KUBECONFIG_DIR):
 * here a folder of this test process's own, never the checkout.
 */
export const PROJECT_DIR = mkdtempSync(path.join(os.tmpdir(), "asm-prom-test-project-"));
process.chdir(PROJECT_DIR);
process.on("exit", () => rmSync(PROJECT_DIR, { recursive: true, force: true }));

export function resolve<T>(o: pulumi.Input<T> | undefined): Promise<T> {
    return new Promise((ok) => pulumi.output(o as pulumi.Input<T>).apply((v) => ok(v as T)));
}

export async function isSecret(o: pulumi.Output<unknown>): Promise<boolean> {
    return (o as unknown as { isSecret: Promise<boolean> }).isSecret;
}

/** Waits until every registration started so far has reached the mocks. */
async function settle(): Promise<void> {
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 50));
}

function program(config: Record<string, string>, secretKeys: string[]) {
    pulumi.runtime.setAllConfig(config, secretKeys);
    return require("../../index") as () => Promise<Record<string, pulumi.Input<unknown>>>;
}

/** Runs index.ts with the given config; returns its outputs, resolved, plus what was registered. */
/**
 * Runs fn with KUBECONFIG naming an empty cluster, which the program asks for a hand-made install
 * before registering anything (except when it renders to files, where KUBECONFIG stays unset).
 */
async function withAmbientCluster<T>(config: Record<string, string>, fn: () => Promise<T>): Promise<T> {
    const before = process.env.KUBECONFIG;
    if (config[configKey("renderYamlToDirectory")] === undefined) process.env.KUBECONFIG = await emptyClusterKubeconfigFile();
    try {
        return await fn();
    } finally {
        if (before === undefined) delete process.env.KUBECONFIG;
        else process.env.KUBECONFIG = before;
    }
}

export async function runProgram(config: Record<string, string>, secretKeys: string[] = [], account: Account = READY_ACCOUNT, mode: RunMode = {}) {
    const run = await withAmbientCluster(config, () => inStack(program(config, secretKeys), account, mode));
    const outputs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(run.value)) outputs[k] = await resolve(v);
    return { raw: run.value, outputs, resources: run.resources, invokes: run.invokes, warnings: run.warnings };
}

/** Runs index.ts expecting it to fail; returns the error and what was registered before it. */
export async function failingProgram(config: Record<string, string>, secretKeys: string[] = [], account: Account = READY_ACCOUNT, mode: RunMode = {}): Promise<Registered & { error: unknown }> {
    const run = await withAmbientCluster(config, () => attempt(program(config, secretKeys), account, mode));
    if (run.error === undefined) throw new Error("the program succeeded");
    return { error: run.error, resources: run.resources, invokes: run.invokes, warnings: run.warnings };
}

export function byType(resources: Recorded[], type: string): Recorded[] {
    return resources.filter((r) => r.type === type);
}

export function one(resources: Recorded[], type: string, name?: string): Recorded {
    const found = resources.filter((r) => r.type === type && (name === undefined || r.name === name));
    if (found.length !== 1) throw new Error(`expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
    return found[0];
}

/** The value of a secret input as the engine receives it; fails when the value was sent in plain text. */
export function secretValue(input: unknown): unknown {
    const sig = input as Record<string, unknown> | undefined;
    assertSecret(sig?.[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig, `not sent as a secret: ${JSON.stringify(input)}`);
    return sig!.value;
}

function assertSecret(ok: boolean, message: string): asserts ok {
    if (!ok) throw new Error(message);
}
