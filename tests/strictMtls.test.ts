import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Bookinfo } from "../components/bookinfo";
import { StrictMtls } from "../components/strictMtls";
import { discovery } from "./support/discovery";
import { inStack, one, registered } from "./support/harness";

function strict(kubeconfig: string, apiTimeoutSeconds: number) {
    return async () => {
        const app = new Bookinfo("bookinfo", { objects: [], namespace: "shop", awaitServiceEndpoints: true });
        await registered(new StrictMtls("strict", { namespace: app.namespaceName, access: { kubeconfig }, apiTimeoutSeconds }, { dependsOn: [app.namespace] }).peerAuthentication);
        return app;
    };
}

describe("StrictMtls", () => {
    test("a namespace-wide STRICT PeerAuthentication in the app's namespace, after that namespace", async () => {
        const { resources } = await inStack(() => {
            const app = new Bookinfo("bookinfo", { objects: [], namespace: "shop", awaitServiceEndpoints: true });
            new StrictMtls("strict", { namespace: app.namespaceName, access: {}, apiTimeoutSeconds: 0 }, { dependsOn: [app.namespace] });
        });
        const pa = one(resources, "kubernetes:security.istio.io/v1:PeerAuthentication");
        assert.deepEqual(pa.inputs.metadata, { name: "default", namespace: "shop" });
        assert.deepEqual(pa.inputs.spec, { mtls: { mode: "STRICT" } });
        assert.deepEqual(pa.waitsFor, ["kubernetes:core/v1:Namespace::bookinfo-ns"]);
    });

    test("waits until the API server serves security.istio.io/v1 peerauthentications, then applies it", async () => {
        const api = await discovery(2);
        try {
            const { resources } = await inStack(strict(api.kubeconfig, 30));
            // Two 503s, then the list: the resource was registered only after the third answer.
            assert.equal(api.requests(), 3);
            const pa = one(resources, "kubernetes:security.istio.io/v1:PeerAuthentication");
            assert.deepEqual(pa.inputs.spec, { mtls: { mode: "STRICT" } });
        } finally {
            api.close();
        }
    });
});
