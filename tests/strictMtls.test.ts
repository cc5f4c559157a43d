import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Bookinfo } from "../components/bookinfo";
import { StrictMtls } from "../components/strictMtls";
import { inStack, one } from "./support/harness";

describe("StrictMtls", () => {
    test("a namespace-wide STRICT PeerAuthentication in the app's namespace, after that namespace", async () => {
        const { value: app, resources } = await inStack(() => {
            const app = new Bookinfo("bookinfo", { objects: [], namespace: "shop", awaitServiceEndpoints: true });
            new StrictMtls("strict", { app });
            return app;
        });
        const pa = one(resources, "kubernetes:security.istio.io/v1:PeerAuthentication");
        assert.deepEqual(pa.inputs.metadata, { name: "default", namespace: "shop" });
        assert.deepEqual(pa.inputs.spec, { mtls: { mode: "STRICT" } });
        assert.deepEqual(pa.opts.dependsOn, [app.namespace]);
    });
});
