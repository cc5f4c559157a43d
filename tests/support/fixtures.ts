import type { AckClusterArgs } from "../../components/ackCluster";
import type { MeshPrometheusArgs } from "../../components/meshPrometheus";
import { PrometheusOperator, PrometheusOperatorArgs } from "../../components/prometheusOperator";
import { parseConfig } from "../../lib/config";
import { KubeObject } from "../../lib/manifests";
import { VERSIONS } from "../../lib/versions";
import { upstreamObjects } from "./upstream";

// What several component tests build on: the real operator bundle and Bookinfo of versions.json.

const OPERATOR_VERSION = VERSIONS.prometheusOperator.version;
export const ISTIO_VERSION = VERSIONS.istio.version;
export const PROMETHEUS_VERSION = VERSIONS.prometheus.version;

export const CRD_SET = "pulumi-nodejs:dynamic/kubernetes:CrdSet";
export const ACCESS = { kubeconfig: "apiVersion: v1\nkind: Config\n", context: "ctx" };

/** A two-zone cluster, as the cloud components' tests create it. */
export const ACK_ARGS: AckClusterArgs = {
    name: "c1", region: "cn-hangzhou", zoneIds: ["cn-hangzhou-j", "cn-hangzhou-k"], vpcCidr: "10.0.0.0/16", vswitchCidrs: ["10.0.0.0/20", "10.0.16.0/20"],
    podCidr: "172.20.0.0/16", serviceCidr: "172.21.0.0/20", clusterSpec: "ack.pro.small", nodeInstanceTypes: ["ecs.g7.xlarge"], nodeCount: 2,
    deletionProtection: false, slbInternetEnabled: true, apiServerAllowedCidrs: [], admins: [], readers: [], nodeLogin: { keyPair: "ops" },
};

export function operatorArgs(objects: KubeObject[], extra: Partial<PrometheusOperatorArgs> = {}): PrometheusOperatorArgs {
    return { objects, cacheFile: "/cache/bundle.json", version: OPERATOR_VERSION, access: ACCESS, retainCrds: true, stripCrdDescriptions: false, crdManagement: "set", adoptExisting: false, awaitServiceEndpoints: true, ...extra };
}

/** The operator of the pinned bundle; call inside a run. */
export function operator(objects: KubeObject[]): PrometheusOperator {
    return new PrometheusOperator("operator", operatorArgs(objects));
}

/** MeshPrometheus's Args as a stack with this raw config (keys without the project prefix) passes them. */
export function prometheusArgs(extra: Partial<MeshPrometheusArgs> = {}, config: Record<string, string> = {}): MeshPrometheusArgs {
    const cfg = parseConfig({ "alicloud:region": "cn-hangzhou", ...Object.fromEntries(Object.entries(config).map(([k, v]) => [`asm-prometheus-mtls:${k}`, v])) });
    return { ...cfg.prometheus, namespace: "obs", name: "mesh", selfScrapeInterval: cfg.scrape.interval, serviceMonitorNamespace: "shop", access: ACCESS, ...extra };
}

export const operatorObjects = () => upstreamObjects("operator", OPERATOR_VERSION);
export const bookinfoObjects = () => upstreamObjects("bookinfo", ISTIO_VERSION);

export function matchesLabels(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
    return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}
