// The stack's whole configuration: declared once (SETTINGS), parsed and validated once (parseConfig),
// delivered as one typed object. Nothing here registers a resource, so a bad value stops the program
// before anything exists in the cloud or the cluster.

import * as pulumi from "@pulumi/pulumi";
import { statSync } from "node:fs";
import { VERSIONS } from "./versions";

export const PROJECT = "asm-prometheus-mtls";

/**
 * Kubernetes' own namespace, where the guide puts everything: it always exists and cannot be deleted, so
 * the stack only adds the injection label there (a server-side patch, whose destroy gives the label up).
 */
export const SHARED_NAMESPACE = "default";

/**
 * Engine settings of every stack, declared in Pulumi.yaml (npm run config-docs): a resource or invoke
 * that misses its provider option fails instead of reaching the ambient kubeconfig or cloud credentials.
 */
export const ENGINE_CONFIG = { "pulumi:disable-default-providers": { value: ["kubernetes", "alicloud"] } };

/**
 * Whether the engine holds a config key as a secret. The SDK's entry point exports it as
 * pulumi.runtime.isConfigSecret (what Config.get uses to warn about secrets), though its typings omit it.
 */
export function isConfigSecret(key: string): boolean {
    const fn = (pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
    if (!fn) throw new Error("@pulumi/pulumi no longer exports runtime isConfigSecret; update lib/config.ts");
    return fn(key);
}

type Value = string | number | boolean | string[];

/** What a setting accepts: the text docs/configuration.md's table shows, and the check behind it. */
interface Rule {
    accepted: string;
    /** Why the value is refused (what is accepted, with detail where it helps), or undefined when it is not. */
    refuse: (value: never) => string | undefined;
}

interface Setting {
    type: "string" | "integer" | "boolean" | "array";
    default?: Value;
    secret?: boolean;
    description: string;
    accepts?: Rule;
}

/** A Prometheus duration (units in this order, each at most once); not empty, which Prometheus refuses. */
const DURATION = /^(?=\d)(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$/;
const DURATION_UNITS: Record<string, number> = { y: 365 * 86400, w: 7 * 86400, d: 86400, h: 3600, m: 60, s: 1, ms: 0.001 };

/** Seconds of a duration DURATION accepted. */
export function durationSeconds(d: string): number {
    return [...d.matchAll(/(\d+)(ms|[ywdhms])/g)].reduce((sum, [, n, unit]) => sum + Number(n) * DURATION_UNITS[unit], 0);
}
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SHA256 = /^[0-9a-f]{64}$/;
const REGION = /^[a-z]{2}(-[a-z0-9]+)+$/;
/**
 * The ASM instance specs each edition takes, as the provider's own acceptance tests pair them
 * (aliyun/terraform-provider-alicloud, resource_alicloud_service_mesh_service_mesh_test.go); the first is
 * the default.
 */
const MESH_SPECS: Record<string, string[]> = { Default: ["standard"], Pro: ["enterprise", "ultimate"] };
/**
 * Defaults of the prometheus container's resources (docs/operations.md: Sizing). Memory: the footprint measured in the
 * mesh in a box (about 100 MiB resident with a handful of series) plus about 3 kB per head series
 * (Robust Perception's rule of thumb for Prometheus >= 2.20) for 100 000 series, about 400 MiB, rounded
 * up; the limit doubles it for compaction and queries. CPU: ingesting 100 000 series every 30 s is about
 * 3 300 samples/s, a small share of a core.
 */
export const PROMETHEUS_RESOURCES = { cpuRequest: "250m", memoryRequest: "512Mi", memoryLimit: "1Gi" };
const OPERATOR = VERSIONS.prometheusOperator;
const ISTIO = VERSIONS.istio;
const DNS_LABEL_TEXT = "a DNS label (lower case letters, digits, '-')";
/** The sizes accepted for disks and memory: whole Mi, Gi or Ti, which MiB() reads. */
const QUANTITY_BYTES = /^[1-9]\d*(Mi|Gi|Ti)$/;
const QUANTITY_CPU = /^([1-9]\d*m|\d+(\.\d{1,3})?)$/;
const LABEL_VALUE = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
/** How Prometheus writes --storage.tsdb.retention.size (units are powers of 2). */
const PROMETHEUS_BYTES = /^[1-9]\d*(MB|GB|TB)$/;
/** Room the TSDB keeps below its disk: compaction writes a block before it deletes the ones it merged. */
const RETENTION_SHARE = 0.85;

function rule<T>(accepted: string, ok: (v: T) => boolean): Rule {
    return { accepted, refuse: (v: T) => (ok(v) ? undefined : accepted) };
}
function oneOf(...allowed: string[]): Rule {
    return rule(`one of ${allowed.join(", ")}`, (v: string) => allowed.includes(v));
}
function matches(re: RegExp, what: string): Rule {
    return rule(what, (v: string) => re.test(v));
}
function atLeast(min: number): Rule {
    return rule(`an integer >= ${min}`, (v: number) => v >= min);
}
function eachMatches(re: RegExp, what: string, nonEmpty = true): Rule {
    return {
        accepted: `a ${nonEmpty ? "non-empty " : ""}list of ${what} without duplicates`,
        refuse: (v: string[]) => {
            if (nonEmpty && v.length === 0) return `a non-empty list of ${what}`;
            const bad = v.find((s) => !re.test(s));
            if (bad !== undefined) return `a list of ${what} (${JSON.stringify(bad)} is not)`;
            if (new Set(v).size !== v.length) return `a list of ${what} without duplicates`;
            return undefined;
        },
    };
}
function isCidr(s: string): boolean {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s);
    return !!m && m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
}
function isHttpUrl(v: string): boolean {
    try {
        return ["http:", "https:"].includes(new URL(v).protocol);
    } catch {
        return false;
    }
}
const CIDR = rule("an IPv4 CIDR such as 192.168.0.0/16", isCidr);
const URL_TEMPLATE = rule("an http(s):// or file:// URL containing {version}", (v: string) => {
    if (!v.includes("{version}")) return false;
    try {
        return ["http:", "https:", "file:"].includes(new URL(v.replace("{version}", "v0.0.0")).protocol);
    } catch {
        return false;
    }
});
/** A namespace the stack creates, labels for injection and deletes on destroy. */
const INJECTED_NAMESPACE: Rule = {
    accepted: `${DNS_LABEL_TEXT}, not kube-* (the stack labels it for injection and deletes it on destroy; default it only labels)`,
    refuse: (v: string) => {
        if (!DNS_LABEL.test(v)) return DNS_LABEL_TEXT;
        if (v.startsWith("kube-")) return "not kube-* (Kubernetes' own namespaces), since the stack labels the namespace for injection and deletes it on destroy";
        return undefined;
    },
};

/** Every key of the project's config namespace. docs/configuration.md's reference table and Pulumi.yaml follow this. */
export const SETTINGS = {
    createCluster: { type: "boolean", default: false, description: "Provision a VPC, vSwitches, an ACK managed cluster and a node pool. Off: use an existing cluster." },
    activateAck: { type: "boolean", default: false, description: "With createCluster: pulumi up activates Container Service for Kubernetes (ACK Pro, pay-as-you-go) in the account before anything is created; a preview never does, it warns. This accepts ACK's terms of service and cannot be undone; off, the account must already have it (docs/operations.md: A fresh account)." },
    createMesh: { type: "boolean", default: false, description: "Provision an ASM instance and attach the cluster (needs createCluster)." },
    kubeconfig: { type: "string", secret: true, description: "Existing cluster only: kubeconfig contents (set with --secret). Unset: the ambient kubeconfig." },
    kubeContext: { type: "string", description: "Existing cluster only: context of the kubeconfig to use. Unset: its current context." },

    clusterName: { type: "string", default: "asm-prom", description: "Name prefix of the VPC, vSwitches, cluster and node pool.", accepts: matches(DNS_LABEL, DNS_LABEL_TEXT) },
    zoneIds: { type: "array", default: [], description: "Zones of the vSwitches, one per entry of vswitchCidrs (needed with createCluster).", accepts: eachMatches(REGION, "zone ids such as cn-hangzhou-k", false) },
    vpcCidr: { type: "string", default: "192.168.0.0/16", description: "CIDR of the new VPC.", accepts: CIDR },
    vswitchCidrs: { type: "array", default: ["192.168.0.0/19", "192.168.32.0/19"], description: "CIDR of each vSwitch, inside vpcCidr, one per zone.", accepts: rule("a non-empty list of IPv4 CIDRs", (v: string[]) => v.length > 0 && v.every(isCidr)) },
    podCidr: { type: "string", default: "172.20.0.0/16", description: "Pod CIDR (Flannel); must not overlap the VPC.", accepts: CIDR },
    serviceCidr: { type: "string", default: "172.21.0.0/20", description: "Service CIDR; must not overlap the VPC or the pod CIDR.", accepts: CIDR },
    clusterSpec: { type: "string", default: "ack.pro.small", description: "ACK managed cluster edition.", accepts: oneOf("ack.standard", "ack.pro.small") },
    kubernetesVersion: { type: "string", description: "ACK Kubernetes version, e.g. 1.34.1-aliyun.1. Unset: ACK's default.", accepts: matches(/^\d+\.\d+\.\d+(-aliyun\.\d+)?$/, "a version such as 1.34.1-aliyun.1") },
    nodeInstanceTypes: { type: "array", default: ["ecs.g7.xlarge", "ecs.g6.xlarge"], description: "ECS instance types of the node pool, in order of preference (several survive stock-outs).", accepts: eachMatches(/^ecs\.[a-z0-9-]+\.[a-z0-9]+$/, "ECS instance types such as ecs.g7.xlarge") },
    nodeKeyPair: { type: "string", description: "With createCluster: name of an existing ECS key pair for logging in to the nodes (the API requires a login; the stack sets no password). Set this or nodeSshPublicKey.", accepts: matches(/^[A-Za-z][\w.:-]{1,127}$/, "an ECS key pair name (2 to 128 characters, starting with a letter)") },
    nodeSshPublicKey: { type: "string", description: "With createCluster: an OpenSSH public key; the stack creates an ECS key pair of it for the nodes. Set this or nodeKeyPair.", accepts: matches(/^(ssh-(rsa|ed25519)|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( \S.*)?$/, "an OpenSSH public key line such as ssh-ed25519 AAAA... user@host") },
    nodeCount: { type: "integer", default: 2, description: "Nodes in the node pool.", accepts: atLeast(1) },
    deletionProtection: { type: "boolean", default: false, description: "ACK deletion protection (turn on for production)." },
    clusterAdmins: { type: "array", default: [], description: "RAM identities granted ACK's admin role on the created cluster (cs.KubernetesPermission), besides whoever runs up: user:<RAM user id> or role:<RAM role id>, such as the CI deploy role. The provider adds the grant and keeps the identity's other ACK permissions (UpdateUserPermissions in patch mode); the identity also needs a RAM policy that lets it read the cluster (cs:DescribeClusterUserKubeconfig).", accepts: eachMatches(/^(user|role):\d+$/, "RAM identities such as user:2xxxxxxxxxxxxxxx or role:3xxxxxxxxxxxxxxx", false) },
    clusterReaders: { type: "array", default: [], description: "RAM identities granted ACK's read-only restricted role on the created cluster, in every namespace: the CI preview role, so a pull request's preview reads the cluster as itself and writes nothing (docs/ci.md). Same form and RAM policy as clusterAdmins.", accepts: eachMatches(/^(user|role):\d+$/, "RAM identities such as user:2xxxxxxxxxxxxxxx or role:3xxxxxxxxxxxxxxx", false) },
    slbInternetEnabled: { type: "boolean", default: true, description: "Public API server endpoint, needed for a kubeconfig usable from outside the VPC (CI, laptops)." },
    apiServerAllowedCidrs: { type: "array", default: [], description: "With createCluster: client CIDRs (CI runners, offices) allowed to reach the API server, as a whitelist ACL on its load balancer; ACK's control-plane range 100.104.0.0/16 and vpcCidr are added, as ACK requires. The stack creates the ACL; binding it is one command the stack prints (apiServerAclCommand), because the provider cannot attach an ACL to the listener ACK created (docs/operations.md: Restricting the API server). Empty: no restriction.", accepts: rule("a list of IPv4 CIDRs such as [\"203.0.113.0/24\"] without duplicates", (v: string[]) => v.every(isCidr) && new Set(v).size === v.length) },

    meshEdition: { type: "string", default: "Pro", description: "ASM edition.", accepts: oneOf(...Object.keys(MESH_SPECS)) },
    meshClusterSpec: { type: "string", description: "ASM instance spec: standard goes with edition Default, enterprise or ultimate with Pro. Unset: standard for Default, enterprise for Pro.", accepts: oneOf(...Object.values(MESH_SPECS).flat()) },
    meshVersion: { type: "string", description: "ASM (Istio) version, e.g. v1.28.3.12-g1a2b3c4d-aliyun (see servicemesh.getVersions). Unset: ASM's default.", accepts: matches(/^v\d+\.\d+\.\d+/, "an ASM version such as v1.28.3.12-g1a2b3c4d-aliyun") },
    meshForceDelete: { type: "boolean", default: false, description: "Delete the mesh even while clusters are attached (pulumi destroy)." },
    meshDetachCluster: { type: "boolean", default: false, description: "Detach the cluster from the mesh (clusterIds: []). The teardown step before pulumi destroy, which cannot delete a mesh that still has a cluster attached (README: Teardown)." },
    strictMtls: { type: "boolean", default: false, description: "Declare a STRICT PeerAuthentication (security.istio.io/v1) for the app namespace." },
    meshApiTimeoutSeconds: { type: "integer", default: 300, description: "With strictMtls: how long up waits for the cluster's API server to serve security.istio.io/v1 before applying the PeerAuthentication. ASM serves it through the API server (crAggregationEnabled) a minute or two after the attach; at the deadline up fails and says so. 0: apply without waiting.", accepts: atLeast(0) },

    operatorVersion: { type: "string", default: OPERATOR.version, description: "prometheus-operator release whose bundle.yaml is installed.", accepts: matches(/^v\d+\.\d+\.\d+$/, `a release tag such as ${OPERATOR.version}`) },
    operatorUrlTemplate: { type: "string", default: OPERATOR.files.bundle.url, description: "Where bundle.yaml is downloaded from; {version} is replaced. Point it at a mirror for air-gapped clusters.", accepts: URL_TEMPLATE },
    operatorSha256: { type: "string", description: "sha256 of bundle.yaml. Needed for a version the code does not know; overrides the known digest.", accepts: matches(SHA256, "64 lower-case hex characters") },
    stripCrdDescriptions: { type: "boolean", default: false, description: "Drop the description texts from the CRD schemas: a quarter of the size in the cluster; kubectl explain then shows no text." },
    operatorNamespace: { type: "string", default: "default", description: "Namespace of the operator's Deployment, ServiceAccount and Service. The bundle (and the guide) use default; another name moves them, and their ClusterRoleBinding's subject, into a namespace the stack creates, without sidecar injection. Changing it on a running stack replaces the operator.", accepts: rule(`${DNS_LABEL_TEXT}, not kube-*`, (v: string) => DNS_LABEL.test(v) && !v.startsWith("kube-")) },
    crdManagement: { type: "string", default: "set", description: "How the operator's CRDs are applied: set, one resource holding their names and digest, applied server-side from the verified download; or provider, one provider-managed CustomResourceDefinition each (retainOnDelete from retainCrds). docs/design.md: State and speed has both measured.", accepts: oneOf("set", "provider") },
    retainCrds: { type: "boolean", default: true, description: "Keep the monitoring.coreos.com CRDs in the cluster on destroy (deleting a CRD deletes every object of its kind, other teams' included)." },

    istioVersion: { type: "string", default: ISTIO.version, description: "Istio tag whose Bookinfo sample is deployed.", accepts: matches(/^\d+\.\d+\.\d+$/, `an Istio tag such as ${ISTIO.version}`) },
    bookinfoUrlTemplate: { type: "string", default: ISTIO.files.bookinfo.url, description: "Where bookinfo.yaml is downloaded from; {version} is replaced.", accepts: URL_TEMPLATE },
    bookinfoSha256: { type: "string", description: "sha256 of bookinfo.yaml. Needed for a version the code does not know.", accepts: matches(SHA256, "64 lower-case hex characters") },

    appNamespace: { type: "string", default: "bookinfo", description: "Namespace of Bookinfo and of the ServiceMonitors (sidecar-injected). default (the guide's) is labelled, never created or deleted.", accepts: INJECTED_NAMESPACE },
    monitoringNamespace: { type: "string", default: "monitoring", description: "Namespace of Prometheus (sidecar-injected). default (the guide's) is labelled, never created or deleted.", accepts: INJECTED_NAMESPACE },
    prometheusName: { type: "string", default: "mesh", description: "Name of the Prometheus custom resource.", accepts: matches(DNS_LABEL, DNS_LABEL_TEXT) },
    prometheusReplicas: { type: "integer", default: 2, description: "Prometheus replicas (each scrapes every target).", accepts: atLeast(1) },
    prometheusVersion: { type: "string", default: VERSIONS.prometheus.version, description: "Prometheus version (>= v3.0.0: fallbackScrapeProtocol).", accepts: rule(`a Prometheus version >= v3.0.0 such as ${VERSIONS.prometheus.version}`, (v: string) => /^v(\d+)\.\d+\.\d+$/.test(v) && Number(/^v(\d+)/.exec(v)![1]) >= 3) },
    prometheusRetention: { type: "string", default: "15d", description: "How long Prometheus keeps samples (a Prometheus duration). prometheusRetentionSize bounds the same data by size; whichever is reached first applies.", accepts: matches(DURATION, "a Prometheus duration such as 15d or 12h") },
    prometheusStorageClass: { type: "string", default: "alicloud-disk-topology-alltype", description: "StorageClass of each replica's data volume (the Prometheus CR's storage.volumeClaimTemplate). The default is ACK's: an ESSD disk, or SSD or ultra disk where ESSD is out of stock, created in the zone where the pod is scheduled (WaitForFirstConsumer; docs/operations.md: Storage). Empty: the cluster's default StorageClass.", accepts: matches(/^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)?$/, "a StorageClass name (lower case letters, digits, '-', '.'), or empty for the cluster's default") },
    prometheusStorageSize: { type: "string", default: "20Gi", description: "Size of each replica's data volume. 20Gi is the smallest ESSD disk ACK creates.", accepts: matches(QUANTITY_BYTES, "a size in Mi, Gi or Ti such as 20Gi") },
    prometheusRetentionSize: { type: "string", description: "The most the data may take on disk (Prometheus's retention.size, the WAL included), as Prometheus writes sizes: powers of 2, MB, GB or TB. Unset: 85% of prometheusStorageSize, so compaction has room and the disk never fills.", accepts: matches(PROMETHEUS_BYTES, "a Prometheus size such as 17GB or 512MB") },
    prometheusEphemeralStorage: { type: "boolean", default: false, description: "Keep the data in an emptyDir of prometheusStorageSize instead of a disk: lost whenever a pod is replaced. For throwaway clusters only." },
    prometheusCpuRequest: { type: "string", default: PROMETHEUS_RESOURCES.cpuRequest, description: "CPU the scheduler reserves for the prometheus container (docs/operations.md: Sizing).", accepts: matches(QUANTITY_CPU, "a CPU quantity such as 250m or 1") },
    prometheusCpuLimit: { type: "string", description: "CPU limit of the prometheus container. Unset: none, so compaction and queries are not throttled beyond the request.", accepts: matches(QUANTITY_CPU, "a CPU quantity such as 500m or 2") },
    prometheusMemoryRequest: { type: "string", default: PROMETHEUS_RESOURCES.memoryRequest, description: "Memory the scheduler reserves for the prometheus container (docs/operations.md: Sizing).", accepts: matches(QUANTITY_BYTES, "a size in Mi, Gi or Ti such as 1Gi") },
    prometheusClusterLabel: { type: "string", description: "External label cluster on every series this Prometheus sends or answers with, so series of many clusters stay apart in one backend. Unset: clusterName with createCluster, else kubeContext, else the stack's name.", accepts: matches(LABEL_VALUE, "a label value of letters, digits, '.', '_' or '-' (at most 63)") },
    prometheusEnvironmentLabel: { type: "string", description: "External label environment on every series. Unset: the stack's name.", accepts: matches(LABEL_VALUE, "a label value of letters, digits, '.', '_' or '-' (at most 63)") },
    remoteWriteUrl: { type: "string", description: "Remote write endpoint Prometheus also sends every sample to: ARMS Managed Service for Prometheus, Thanos Receive, Mimir (docs/operations.md: Many clusters, one backend). Credentials go in remoteWriteUsername and remoteWritePassword, not in the URL. Unset: no remote write.", accepts: rule("an http:// or https:// URL without user or password in it", (v: string) => isHttpUrl(v) && new URL(v).username === "" && new URL(v).password === "") },
    remoteWriteUsername: { type: "string", secret: true, description: "Basic auth user of remoteWriteUrl (ARMS: the AccessKey ID), set with --secret; it reaches Prometheus through a Kubernetes Secret." },
    remoteWritePassword: { type: "string", secret: true, description: "Basic auth password of remoteWriteUrl (ARMS: the AccessKey secret), set with --secret; it reaches Prometheus through a Kubernetes Secret." },
    prometheusMemoryLimit: { type: "string", default: PROMETHEUS_RESOURCES.memoryLimit, description: "Memory limit of the prometheus container: the kernel kills it above this. At least prometheusMemoryRequest.", accepts: matches(QUANTITY_BYTES, "a size in Mi, Gi or Ti such as 2Gi") },

    scrapeServices: { type: "array", default: ["productpage"], description: "Bookinfo Services scraped over mTLS, one ServiceMonitor each.", accepts: eachMatches(DNS_LABEL, "Service names") },
    scrapeInterval: { type: "string", default: "30s", description: "Scrape interval (a Prometheus duration).", accepts: matches(DURATION, "a Prometheus duration such as 30s or 1m") },
    scrapePath: { type: "string", default: "/metrics", description: "HTTP path of the metrics endpoint.", accepts: matches(/^\/[^\s]*$/, "a path starting with /") },

    alertRules: { type: "boolean", default: true, description: "Declare the alert rules of the mTLS scrape (a target down, a ServiceMonitor with no target, the mesh certificate not renewed) and of Prometheus's health, as a PrometheusRule its Prometheus selects (docs/alerts.md)." },
    prometheusEvaluationInterval: { type: "string", default: "30s", description: "How often Prometheus evaluates its alert rules (the Prometheus CR's evaluationInterval; 30s is the operator's default): an alert fires at most this long after its condition has held for its for.", accepts: matches(DURATION, "a Prometheus duration such as 30s") },
    alertTargetDownFor: { type: "string", default: "5m", description: "How long a target of an mTLS ServiceMonitor stays down before MtlsScrapeTargetDown fires: ten failed scrapes at the default interval, longer than a rollout takes to replace a pod.", accepts: matches(DURATION, "a Prometheus duration such as 5m") },
    alertNoTargetFor: { type: "string", default: "10m", description: "How long a ServiceMonitor of the stack may discover no target before MtlsScrapeNoTarget fires: discovery lists in seconds, so this only spares a Deployment scaled to zero and back.", accepts: matches(DURATION, "a Prometheus duration such as 10m") },
    meshCertTtl: { type: "string", default: "24h", description: "Lifetime of the workload certificates the mesh issues (pilot-agent's SECRET_TTL, 24h unless the mesh's proxy config sets it; ASM runs Istio's agent); MeshCertificateNotRenewed measures the certificate Prometheus presents against it.", accepts: matches(DURATION, "a Prometheus duration such as 24h") },
    alertCertRemainingPercent: { type: "integer", default: 45, description: "MeshCertificateNotRenewed fires when the certificate Prometheus presents has less than this share of meshCertTtl left. The agent renews at 50% give or take 1% (SECRET_GRACE_PERIOD_RATIO, its jitter); 45 leaves its retries 4% of the lifetime (58 minutes of 24h) and still warns 10.8 hours before expiry.", accepts: rule("an integer from 1 to 48 (the agent renews at 49 to 51%)", (v: number) => v >= 1 && v <= 48) },
    alertRunbookUrl: { type: "string", default: "docs/troubleshooting.md", description: "Where the runbook_url of each mTLS alert points, followed by its row's anchor (#no-target and so on): this repository's troubleshooting page, or the URL where your team publishes it.", accepts: matches(/^(https?:\/\/[^\s#]+|[\w./-]+)$/, "an http(s) URL or a path such as docs/troubleshooting.md, without a #fragment") },
    alertmanager: { type: "boolean", default: false, description: "Run an Alertmanager beside Prometheus (the operator's Alertmanager resource) that delivers the alerts to alertWebhookUrl, routed by severity, the Watchdog to alertWatchdogWebhookUrl. Prometheus reaches it over mTLS with its mesh certificate, so a STRICT PeerAuthentication on the monitoring namespace or the whole mesh does not block it (docs/alerts.md). Needs alertRules." },
    alertmanagerReplicas: { type: "integer", default: 2, description: "Alertmanager replicas: Prometheus sends every alert to each, and they agree over their gossip port (9094, left out of the mesh) on who notifies, so one node's loss loses no notification.", accepts: atLeast(1) },
    alertmanagerVersion: { type: "string", default: VERSIONS.alertmanager.version, description: "Alertmanager version (>= v0.25.0: webhook url_file).", accepts: rule(`an Alertmanager version >= v0.25.0 such as ${VERSIONS.alertmanager.version}`, (v: string) => /^v0\.(\d+)\.\d+$/.test(v) && Number(/^v0\.(\d+)/.exec(v)![1]) >= 25) },
    alertWebhookUrl: { type: "string", secret: true, description: "With alertmanager: the webhook every alert goes to unless a route below takes it (Alertmanager's webhook JSON: a chat bridge, an incident tool, DingTalk through a relay), set with --secret since such URLs carry a token. It reaches Alertmanager as a key of its config Secret, read through url_file.", accepts: rule("an http:// or https:// URL", isHttpUrl) },
    alertCriticalWebhookUrl: { type: "string", secret: true, description: "With alertmanager: where alerts of severity critical go instead (a pager), set with --secret. Unset: alertWebhookUrl.", accepts: rule("an http:// or https:// URL", isHttpUrl) },
    alertWatchdogWebhookUrl: { type: "string", secret: true, description: "With alertmanager: a dead man's switch outside the cluster that the always-firing Watchdog pings every alertWatchdogInterval, so it raises the alarm when the pings stop (Prometheus, its rules or Alertmanager broken), set with --secret. Unset: the Watchdog is dropped.", accepts: rule("an http:// or https:// URL", isHttpUrl) },
    alertWatchdogInterval: { type: "string", default: "5m", description: "With alertWatchdogWebhookUrl: how often the Watchdog pings the dead man's switch; set the switch to raise the alarm after two or three missed pings.", accepts: matches(DURATION, "a Prometheus duration such as 5m") },
    alertGroupWait: { type: "string", default: "30s", description: "With alertmanager: how long a new group of alerts waits for more before its first notification (Alertmanager's group_wait).", accepts: matches(DURATION, "a Prometheus duration such as 30s") },
    alertGroupInterval: { type: "string", default: "5m", description: "With alertmanager: how long a group waits before notifying of alerts added to it or resolved (group_interval).", accepts: matches(DURATION, "a Prometheus duration such as 5m") },
    alertRepeatInterval: { type: "string", default: "4h", description: "With alertmanager: how often an alert still firing is sent again (repeat_interval).", accepts: matches(DURATION, "a Prometheus duration such as 4h") },
    grafanaDashboard: { type: "boolean", default: true, description: "Ship a Grafana dashboard of the mTLS scrape (targets up and down, scrape duration and samples, targets per ServiceMonitor, the mesh certificate's time left, firing alerts) as a ConfigMap labelled grafana_dashboard=1, which the Grafana sidecar of kube-prometheus-stack loads; its JSON imports into any Grafana, ARMS Managed Service for Grafana included (docs/alerts.md)." },
    grafanaDashboardNamespace: { type: "string", description: "Namespace of the dashboard's ConfigMap: one the Grafana sidecar watches (kube-prometheus-stack's watches only Grafana's own unless sidecar.dashboards.searchNamespace is ALL). It must exist. Unset: monitoringNamespace.", accepts: matches(DNS_LABEL, DNS_LABEL_TEXT) },

    imageRegistryMirror: { type: "string", description: "Registry that every image the stack deploys is pulled from instead of its own (Bookinfo's, the operator's, its config reloader's, Prometheus's), the path kept: docker.io/istio/examples-bookinfo-details-v1:1.20.3 becomes <mirror>/istio/examples-bookinfo-details-v1:1.20.3. For clusters that cannot pull from docker.io or quay.io (docs/operations.md: Images in mainland China). Unset: the images' own registries.", accepts: matches(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d+)?(\/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$/, "a registry host with an optional port and path, without scheme or trailing slash, such as my-acr-registry.cn-hangzhou.cr.aliyuncs.com/mirror") },
    keepOnDestroy: { type: "array", default: [], description: "Parts that pulumi destroy leaves in the cluster: operator (its Deployment, RBAC, Service and own namespace) and bookinfo (its objects and namespace), e.g. an install adopted with adoptExisting that outlives the stack. The CRDs follow retainCrds.", accepts: rule("a list of operator and bookinfo, without duplicates", (v: string[]) => v.every((x) => x === "operator" || x === "bookinfo") && new Set(v).size === v.length) },
    adoptExisting: { type: "boolean", default: false, description: "Take over objects of the same names that already exist in the cluster, such as an operator bundle and Bookinfo applied by hand with the guide, without deleting them (the Kubernetes provider's upsertExistingObjects). Unset, an existing cluster with such a Deployment made outside Pulumi is refused before anything is applied (docs/operations.md: Adopting a hand-made install)." },
    awaitPrometheus: { type: "boolean", default: true, description: "Wait, after each change of the Prometheus, until the operator reports it Available, at most 10 minutes, so an up whose Prometheus never runs fails; a pod of the rollout without its istio-proxy sidecar fails it at once, naming the fix. Turn off only where no operator runs the pods (the local kwok cluster)." },
    awaitServiceMonitors: { type: "boolean", default: true, description: "Wait until the operator accepts each ServiceMonitor for the stack's Prometheus (its status, written with the StatusForConfigurationResources feature gate the stack turns on), at most 5 minutes; a rejected one (a scrape class the Prometheus lacks) fails up with the operator's reason. Turn off only where no operator runs (the local kwok cluster)." },
    awaitServiceEndpoints: { type: "boolean", default: true, description: "Wait until each Service of the operator bundle and of Bookinfo has endpoints. Turn off only where endpoints cannot exist (the local kwok cluster: its pod IPs are loopback addresses, which EndpointSlices refuse)." },
    renderYamlToDirectory: { type: "string", description: "Write the Kubernetes objects as YAML into this folder instead of applying them (review, GitOps, benchmarks). Run with KUBECONFIG unset: the provider refuses a kubeconfig next to it." },
    manifestCacheDir: { type: "string", description: "Where verified downloads are cached, by digest. Unset: ~/.cache/asm-prom-mtls/manifests ($XDG_CACHE_HOME when set)." },
    downloadTimeoutSeconds: { type: "integer", default: 60, description: "Timeout of each manifest download.", accepts: atLeast(1) },
} satisfies Record<string, Setting>;

/**
 * The environment variables that carry a CI job's Alibaba Cloud identity, as terraform-provider-alicloud
 * names them for its assume_role_with_oidc block (alicloud/provider.go, assumeRoleWithOidcSchema). The
 * provider reads them only inside that block, never on its own, so the program passes them explicitly.
 */
export const OIDC_ENV = {
    roleArn: "ALIBABA_CLOUD_ROLE_ARN",
    oidcProviderArn: "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
    oidcTokenFile: "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
    roleSessionName: "ALIBABA_CLOUD_ROLE_SESSION_NAME",
} as const;

/** AccessKey variables the provider reads (provider.go, access_key); a key wins over OIDC there, silently. */
export const ACCESS_KEY_ENV = ["ALICLOUD_ACCESS_KEY", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABACLOUD_ACCESS_KEY_ID"];

const ROLE_ARN = /^acs:ram::\d+:role\/[A-Za-z0-9._@-]{1,64}$/;
const OIDC_PROVIDER_ARN = /^acs:ram::\d+:oidc-provider\/[A-Za-z0-9._-]{1,128}$/;
const SESSION_NAME = /^[A-Za-z0-9._@-]{2,64}$/;

/** A CI job's OIDC identity: the provider exchanges the token for the role's credentials (STS AssumeRoleWithOIDC). */
export interface OidcLogin {
    roleArn: string;
    oidcProviderArn: string;
    oidcTokenFile: string;
    /** Unset: a name the stack derives, the same on every run so the provider's inputs do not change. */
    roleSessionName?: string;
}

/**
 * The job's OIDC identity from the environment, or undefined for the provider's ambient chain (AccessKey
 * variables, a CLI profile, an ECS instance role): what a laptop uses. Problems go to `problems`.
 */
function oidcLogin(env: Record<string, string | undefined>, problems: string[]): OidcLogin | undefined {
    const given = (name: string) => (env[name] === undefined || env[name] === "" ? undefined : env[name]);
    const required = [OIDC_ENV.roleArn, OIDC_ENV.oidcProviderArn, OIDC_ENV.oidcTokenFile];
    const present = required.filter((n) => given(n) !== undefined);
    if (present.length === 0) return undefined;
    const before = problems.length;
    if (present.length < required.length) {
        problems.push(`${required.filter((n) => !present.includes(n)).join(", ")}: not set while ${present.join(", ")} is; accepted: all three OIDC variables (a CI job's identity, docs/ci.md) or none (the provider's ambient credentials)`);
    }
    const check = (name: string, re: RegExp, what: string) => {
        const v = given(name);
        if (v !== undefined && !re.test(v)) problems.push(`${name}: ${show(v)} is not accepted; accepted: ${what}`);
    };
    check(OIDC_ENV.roleArn, ROLE_ARN, "a RAM role ARN such as acs:ram::1234567890123456:role/asm-prom-deploy");
    check(OIDC_ENV.oidcProviderArn, OIDC_PROVIDER_ARN, "a RAM OIDC provider ARN such as acs:ram::1234567890123456:oidc-provider/github");
    check(OIDC_ENV.roleSessionName, SESSION_NAME, "2 to 64 letters, digits, '.', '@', '-' or '_'");
    const tokenFile = given(OIDC_ENV.oidcTokenFile);
    if (tokenFile !== undefined) {
        let size = -1;
        try {
            size = statSync(tokenFile).size;
        } catch {
            size = -1;
        }
        if (size <= 0) problems.push(`${OIDC_ENV.oidcTokenFile}: ${show(tokenFile)} ${size < 0 ? "does not exist" : "is empty"}; accepted: the file the job wrote its GitHub OIDC token to (.github/actions/alibaba-oidc)`);
    }
    const keys = ACCESS_KEY_ENV.filter((n) => given(n) !== undefined);
    if (keys.length > 0) {
        problems.push(`${keys.join(", ")}: set together with ${OIDC_ENV.roleArn}; accepted: one kind of credential (the provider would use the AccessKey and silently ignore the OIDC role)`);
    }
    if (problems.length > before) return undefined;
    return { roleArn: given(OIDC_ENV.roleArn)!, oidcProviderArn: given(OIDC_ENV.oidcProviderArn)!, oidcTokenFile: tokenFile!, roleSessionName: given(OIDC_ENV.roleSessionName) };
}

export type SettingName = keyof typeof SETTINGS;
/** A setting's key as the engine and `pulumi config` spell it. */
export type ConfigKey = `${typeof PROJECT}:${SettingName}`;

/** The full key of a setting; a renamed or misspelled setting fails to compile. */
export function configKey(name: SettingName): ConfigKey {
    return `${PROJECT}:${name}`;
}

const SETTING_ENTRIES = Object.entries(SETTINGS) as [SettingName, Setting][];

export interface StackConfig {
    region: string;
    /** How the Alibaba Cloud provider logs in: a CI job's OIDC identity, or unset for the ambient chain. */
    cloudLogin?: OidcLogin;
    cluster: {
        create: boolean;
        name: string;
        zoneIds: string[];
        vpcCidr: string;
        vswitchCidrs: string[];
        podCidr: string;
        serviceCidr: string;
        clusterSpec: string;
        kubernetesVersion?: string;
        nodeInstanceTypes: string[];
        nodeCount: number;
        /** How the nodes are logged in to: an existing key pair, or one the stack creates from a public key. */
        nodeLogin: { keyPair: string } | { publicKey: string };
        deletionProtection: boolean;
        slbInternetEnabled: boolean;
        /** Client CIDRs of the API server's whitelist; empty: no ACL. */
        apiServerAllowedCidrs: string[];
        activateAck: boolean;
        admins: string[];
        /** RAM identities given ACK's read-only restricted role. */
        readers: string[];
    };
    /** Existing cluster only. kubeconfig is wrapped by the caller as a secret. */
    existing: { kubeconfig?: string; context?: string };
    mesh: { create: boolean; edition: string; clusterSpec: string; version?: string; forceDelete: boolean; detachCluster: boolean; strictMtls: boolean; apiTimeoutSeconds: number };
    operator: { version: string; urlTemplate: string; sha256?: string; namespace: string; retainCrds: boolean; stripCrdDescriptions: boolean; crdManagement: "set" | "provider" };
    bookinfo: { version: string; urlTemplate: string; sha256?: string };
    namespaces: { app: string; monitoring: string };
    prometheus: {
        name: string;
        replicas: number;
        version: string;
        retention: string;
        /** Prometheus's retention.size, given or derived from the volume's size. */
        retentionSize: string;
        /** A disk per replica (a claim of this class, or of the cluster's default one), or an emptyDir where the stack asks for one. */
        storage: { storageClass?: string; size: string } | { emptyDir: true; size: string };
        resources: { requests: { cpu: string; memory: string }; limits: { cpu?: string; memory: string } };
        /** Labels every series carries outside this Prometheus (remote write, federation, alerts). */
        externalLabels: { cluster: string; environment: string };
        /** Where samples are also sent; the credentials are wrapped as secrets by the component. */
        remoteWrite?: { url: string; basicAuth?: { username: string; password: string } };
        /** Whether replicas must (the stack made the nodes) or only should (a cluster it found) spread. */
        zoneSpread: "DoNotSchedule" | "ScheduleAnyway";
        nodeSpread: "DoNotSchedule" | "ScheduleAnyway";
        awaitAvailable: boolean;
        /** How often the rules are evaluated. */
        evaluationInterval: string;
    };
    scrape: { services: string[]; interval: string; path: string };
    /** The Grafana dashboard, unset when grafanaDashboard is off; namespace unset: the monitoring namespace. */
    dashboard?: { namespace?: string };
    /** The Alertmanager, unset when alertmanager is off; the webhook URLs are wrapped as secrets by the component. */
    alertmanager?: {
        replicas: number;
        version: string;
        webhooks: { default: string; critical?: string; watchdog?: string };
        groupWait: string;
        groupInterval: string;
        repeatInterval: string;
        watchdogInterval: string;
    };
    /** The alert rules, unset when alertRules is off. */
    alerts?: { targetDownFor: string; noTargetFor: string; certTtlSeconds: number; certRemainingPercent: number; runbookBase: string };
    downloads: { cacheDir?: string; timeoutSeconds: number };
    renderDir?: string;
    awaitServiceEndpoints: boolean;
    /** Up waits for the operator to accept each ServiceMonitor. */
    awaitServiceMonitors: boolean;
    /** Objects that already exist are taken over instead of refused. */
    adoptExisting: boolean;
    /** Parts pulumi destroy leaves in the cluster. */
    keepOnDestroy: { operator: boolean; bookinfo: boolean };
    /** Registry every deployed image is pulled from, when set. */
    imageRegistryMirror?: string;
}

export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`invalid stack configuration:\n  - ${problems.join("\n  - ")}`);
        this.name = "ConfigError";
    }
}

function show(raw: string): string {
    return JSON.stringify(raw.length > 80 ? raw.slice(0, 77) + "..." : raw);
}

function convert(key: SettingName, s: Setting, raw: string, problems: string[]): Value | undefined {
    const name = configKey(key);
    switch (s.type) {
        case "string":
            return raw;
        case "boolean":
            if (raw === "true" || raw === "false") return raw === "true";
            problems.push(`${name}: ${show(raw)} is not a boolean; accepted: true or false`);
            return undefined;
        case "integer":
            if (/^-?\d+$/.test(raw.trim())) return Number(raw.trim());
            problems.push(`${name}: ${show(raw)} is not an integer; accepted: a whole number`);
            return undefined;
        case "array": {
            let parsed: unknown;
            try {
                parsed = JSON.parse(raw);
            } catch {
                parsed = undefined;
            }
            if (Array.isArray(parsed) && parsed.every((x) => typeof x === "string")) return parsed as string[];
            problems.push(`${name}: ${show(raw)} is not a list of strings; accepted: a YAML list of strings, e.g. set with --path '${key}[0]'`);
            return undefined;
        }
    }
}

function editDistance(a: string, b: string): number {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++)
        for (let j = 1; j <= b.length; j++)
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
    return d[a.length][b.length];
}

type Parsed = Partial<Record<SettingName, Value>>;

/** Keys of the project's namespace that are no setting, with the nearest one when it looks like a typo. */
function unknownKeyProblems(raw: Record<string, string>): string[] {
    const known = SETTING_ENTRIES.map(([k]) => k);
    return Object.keys(raw).sort().filter((k) => k.startsWith(`${PROJECT}:`) && !(known as string[]).includes(k.slice(PROJECT.length + 1))).map((fullKey) => {
        const key = fullKey.slice(PROJECT.length + 1);
        const near = known.map((k) => [k, editDistance(k, key)] as const).sort((x, y) => x[1] - y[1])[0];
        const hint = near && near[1] <= 3 ? `did you mean ${configKey(near[0])}? ` : "";
        return `${fullKey}: unknown setting; ${hint}accepted keys are listed in docs/configuration.md`;
    });
}

/** The provider's own key this stack needs: the region, which the provider would otherwise guess. */
function regionProblems(region: string | undefined): string[] {
    if (region === undefined || region === "") {
        return [`alicloud:region: not set; accepted: an Alibaba Cloud region id such as cn-hangzhou (the provider would silently use cn-beijing)`];
    }
    return REGION.test(region) ? [] : [`alicloud:region: ${show(region)} is not accepted; accepted: a region id such as cn-hangzhou`];
}

/** MiB of a size QUANTITY_BYTES accepted (Prometheus's MB is the same unit). */
function mebibytes(q: string): number {
    const m = /^(\d+)(Mi|Gi|Ti|MB|GB|TB)$/.exec(q)!;
    return Number(m[1]) * { Mi: 1, MB: 1, Gi: 1024, GB: 1024, Ti: 1024 ** 2, TB: 1024 ** 2 }[m[2] as "Mi"];
}

/** Millicores of a CPU quantity QUANTITY_CPU accepted. */
function millicores(q: string): number {
    return q.endsWith("m") ? Number(q.slice(0, -1)) : Math.round(Number(q) * 1000);
}

/** The Prometheus settings that must agree: a request within its limit, the retained data within its volume. */
function prometheusProblems(v: Parsed): string[] {
    const problems: string[] = [];
    const given = (k: SettingName) => v[k] as string | undefined;
    const within = (req: SettingName, lim: SettingName, size: (q: string) => number) => {
        const [r, l] = [given(req), given(lim)];
        if (r !== undefined && l !== undefined && size(r) > size(l)) {
            problems.push(`${configKey(req)}: ${show(r)} is not accepted with ${configKey(lim)} ${l}; accepted: at most the limit (the scheduler would reserve more than the container may use)`);
        }
    };
    within("prometheusMemoryRequest", "prometheusMemoryLimit", mebibytes);
    within("prometheusCpuRequest", "prometheusCpuLimit", millicores);
    const auth = (["remoteWriteUsername", "remoteWritePassword"] as const).filter((k) => given(k) !== undefined);
    if (auth.length === 1) {
        problems.push(`${configKey(auth[0])}: set without ${configKey(auth[0] === "remoteWriteUsername" ? "remoteWritePassword" : "remoteWriteUsername")}; accepted: both (basic auth) or neither`);
    }
    if (auth.length > 0 && given("remoteWriteUrl") === undefined) {
        problems.push(`${configKey(auth[0])}: set while ${configKey("remoteWriteUrl")} is not; accepted: credentials only together with the endpoint they are for`);
    }
    const [retained, volume] = [given("prometheusRetentionSize"), given("prometheusStorageSize")];
    if (retained !== undefined && volume !== undefined && mebibytes(retained) >= mebibytes(volume)) {
        problems.push(`${configKey("prometheusRetentionSize")}: ${show(retained)} is not accepted with ${configKey("prometheusStorageSize")} ${volume}; accepted: less than the volume (about ${Math.round(RETENTION_SHARE * 100)}% of it, or unset), since the WAL counts and compaction needs room`);
    }
    return problems;
}

/** Alertmanager's settings: a webhook to deliver to, rules to deliver, and no receiver without it. */
function alertmanagerProblems(v: Parsed, raw: Record<string, string>): string[] {
    const problems: string[] = [];
    const webhooks = (["alertWebhookUrl", "alertCriticalWebhookUrl", "alertWatchdogWebhookUrl"] as const).filter((k) => raw[configKey(k)] !== undefined);
    if (v.alertmanager !== true) {
        for (const k of webhooks) problems.push(`${configKey(k)}: set while ${configKey("alertmanager")} is not true; accepted: receivers only together with the Alertmanager that delivers to them`);
        return problems;
    }
    if (raw[configKey("alertWebhookUrl")] === undefined) {
        problems.push(`${configKey("alertmanager")}: true is not accepted without ${configKey("alertWebhookUrl")}; accepted: true with a webhook URL set (pulumi config set --secret alertWebhookUrl https://...), where every alert without a route of its own goes`);
    }
    if (v.alertRules === false) {
        problems.push(`${configKey("alertmanager")}: true is not accepted while ${configKey("alertRules")} is false; accepted: alertRules true (the Prometheus loads only the stack's rules, so the Alertmanager would never receive an alert)`);
    }
    return problems;
}

/** The rules that involve more than one setting; each single setting's rule lives in SETTINGS. */
function crossKeyProblems(v: Parsed, raw: Record<string, string>): string[] {
    const problems: string[] = [];
    const createCluster = v.createCluster === true;
    if (v.createMesh === true && !createCluster) {
        problems.push(`${configKey("createMesh")}: true is not accepted while ${configKey("createCluster")} is false; accepted: createMesh true only together with createCluster true (the mesh attaches the cluster this stack creates)`);
    }
    if (createCluster) {
        const zones = v.zoneIds as string[] | undefined;
        const cidrs = v.vswitchCidrs as string[] | undefined;
        if (zones && zones.length === 0) problems.push(`${configKey("zoneIds")}: [] is not accepted with createCluster; accepted: a non-empty list of zone ids such as ["cn-hangzhou-k"]`);
        if (zones && cidrs && zones.length > 0 && zones.length !== cidrs.length) {
            problems.push(`${configKey("vswitchCidrs")}: ${cidrs.length} CIDRs for ${zones.length} zones is not accepted; accepted: exactly one CIDR per entry of zoneIds`);
        }
        const logins = (["nodeKeyPair", "nodeSshPublicKey"] as const).filter((k) => raw[configKey(k)] !== undefined);
        if (logins.length !== 1) {
            problems.push(`${configKey("nodeKeyPair")}: ${logins.length === 0 ? "neither it nor nodeSshPublicKey is set" : "set together with nodeSshPublicKey"} with createCluster; accepted: exactly one of nodeKeyPair (an existing ECS key pair) or nodeSshPublicKey (the API requires a login for the nodes)`);
        }
        for (const key of ["kubeconfig", "kubeContext"] as const) {
            if (raw[configKey(key)] !== undefined) problems.push(`${configKey(key)}: is set while ${configKey("createCluster")} is true; accepted: unset (the stack builds the kubeconfig of the cluster it creates)`);
        }
    }
    const admins = (v.clusterAdmins as string[] | undefined) ?? [];
    const both = ((v.clusterReaders as string[] | undefined) ?? []).filter((r) => admins.includes(r));
    if (both.length > 0) {
        problems.push(`${configKey("clusterReaders")}: ${JSON.stringify(both)} is not accepted while also in ${configKey("clusterAdmins")}; accepted: each identity in one of the two lists (one grant per identity)`);
    }
    for (const key of ["clusterAdmins", "clusterReaders"] as const) {
        const given = v[key] as string[] | undefined;
        if (!createCluster && given && given.length > 0) {
            problems.push(`${configKey(key)}: ${JSON.stringify(given)} is not accepted while ${configKey("createCluster")} is false; accepted: [] (grant access to an existing cluster in its ACK console: docs/ci.md)`);
        }
    }
    problems.push(...alertmanagerProblems(v, raw));
    const [replicas, nodes] = [v.prometheusReplicas as number | undefined, v.nodeCount as number | undefined];
    if (createCluster && replicas !== undefined && nodes !== undefined && replicas > nodes) {
        problems.push(`${configKey("prometheusReplicas")}: ${replicas} is not accepted with ${configKey("nodeCount")} ${nodes}; accepted: at most one replica per node (each must run on a node of its own, so one node's loss leaves the others)`);
    }
    const allowed = v.apiServerAllowedCidrs as string[] | undefined;
    if (!createCluster && allowed && allowed.length > 0) {
        problems.push(`${configKey("apiServerAllowedCidrs")}: ${JSON.stringify(allowed)} is not accepted while ${configKey("createCluster")} is false; accepted: [] (an existing cluster's API server ACL is bound in the SLB console: docs/operations.md, Restricting the API server)`);
    }
    if (v.meshDetachCluster === true && v.createMesh !== true) {
        problems.push(`${configKey("meshDetachCluster")}: true is not accepted while ${configKey("createMesh")} is false; accepted: false (only a mesh this stack creates has a cluster it attached)`);
    }
    const edition = v.meshEdition as string | undefined;
    const spec = v.meshClusterSpec as string | undefined;
    if (edition && spec && MESH_SPECS[edition] && !MESH_SPECS[edition].includes(spec)) {
        problems.push(`${configKey("meshClusterSpec")}: ${show(spec)} is not accepted with ${configKey("meshEdition")} ${edition}; accepted: ${MESH_SPECS[edition].join(" or ")} (or unset)`);
    }
    // Namespaces the stack creates are one resource each; default, which it only labels, may be shared (the guide's layout).
    const operatorNs = v.operatorNamespace as string | undefined;
    if (operatorNs !== undefined && operatorNs !== SHARED_NAMESPACE && (operatorNs === v.appNamespace || operatorNs === v.monitoringNamespace)) {
        problems.push(`${configKey("operatorNamespace")}: ${show(operatorNs)} is not accepted; accepted: a namespace other than appNamespace and monitoringNamespace (those are sidecar-injected and deleted on destroy), or ${SHARED_NAMESPACE}`);
    }
    if (v.appNamespace !== undefined && v.appNamespace !== SHARED_NAMESPACE && v.appNamespace === v.monitoringNamespace) {
        problems.push(`${configKey("monitoringNamespace")}: ${show(String(v.monitoringNamespace))} is not accepted; accepted: a namespace other than appNamespace, or ${SHARED_NAMESPACE} for both`);
    }
    return problems;
}

/**
 * Parses the raw config map (keys "namespace:key", values as the engine passes them: strings, lists
 * as JSON) and the environment's cloud identity into a StackConfig, or throws one ConfigError that
 * lists every problem found. isSecret tells whether the engine holds a key as a secret; stack is the
 * stack's name, which some defaults take.
 */
export function parseConfig(raw: Record<string, string>, isSecret: (key: string) => boolean = () => true, env: Record<string, string | undefined> = {}, stack = "dev"): StackConfig {
    const problems: string[] = unknownKeyProblems(raw);
    const v: Parsed = {};

    for (const [key, setting] of SETTING_ENTRIES) {
        const given = raw[configKey(key)];
        if (given === undefined) {
            v[key] = setting.default;
            continue;
        }
        const value = convert(key, setting, given, problems);
        const refused = value === undefined ? undefined : setting.accepts?.refuse(value as never);
        if (refused !== undefined) {
            // A secret's value never reaches an error message, which the engine prints and CI logs keep.
            const shown = setting.secret ? "the secret value" : show(Array.isArray(value) ? JSON.stringify(value) : String(value));
            problems.push(`${configKey(key)}: ${shown} is not accepted; accepted: ${refused}`);
            continue;
        }
        v[key] = value;
        if (setting.secret && !isSecret(configKey(key))) {
            problems.push(`${configKey(key)}: stored in plain text; accepted: a secret value (pulumi config set --secret ${key} ...)`);
        }
    }

    const region = raw["alicloud:region"];
    problems.push(...regionProblems(region), ...crossKeyProblems(v, raw), ...prometheusProblems(v));
    const cloudLogin = oidcLogin(env, problems);
    if (problems.length > 0) throw new ConfigError(problems);

    const str = (k: SettingName) => v[k] as string;
    const opt = (k: SettingName) => v[k] as string | undefined;
    return {
        region: region!,
        cloudLogin,
        cluster: {
            create: v.createCluster as boolean,
            name: str("clusterName"),
            zoneIds: v.zoneIds as string[],
            vpcCidr: str("vpcCidr"),
            vswitchCidrs: v.vswitchCidrs as string[],
            podCidr: str("podCidr"),
            serviceCidr: str("serviceCidr"),
            clusterSpec: str("clusterSpec"),
            kubernetesVersion: opt("kubernetesVersion"),
            nodeInstanceTypes: v.nodeInstanceTypes as string[],
            nodeCount: v.nodeCount as number,
            nodeLogin: opt("nodeKeyPair") !== undefined ? { keyPair: str("nodeKeyPair") } : { publicKey: opt("nodeSshPublicKey") ?? "" },
            deletionProtection: v.deletionProtection as boolean,
            slbInternetEnabled: v.slbInternetEnabled as boolean,
            apiServerAllowedCidrs: v.apiServerAllowedCidrs as string[],
            activateAck: v.activateAck as boolean,
            admins: v.clusterAdmins as string[],
            readers: v.clusterReaders as string[],
        },
        existing: { kubeconfig: opt("kubeconfig"), context: opt("kubeContext") },
        mesh: {
            create: v.createMesh as boolean,
            edition: str("meshEdition"),
            clusterSpec: opt("meshClusterSpec") ?? MESH_SPECS[str("meshEdition")][0],
            version: opt("meshVersion"),
            forceDelete: v.meshForceDelete as boolean,
            detachCluster: v.meshDetachCluster as boolean,
            strictMtls: v.strictMtls as boolean,
            apiTimeoutSeconds: v.meshApiTimeoutSeconds as number,
        },
        operator: { version: str("operatorVersion"), urlTemplate: str("operatorUrlTemplate"), sha256: opt("operatorSha256"), namespace: str("operatorNamespace"), retainCrds: v.retainCrds as boolean, stripCrdDescriptions: v.stripCrdDescriptions as boolean, crdManagement: str("crdManagement") as "set" | "provider" },
        bookinfo: { version: str("istioVersion"), urlTemplate: str("bookinfoUrlTemplate"), sha256: opt("bookinfoSha256") },
        namespaces: { app: str("appNamespace"), monitoring: str("monitoringNamespace") },
        prometheus: {
            name: str("prometheusName"),
            replicas: v.prometheusReplicas as number,
            version: str("prometheusVersion"),
            retention: str("prometheusRetention"),
            retentionSize: opt("prometheusRetentionSize") ?? `${Math.floor(mebibytes(str("prometheusStorageSize")) * RETENTION_SHARE)}MB`,
            storage: v.prometheusEphemeralStorage
                ? { emptyDir: true, size: str("prometheusStorageSize") }
                : { storageClass: str("prometheusStorageClass") || undefined, size: str("prometheusStorageSize") },
            resources: {
                requests: { cpu: str("prometheusCpuRequest"), memory: str("prometheusMemoryRequest") },
                limits: { ...(opt("prometheusCpuLimit") ? { cpu: str("prometheusCpuLimit") } : {}), memory: str("prometheusMemoryLimit") },
            },
            // The node pool the stack creates spreads its nodes over the zones evenly (BALANCE) and holds
            // at least as many nodes as replicas (checked above); of a cluster it did not create it knows neither.
            zoneSpread: v.createCluster && (v.zoneIds as string[]).length > 1 ? "DoNotSchedule" : "ScheduleAnyway",
            nodeSpread: v.createCluster ? "DoNotSchedule" : "ScheduleAnyway",
            externalLabels: {
                cluster: opt("prometheusClusterLabel") ?? (v.createCluster ? str("clusterName") : opt("kubeContext") ?? stack),
                environment: opt("prometheusEnvironmentLabel") ?? stack,
            },
            remoteWrite: opt("remoteWriteUrl") === undefined ? undefined : {
                url: str("remoteWriteUrl"),
                basicAuth: opt("remoteWriteUsername") === undefined ? undefined : { username: str("remoteWriteUsername"), password: str("remoteWritePassword") },
            },
            awaitAvailable: v.awaitPrometheus as boolean,
            evaluationInterval: str("prometheusEvaluationInterval"),
        },
        scrape: { services: v.scrapeServices as string[], interval: str("scrapeInterval"), path: str("scrapePath") },
        dashboard: v.grafanaDashboard ? { namespace: opt("grafanaDashboardNamespace") } : undefined,
        alerts: v.alertRules ? {
            targetDownFor: str("alertTargetDownFor"),
            noTargetFor: str("alertNoTargetFor"),
            certTtlSeconds: durationSeconds(str("meshCertTtl")),
            certRemainingPercent: v.alertCertRemainingPercent as number,
            runbookBase: str("alertRunbookUrl"),
        } : undefined,
        alertmanager: v.alertmanager ? {
            replicas: v.alertmanagerReplicas as number,
            version: str("alertmanagerVersion"),
            webhooks: { default: str("alertWebhookUrl"), critical: opt("alertCriticalWebhookUrl"), watchdog: opt("alertWatchdogWebhookUrl") },
            groupWait: str("alertGroupWait"),
            groupInterval: str("alertGroupInterval"),
            repeatInterval: str("alertRepeatInterval"),
            watchdogInterval: str("alertWatchdogInterval"),
        } : undefined,
        downloads: { cacheDir: opt("manifestCacheDir"), timeoutSeconds: v.downloadTimeoutSeconds as number },
        renderDir: opt("renderYamlToDirectory"),
        awaitServiceEndpoints: v.awaitServiceEndpoints as boolean,
        awaitServiceMonitors: v.awaitServiceMonitors as boolean,
        adoptExisting: v.adoptExisting as boolean,
        keepOnDestroy: { operator: (v.keepOnDestroy as string[]).includes("operator"), bookinfo: (v.keepOnDestroy as string[]).includes("bookinfo") },
        imageRegistryMirror: opt("imageRegistryMirror"),
    };
}

