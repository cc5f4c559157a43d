import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { askCluster } from "../lib/askCluster";
import { discovery } from "./support/discovery";

describe("askCluster: the program's questions to the cluster, in a process of their own", () => {
    test("answers with what the question returns, the credentials given on stdin", async () => {
        const deployment = { apiVersion: "apps/v1", kind: "Deployment", metadata: { namespace: "shop", name: "web", managedFields: [{ manager: "kubectl-create", operation: "Update" }] } };
        const api = await discovery(0, { shop: [deployment] });
        try {
            const answer = await askCluster("handMadeDeployments", { kubeconfig: api.kubeconfig }, [{ namespace: "shop", name: "web" }, { namespace: "shop", name: "absent" }]);
            assert.deepEqual(answer, { found: ["shop/web"], managers: ["kubectl-create"] });
        } finally {
            api.close();
        }
    });

    test("the question's error, message intact", async () => {
        const api = await discovery(5);
        try {
            await assert.rejects(askCluster("waitUntilServed", { kubeconfig: api.kubeconfig }, { group: "security.istio.io", version: "v1", resource: "peerauthentications" }, 1, "the hint"),
                { message: /^security\.istio\.io\/v1 peerauthentications is not served by the cluster's API server after 1 s \(last answer: HTTP 503\); the hint$/ });
        } finally {
            api.close();
        }
    });

    test("a question it does not know is refused, naming those it knows", async () => {
        const ask = askCluster as (q: string, ...a: unknown[]) => Promise<unknown>;
        await assert.rejects(ask("deleteEverything"), { message: 'no such question: "deleteEverything"; accepted: handMadeDeployments, waitUntilServed' });
    });
});
