import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { waitUntilServed } from "../lib/apiServed";
import { discovery } from "./support/discovery";

const PA = { group: "security.istio.io", version: "v1", resource: "peerauthentications" };

describe("waiting for an API to be served", () => {
    test("returns at the first answer that lists the resource", async () => {
        const api = await discovery(1);
        try {
            await waitUntilServed({ kubeconfig: api.kubeconfig }, PA, 30, "hint");
            assert.equal(api.requests(), 2);
        } finally {
            api.close();
        }
    });

    test("a group served without the resource is not enough", async () => {
        const api = await discovery(0);
        try {
            await assert.rejects(waitUntilServed({ kubeconfig: api.kubeconfig }, { ...PA, resource: "authorizationpolicies" }, 1, "hint"),
                /security\.istio\.io\/v1 authorizationpolicies is not served .* after 1 s \(last answer: security\.istio\.io\/v1 is served without authorizationpolicies\); hint$/);
        } finally {
            api.close();
        }
    });

    test("at the deadline: the API, the time waited, the last answer and the hint", async () => {
        const api = await discovery(Infinity);
        try {
            await assert.rejects(waitUntilServed({ kubeconfig: api.kubeconfig }, PA, 1, "raise the timeout"),
                { message: "security.istio.io/v1 peerauthentications is not served by the cluster's API server after 1 s (last answer: HTTP 503); raise the timeout" });
            assert.ok(api.requests() >= 1);
        } finally {
            api.close();
        }
    });
});
