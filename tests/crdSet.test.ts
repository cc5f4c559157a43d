import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { crdDigests, crdSetProvider, digestOf } from "../lib/crdSet";
import { KubeObject } from "../lib/manifests";
import { fakeApiServer } from "./support/discovery";

// State as the CRD set stores it; the cache file does not exist and the server does not answer, so any
// apply, read or delete of this state fails.
const OLDS = {
    names: ["probes.monitoring.coreos.com"], digest: "d1", cacheFile: "/nonexistent/bundle.json", stripDescriptions: false, retain: true,
    kubeconfig: "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {token: old}}]\n",
    timeoutSeconds: 60,
};
const ROTATED = { ...OLDS, kubeconfig: OLDS.kubeconfig.replace("token: old", "token: new") };

describe("the CRD set's provider", () => {
    test("a rotated kubeconfig is an update of state alone: no apply reaches the cluster", async () => {
        const diff = await crdSetProvider.diff!("id", OLDS, ROTATED);
        assert.equal(diff.changes, true);
        assert.deepEqual(diff.replaces, []);
        assert.deepEqual(await crdSetProvider.update!("id", OLDS, ROTATED), { outs: ROTATED });
    });

    test("a changed digest is applied (and here fails, naming the cache file)", async () => {
        await assert.rejects(crdSetProvider.update!("id", OLDS, { ...ROTATED, digest: "d2" }), /cannot read the verified bundle \/nonexistent\/bundle\.json/);
    });

    test("new provider code alone is an update that stores it, without applying anything", async () => {
        const old = { ...OLDS, codeDigest: "c1" };
        const next = { ...OLDS, codeDigest: "c2" };
        assert.equal((await crdSetProvider.diff!("id", old, next)).changes, true);
        assert.deepEqual(await crdSetProvider.update!("id", old, next), { outs: next });
    });
});

const crd = (plural: string, scope: string): KubeObject => ({
    apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name: `${plural}.example.com` },
    spec: { group: "example.com", scope, names: { plural, kind: plural }, versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object" } } }] },
});

describe("the CRD set's preview: a server-side dry run of the CRDs that change", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "asm-prom-crdset-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const before = [crd("widgets", "Namespaced"), crd("gadgets", "Namespaced")];
    const state = (crds: KubeObject[], kubeconfig: string, file: string) => {
        writeFileSync(file, JSON.stringify(crds));
        return { names: crds.map((c) => c.metadata.name), digest: digestOf(crds), crdDigests: crdDigests(crds), cacheFile: file, stripDescriptions: false, retain: true, kubeconfig, timeoutSeconds: 60, adopt: false };
    };
    // The API server: every CRD exists, applied by the set alone; a dry run answers what dryRunAnswer says.
    const server = (dryRunAnswer: (name: string) => [number, unknown]) => fakeApiServer((method, url) => {
        const name = /customresourcedefinitions\/([^?]+)/.exec(url)?.[1] ?? "";
        if (method === "GET") return [200, { metadata: { name, managedFields: [{ manager: "asm-prometheus-mtls", operation: "Apply" }] } }];
        if (method === "PATCH" && url.includes("dryRun=All")) return dryRunAnswer(name);
        return [500, { message: `unexpected ${method} ${url}` }];
    });

    test("only the CRD whose digest changed is sent, as a dry run; nothing is written", async () => {
        const api = await server(() => [200, {}]);
        try {
            const olds = state(before, api.kubeconfig, path.join(dir, "old.json"));
            const changed = [{ ...before[0], metadata: { ...before[0].metadata, labels: { release: "next" } } }, before[1]];
            const news = state(changed, api.kubeconfig, path.join(dir, "new.json"));
            assert.deepEqual(await crdSetProvider.diff!("id", olds, news), { changes: true, replaces: [] });
            assert.deepEqual(api.seen.map((r) => `${r.method} ${r.url}`), [
                "GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com",
                "PATCH /apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com?fieldManager=asm-prometheus-mtls&force=true&dryRun=All",
            ]);
            assert.deepEqual(JSON.parse(api.seen[1].body).metadata.labels, { release: "next" });
        } finally {
            api.close();
        }
    });

    test("what the API server refuses fails the diff, naming the CRD and the server's reason", async () => {
        const refusal = "CustomResourceDefinition.apiextensions.k8s.io \"gadgets.example.com\" is invalid: spec.scope: Invalid value: \"Cluster\": field is immutable";
        const api = await server((name) => (name === "gadgets.example.com" ? [422, { kind: "Status", code: 422, message: refusal }] : [200, {}]));
        try {
            const olds = state(before, api.kubeconfig, path.join(dir, "old.json"));
            const news = state([before[0], crd("gadgets", "Cluster")], api.kubeconfig, path.join(dir, "new.json"));
            await assert.rejects(crdSetProvider.diff!("id", olds, news), (e: Error) => {
                assert.equal(e.message, `the API server refuses CRD gadgets.example.com of the new bundle (server-side dry run): HTTP 422: ${refusal}. Nothing was applied.`);
                return true;
            });
            assert.ok(api.seen.every((r) => r.method === "GET" || r.url.includes("dryRun=All")));
        } finally {
            api.close();
        }
    });

    test("an identity that may not write (403) still previews; credentials or code alone ask nothing", async () => {
        const api = await server(() => [403, { message: "forbidden" }]);
        try {
            const olds = state(before, api.kubeconfig, path.join(dir, "old.json"));
            const news = state([crd("widgets", "Cluster"), before[1]], api.kubeconfig, path.join(dir, "new.json"));
            assert.equal((await crdSetProvider.diff!("id", olds, news)).changes, true);
            const asked = api.seen.length;
            assert.equal(asked, 2);
            const same = state(before, api.kubeconfig, path.join(dir, "same.json"));
            assert.equal((await crdSetProvider.diff!("id", olds, { ...same, kubeconfig: `${api.kubeconfig}\n`, codeDigest: "c2" })).changes, true);
            // A cluster being replaced: its kubeconfig is not known during the preview.
            assert.equal((await crdSetProvider.diff!("id", olds, { ...news, kubeconfig: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" })).changes, true);
            assert.equal(api.seen.length, asked);
        } finally {
            api.close();
        }
    });
});
