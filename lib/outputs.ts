import * as pulumi from "@pulumi/pulumi";
import type { AckCluster } from "../components/ackCluster";
import type { AsmMesh } from "../components/asmMesh";
import type { MeshAlertmanager } from "../components/meshAlertmanager";
import type { MeshPrometheus } from "../components/meshPrometheus";
import type { MtlsScrapeAlerts } from "../components/mtlsScrapeAlerts";
import type { MtlsScrapeDashboard } from "../components/mtlsScrapeDashboard";
import type { MtlsServiceMonitor } from "../components/mtlsServiceMonitor";
import type { StrictMtls } from "../components/strictMtls";
import { ALERTMANAGER_WEB_PORT } from "./alertmanager";
import type { StackConfig } from "./config";

/** Prometheus's port; also the local port of the port-forward. */
const PROMETHEUS_PORT = 9090;

/** A metric productpage exports (Python prometheus_client): present once the mTLS scrape works. */
export const CHECK_QUERY = "python_gc_objects_collected_total";

/** What a person needs next, the port-forward command first. */
export function stackOutputs(p: {
    cfg: StackConfig;
    cluster?: AckCluster;
    mesh?: AsmMesh;
    prometheus: MeshPrometheus;
    monitors: MtlsServiceMonitor[];
    strict?: StrictMtls;
    alerts?: MtlsScrapeAlerts;
    alertmanager?: MeshAlertmanager;
    dashboard?: MtlsScrapeDashboard;
}) {
    const ns = p.prometheus.namespaceName;
    // A created cluster is reached with its own kubeconfig, which the stack holds as a secret output.
    const kubeconfigFile = `kubeconfig-${pulumi.getStack()}.yaml`;
    const kubectl = p.cluster ? `kubectl --kubeconfig ${kubeconfigFile}` : "kubectl";
    return {
        portForwardCommand: pulumi.interpolate`${kubectl} -n ${ns} port-forward svc/${p.prometheus.serviceName} ${PROMETHEUS_PORT}`,
        ...(p.cluster ? { kubeconfigCommand: `(umask 077 && pulumi stack output --stack ${pulumi.getStack()} --show-secrets kubeconfig > ${kubeconfigFile})` } : {}),
        prometheusUrl: `http://localhost:${PROMETHEUS_PORT}`,
        targetsUrl: `http://localhost:${PROMETHEUS_PORT}/targets`,
        checkQuery: CHECK_QUERY,
        monitoringNamespace: ns,
        appNamespace: p.cfg.namespaces.app,
        prometheusName: p.prometheus.prometheus.metadata.name,
        serviceMonitors: p.monitors.map((m) => m.serviceMonitor.metadata.name),
        operatorVersion: p.cfg.operator.version,
        strictMtls: p.strict !== undefined,
        ...(p.alerts ? { alertRules: p.alerts.rule.metadata.name, alerts: p.alerts.alertNames } : {}),
        // Its API, for amtool or curl: through the port-forward, which reaches the pod on localhost, past the sidecar.
        ...(p.alertmanager ? { alertmanagerPortForwardCommand: pulumi.interpolate`${kubectl} -n ${ns} port-forward svc/${p.alertmanager.service.metadata.name} ${ALERTMANAGER_WEB_PORT}`, alertmanagerReceivers: p.alertmanager.receivers } : {}),
        // The dashboard's JSON for an import by hand (ARMS Managed Service for Grafana): one command.
        ...(p.dashboard ? { dashboardCommand: pulumi.interpolate`${kubectl} -n ${p.dashboard.configMap.metadata.namespace} get configmap ${p.dashboard.configMap.metadata.name} -o jsonpath='{.data.${p.dashboard.fileName.replace(/\./g, "\\.")}}' > ${p.dashboard.fileName}` } : {}),
        ...(p.cluster ? { clusterId: p.cluster.clusterId, kubeconfig: p.cluster.kubeconfig } : {}),
        ...(p.cluster?.apiServerAclCommand ? { apiServerAclCommand: p.cluster.apiServerAclCommand } : {}),
        ...(p.mesh ? { meshId: p.mesh.meshId } : {}),
    };
}
