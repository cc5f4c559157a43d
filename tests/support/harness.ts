import * as pulumi from "@pulumi/pulumi";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT } from "../../lib/config";
import { urlTemplate } from "./upstream";

// Runs the real program (or a component) under Pulumi's mocks and records every registration, with the
// resource options seen by a stack transformation (mocks receive inputs only).

export interface Recorded {
    type: string;
    name: string;
    custom: boolean;
    inputs: Record<string, any>;
    opts: pulumi.ResourceOptions;
}

export const recorded: Recorded[] = [];
const optsByName = new Map<string, pulumi.ResourceOptions>();
export const invokes: { token: string; inputs: Record<string, any> }[] = [];

export const CREDENTIAL_KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    client-key-data: c2VjcmV0\n";

pulumi.runtime.setMocks(
    {
        newResource(args) {
            recorded.push({ type: args.type, name: args.name, custom: args.custom ?? true, inputs: args.inputs, opts: optsByName.get(`${args.type}::${args.name}`) ?? {} });
            return { id: args.custom === false ? undefined : `${args.name}-id`, state: args.inputs };
        },
        call(args) {
            invokes.push({ token: args.token, inputs: args.inputs });
            if (args.token === "alicloud:cs/getClusterCredential:getClusterCredential") {
                return { ...args.inputs, kubeConfig: CREDENTIAL_KUBECONFIG, id: "cred" };
            }
            throw new Error(`unexpected invoke ${args.token}`);
        },
    },
    PROJECT,
    "test",
    false,
);

function recordOptions() {
    pulumi.runtime.registerStackTransformation((a) => {
        optsByName.set(`${a.type}::${a.name}`, a.opts);
        return undefined;
    });
}

/** Runs fn as the body of a root stack, as the engine does, recording resource options. */
export async function inStack<T>(fn: () => Promise<T> | T): Promise<T> {
    reset();
    let result!: T;
    let failure: unknown;
    // The error is kept out of the stack resource, whose own promises would otherwise reject unhandled.
    await pulumi.runtime.runInPulumiStack(async () => {
        recordOptions();
        try {
            result = await fn();
        } catch (e) {
            failure = e;
        }
        return {};
    });
    await settle();
    if (failure !== undefined) throw failure;
    return result;
}

export function reset() {
    recorded.length = 0;
    invokes.length = 0;
    optsByName.clear();
}

/** Config for the program: the mirror (or real URLs), a private download cache, and the given keys. */
export function testConfig(extra: Record<string, string | number | boolean | string[]> = {}): Record<string, string> {
    const base: Record<string, string | number | boolean | string[]> = {
        "alicloud:region": "cn-hangzhou",
        operatorUrlTemplate: urlTemplate("operator"),
        bookinfoUrlTemplate: urlTemplate("bookinfo"),
        manifestCacheDir: CACHE_DIR,
        ...extra,
    };
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(base)) {
        const key = k.includes(":") ? k : `${PROJECT}:${k}`;
        out[key] = Array.isArray(v) ? JSON.stringify(v) : String(v);
    }
    return out;
}

export const CACHE_DIR = mkdtempSync(path.join(os.tmpdir(), "asm-prom-test-cache-"));
process.on("exit", () => rmSync(CACHE_DIR, { recursive: true, force: true }));

export function resolve<T>(o: pulumi.Input<T> | undefined): Promise<T> {
    return new Promise((ok) => pulumi.output(o as pulumi.Input<T>).apply((v) => ok(v as T)));
}

export async function isSecret(o: pulumi.Output<unknown>): Promise<boolean> {
    return (o as unknown as { isSecret: Promise<boolean> }).isSecret;
}

/** Waits until every registration started so far has reached the mocks. */
export async function settle(): Promise<void> {
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 50));
}

/** Runs index.ts with the given config; returns its outputs, resolved, plus what was registered. */
export async function runProgram(config: Record<string, string>, secretKeys: string[] = []) {
    pulumi.runtime.setAllConfig(config, secretKeys);
    const program = require("../../index") as () => Promise<Record<string, pulumi.Input<unknown>>>;
    const raw = await inStack(program);
    const outputs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw)) outputs[k] = await resolve(v);
    return { raw, outputs, resources: recorded.filter((r) => r.type !== "pulumi:pulumi:Stack") };
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
