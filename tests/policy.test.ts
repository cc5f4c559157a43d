import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { certVolume, MTLS_SCRAPE_CLASS, prometheusCertMount, sidecarAnnotations } from "../lib/certContract";
import { mtlsScrapeUnderStrict, noPlaintextCredentials, prometheusCertSidecar, TYPES } from "../policy/policies";

const DEFAULTS = { strictNamespaces: [] as string[], meshRootNamespace: "istio-system", scrapeClasses: [MTLS_SCRAPE_CLASS] };
type Shape = { type: string; props: any };

/** Runs a policy as the pack's server does, collecting what it reports. */
function stackViolations(resources: Shape[], config: Partial<typeof DEFAULTS> = {}): string[] {
    const found: string[] = [];
    const args = { resources: resources.map((r, i) => ({ ...r, urn: `urn:${i}`, name: `r${i}` })), getConfig: () => ({ ...DEFAULTS, ...config }) };
    void mtlsScrapeUnderStrict.validateStack(args as any, (message: string) => found.push(message));
    return found;
}

function resourceViolations(policy: typeof prometheusCertSidecar, r: Shape): string[] {
    const found: string[] = [];
    const validate = policy.validateResource as (args: any, report: (m: string) => void) => void;
    validate({ ...r, urn: "urn:x", name: "x", getConfig: () => ({}) }, (m) => found.push(m));
    return found;
}

const peerAuth = (namespace: string, extra: any = {}): Shape => ({
    type: "kubernetes:security.istio.io/v1:PeerAuthentication",
    props: { metadata: { name: "default", namespace }, spec: { mtls: { mode: "STRICT" }, ...extra } },
});
const serviceMonitor = (namespace: string, spec: any): Shape => ({ type: TYPES.serviceMonitor, props: { metadata: { name: "productpage", namespace }, spec } });
/** The ServiceMonitor MtlsServiceMonitor declares. */
const OURS = { endpoints: [{ port: "http", scheme: "https", path: "/metrics" }], scrapeClass: MTLS_SCRAPE_CLASS, selector: { matchLabels: { app: "productpage" } } };
const PLAIN = { endpoints: [{ port: "http", path: "/metrics" }], selector: { matchLabels: { app: "productpage" } } };

describe("policy mtls-scrape-under-strict", () => {
    test("a plain-text ServiceMonitor in a namespace the stack makes STRICT fails, naming the scheme and the scrape class", () => {
        const v = stackViolations([peerAuth("bookinfo"), serviceMonitor("bookinfo", PLAIN)]);
        assert.equal(v.length, 2);
        assert.match(v[0], /^ServiceMonitor bookinfo\/productpage selects pods in bookinfo, where STRICT mTLS refuses plain-text scrapes: endpoint 0 uses scheme "http"; accepted: "https"$/);
        assert.match(v[1], /scrapeClass null does not present the mesh certificate; accepted: "istio-mtls"$/);
    });
    test("the stack's own ServiceMonitor passes", () => {
        assert.deepEqual(stackViolations([peerAuth("bookinfo"), serviceMonitor("bookinfo", OURS)]), []);
    });
    test("outside STRICT namespaces, plain text is the monitor's business", () => {
        assert.deepEqual(stackViolations([peerAuth("other"), serviceMonitor("bookinfo", PLAIN)]), []);
        // A PeerAuthentication with a workload selector makes some pods STRICT, not the namespace.
        assert.deepEqual(stackViolations([peerAuth("bookinfo", { selector: { matchLabels: { app: "x" } } }), serviceMonitor("bookinfo", PLAIN)]), []);
        assert.deepEqual(stackViolations([{ ...peerAuth("bookinfo"), props: { ...peerAuth("bookinfo").props, spec: { mtls: { mode: "PERMISSIVE" } } } }, serviceMonitor("bookinfo", PLAIN)]), []);
    });
    test("STRICT in the mesh's root namespace, or named in the config, covers the monitor too", () => {
        assert.equal(stackViolations([peerAuth("istio-system"), serviceMonitor("anywhere", PLAIN)]).length, 2);
        assert.equal(stackViolations([serviceMonitor("bookinfo", PLAIN)], { strictNamespaces: ["bookinfo"] }).length, 2);
        assert.equal(stackViolations([serviceMonitor("bookinfo", PLAIN)], { strictNamespaces: ["*"] }).length, 2);
        assert.equal(stackViolations([peerAuth("mesh-root"), serviceMonitor("x", PLAIN)], { meshRootNamespace: "mesh-root" }).length, 2);
    });
    test("the namespaces a monitor selects are what counts, not where it lives", () => {
        const elsewhere = serviceMonitor("monitoring", { ...PLAIN, namespaceSelector: { matchNames: ["bookinfo"] } });
        assert.match(stackViolations([peerAuth("bookinfo"), elsewhere])[0], /^ServiceMonitor monitoring\/productpage selects pods in bookinfo,/);
        const any = serviceMonitor("monitoring", { ...OURS, scrapeClass: "tls", namespaceSelector: { any: true } });
        assert.deepEqual(stackViolations([peerAuth("bookinfo"), any]).map((m) => m.replace(/:.*/, "")), ["ServiceMonitor monitoring/productpage selects pods in every namespace, where STRICT mTLS refuses plain-text scrapes"]);
    });
    test("a PodMonitor's podMetricsEndpoints are held to the same", () => {
        const pm: Shape = { type: TYPES.podMonitor, props: { metadata: { name: "pods", namespace: "bookinfo" }, spec: { podMetricsEndpoints: [{ port: "m", scheme: "https" }, { port: "n", scheme: "http" }], scrapeClass: MTLS_SCRAPE_CLASS } } };
        assert.deepEqual(stackViolations([peerAuth("bookinfo"), pm]).map((m) => m.replace(/^.*?scrapes: /, "")), ["endpoint 1 uses scheme \"http\"; accepted: \"https\""]);
    });
});

describe("policy prometheus-cert-sidecar", () => {
    const prometheus = (spec: any): Shape => ({ type: TYPES.prometheus, props: { metadata: { name: "mesh", namespace: "monitoring" }, spec } });
    test("the stack's own Prometheus passes", () => {
        assert.deepEqual(resourceViolations(prometheusCertSidecar, prometheus({ volumes: [certVolume()], volumeMounts: [prometheusCertMount()], podMetadata: { annotations: sidecarAnnotations() } })), []);
    });
    test("mounting the certificate volume without an annotation of the contract fails, naming it", () => {
        const rest = Object.fromEntries(Object.entries(sidecarAnnotations()).filter(([k]) => k !== "proxy.istio.io/config"));
        const v = resourceViolations(prometheusCertSidecar, prometheus({ volumes: [certVolume()], podMetadata: { annotations: { ...rest, "traffic.sidecar.istio.io/includeInboundPorts": "9090" } } }));
        assert.deepEqual(v.map((m) => /annotation (\S+) is ([^;]+);/.exec(m)!.slice(1)), [["traffic.sidecar.istio.io/includeInboundPorts", "\"9090\""], ["proxy.istio.io/config", "missing"]]);
        assert.equal(resourceViolations(prometheusCertSidecar, prometheus({ volumeMounts: [prometheusCertMount()] })).length, Object.keys(sidecarAnnotations()).length);
    });
    test("a Prometheus without the certificate volume is not its business, nor is another kind", () => {
        assert.deepEqual(resourceViolations(prometheusCertSidecar, prometheus({ volumes: [{ name: "data", emptyDir: {} }] })), []);
        assert.deepEqual(resourceViolations(prometheusCertSidecar, { type: TYPES.podMonitor, props: { spec: { volumes: [certVolume()] } } }), []);
    });
});

describe("policy no-plaintext-credentials", () => {
    test("a ConfigMap key named like a credential is reported, other keys are not", () => {
        const v = resourceViolations(noPlaintextCredentials, { type: TYPES.configMap, props: { metadata: { name: "app", namespace: "bookinfo" }, data: { DB_PASSWORD: "x", url: "http://db" }, binaryData: { "client-key": "eA==" } } });
        assert.deepEqual(v.map((m) => /key (\S+)/.exec(m)![1]), ["DB_PASSWORD", "client-key"]);
    });
    test("a literal env value named like a credential is reported in every workload kind; valueFrom is not", () => {
        const containers = [{ name: "app", env: [{ name: "API_TOKEN", value: "abc" }, { name: "REMOTE_WRITE_PASSWORD", valueFrom: { secretKeyRef: { name: "s", key: "p" } } }, { name: "LOG_LEVEL", value: "debug" }] }];
        const shapes: Shape[] = [
            { type: "kubernetes:apps/v1:Deployment", props: { metadata: { name: "d" }, spec: { template: { spec: { containers } } } } },
            { type: "kubernetes:batch/v1:CronJob", props: { metadata: { name: "c" }, spec: { jobTemplate: { spec: { template: { spec: { initContainers: containers } } } } } } },
            { type: "kubernetes:core/v1:Pod", props: { metadata: { name: "p" }, spec: { containers } } },
        ];
        for (const s of shapes) assert.deepEqual(resourceViolations(noPlaintextCredentials, s).map((m) => /sets (\S+)/.exec(m)![1]), ["API_TOKEN"], s.type);
        assert.deepEqual(resourceViolations(noPlaintextCredentials, { type: "kubernetes:core/v1:Secret", props: { stringData: { password: "x" } } }), []);
    });
});
