import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { PrometheusOperator } from "../components/prometheusOperator";
import { crdObjects } from "../lib/crdSet";
import { kubeconfigFile } from "../lib/kubeProvider";
import { ACCESS, CRD_SET, operatorArgs, operatorObjects } from "./support/fixtures";
import { byType, inStack, one } from "./support/harness";

describe("PrometheusOperator", () => {
    test("applies the ten CRDs as one resource of names and digests, everything else once, after them", async () => {
        const objects = await operatorObjects();
        const { resources } = await inStack(() => new PrometheusOperator("operator", operatorArgs(objects)));
        assert.equal(byType(resources, "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition").length, 0);
        const set = one(resources, CRD_SET, "operator-crds");
        const crds = objects.filter((o) => o.kind === "CustomResourceDefinition");
        assert.deepEqual(set.inputs.names, crds.map((c) => c.metadata.name));
        assert.ok(set.inputs.names.every((n: string) => n.endsWith(".monitoring.coreos.com")));
        assert.match(set.inputs.digest, /^[0-9a-f]{64}$/);
        assert.equal(set.inputs.retain, true);
        assert.equal(set.inputs.adopt, false);
        // The code of the provider the set runs with: a changed module updates the set.
        assert.equal(set.inputs.codeDigest, createHash("sha256").update(readFileSync(path.join(__dirname, "..", "..", "lib", "crdSet.ts"))).digest("hex"));
        assert.equal(set.inputs.cacheFile, "/cache/bundle.json");
        assert.equal(set.inputs.context, "ctx");
        // The path of the file the kubeconfig was written to, the Kubernetes provider's too.
        assert.equal(set.inputs.kubeconfig, kubeconfigFile("test"));
        assert.equal(readFileSync(kubeconfigFile("test"), "utf8"), ACCESS.kubeconfig);
        // State holds no schema: the serialized provider captured code, not the objects.
        const stored = JSON.stringify(set.inputs);
        assert.ok(stored.length < 64 * 1024, `${stored.length} bytes`);
        assert.equal(stored.includes((crds[0].spec as any).versions[0].schema.openAPIV3Schema.description.slice(0, 60)), false);

        const deployment = one(resources, "kubernetes:apps/v1:Deployment", "operator-prometheus-operator");
        assert.equal(deployment.inputs.metadata.namespace, "default");
        assert.equal(deployment.opts.retainOnDelete, undefined);
        assert.ok(deployment.waitsFor.includes(`${CRD_SET}::operator-crds`));
        one(resources, "kubernetes:core/v1:ServiceAccount", "operator-prometheus-operator");
        one(resources, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "operator-prometheus-operator");
        assert.equal(resources.filter((r) => r.custom).length, objects.length - crds.length + 1);
    });

    test("crdManagement provider: each CRD a provider resource, retained on delete, the other objects after all ten", async () => {
        const objects = await operatorObjects();
        const { resources } = await inStack(() => new PrometheusOperator("operator", operatorArgs(objects, { crdManagement: "provider" })));
        assert.equal(byType(resources, CRD_SET).length, 0);
        const crds = byType(resources, "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition");
        assert.deepEqual(crds.map((c) => c.inputs.metadata.name).sort(), objects.filter((o) => o.kind === "CustomResourceDefinition").map((c) => c.metadata.name).sort());
        for (const c of crds) assert.equal(c.opts.retainOnDelete, true, c.name);
        const deployment = one(resources, "kubernetes:apps/v1:Deployment", "operator-prometheus-operator");
        assert.deepEqual(crds.map((c) => `${c.type}::${c.name}`).filter((k) => !deployment.waitsFor.includes(k)), []);
    });

    test("retainCrds off is carried to the CRD set, which then deletes them", async () => {
        const objects = await operatorObjects();
        const { resources } = await inStack(() => new PrometheusOperator("operator", operatorArgs(objects, { retainCrds: false })));
        assert.equal(one(resources, CRD_SET).inputs.retain, false);
        assert.equal(one(resources, CRD_SET).opts.retainOnDelete, undefined);
    });

    test("retained CRDs are retained for the engine too, so a destroy preview says delete[retain]", async () => {
        const objects = await operatorObjects();
        const { resources } = await inStack(() => new PrometheusOperator("operator", operatorArgs(objects)));
        assert.equal(one(resources, CRD_SET).opts.retainOnDelete, true);
    });

    test("rendering sends no kubeconfig to the CRD set", async () => {
        const objects = await operatorObjects();
        const { resources } = await inStack(() => new PrometheusOperator("operator", operatorArgs(objects, { access: { ...ACCESS, renderDir: "/out" } })));
        const set = one(resources, CRD_SET);
        assert.equal(set.inputs.kubeconfig, undefined);
        assert.equal(set.inputs.context, undefined);
        assert.equal(set.inputs.renderDir, "/out");
    });

    test("stripCrdDescriptions drops the schema texts, keeps properties named description, and changes the digest", async () => {
        const objects = await operatorObjects();
        const stripped = crdObjects(objects, true);
        const schemas = JSON.stringify(stripped.map((c: any) => c.spec.versions.map((v: any) => v.schema.openAPIV3Schema)));
        assert.equal(/"description":"/.test(schemas), false);
        const original = JSON.stringify(crdObjects(objects, false));
        assert.ok(JSON.stringify(stripped).length < original.length / 3, `${JSON.stringify(stripped).length} of ${original.length}`);
        // A schema property that is itself named "description" is part of the API and stays.
        assert.ok(schemas.includes('"description":{'));

        const full = one((await inStack(() => new PrometheusOperator("operator", operatorArgs(objects)))).resources, CRD_SET).inputs;
        const lean = one((await inStack(() => new PrometheusOperator("operator", operatorArgs(objects, { stripCrdDescriptions: true })))).resources, CRD_SET).inputs;
        assert.equal(lean.stripDescriptions, true);
        assert.deepEqual(lean.names, full.names);
        assert.notEqual(lean.digest, full.digest);
    });

    test("a bundle without CRDs is refused", async () => {
        const objects = (await operatorObjects()).filter((o) => o.kind !== "CustomResourceDefinition");
        await assert.rejects(inStack(() => new PrometheusOperator("operator", operatorArgs(objects, { version: "v9.9.9" }))), /v9.9.9: bundle.yaml holds no CustomResourceDefinition/);
    });
});
