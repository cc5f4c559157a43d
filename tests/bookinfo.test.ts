import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Bookinfo } from "../components/bookinfo";
import { bookinfoObjects } from "./support/fixtures";
import { byType, inStack, one } from "./support/harness";

describe("Bookinfo", () => {
    test("every object lands in its own injected namespace", async () => {
        const objects = await bookinfoObjects();
        const { resources } = await inStack(() => new Bookinfo("bookinfo", { objects, namespace: "shop", awaitServiceEndpoints: true }));
        const ns = one(resources, "kubernetes:core/v1:Namespace");
        assert.equal(ns.inputs.metadata.name, "shop");
        assert.equal(ns.inputs.metadata.labels["istio-injection"], "enabled");
        assert.equal(ns.inputs.metadata.labels["kubernetes.io/metadata.name"], "shop");
        const placed = resources.filter((r) => r.custom && r.type !== "kubernetes:core/v1:Namespace");
        assert.equal(placed.length, objects.length);
        for (const r of placed) assert.equal(r.inputs.metadata.namespace, "shop", r.name);
        assert.equal(byType(resources, "kubernetes:apps/v1:Deployment").length, 6);
        for (const svc of byType(resources, "kubernetes:core/v1:Service")) assert.equal(svc.inputs.metadata.annotations, undefined, svc.name);
    });

    test("Services are not awaited only when told so", async () => {
        const objects = await bookinfoObjects();
        const { resources } = await inStack(() => new Bookinfo("bookinfo", { objects, namespace: "shop", awaitServiceEndpoints: false }));
        const services = byType(resources, "kubernetes:core/v1:Service");
        assert.equal(services.length, 4);
        for (const svc of services) assert.deepEqual(svc.inputs.metadata.annotations, { "pulumi.com/skipAwait": "true" }, svc.name);
        for (const d of byType(resources, "kubernetes:apps/v1:Deployment")) assert.equal(d.inputs.metadata.annotations, undefined, d.name);
    });

    test("in default, the guide's namespace: labelled by a server-side patch, never created, and the objects wait for it", async () => {
        const objects = await bookinfoObjects();
        const { resources } = await inStack(() => new Bookinfo("bookinfo", { objects, namespace: "default", awaitServiceEndpoints: true }));
        assert.equal(byType(resources, "kubernetes:core/v1:Namespace").length, 0);
        const patch = one(resources, "kubernetes:core/v1:NamespacePatch");
        assert.deepEqual(patch.inputs.metadata, { name: "default", labels: { "istio-injection": "enabled" } });
        const deployment = one(resources, "kubernetes:apps/v1:Deployment", "bookinfo-productpage-v1");
        assert.equal(deployment.inputs.metadata.namespace, "default");
        assert.ok(deployment.waitsFor.includes(`kubernetes:core/v1:NamespacePatch::${patch.name}`));
    });
});
