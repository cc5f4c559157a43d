import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
    injectedNamespace,
    InjectedNamespace,
    SIDECAR_INJECT_LABELS,
    certVolume,
    prometheusCertMount,
    scrapeTlsConfig,
    sidecarAnnotations,
} from "../lib/certContract";
import { prometheusImage } from "../lib/images";
import { adoptionAnnotations, withAnnotations } from "../lib/kubeObjects";
import type { PrometheusOperator } from "./prometheusOperator";

export interface MeshPrometheusArgs {
    /** Namespace created for Prometheus (labelled for sidecar injection). */
    namespace: string;
    /** Name of the Prometheus custom resource. */
    name: string;
    replicas: number;
    version: string;
    /** Registry the Prometheus image is pulled from instead of the operator's default one. */
    imageRegistryMirror?: string;
    retention: string;
    /** Hold the deployment until the operator reports the Prometheus Available. */
    awaitAvailable: boolean;
    /** The one namespace whose ServiceMonitors this Prometheus picks up. */
    serviceMonitorNamespace: pulumi.Input<string>;
    /** The operator that reconciles this Prometheus; the custom resource waits for it (its CRDs). */
    operator: PrometheusOperator;
    /** Take over objects of the same names made by hand (the guide's Prometheus, mapped by name). */
    adoptExisting: boolean;
}

/** Scrape class that carries the mesh client certificate; ServiceMonitors opt in by this name. */
const MTLS_SCRAPE_CLASS = "istio-mtls";

/**
 * A Prometheus that scrapes sidecar-injected workloads under STRICT mTLS: its own sidecar writes the
 * workload certificate to a memory volume, and a scrape class presents it.
 */
export class MeshPrometheus extends pulumi.ComponentResource {
    readonly namespace: InjectedNamespace["resource"];
    readonly serviceAccount: k8s.core.v1.ServiceAccount;
    readonly clusterRole: k8s.rbac.v1.ClusterRole;
    readonly clusterRoleBinding: k8s.rbac.v1.ClusterRoleBinding;
    readonly prometheus: k8s.apiextensions.CustomResource;
    /** Labels a ServiceMonitor must carry to be selected by this Prometheus. */
    readonly serviceMonitorLabels: Record<string, string>;
    readonly scrapeClass = MTLS_SCRAPE_CLASS;
    /** The Service the operator creates for every Prometheus (the target of port-forward). */
    readonly serviceName = "prometheus-operated";
    readonly namespaceName: pulumi.Output<string>;
    readonly operator: PrometheusOperator;

    constructor(name: string, args: MeshPrometheusArgs, opts?: pulumi.ComponentResourceOptions) {
        super("asm-prometheus-mtls:monitoring:MeshPrometheus", name, {}, opts);
        this.operator = args.operator;
        this.serviceMonitorLabels = { "monitoring.asm-prometheus-mtls.io/prometheus": args.name };

        ({ resource: this.namespace, name: this.namespaceName } = injectedNamespace(`${name}-ns`, args.namespace, { parent: this }));
        const adopt = adoptionAnnotations(args.adoptExisting);

        this.serviceAccount = new k8s.core.v1.ServiceAccount(`${name}-sa`, {
            metadata: withAnnotations({ name: `prometheus-${args.name}`, namespace: this.namespaceName }, adopt),
        }, { parent: this });

        // What Prometheus's Kubernetes service discovery reads for ServiceMonitor targets, nothing more.
        this.clusterRole = new k8s.rbac.v1.ClusterRole(`${name}-role`, {
            metadata: withAnnotations({ name: `prometheus-${args.namespace}-${args.name}` }, adopt),
            rules: [
                { apiGroups: [""], resources: ["services", "endpoints", "pods"], verbs: ["get", "list", "watch"] },
                { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
            ],
        }, { parent: this });

        // The guide never binds its role, and Prometheus then fails with "endpoints is forbidden".
        this.clusterRoleBinding = new k8s.rbac.v1.ClusterRoleBinding(`${name}-binding`, {
            metadata: withAnnotations({ name: `prometheus-${args.namespace}-${args.name}` }, adopt),
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: this.clusterRole.metadata.name },
            subjects: [{ kind: "ServiceAccount", name: this.serviceAccount.metadata.name, namespace: this.namespaceName }],
        }, { parent: this });

        this.prometheus = new k8s.apiextensions.CustomResource(`${name}-prometheus`, {
            apiVersion: "monitoring.coreos.com/v1",
            kind: "Prometheus",
            metadata: withAnnotations({ name: args.name, namespace: this.namespaceName }, {
                // An up whose Prometheus never runs (no sidecar certificate, image pull refused) fails here.
                ...(args.awaitAvailable ? { "pulumi.com/waitFor": "condition=Available", "pulumi.com/timeoutSeconds": "600" } : {}),
                ...adopt,
            }),
            spec: {
                replicas: args.replicas,
                version: args.version,
                ...(args.imageRegistryMirror ? { image: prometheusImage(args.version, args.imageRegistryMirror) } : {}),
                retention: args.retention,
                serviceAccountName: this.serviceAccount.metadata.name,
                podMetadata: { labels: { ...SIDECAR_INJECT_LABELS }, annotations: sidecarAnnotations() },
                volumes: [certVolume()],
                volumeMounts: [prometheusCertMount()],
                // Not root, as the operator's own examples run it (the operator sets no user). fsGroup makes the
                // memory volume where the sidecar (uid 1337) writes the certificate group-owned by Prometheus's group.
                securityContext: { runAsUser: 1000, runAsGroup: 2000, runAsNonRoot: true, fsGroup: 2000, seccompProfile: { type: "RuntimeDefault" } },
                // EndpointSlices, which the ClusterRole grants: the v1 Endpoints API is deprecated since Kubernetes 1.33.
                serviceDiscoveryRole: "EndpointSlice",
                serviceMonitorSelector: { matchLabels: this.serviceMonitorLabels },
                serviceMonitorNamespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": args.serviceMonitorNamespace } },
                scrapeClasses: [{
                    name: MTLS_SCRAPE_CLASS,
                    tlsConfig: scrapeTlsConfig(),
                    // productpage serves /metrics as text/html through Flask; Prometheus 3 refuses an
                    // unknown Content-Type unless told which format to assume.
                    fallbackScrapeProtocol: "PrometheusText0.0.4",
                }],
                // ServiceMonitors may not name files in the Prometheus container (the mesh key among them);
                // the operator checks only a ServiceMonitor's own tlsConfig, so our class is unaffected.
                arbitraryFSAccessThroughSMs: { deny: true },
            },
        }, { parent: this, dependsOn: [args.operator, this.clusterRoleBinding] });

        this.registerOutputs({ namespace: this.namespaceName, prometheus: this.prometheus.metadata.name });
    }
}
