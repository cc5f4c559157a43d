import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { SHARED_NAMESPACE } from "./config";

// The contract between the Prometheus pod's Istio sidecar (which writes the workload certificate) and
// the Prometheus container (which presents it when scraping). Both sides are generated from here, so a
// path can never differ between the annotation, the volume mount and the scrape TLS config.
export const CERT_CONTRACT = {
    /** emptyDir shared by the two containers. */
    volumeName: "istio-certs",
    /** Where the sidecar writes (OUTPUT_CERTS) and where the volume is mounted in the sidecar. */
    sidecarOutputDir: "/etc/istio-output-certs",
    /** Where the same volume is mounted in the Prometheus container. */
    prometheusMountDir: "/etc/prom-certs",
    /** File names pilot-agent writes into OUTPUT_CERTS. */
    files: { ca: "root-cert.pem", certChain: "cert-chain.pem", key: "key.pem" },
} as const;

/** Scrape class that carries the mesh client certificate; ServiceMonitors opt in by this name. */
export const MTLS_SCRAPE_CLASS = "istio-mtls";

/** Pod annotations for the Prometheus pods' sidecar. */
export function sidecarAnnotations(): Record<string, string> {
    const c = CERT_CONTRACT;
    return {
        // Prometheus dials pod IPs itself with the mesh certificate; a proxy in the path would break that,
        // so the sidecar intercepts nothing and only serves as a certificate writer.
        "traffic.sidecar.istio.io/includeInboundPorts": "",
        "traffic.sidecar.istio.io/includeOutboundIPRanges": "",
        // holdApplicationUntilProxyStarts: without it Prometheus may start before the files exist, and the
        // failed scrape pool is only retried on the next config reload (istio#10544, istio#24768).
        "proxy.istio.io/config": YAML.stringify({
            proxyMetadata: { OUTPUT_CERTS: c.sidecarOutputDir },
            holdApplicationUntilProxyStarts: true,
        }),
        "sidecar.istio.io/userVolumeMount": JSON.stringify([{ name: c.volumeName, mountPath: c.sidecarOutputDir }]),
    };
}

/** Pod labels that request injection even where the namespace label is missing. */
export const SIDECAR_INJECT_LABELS: Record<string, string> = { "sidecar.istio.io/inject": "true" };

/** Namespace label that turns on sidecar injection (istio and ASM alike). */
const INJECTION_NAMESPACE_LABELS: Record<string, string> = { "istio-injection": "enabled" };

/**
 * A namespace whose pods get a sidecar. It also carries the name label the API server sets itself, so a
 * selector on it (the Prometheus's ServiceMonitor namespace selector) matches from the first apply.
 */
export function injectedNamespace(name: string, namespace: string, opts: pulumi.CustomResourceOptions): InjectedNamespace {
    if (namespace === SHARED_NAMESPACE) {
        const patch = new k8s.core.v1.NamespacePatch(name, { metadata: { name: namespace, labels: INJECTION_NAMESPACE_LABELS } }, opts);
        return { resource: patch, name: patch.metadata.apply((m) => m.name ?? namespace) };
    }
    const ns = new k8s.core.v1.Namespace(name, {
        metadata: { name: namespace, labels: { ...INJECTION_NAMESPACE_LABELS, "kubernetes.io/metadata.name": namespace } },
    }, opts);
    return { resource: ns, name: ns.metadata.name };
}

export interface InjectedNamespace {
    /** What the namespace's objects wait for. */
    resource: k8s.core.v1.Namespace | k8s.core.v1.NamespacePatch;
    name: pulumi.Output<string>;
}

// Memory-backed so the private key never reaches the node's disk.
export function certVolume() {
    return { name: CERT_CONTRACT.volumeName, emptyDir: { medium: "Memory" } };
}

export function prometheusCertMount() {
    return { name: CERT_CONTRACT.volumeName, mountPath: CERT_CONTRACT.prometheusMountDir, readOnly: true };
}

/** The scrape TLS settings, reading the files through the Prometheus container's mount. */
export function scrapeTlsConfig() {
    const dir = CERT_CONTRACT.prometheusMountDir;
    const f = CERT_CONTRACT.files;
    return {
        caFile: `${dir}/${f.ca}`,
        certFile: `${dir}/${f.certChain}`,
        keyFile: `${dir}/${f.key}`,
        // Istio's server certificates carry only a SPIFFE URI SAN (spiffe://<td>/ns/<ns>/sa/<sa>), which
        // Prometheus cannot match against a host name. The handshake is still mutual: the client
        // certificate authenticates Prometheus to the sidecar, and the mesh CA signs both sides.
        insecureSkipVerify: true,
    };
}

/**
 * The prometheus container's startup probe: it passes once the sidecar has written every file the scrape
 * class reads, so a pod without its sidecar never becomes Ready (the kubelet restarts the container after
 * failureThreshold, five minutes). The operator merges it into its own container by name and keeps this
 * handler in place of its /-/ready one (pkg/k8s/merge.go, sanitizeProbeHandlers).
 */
export function certFilesStartupProbe() {
    const files = Object.values(CERT_CONTRACT.files).map((f) => `${CERT_CONTRACT.prometheusMountDir}/${f}`);
    const check = `for f in ${files.join(" ")}; do [ -s "$f" ] || { echo "no mesh certificate $f: the pod has no istio-proxy sidecar writing it"; exit 1; }; done`;
    return { exec: { command: ["/bin/sh", "-c", check] }, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 60 };
}
