import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { configKey } from "./config";
import { stripDescriptions } from "./kubeObjects";
import { clusterCredentials, KubeAccess } from "./kubeProvider";
import { KubeObject } from "./manifests";

// The operator's ten CRDs are 2.4 MB of schema. As ten provider resources, state holds each three times
// (inputs, outputs, the outputs' copy of the inputs) and every preview moves all of it through Check and
// Diff: 0.8 s per CRD. Here they are one resource keyed by the digest of the exact objects, applied from
// the verified download cache with server-side apply, as `kubectl apply --server-side` does. State holds
// names and digests only, so a no-change preview compares two strings.

// The field manager of every apply; kept in the serialized provider as a literal.
const FIELD_MANAGER = "asm-prometheus-mtls";
// The setting that lets the apply take over CRDs of another tool; captured by value like the manager.
const ADOPT_SETTING = configKey("adoptExisting");

export interface CrdSetArgs {
    /** The names and digests of the CRDs to apply (summarizeCrds, with stripDescriptions). */
    crds: CrdSummary;
    /** The verified bundle's parsed objects in the download cache, which the apply reads back. */
    cacheFile: string;
    stripDescriptions: boolean;
    /** Keep the CRDs in the cluster when the stack forgets them. */
    retain: boolean;
    /** The cluster of the other objects; with renderDir, the CRDs are written there as YAML instead. */
    access: KubeAccess;
    /** How long each CRD may take to become Established. */
    timeoutSeconds: number;
    /** Take over CRDs another tool applied; otherwise the apply refuses them. */
    adopt: boolean;
}

/** What state holds; the provider methods receive it as inputs and outputs. */
interface CrdSetState {
    names: string[];
    digest: string;
    /** Each CRD's digest by name: the preview's diff shows which CRDs change. */
    crdDigests?: Record<string, string>;
    /** Digest of this module's code: a change updates the set, so state carries the code delete and read run. */
    codeDigest?: string;
    /** Take CRDs over that another tool (Helm, kubectl create) applied. */
    adopt?: boolean;
    cacheFile: string;
    stripDescriptions: boolean;
    retain: boolean;
    kubeconfig?: string;
    context?: string;
    renderDir?: string;
    timeoutSeconds: number;
}

export function isCrd(o: KubeObject): boolean {
    return o.kind === "CustomResourceDefinition";
}

/** The CRDs of a manifest as they are applied; the program and the apply both derive them with this. */
export function crdObjects(objects: KubeObject[], strip: boolean): KubeObject[] {
    return objects.filter(isCrd).map((c) => (strip ? stripDescriptions(c) : c));
}

/** The digest state keeps of a list of CRDs (one CRD: a list of one). */
export function digestOf(crds: KubeObject[]): string {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createHash } = require("node:crypto") as typeof import("node:crypto");
    return createHash("sha256").update(JSON.stringify(crds)).digest("hex");
}

export function crdDigests(crds: KubeObject[]): Record<string, string> {
    return Object.fromEntries(crds.map((c) => [c.metadata.name, digestOf([c])]));
}

/** All the program needs of a bundle's CRDs for the set: the set's provider reads the objects themselves. */
export interface CrdSummary {
    names: string[];
    digest: string;
    crdDigests: Record<string, string>;
}

export function summarizeCrds(objects: KubeObject[], strip: boolean): CrdSummary {
    const crds = crdObjects(objects, strip);
    return { names: crds.map((c) => c.metadata.name), digest: digestOf(crds), crdDigests: crdDigests(crds) };
}

// What a value not known until the update looks like to a dynamic provider (a cluster being replaced).
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

// The provider runs in the engine's dynamic-provider process, from a serialized copy of these functions:
// modules are required inside them, and the Kubernetes client only by the methods that talk to a cluster.

async function readCrds(s: CrdSetState): Promise<KubeObject[]> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs = require("node:fs") as typeof import("node:fs");
    let objects: KubeObject[];
    try {
        objects = JSON.parse(fs.readFileSync(s.cacheFile, "utf8")) as KubeObject[];
    } catch (e) {
        throw new Error(`cannot read the verified bundle ${s.cacheFile}: ${(e as Error).message}; run the update again, which downloads and verifies it`);
    }
    const crds = crdObjects(objects, s.stripDescriptions);
    const digest = digestOf(crds);
    if (digest !== s.digest) throw new Error(`${s.cacheFile} holds CRDs with digest ${digest}, the program declared ${s.digest}; nothing was applied`);
    return crds;
}

interface ManagedFields {
    manager?: string;
    operation?: string;
    subresource?: string;
}

export interface Reply {
    status: number;
    body: {
        metadata?: { resourceVersion?: string; managedFields?: ManagedFields[] };
        status?: { conditions?: { type: string; status: string }[] };
        message?: string;
    };
}

/**
 * Requests to the API server as the kubeconfig's user. The Kubernetes client resolves the kubeconfig
 * (certificates, tokens, exec plugins, proxies); the bodies go as plain JSON, because its typed
 * serializer drops the CRD schemas' `x-kubernetes-*` keys and re-encodes 2.4 MB twice.
 */
export async function apiClient(s: { kubeconfig?: string; context?: string }): Promise<(method: string, path: string, body?: unknown, contentType?: string) => Promise<Reply>> {
    const k8s = await import("@kubernetes/client-node");
    const kc = new k8s.KubeConfig();
    // The program's kubeconfig file (a path, as for the Kubernetes provider), or the text a state from
    // before it holds.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs = require("node:fs") as typeof import("node:fs");
    if (s.kubeconfig && !s.kubeconfig.includes("\n")) {
        if (!fs.existsSync(s.kubeconfig)) {
            throw new Error(`the kubeconfig file ${s.kubeconfig} (in the project folder) does not exist: the program writes it on every run, so run \`pulumi preview\` once on this machine, or \`pulumi destroy --run-program\` / \`pulumi refresh --run-program\``);
        }
        kc.loadFromFile(s.kubeconfig);
    } else if (s.kubeconfig) kc.loadFromString(s.kubeconfig);
    else kc.loadFromDefault();
    if (s.context) kc.setCurrentContext(s.context);
    const server = kc.getCurrentCluster()?.server;
    if (!server) throw new Error(`the kubeconfig${s.context ? ` context ${s.context}` : ""} names no cluster server`);
    return async (method, path, body, contentType = "application/apply-patch+yaml") => {
        const url = new URL(server.replace(/\/$/, "") + path);
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const http = require(url.protocol === "http:" ? "node:http" : "node:https") as typeof import("node:https");
        const opts: import("node:https").RequestOptions = { method, headers: { Accept: "application/json" } };
        await kc.applyToHTTPSOptions(opts);
        const data = body === undefined ? undefined : JSON.stringify(body);
        if (data !== undefined) opts.headers = { ...opts.headers, "Content-Type": contentType };
        return new Promise<Reply>((resolve, reject) => {
            const req = http.request(url, opts, (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => {
                    const text = Buffer.concat(chunks).toString("utf8");
                    let parsed: Reply["body"] = {};
                    try {
                        parsed = JSON.parse(text);
                    } catch {
                        parsed = { message: text.slice(0, 500) };
                    }
                    resolve({ status: res.statusCode ?? 0, body: parsed });
                });
                res.on("error", reject);
            });
            req.on("error", (e) => reject(new Error(`${method} ${url.origin}${url.pathname}: ${e.message}`)));
            req.end(data);
        });
    };
}

const CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

/** The server-side apply of one CRD, as the set makes it (and dry-runs it in preview). */
function applyPath(name: string): string {
    // force: the stack owns these CRDs, also where an earlier apply (kubectl, Helm, a former version) did.
    return `${CRD_PATH}/${name}?fieldManager=${FIELD_MANAGER}&force=true`;
}

function failed(what: string, r: Reply): Error {
    return new Error(`${what}: HTTP ${r.status}: ${r.body.message ?? "no message"}`);
}

/** Where rendered CRDs go, beside the provider's own 1-manifest folder. */
function renderFolder(dir: string): string {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require("node:path") as typeof import("node:path")).join(dir, "0-crd");
}

function renderFile(dir: string, name: string): string {
    return `${renderFolder(dir)}/apiextensions.k8s.io-v1-customresourcedefinition-${name}.yaml`;
}

type Call = Awaited<ReturnType<typeof apiClient>>;

/** An identity that may not read or write CRDs: a pull request's read-only preview. */
const forbidden = (r: Reply) => r.status === 401 || r.status === 403;

/**
 * Server-side apply with force would silently take fields Helm or another stack owns. In a dry run an
 * identity that may not read CRDs skips the question (false): the update's own check meets it first.
 */
async function refuseForeign(call: Call, crds: KubeObject[], dryRun = false): Promise<boolean> {
    const foreign: string[] = [];
    for (const c of crds) {
        const r = await call("GET", `${CRD_PATH}/${c.metadata.name}`);
        if (r.status === 404) continue;
        if (dryRun && forbidden(r)) return false;
        if (r.status !== 200) throw failed(`read CRD ${c.metadata.name}`, r);
        const others = (r.body.metadata?.managedFields ?? [])
            // The API server records the CRD's status under its own name.
            .filter((f) => f.subresource !== "status" && f.manager !== "kube-apiserver" && f.manager !== FIELD_MANAGER && !f.manager?.startsWith("pulumi-kubernetes"))
            .map((f) => f.manager ?? "(unnamed)");
        if (others.length > 0) foreign.push(`${c.metadata.name} (${[...new Set(others)].join(", ")})`);
    }
    if (foreign.length > 0) {
        throw new Error(`CRDs managed by another tool: ${foreign.join("; ")}. Nothing was applied. Set ${ADOPT_SETTING} true to take them over (docs/operations.md: Adopting a hand-made install), or remove that tool's ownership first.`);
    }
    return true;
}

/**
 * The CRDs an update would apply, sent to the API server as a server-side dry run. Diff runs it, so a
 * preview fails on what the API server would refuse (an immutable scope, a stored version dropped) and an
 * update fails before its first CRD is applied, not halfway through the ten.
 */
async function dryRun(olds: CrdSetState, news: CrdSetState): Promise<void> {
    if (news.renderDir || [news.kubeconfig, news.context, news.cacheFile, news.digest].includes(UNKNOWN)) return;
    const same = olds.digest === news.digest;
    const changes = (name: string) => !olds.names.includes(name) || (!same && olds.crdDigests?.[name] !== news.crdDigests?.[name]);
    if (!news.names.some(changes)) return;
    const crds = (await readCrds(news)).filter((c) => changes(c.metadata.name));
    const call = await apiClient(news);
    if (!news.adopt && !(await refuseForeign(call, crds, true))) return;
    for (const c of crds) {
        const r = await call("PATCH", `${applyPath(c.metadata.name)}&dryRun=All`, c);
        // A preview identity may read but not write (a dry run is authorized as the write); the update's
        // own apply still meets any refusal first.
        if (forbidden(r)) return;
        if (r.status !== 200 && r.status !== 201) {
            throw new Error(`the API server refuses CRD ${c.metadata.name} of the new bundle (server-side dry run): HTTP ${r.status}: ${r.body.message ?? "no message"}. Nothing was applied.`);
        }
    }
}

async function apply(s: CrdSetState): Promise<void> {
    const crds = await readCrds(s);
    if (s.renderDir) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const fs = require("node:fs") as typeof import("node:fs");
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const YAML = require("yaml") as typeof import("yaml");
        fs.mkdirSync(renderFolder(s.renderDir), { recursive: true });
        for (const c of crds) fs.writeFileSync(renderFile(s.renderDir, c.metadata.name), YAML.stringify(c));
        return;
    }
    const call = await apiClient(s);
    if (!s.adopt) await refuseForeign(call, crds);
    for (const c of crds) {
        const path = `${CRD_PATH}/${c.metadata.name}`;
        const applyCrd = () => call("PATCH", applyPath(c.metadata.name), c);
        let r = await applyCrd();
        if (r.status !== 200 && r.status !== 201) throw failed(`apply CRD ${c.metadata.name}`, r);
        // A stack from before the CRD set applied each CRD as its own resource, under a field manager
        // pulumi-kubernetes-<id>. As co-owner it would keep every field a newer bundle drops, so its entry goes,
        // and a second apply removes what nobody owns any more.
        const managed = r.body.metadata?.managedFields ?? [];
        const kept = managed.filter((f) => !(f.operation === "Apply" && f.manager?.startsWith("pulumi-kubernetes-")));
        if (kept.length < managed.length) {
            const drop = [
                { op: "test", path: "/metadata/resourceVersion", value: r.body.metadata?.resourceVersion },
                { op: "replace", path: "/metadata/managedFields", value: kept },
            ];
            const d = await call("PATCH", path, drop, "application/json-patch+json");
            if (d.status !== 200) throw failed(`drop the former field managers of CRD ${c.metadata.name}`, d);
            r = await applyCrd();
            if (r.status !== 200) throw failed(`apply CRD ${c.metadata.name}`, r);
        }
    }
    const deadline = Date.now() + s.timeoutSeconds * 1000;
    let pending = crds.map((c) => c.metadata.name);
    while (pending.length > 0) {
        const still: string[] = [];
        for (const name of pending) {
            const r = await call("GET", `${CRD_PATH}/${name}`);
            if (r.status !== 200) throw failed(`read CRD ${name}`, r);
            const ok = (t: string) => r.body.status?.conditions?.some((c) => c.type === t && c.status === "True");
            if (!(ok("Established") && ok("NamesAccepted"))) still.push(name);
        }
        pending = still;
        if (pending.length === 0) break;
        if (Date.now() > deadline) throw new Error(`CRDs not Established after ${s.timeoutSeconds} s: ${pending.join(", ")}`);
        await new Promise((r) => setTimeout(r, 250));
    }
}

async function remove(s: CrdSetState, names: string[]): Promise<void> {
    if (s.renderDir) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const fs = require("node:fs") as typeof import("node:fs");
        for (const name of names) fs.rmSync(renderFile(s.renderDir, name), { force: true });
        return;
    }
    const call = await apiClient(s);
    for (const name of names) {
        const r = await call("DELETE", `${CRD_PATH}/${name}`);
        if (r.status !== 200 && r.status !== 202 && r.status !== 404) throw failed(`delete CRD ${name}`, r);
    }
    // Gone means the API server has also deleted every custom resource of these kinds.
    const deadline = Date.now() + s.timeoutSeconds * 1000;
    for (const name of names) {
        for (;;) {
            const r = await call("GET", `${CRD_PATH}/${name}`);
            if (r.status === 404) break;
            if (r.status !== 200) throw failed(`read CRD ${name}`, r);
            if (Date.now() > deadline) throw new Error(`CRD ${name} still exists after ${s.timeoutSeconds} s`);
            await new Promise((r) => setTimeout(r, 250));
        }
    }
}

const sameList = (a: string[] = [], b: string[] = []) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The CRD set's provider; exported for its tests. */
export const crdSetProvider: pulumi.dynamic.ResourceProvider = {
    async diff(_id: string, olds: CrdSetState, news: CrdSetState) {
        const changed = (["digest", "retain", "kubeconfig", "context", "timeoutSeconds", "codeDigest", "adopt"] as const).some((k) => olds[k] !== news[k]);
        // After a refresh, names lists only the CRDs that still exist.
        const replaced = olds.renderDir !== news.renderDir;
        const changes = changed || replaced || !sameList(olds.names, news.names) || JSON.stringify(olds.crdDigests) !== JSON.stringify(news.crdDigests);
        if (changes && !replaced) await dryRun(olds, news);
        return { changes, replaces: replaced ? ["renderDir"] : [] };
    },
    async create(inputs: CrdSetState) {
        await apply(inputs);
        return { id: inputs.names.join(","), outs: inputs };
    },
    async update(_id: string, olds: CrdSetState, news: CrdSetState) {
        // The same CRDs (a rotated kubeconfig, another context, timeout, adopt or code): state learns it, the
        // cluster is not touched.
        const sameCrds = olds.digest === news.digest && olds.retain === news.retain && sameList(olds.names, news.names);
        if (sameCrds) return { outs: news };
        await apply(news);
        // CRDs the new bundle no longer has: deleting one deletes its custom resources, so only without retain.
        const dropped = olds.names.filter((n) => !news.names.includes(n));
        if (!news.retain && dropped.length > 0) await remove(news, dropped);
        return { outs: news };
    },
    async delete(_id: string, props: CrdSetState) {
        if (!props.retain) await remove(props, props.names);
    },
    async read(id: string, props: CrdSetState) {
        if (props.renderDir) return { id, props };
        const call = await apiClient(props);
        const names: string[] = [];
        for (const name of props.names) {
            const r = await call("GET", `${CRD_PATH}/${name}`);
            if (r.status === 200) names.push(name);
            else if (r.status !== 404) throw failed(`read CRD ${name}`, r);
        }
        return { id, props: { ...props, names } };
    },
};

/**
 * The digest of a module's TypeScript source, the same whether it runs through ts-node or compiled into
 * dist/ (program.js picks either): a switch between the two is no change. Without the sources beside
 * dist/, the compiled module's own.
 */
export function moduleDigest(file: string): string {
    const parts = file.split(path.sep);
    const dist = parts.lastIndexOf("dist");
    const source = dist >= 0 && file.endsWith(".js") ? [...parts.slice(0, dist), ...parts.slice(dist + 1)].join(path.sep).replace(/\.js$/, ".ts") : file;
    return createHash("sha256").update(readFileSync(existsSync(source) ? source : file)).digest("hex");
}

// The engine runs delete and read with the provider code serialized at the last create or update; this
// module's digest as an input makes a code change an update, which stores the new code.
const CODE_DIGEST = moduleDigest(__filename);

/** The CRDs of a bundle, applied as one unit; a custom resource of theirs dependsOn this. */
export class CrdSet extends pulumi.dynamic.Resource {
    declare readonly names: pulumi.Output<string[]>;
    declare readonly digest: pulumi.Output<string>;

    constructor(name: string, args: CrdSetArgs, opts?: pulumi.CustomResourceOptions) {
        const state: pulumi.Inputs = {
            names: args.crds.names,
            digest: args.crds.digest,
            crdDigests: args.crds.crdDigests,
            codeDigest: CODE_DIGEST,
            adopt: args.adopt,
            cacheFile: args.cacheFile,
            stripDescriptions: args.stripDescriptions,
            retain: args.retain,
            ...clusterCredentials(args.access),
            renderDir: args.access.renderDir,
            timeoutSeconds: args.timeoutSeconds,
        };
        super(crdSetProvider, name, state, opts, "kubernetes", "CrdSet");
    }
}
