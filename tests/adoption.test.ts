import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { configKey } from "../lib/config";
import { discovery } from "./support/discovery";
import { CRD_SET } from "./support/fixtures";
import { failingProgram, one, runProgram, testConfig } from "./support/harness";

function deployment(namespace: string, name: string, managers: string[]) {
    return { apiVersion: "apps/v1", kind: "Deployment", metadata: { namespace, name, managedFields: managers.map((manager) => ({ manager, operation: manager.startsWith("pulumi") ? "Apply" : "Update" })) } };
}

async function cluster(deployments: Record<string, unknown[]>, extra: Parameters<typeof testConfig>[0] = {}) {
    const { kubeconfig } = await discovery(0, deployments);
    return testConfig({ kubeconfig, ...extra });
}

describe("adopting a hand-made install", () => {
    test("the guide's kubectl create -f: refused before anything is registered, naming what was found and the setting", async () => {
        const config = await cluster({
            default: [deployment("default", "prometheus-operator", ["kubectl-create", "kube-controller-manager"]), deployment("default", "unrelated", ["kubectl-create"])],
            bookinfo: [deployment("bookinfo", "productpage-v1", ["kubectl-client-side-apply"])],
        });
        const { error, resources } = await failingProgram(config, [configKey("kubeconfig")]);
        assert.equal(String(error), `Error: the cluster already has Deployment default/prometheus-operator, bookinfo/productpage-v1, made outside Pulumi (field managers: kube-controller-manager, kubectl-client-side-apply, kubectl-create). Set ${configKey("adoptExisting")} true to take over the objects of the same names without deleting them (docs/operations.md: Adopting a hand-made install), or delete them first.`);
        assert.deepEqual(resources, []);
    });

    test("objects this stack applied (a pulumi-kubernetes field manager) are its own", async () => {
        const config = await cluster({ default: [deployment("default", "prometheus-operator", ["pulumi-kubernetes-5d1d09f9", "kube-controller-manager"])] });
        const { resources } = await runProgram(config, [configKey("kubeconfig")]);
        assert.equal(one(resources, "pulumi:providers:kubernetes").inputs.upsertExistingObjects, "false");
    });

    test("adoptExisting: the provider takes over existing objects instead of refusing them", async () => {
        const config = await cluster({ default: [deployment("default", "prometheus-operator", ["kubectl-create"])] }, { adoptExisting: true });
        const { resources } = await runProgram(config, [configKey("kubeconfig")]);
        assert.equal(one(resources, "pulumi:providers:kubernetes").inputs.upsertExistingObjects, "true");
        // Every object is applied with force: another manager's values (the guide's kubectl apply) are taken
        // over instead of failing the up with a field conflict. Namespaces keep their labels' owners.
        const forced = (r: { inputs: { metadata?: { annotations?: Record<string, string> } } }) => r.inputs.metadata?.annotations?.["pulumi.com/patchForce"] === "true";
        const objects = resources.filter((r) => r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:core/v1:Namespace"));
        assert.ok(objects.length >= 20, `${objects.length} objects`);
        assert.deepEqual(objects.filter((r) => !forced(r)).map((r) => r.name), []);
        const plain = await runProgram(testConfig());
        assert.deepEqual(plain.resources.filter(forced).map((r) => r.name), []);
    });

    test("keepOnDestroy: the chosen parts are retained on destroy, the rest is not", async () => {
        const { resources } = await runProgram(testConfig({ keepOnDestroy: ["operator", "bookinfo"] }));
        const retained = (r: { opts: { retainOnDelete?: boolean } }) => r.opts.retainOnDelete === true;
        const operator = resources.filter((r) => r.custom && r.name.startsWith("operator-") && r.type !== CRD_SET);
        const bookinfo = resources.filter((r) => r.custom && r.name.startsWith("bookinfo-"));
        assert.ok(operator.length >= 5 && bookinfo.length >= 10);
        assert.deepEqual([...operator, ...bookinfo].filter((r) => !retained(r)).map((r) => r.name), []);
        assert.ok(bookinfo.some((r) => r.type === "kubernetes:core/v1:Namespace"));
        // The CRDs follow retainCrds (on by default), nothing else is retained.
        assert.deepEqual(resources.filter((r) => retained(r) && !operator.includes(r) && !bookinfo.includes(r)).map((r) => r.name), ["operator-crds"]);

        const none = await runProgram(testConfig());
        assert.deepEqual(none.resources.filter(retained).map((r) => r.name), ["operator-crds"]);
    });
});
