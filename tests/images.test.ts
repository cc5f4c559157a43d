import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mirrorImage, prometheusImage, splitImage } from "../lib/images";
import { VERSIONS } from "../lib/versions";
import { Recorded, runProgram, testConfig } from "./support/harness";

const MIRROR = "acr-ee-registry.cn-hangzhou.cr.aliyuncs.com/mirror";

/** Every string of the resources' inputs that names a public registry the mirror is there to replace. */
function publicRegistryRefs(resources: Recorded[]): string[] {
    const found: string[] = [];
    const walk = (v: unknown, where: string) => {
        if (typeof v === "string") {
            if (/(^|[=\s"])(docker\.io|quay\.io|gcr\.io|ghcr\.io|registry\.k8s\.io)\//.test(v)) found.push(`${where}: ${v}`);
        } else if (v && typeof v === "object") {
            for (const [k, x] of Object.entries(v)) walk(x, `${where}.${k}`);
        }
    };
    for (const r of resources) walk(r.inputs, `${r.type} ${r.name}`);
    return found;
}

/** Every image the cluster would pull: container images, the operator's image flags, the Prometheus image. */
function pulledImages(resources: Recorded[]): string[] {
    const images: string[] = [];
    for (const r of resources) {
        for (const c of [...(r.inputs.spec?.template?.spec?.containers ?? []), ...(r.inputs.spec?.template?.spec?.initContainers ?? [])]) {
            images.push(c.image);
            for (const a of c.args ?? []) {
                const m = /^--(prometheus-config-reloader|prometheus-default-base-image)=(.+)$/.exec(a);
                if (m) images.push(m[2]);
            }
        }
        if (r.type === "kubernetes:monitoring.coreos.com/v1:Prometheus" && r.inputs.spec.image) images.push(r.inputs.spec.image);
    }
    return images;
}

describe("image registry mirror", () => {
    test("a reference keeps its path and loses its registry, Docker's defaults applied", () => {
        assert.deepEqual(splitImage("docker.io/istio/examples-bookinfo-details-v1:1.20.3"), { registry: "docker.io", path: "istio/examples-bookinfo-details-v1:1.20.3" });
        assert.deepEqual(splitImage("istio/proxyv2:1.28.0"), { registry: "docker.io", path: "istio/proxyv2:1.28.0" });
        assert.deepEqual(splitImage("busybox"), { registry: "docker.io", path: "library/busybox" });
        assert.deepEqual(splitImage("localhost:5000/a/b:1"), { registry: "localhost:5000", path: "a/b:1" });
        assert.equal(mirrorImage("quay.io/prometheus/prometheus", MIRROR), `${MIRROR}/prometheus/prometheus`);
        assert.equal(mirrorImage("quay.io/prometheus/prometheus", undefined), "quay.io/prometheus/prometheus");
        assert.equal(prometheusImage("v3.0.0", MIRROR), `${MIRROR}/prometheus/prometheus:v3.0.0`);
    });

    test("without a mirror the stack deploys the upstream references unchanged", async () => {
        const { resources } = await runProgram(testConfig());
        const images = pulledImages(resources);
        assert.ok(images.includes(`quay.io/prometheus-operator/prometheus-operator:${VERSIONS.prometheusOperator.version}`), images.join("\n"));
        assert.ok(images.filter((i) => i.startsWith("docker.io/istio/examples-bookinfo-")).length === 6, images.join("\n"));
        assert.ok(publicRegistryRefs(resources).length >= 8);
    });

    test("with a mirror no image reference escapes: Bookinfo, the operator, its reloader and base image, Prometheus", async () => {
        const { resources } = await runProgram(testConfig({ imageRegistryMirror: MIRROR }));
        assert.deepEqual(publicRegistryRefs(resources), []);
        const images = pulledImages(resources);
        assert.equal(images.length, 6 + 1 + 2 + 1, images.join("\n"));
        for (const image of images) assert.ok(image.startsWith(`${MIRROR}/`), image);
        assert.ok(images.includes(`${MIRROR}/prometheus-operator/prometheus-config-reloader:${VERSIONS.prometheusOperator.version}`));
        // The operator's default and our Prometheus name the same image.
        assert.ok(images.includes(`${MIRROR}/prometheus/prometheus`));
        assert.ok(images.includes(`${MIRROR}/prometheus/prometheus:${VERSIONS.prometheus.version}`));
    });
});
