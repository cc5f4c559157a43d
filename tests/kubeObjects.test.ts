import * as k8s from "@pulumi/kubernetes";
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { declareObjects } from "../lib/kubeObjects";
import { KubeObject } from "../lib/manifests";
import { attempt, inStack, one, secretValue } from "./support/harness";

const object = (apiVersion: string, kind: string, name: string, rest: Record<string, unknown> = {}): KubeObject => ({ apiVersion, kind, metadata: { name, namespace: "shop" }, ...rest });

describe("declareObjects", () => {
    test("each object is its kind's SDK class, under the name and type token a stack already holds", async () => {
        const objects = [
            object("apps/v1", "Deployment", "web", { spec: { replicas: 1 } }),
            object("v1", "Secret", "token", { data: { key: "c2VjcmV0" } }),
            object("rbac.authorization.k8s.io/v1", "ClusterRole", "reader", { rules: [] }),
            object("monitoring.coreos.com/v1", "ServiceMonitor", "web", { spec: { endpoints: [] } }),
        ];
        const { resources, value } = await inStack(() => declareObjects("app", objects, {}));
        assert.ok(value[0] instanceof k8s.apps.v1.Deployment);
        assert.ok(value[1] instanceof k8s.core.v1.Secret);
        assert.ok(value[2] instanceof k8s.rbac.v1.ClusterRole);
        assert.ok(value[3] instanceof k8s.apiextensions.CustomResource);
        const deployment = one(resources, "kubernetes:apps/v1:Deployment", "app-web");
        assert.deepEqual(deployment.inputs.spec, { replicas: 1 });
        // The class's aliases: a Deployment once registered as extensions/v1beta1 is the same resource.
        assert.ok(deployment.opts.aliasTypes.includes("kubernetes:extensions/v1beta1:Deployment"), deployment.opts.aliasTypes.join(", "));
        // A Secret's data is sent and stored as a secret.
        assert.deepEqual(secretValue(one(resources, "kubernetes:core/v1:Secret", "app-token").inputs.data), { key: "c2VjcmV0" });
        assert.deepEqual(one(resources, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "app-reader").inputs.rules, []);
        assert.deepEqual(one(resources, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "app-web").inputs.spec, { endpoints: [] });
    });

    test("a core kind the SDK does not know is refused by name, before anything is registered", async () => {
        const run = await attempt(() => declareObjects("app", [object("v1", "Teleporter", "x")], {}));
        assert.match(String(run.error), /Teleporter x: the core group has no kind Teleporter/);
        assert.equal(run.resources.length, 0);
    });
});
