import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { crdSetProvider } from "../lib/crdSet";

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
