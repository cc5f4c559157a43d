import assert from "node:assert/strict";
import Ajv from "ajv";
import { describe, test } from "node:test";
import { KubeObject } from "../lib/manifests";
import { VERSIONS } from "../lib/versions";
import { configKey } from "../lib/config";
import { Recorded, runProgram, testConfig } from "./support/harness";
import { upstreamObjects } from "./support/upstream";

// Every custom resource the stack declares is checked against the openAPIV3Schema of its CRD in the real
// upstream files. Unknown fields are made errors: with server-side apply's strict field validation the
// API server rejects them, and a typo would otherwise be pruned silently.

type Schema = Record<string, any>;

function closeObjects(s: Schema): Schema {
    if (Array.isArray(s)) return s.map(closeObjects);
    if (s === null || typeof s !== "object") return s;
    const out: Schema = {};
    for (const [k, v] of Object.entries(s)) out[k] = k === "properties" ? Object.fromEntries(Object.entries(v as Schema).map(([p, ps]) => [p, closeObjects(ps)])) : closeObjects(v);
    if (out.properties && out.additionalProperties === undefined && !out["x-kubernetes-preserve-unknown-fields"]) {
        // apiVersion, kind and metadata are checked by the API server itself.
        out.additionalProperties = false;
    }
    if (out["x-kubernetes-int-or-string"]) {
        delete out.type;
        out.anyOf = [{ type: "integer" }, { type: "string" }];
    }
    return out;
}

function schemaFor(crds: KubeObject[], apiVersion: string, kind: string): Schema {
    const [group, version] = apiVersion.split("/");
    const crd = crds.find((c) => c.kind === "CustomResourceDefinition" && (c.spec as Schema).group === group && (c.spec as Schema).names.kind === kind);
    assert.ok(crd, `no CRD for ${apiVersion} ${kind}`);
    const v = (crd.spec as Schema).versions.find((x: Schema) => x.name === version);
    assert.ok(v?.served, `${kind} ${apiVersion} is not served by its CRD`);
    const root = closeObjects(v.schema.openAPIV3Schema);
    // Every object has these whether or not a CRD lists them (Istio's do not).
    root.properties = { apiVersion: { type: "string" }, kind: { type: "string" }, metadata: { type: "object" }, ...root.properties };
    return root;
}

function validator(crds: KubeObject[]) {
    // The CRDs' patterns are Go (RE2) expressions; a leading (?i), which the ScrapeConfig CRD uses, is JavaScript's i flag.
    const regExp = Object.assign((pattern: string, flags: string) => (pattern.includes("(?i)") ? new RegExp(pattern.replace("(?i)", ""), `${flags}i`) : new RegExp(pattern, flags)), { code: "new RegExp" });
    const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true, code: { regExp } });
    return (r: { apiVersion: string; kind: string; [k: string]: unknown }) => {
        const validate = ajv.compile(schemaFor(crds, r.apiVersion, r.kind));
        const { metadata, ...body } = r;
        const ok = validate({ ...body, metadata: { ...(metadata as object) } });
        return ok ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
    };
}

let declared: Recorded[] | undefined;
async function customResources(): Promise<Recorded[]> {
    if (!declared) {
        const { resources } = await runProgram(testConfig({ strictMtls: true, scrapeServices: ["productpage", "reviews", "details"], alertmanager: true, alertWebhookUrl: "https://hooks.example/w" }), [configKey("alertWebhookUrl")]);
        declared = resources.filter((r) => r.custom && /^kubernetes:(monitoring\.coreos\.com|security\.istio\.io)\//.test(r.type));
    }
    return declared;
}

describe("custom resources against their CRDs", () => {
    for (const operatorVersion of [VERSIONS.prometheusOperator.version, VERSIONS.prometheusOperator.upgradeFrom]) {
        test(`Prometheus, Alertmanager and ServiceMonitors validate against the bundle of ${operatorVersion}`, async () => {
            const check = validator(await upstreamObjects("operator", operatorVersion));
            const monitoring = (await customResources()).filter((r) => r.type.startsWith("kubernetes:monitoring.coreos.com/"));
            assert.deepEqual(monitoring.map((r) => r.inputs.kind).sort(), ["Alertmanager", "Prometheus", "PrometheusRule", "ScrapeConfig", "ScrapeConfig", "ServiceMonitor", "ServiceMonitor", "ServiceMonitor"]);
            for (const r of monitoring) assert.deepEqual(check(r.inputs as never), [], `${r.inputs.kind} ${r.name}`);
        });
    }

    test(`PeerAuthentication validates against Istio ${VERSIONS.istio.version}'s CRDs`, async () => {
        const check = validator(await upstreamObjects("istioCrds", VERSIONS.istio.version));
        const pa = (await customResources()).filter((r) => r.inputs.kind === "PeerAuthentication");
        assert.equal(pa.length, 1);
        assert.deepEqual(check(pa[0].inputs as never), []);
    });

    test("the check catches a misspelt field, a wrong type and a value outside an enum", async () => {
        const check = validator(await upstreamObjects("operator", VERSIONS.prometheusOperator.version));
        const sm = (await customResources()).find((r) => r.inputs.kind === "ServiceMonitor")!.inputs;
        const ep = sm.spec.endpoints[0];
        assert.notDeepEqual(check({ ...sm, spec: { ...sm.spec, scrapeClas: "x" } } as never), []);
        assert.notDeepEqual(check({ ...sm, spec: { ...sm.spec, endpoints: [{ ...ep, scheme: "quic" }] } } as never), []);
        const prom = (await customResources()).find((r) => r.inputs.kind === "Prometheus")!.inputs;
        assert.notDeepEqual(check({ ...prom, spec: { ...prom.spec, replicas: "two" } } as never), []);
        assert.notDeepEqual(check({ ...prom, spec: { ...prom.spec, scrapeClasses: [{ ...prom.spec.scrapeClasses[0], fallbackScrapeProtocol: "Text" }] } } as never), []);
    });
});
