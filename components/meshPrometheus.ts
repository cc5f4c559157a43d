import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
    injectedNamespace,
    InjectedNamespace,
    SIDECAR_INJECT_LABELS,
    certFilesStartupProbe,
    certVolume,
    MTLS_SCRAPE_CLASS,
    prometheusCertMount,
    scrapeTlsConfig,
    sidecarAnnotations,
} from "../lib/certContract";
import { AGENT_METRICS, SELF_JOBS } from "../lib/alertRules";
import { prometheusImage } from "../lib/images";
import { dependencyList, MONITORING_POD_SECURITY, replicaSpread } from "../lib/kubeObjects";
import { KubeAccess } from "../lib/kubeProvider";
import { discoveryRbacName, prometheusServiceAccount, remoteWriteSecretName } from "../lib/names";
import { PrometheusReady } from "../lib/prometheusReady";

export interface MeshPrometheusArgs {
    /** Namespace of Prometheus: created and labelled for sidecar injection, or one that exists (createNamespace false). */
    namespace: string;
    /**
     * Create the namespace (the default), or use an existing one: its pods are injected through their own
     * sidecar.istio.io/inject label, whatever the namespace's labels say.
     */
    createNamespace?: boolean;
    /** Name of the Prometheus custom resource. */
    name: string;
    replicas: number;
    version: string;
    /** Registry the Prometheus image is pulled from instead of the operator's default one. */
    imageRegistryMirror?: string;
    retention: string;
    /** Prometheus's retention.size: the most its data takes on the volume. */
    retentionSize: string;
    /**
     * A volume claim per replica of this size and class (unset: the cluster's default class), or an emptyDir
     * of this size (data lost with the pod).
     */
    storage: { storageClass?: string; size: string } | { emptyDir: true; size: string };
    /** Requests and limits of the prometheus container. */
    resources: { requests: { cpu: string; memory: string }; limits: { cpu?: string; memory: string } };
    /**
     * With two or more replicas, whether they must land in different zones (DoNotSchedule: the stack knows
     * the nodes span its zones) or only should (ScheduleAnyway: a cluster it did not create).
     */
    zoneSpread: "DoNotSchedule" | "ScheduleAnyway";
    /** Same, for nodes. */
    nodeSpread: "DoNotSchedule" | "ScheduleAnyway";
    /** Labels every series carries outside this Prometheus. */
    externalLabels: Record<string, string>;
    /** An endpoint that receives every sample too, with basic auth (delivered through a Secret). */
    remoteWrite?: { url: string; basicAuth?: { username: pulumi.Input<string>; password: pulumi.Input<string> } };
    /** Hold the deployment until the operator reports the Prometheus Available; fail naming a missing sidecar. */
    awaitAvailable?: boolean;
    /** The cluster, which the wait asks (with renderDir nothing is awaited). */
    access?: KubeAccess;
    /** How often Prometheus evaluates its rules. */
    evaluationInterval: string;
    /** How often Prometheus scrapes its own metrics and its sidecar agent's. */
    selfScrapeInterval: string;
    /** The one namespace whose ServiceMonitors this Prometheus picks up. */
    serviceMonitorNamespace: pulumi.Input<string>;
    /**
     * The Service of an Alertmanager in its own namespace, and the name of its web port, to send alerts to.
     * It is in the mesh, so alerts go over mTLS with the scrape's certificate.
     */
    alertmanager?: { name: string; port: string };
}

// What the EndpointSlice role of Prometheus's Kubernetes discovery watches: the slices, and the Services
// and Pods it takes target labels from.
const DISCOVERY_RULES = [
    { apiGroups: [""], resources: ["services", "pods"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
];

/**
 * A Prometheus that scrapes sidecar-injected workloads under STRICT mTLS: its own sidecar writes the
 * workload certificate to a memory volume, and a scrape class presents it.
 */
export class MeshPrometheus extends pulumi.ComponentResource {
    /** The namespace, when this component creates it. */
    readonly namespace?: InjectedNamespace["resource"];
    readonly serviceAccount: k8s.core.v1.ServiceAccount;
    /** What service discovery may read in the namespace it discovers in, and nowhere else. */
    readonly role: k8s.rbac.v1.Role;
    readonly roleBinding: k8s.rbac.v1.RoleBinding;
    /** With an Alertmanager: the same discovery, of its pods in Prometheus's own namespace. */
    readonly alertmanagerRole?: k8s.rbac.v1.Role;
    readonly alertmanagerRoleBinding?: k8s.rbac.v1.RoleBinding;
    /** With two or more replicas: a node drain evicts one at a time. */
    readonly disruptionBudget?: k8s.policy.v1.PodDisruptionBudget;
    /** The remote write endpoint's credentials, which the Prometheus CR refers to by key. */
    readonly remoteWriteSecret?: k8s.core.v1.Secret;
    readonly prometheus: k8s.apiextensions.CustomResource;
    /** Its scrapes of its own pod: Prometheus's metrics and the sidecar agent's (SELF_JOBS). */
    readonly selfScrapes: k8s.apiextensions.CustomResource[];
    /** With awaitAvailable: the wait for each generation of the Prometheus to run. */
    readonly ready?: PrometheusReady;
    /** Labels a ServiceMonitor must carry to be selected by this Prometheus. */
    readonly serviceMonitorLabels: Record<string, string>;
    /** Labels a PrometheusRule in its namespace must carry to be loaded: the same. */
    readonly ruleLabels: Record<string, string>;
    readonly scrapeClass = MTLS_SCRAPE_CLASS;
    /** The Service the operator creates for every Prometheus (the target of port-forward). */
    readonly serviceName = "prometheus-operated";
    readonly namespaceName: pulumi.Output<string>;
    /** namespace/name of the Prometheus custom resource. */
    readonly ref: pulumi.Output<string>;

    constructor(name: string, args: MeshPrometheusArgs, opts?: pulumi.ComponentResourceOptions) {
        super("asm-prometheus-mtls:monitoring:MeshPrometheus", name, {}, opts);
        this.serviceMonitorLabels = { "monitoring.asm-prometheus-mtls.io/prometheus": args.name };
        this.ruleLabels = this.serviceMonitorLabels;

        if (args.createNamespace === false) {
            this.namespaceName = pulumi.output(args.namespace);
        } else {
            ({ resource: this.namespace, name: this.namespaceName } = injectedNamespace(`${name}-ns`, args.namespace, { parent: this }));
        }
        // The caller's: the operator, whose CRDs define the custom resources' kinds.
        const crds = dependencyList(opts?.dependsOn);

        this.serviceAccount = new k8s.core.v1.ServiceAccount(`${name}-sa`, {
            metadata: { name: prometheusServiceAccount(args.name), namespace: this.namespaceName },
        }, { parent: this });

        // A read-only discovery grant in one namespace, bound to this Prometheus's ServiceAccount.
        const discovery = (suffix: string, rbacName: string, namespace: pulumi.Input<string>) => {
            const role = new k8s.rbac.v1.Role(`${name}-${suffix}`, { metadata: { name: rbacName, namespace }, rules: DISCOVERY_RULES }, { parent: this });
            const binding = new k8s.rbac.v1.RoleBinding(`${name}-${suffix}`, {
                metadata: { name: rbacName, namespace },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
                subjects: [{ kind: "ServiceAccount", name: this.serviceAccount.metadata.name, namespace: this.namespaceName }],
            }, { parent: this });
            return { role, binding };
        };
        // Discovery watches only the one namespace the operator configures it for (kubernetes_sd_configs
        // namespaces.names), so a Role there is enough. The guide never binds its role, and Prometheus then
        // fails with "endpoints is forbidden".
        const rbacName = discoveryRbacName(args.namespace, args.name);
        ({ role: this.role, binding: this.roleBinding } = discovery("discovery", rbacName, args.serviceMonitorNamespace));
        // The operator discovers Alertmanagers with the same EndpointSlice role, in their namespace.
        if (args.alertmanager) {
            ({ role: this.alertmanagerRole, binding: this.alertmanagerRoleBinding } = discovery("alertmanager-discovery", `${rbacName}-alertmanagers`, this.namespaceName));
        }
        const alerting = args.alertmanager && {
            alertmanagers: [{
                namespace: args.namespace,
                name: args.alertmanager.name,
                port: args.alertmanager.port,
                apiVersion: "v2",
                // The Alertmanager's sidecar admits only mTLS under STRICT; Prometheus's own sidecar
                // intercepts nothing, so Prometheus presents the mesh certificate itself, as it does to targets.
                scheme: "https",
                tlsConfig: scrapeTlsConfig(),
            }],
        };

        const ownNamespace = { "kubernetes.io/metadata.name": args.namespace };
        // The labels the operator gives every pod of this Prometheus.
        const podLabels = { "app.kubernetes.io/name": "prometheus", "operator.prometheus.io/name": args.name };
        const spread = replicaSpread(args.replicas, podLabels, args.zoneSpread, args.nodeSpread);

        const auth = args.remoteWrite?.basicAuth;
        this.remoteWriteSecret = auth && new k8s.core.v1.Secret(`${name}-remote-write`, {
            metadata: { name: remoteWriteSecretName(args.name), namespace: this.namespaceName },
            type: "kubernetes.io/basic-auth",
            // The SDK's Secret sends stringData as a secret, so the state holds it encrypted.
            stringData: { username: auth.username, password: auth.password },
        }, { parent: this });
        const remoteWrite = args.remoteWrite && [{
            url: args.remoteWrite.url,
            ...(this.remoteWriteSecret ? {
                basicAuth: {
                    username: { name: this.remoteWriteSecret.metadata.name, key: "username" },
                    password: { name: this.remoteWriteSecret.metadata.name, key: "password" },
                },
            } : {}),
            // ARMS's remote write endpoint does not speak HTTP/2; HTTP/1.1 works with every receiver.
            enableHTTP2: false,
        }];

        this.prometheus = new k8s.apiextensions.CustomResource(`${name}-prometheus`, {
            apiVersion: "monitoring.coreos.com/v1",
            kind: "Prometheus",
            metadata: { name: args.name, namespace: this.namespaceName },
            spec: {
                replicas: args.replicas,
                version: args.version,
                ...(args.imageRegistryMirror ? { image: prometheusImage(args.version, args.imageRegistryMirror) } : {}),
                retention: args.retention,
                retentionSize: args.retentionSize,
                storage: "emptyDir" in args.storage
                    ? { emptyDir: { sizeLimit: args.storage.size } }
                    : {
                        volumeClaimTemplate: {
                            spec: {
                                ...(args.storage.storageClass ? { storageClassName: args.storage.storageClass } : {}),
                                accessModes: ["ReadWriteOnce"],
                                resources: { requests: { storage: args.storage.size } },
                            },
                        },
                    },
                resources: args.resources,
                externalLabels: args.externalLabels,
                ...(remoteWrite ? { remoteWrite } : {}),
                ...(alerting ? { alerting } : {}),
                ...(spread ? { topologySpreadConstraints: spread } : {}),
                serviceAccountName: this.serviceAccount.metadata.name,
                podMetadata: { labels: { ...SIDECAR_INJECT_LABELS }, annotations: sidecarAnnotations() },
                volumes: [certVolume()],
                volumeMounts: [prometheusCertMount()],
                // Merged by name into the operator's prometheus container: not Ready until the certificate exists.
                containers: [{ name: "prometheus", startupProbe: certFilesStartupProbe() }],
                securityContext: MONITORING_POD_SECURITY,
                // EndpointSlices, which the Role grants: the v1 Endpoints API is deprecated since Kubernetes 1.33.
                serviceDiscoveryRole: "EndpointSlice",
                serviceMonitorSelector: { matchLabels: this.serviceMonitorLabels },
                serviceMonitorNamespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": args.serviceMonitorNamespace } },
                evaluationInterval: args.evaluationInterval,
                // Rules and its own scrapes come from its own namespace only.
                ruleSelector: { matchLabels: this.ruleLabels },
                ruleNamespaceSelector: { matchLabels: ownNamespace },
                scrapeConfigSelector: { matchLabels: this.serviceMonitorLabels },
                scrapeConfigNamespaceSelector: { matchLabels: ownNamespace },
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
        }, { parent: this, dependsOn: [...crds, this.roleBinding, ...(this.remoteWriteSecret ? [this.remoteWriteSecret] : []), ...(this.alertmanagerRoleBinding ? [this.alertmanagerRoleBinding] : [])] });

        // Each replica scrapes its own pod over localhost, which the sidecar never intercepts: its health
        // metrics, and the agent's remaining lifetime of the certificate it presents (the alerts read both).
        const selfScrape = (suffix: string, jobName: string, spec: object) => new k8s.apiextensions.CustomResource(`${name}-${suffix}`, {
            apiVersion: "monitoring.coreos.com/v1alpha1",
            kind: "ScrapeConfig",
            metadata: { name: `prometheus-${args.name}-${suffix}`, namespace: this.namespaceName, labels: this.serviceMonitorLabels },
            spec: { jobName, scrapeInterval: args.selfScrapeInterval, ...spec },
        }, { parent: this, dependsOn: crds });
        this.selfScrapes = [
            selfScrape("self", SELF_JOBS.prometheus, { staticConfigs: [{ targets: ["localhost:9090"] }] }),
            selfScrape("agent", SELF_JOBS.agent, {
                staticConfigs: [{ targets: [`localhost:${AGENT_METRICS.port}`] }],
                metricsPath: AGENT_METRICS.path,
                // The endpoint merges Envoy's statistics in; only the agent's own are kept.
                metricRelabelings: [{ sourceLabels: ["__name__"], regex: "istio_agent_.*", action: "keep" }],
            }),
        ];

        // An up whose Prometheus never runs (no sidecar, an image pull refused, a claim never bound) fails here.
        const access = args.access;
        this.ready = args.awaitAvailable && access && !access.renderDir ? new PrometheusReady(`${name}-ready`, {
            namespace: this.namespaceName,
            name: this.prometheus.metadata.name,
            generation: this.prometheus.metadata.generation,
            timeoutSeconds: 600,
            access,
        }, { parent: this }) : undefined;

        this.disruptionBudget = args.replicas > 1 ? new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, {
            metadata: { name: `prometheus-${args.name}`, namespace: this.namespaceName },
            spec: { maxUnavailable: 1, selector: { matchLabels: podLabels } },
        }, { parent: this }) : undefined;

        this.ref = pulumi.interpolate`${this.prometheus.metadata.namespace}/${this.prometheus.metadata.name}`;
        this.registerOutputs({ namespace: this.namespaceName, prometheus: this.prometheus.metadata.name, ref: this.ref, serviceMonitorLabels: this.serviceMonitorLabels, scrapeClass: this.scrapeClass });
    }
}
