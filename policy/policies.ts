import type { PolicyConfigSchema, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { CERT_CONTRACT, MTLS_SCRAPE_CLASS, sidecarAnnotations } from "../lib/certContract";

/**
 * The contract of scraping under STRICT mTLS, as policies any Pulumi stack can run (`pulumi preview
 * --policy-pack <this folder>`). What they check is generated from lib/certContract.ts, the same source
 * the stack's own resources come from.
 */

const MONITORING = "kubernetes:monitoring.coreos.com/v1";
export const TYPES = {
    serviceMonitor: `${MONITORING}:ServiceMonitor`,
    podMonitor: `${MONITORING}:PodMonitor`,
    prometheus: `${MONITORING}:Prometheus`,
    configMap: "kubernetes:core/v1:ConfigMap",
} as const;
const PEER_AUTHENTICATION = /^kubernetes:security\.istio\.io\/v1(beta1)?:PeerAuthentication$/;
/** Kinds whose pod template (or pod spec) may set container environment variables. */
const WORKLOADS: Record<string, (props: any) => any> = {
    "kubernetes:core/v1:Pod": (p) => p.spec,
    "kubernetes:apps/v1:Deployment": (p) => p.spec?.template?.spec,
    "kubernetes:apps/v1:StatefulSet": (p) => p.spec?.template?.spec,
    "kubernetes:apps/v1:DaemonSet": (p) => p.spec?.template?.spec,
    "kubernetes:apps/v1:ReplicaSet": (p) => p.spec?.template?.spec,
    "kubernetes:batch/v1:Job": (p) => p.spec?.template?.spec,
    "kubernetes:batch/v1:CronJob": (p) => p.spec?.jobTemplate?.spec?.template?.spec,
};

export interface MtlsScrapeConfig {
    /** Namespaces under STRICT mTLS that the stack itself does not declare (ASM's console, another stack); "*": all. */
    strictNamespaces: string[];
    /** Istio's root namespace: a STRICT PeerAuthentication without selector there makes the whole mesh STRICT. */
    meshRootNamespace: string;
    /** Scrape classes that present the mesh certificate. */
    scrapeClasses: string[];
}

const MTLS_SCRAPE_SCHEMA: PolicyConfigSchema = {
    properties: {
        strictNamespaces: { type: "array", items: { type: "string" }, default: [] },
        meshRootNamespace: { type: "string", default: "istio-system" },
        scrapeClasses: { type: "array", items: { type: "string" }, minItems: 1, default: [MTLS_SCRAPE_CLASS] },
    },
};

interface Monitor {
    type: string;
    urn: string;
    props: any;
}

/** Where a monitor finds its targets: its namespaceSelector, else its own namespace; "*" for any. */
function selectedNamespaces(m: Monitor): string[] {
    const sel = m.props.spec?.namespaceSelector;
    if (sel?.any === true) return ["*"];
    if (Array.isArray(sel?.matchNames) && sel.matchNames.length > 0) return sel.matchNames;
    return [m.props.metadata?.namespace ?? "default"];
}

/** The namespaces whose workloads accept only mTLS: declared in the stack, or named in the config. */
function strictNamespaces(resources: { type: string; props: any }[], cfg: MtlsScrapeConfig): Set<string> {
    const strict = new Set(cfg.strictNamespaces);
    for (const r of resources) {
        if (!PEER_AUTHENTICATION.test(r.type) || r.props.spec?.mtls?.mode !== "STRICT") continue;
        // A workload selector narrows the policy to some pods: not the namespace as a whole.
        if (r.props.spec?.selector) continue;
        const ns = r.props.metadata?.namespace ?? "default";
        strict.add(ns === cfg.meshRootNamespace ? "*" : ns);
    }
    return strict;
}

function endpointsOf(m: Monitor): { scheme?: string }[] {
    const eps = m.type === TYPES.podMonitor ? m.props.spec?.podMetricsEndpoints : m.props.spec?.endpoints;
    return Array.isArray(eps) ? eps : [];
}

/** Why a monitor of pods in a STRICT namespace would scrape nothing, or nothing at all. */
export function mtlsScrapeProblems(m: Monitor, strict: Set<string>, cfg: MtlsScrapeConfig): string[] {
    const selected = selectedNamespaces(m);
    const underStrict = strict.has("*") ? selected : selected.filter((ns) => ns === "*" || strict.has(ns));
    if (underStrict.length === 0) return [];
    const kind = m.type.split(":").pop();
    const where = `${kind} ${m.props.metadata?.namespace ?? "default"}/${m.props.metadata?.name ?? "(unnamed)"} selects pods in ${underStrict.join(", ").replace("*", "every namespace")}, where STRICT mTLS refuses plain-text scrapes`;
    const problems: string[] = [];
    endpointsOf(m).forEach((ep, i) => {
        if (ep.scheme !== "https") {
            problems.push(`${where}: endpoint ${i} uses scheme ${JSON.stringify(ep.scheme ?? "http")}; accepted: "https"`);
        }
    });
    const cls = m.props.spec?.scrapeClass;
    if (!cfg.scrapeClasses.includes(cls)) {
        problems.push(`${where}: scrapeClass ${JSON.stringify(cls ?? null)} does not present the mesh certificate; accepted: ${cfg.scrapeClasses.map((c) => JSON.stringify(c)).join(", ")}`);
    }
    return problems;
}

export const mtlsScrapeUnderStrict: StackValidationPolicy = {
    name: "mtls-scrape-under-strict",
    description: "A ServiceMonitor or PodMonitor of pods in a STRICT namespace scrapes over https with a scrape class that presents the mesh certificate.",
    enforcementLevel: "mandatory",
    configSchema: MTLS_SCRAPE_SCHEMA,
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
        const cfg = args.getConfig<MtlsScrapeConfig>();
        const strict = strictNamespaces(args.resources, cfg);
        if (strict.size === 0) return;
        for (const r of args.resources) {
            if (r.type !== TYPES.serviceMonitor && r.type !== TYPES.podMonitor) continue;
            for (const p of mtlsScrapeProblems(r, strict, cfg)) report(p, r.urn);
        }
    },
};

/** The volume and annotations a Prometheus needs for its sidecar to write the certificate it mounts. */
export function certSidecarProblems(props: any): string[] {
    const spec = props.spec ?? {};
    const mountsCerts = (spec.volumes ?? []).some((v: { name?: string }) => v.name === CERT_CONTRACT.volumeName)
        || (spec.volumeMounts ?? []).some((m: { mountPath?: string }) => m.mountPath === CERT_CONTRACT.prometheusMountDir);
    if (!mountsCerts) return [];
    const have: Record<string, string> = spec.podMetadata?.annotations ?? {};
    const name = `Prometheus ${props.metadata?.namespace ?? "default"}/${props.metadata?.name ?? "(unnamed)"}`;
    return Object.entries(sidecarAnnotations())
        .filter(([k, v]) => have[k] !== v)
        .map(([k, v]) => `${name} mounts the mesh certificate volume but its podMetadata annotation ${k} is ${k in have ? JSON.stringify(have[k]) : "missing"}; accepted: ${JSON.stringify(v)} (without it the sidecar never writes the files, or intercepts the scrapes)`);
}

export const prometheusCertSidecar: ResourceValidationPolicy = {
    name: "prometheus-cert-sidecar",
    description: "A Prometheus that mounts the mesh certificate volume carries the sidecar annotations that make its sidecar write the certificate there.",
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        if (args.type !== TYPES.prometheus) return;
        for (const p of certSidecarProblems(args.props)) report(p);
    },
};

/** Names that say a value is a credential. */
const CREDENTIAL = /(pass(word|wd)?|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|credential|kubeconfig|client[-_]?key)/i;

/**
 * Credentials a resource holds in plain text where that is visible from its inputs: a ConfigMap key, or a
 * container environment variable with a literal value, named like a credential. (A Secret's data is
 * stored encrypted by the Kubernetes provider; its inputs do not say whether a value came in as a secret.)
 */
export function plaintextCredentials(type: string, props: any): string[] {
    const name = `${type.split(":").pop()} ${props.metadata?.namespace ?? "default"}/${props.metadata?.name ?? "(unnamed)"}`;
    if (type === TYPES.configMap) {
        return Object.keys({ ...props.data, ...props.binaryData }).filter((k) => CREDENTIAL.test(k))
            .map((k) => `${name}: key ${k} looks like a credential in a ConfigMap, readable by whoever may read ConfigMaps and stored as plain text; put it in a Secret`);
    }
    const podSpec = WORKLOADS[type]?.(props);
    if (!podSpec) return [];
    const containers = [...(podSpec.initContainers ?? []), ...(podSpec.containers ?? [])];
    return containers.flatMap((c: { name?: string; env?: { name: string; value?: string }[] }) =>
        (c.env ?? []).filter((e) => e.value !== undefined && e.value !== "" && CREDENTIAL.test(e.name))
            .map((e) => `${name}: container ${c.name} sets ${e.name} to a literal value, plain text in the pod spec and the state; use valueFrom.secretKeyRef`));
}

export const noPlaintextCredentials: ResourceValidationPolicy = {
    name: "no-plaintext-credentials",
    description: "No ConfigMap key or container environment variable holds a credential as plain text.",
    enforcementLevel: "advisory",
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        for (const p of plaintextCredentials(args.type, args.props)) report(p);
    },
};

export const POLICIES = [mtlsScrapeUnderStrict, prometheusCertSidecar, noPlaintextCredentials];
