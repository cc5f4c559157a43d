// The alert rules of the mTLS scrape: what breaks when Prometheus scrapes a STRICT mesh (the causes
// `npm run verify` names), and the health of the Prometheus that does it. Plain data, so that promtool
// tests exactly what the stack declares (e2e/alertRules.e2e.test.ts writes it to a rule file).

/** The jobs of Prometheus's scrapes of its own pod (ScrapeConfigs to localhost: no discovery, no RBAC). */
export const SELF_JOBS = {
    /** Prometheus's own metrics: target pools, reloads, rule evaluations, notifications. */
    prometheus: "prometheus",
    /** The sidecar's pilot-agent, which exports the remaining lifetime of the mesh certificate Prometheus presents. */
    agent: "prometheus-istio-agent",
} as const;

/**
 * Where pilot-agent serves its metrics (the status port, which the sidecar never intercepts), and the metric
 * holding the seconds left on the workload certificate: istio/istio security/pkg/nodeagent/cache/monitoring.go
 * (cert_expiry_seconds, prefixed istio_agent_ by the agent's exporter; istio/istio#37372), per resource_name,
 * "default" being the workload certificate.
 */
export const AGENT_METRICS = { port: 15020, path: "/stats/prometheus", certExpiry: "istio_agent_cert_expiry_seconds", workloadResource: "default" } as const;

export interface AlertRule {
    alert: string;
    expr: string;
    for?: string;
    labels: { severity: "critical" | "warning" | "none" };
    annotations: { summary: string; description: string; runbook_url: string };
}

export interface RuleGroup {
    name: string;
    rules: AlertRule[];
}

export interface MtlsAlertOptions {
    /** The namespaces of the ServiceMonitors that use the mTLS scrape class (their targets' namespace label; DNS labels, so no regex escaping). */
    appNamespaces: string[];
    /** Their scrape pools, as the operator names them: serviceMonitor/<namespace>/<name>/<endpoint index>. */
    scrapePools: string[];
    /** namespace/name of the Prometheus, for the texts. */
    prometheus: string;
    /** How long a target must stay down before the alert fires. */
    targetDownFor: string;
    /** How long a ServiceMonitor may find no target before the alert fires. */
    noTargetFor: string;
    /** The lifetime of the workload certificates the mesh issues, in seconds. */
    certTtlSeconds: number;
    /** Below this share of its lifetime left, the certificate Prometheus presents has missed its renewal. */
    certRemainingPercent: number;
    /** The troubleshooting page; each mTLS alert links to its row (#<anchor>). */
    runbookBase: string;
    /** Prometheus also remote-writes: alert when the endpoint refuses samples. */
    remoteWrite: boolean;
    /** Prometheus sends its alerts to an Alertmanager: alert when they do not arrive. */
    alertmanager: boolean;
}

/** Anchors of the troubleshooting page the mTLS alerts link to; a test finds each in docs/troubleshooting.md. */
export const RUNBOOK_ANCHORS = { targetDown: "mtls-target-down", noTarget: "no-target", certRenewal: "cert-renewal", remoteWrite: "remote-write" } as const;

/** The runbooks the prometheus-operator project publishes for the Prometheus mixin's alerts. */
function upstreamRunbook(group: "prometheus" | "general", alert: string): string {
    return `https://runbooks.prometheus-operator.dev/runbooks/${group}/${alert.toLowerCase()}`;
}

/** Seconds left below which the certificate Prometheus presents has missed its renewal. */
export function certFloorSeconds(ttlSeconds: number, remainingPercent: number): number {
    return Math.floor((ttlSeconds * remainingPercent) / 100);
}

export function mtlsAlertGroups(o: MtlsAlertOptions): RuleGroup[] {
    const runbook = (anchor: string) => `${o.runbookBase}#${anchor}`;
    const self = `job="${SELF_JOBS.prometheus}"`;
    const apps = `namespace=~"${o.appNamespaces.join("|")}"`;
    const certFloor = certFloorSeconds(o.certTtlSeconds, o.certRemainingPercent);
    // A pool with no target, or no pool at all (the ServiceMonitor not selected); the latter only while
    // Prometheus's own scrape works, since without it every pool would look absent.
    const noTarget = o.scrapePools.map((pool) => {
        const series = `prometheus_target_scrape_pool_targets{${self}, scrape_job="${pool}"}`;
        return `${series} == 0\nor\n(absent(${series}) and on() up{${self}} == 1)`;
    }).join("\nor\n");

    const mtls: AlertRule[] = [
        {
            alert: "MtlsScrapeTargetDown",
            // The share of a job's targets that are down, per namespace: one pod refusing the handshake counts.
            expr: `100 * count by (namespace, job) (up{${apps}} == 0)\n/ count by (namespace, job) (up{${apps}})`,
            for: o.targetDownFor,
            labels: { severity: "critical" },
            annotations: {
                summary: "mTLS scrape of {{ $labels.namespace }}/{{ $labels.job }} failing",
                description: `{{ printf "%.0f" $value }}% of the targets of job {{ $labels.job }} in namespace {{ $labels.namespace }} have been down for ${o.targetDownFor} for Prometheus ${o.prometheus}. npm run verify names the cause: certificate files, handshake, HTTP status or Content-Type.`,
                runbook_url: runbook(RUNBOOK_ANCHORS.targetDown),
            },
        },
        ...(o.scrapePools.length > 0 ? [{
            alert: "MtlsScrapeNoTarget",
            expr: noTarget,
            for: o.noTargetFor,
            labels: { severity: "critical" as const },
            annotations: {
                summary: "{{ $labels.scrape_job }} discovers no target",
                description: `The scrape pool {{ $labels.scrape_job }} of Prometheus ${o.prometheus} has had no target for ${o.noTargetFor}: the ServiceMonitor is not selected, discovery is forbidden (RBAC), or its selector or port name matches no endpoint.`,
                runbook_url: runbook(RUNBOOK_ANCHORS.noTarget),
            },
        }] : []),
        {
            alert: "MeshCertificateNotRenewed",
            // The agent renews at half the lifetime (SECRET_GRACE_PERIOD_RATIO 0.5, give or take
            // SECRET_GRACE_PERIOD_RATIO_JITTER 0.01): a certificate below the floor missed its renewal.
            expr: `${AGENT_METRICS.certExpiry}{job="${SELF_JOBS.agent}", resource_name="${AGENT_METRICS.workloadResource}"} < ${certFloor}`,
            labels: { severity: "warning" },
            annotations: {
                summary: `The mesh certificate of Prometheus ${o.prometheus} is not being renewed`,
                description: `The certificate the sidecar of Prometheus ${o.prometheus} writes for the mTLS scrape expires in {{ $value | humanizeDuration }}, less than ${o.certRemainingPercent}% of its lifetime: its agent renews at half and has not. When it expires every mTLS scrape fails. Is istiod reachable from the pod?`,
                runbook_url: runbook(RUNBOOK_ANCHORS.certRenewal),
            },
        },
        {
            alert: "MeshCertificateExpiryUnknown",
            // Only while the agent answers: before Prometheus first scrapes it there is nothing to miss yet.
            expr: `absent(${AGENT_METRICS.certExpiry}{job="${SELF_JOBS.agent}", resource_name="${AGENT_METRICS.workloadResource}"})\nand on() up{job="${SELF_JOBS.agent}"} == 1`,
            for: "15m",
            labels: { severity: "warning" },
            annotations: {
                summary: `Prometheus ${o.prometheus} cannot tell when its mesh certificate expires`,
                description: `The sidecar agent of Prometheus ${o.prometheus} answers on port ${AGENT_METRICS.port} without ${AGENT_METRICS.certExpiry} for 15m: the mesh's Istio names the metric otherwise, so MeshCertificateNotRenewed cannot fire.`,
                runbook_url: runbook(RUNBOOK_ANCHORS.certRenewal),
            },
        },
    ];

    // From the Prometheus mixin (prometheus/prometheus documentation/prometheus-mixin/alerts.libsonnet,
    // the module version the toolchain builds), with its expressions, durations and severities, scoped to
    // this Prometheus's own job.
    const health: AlertRule[] = [
        {
            alert: "PrometheusBadConfig",
            expr: `max_over_time(prometheus_config_last_reload_successful{${self}}[5m]) == 0`,
            for: "10m",
            labels: { severity: "critical" },
            annotations: { summary: "Failed Prometheus configuration reload.", description: `Prometheus ${o.prometheus} has failed to reload its configuration.`, runbook_url: upstreamRunbook("prometheus", "PrometheusBadConfig") },
        },
        {
            alert: "PrometheusKubernetesListWatchFailures",
            expr: `increase(prometheus_sd_kubernetes_failures_total{${self}}[5m]) > 0`,
            for: "15m",
            labels: { severity: "warning" },
            annotations: { summary: "Requests in Kubernetes SD are failing.", description: `Kubernetes service discovery of Prometheus ${o.prometheus} is experiencing {{ printf "%.0f" $value }} failures with LIST/WATCH requests to the Kubernetes API in the last 5 minutes.`, runbook_url: upstreamRunbook("prometheus", "PrometheusKubernetesListWatchFailures") },
        },
        {
            alert: "PrometheusRuleFailures",
            expr: `increase(prometheus_rule_evaluation_failures_total{${self}}[5m]) > 0`,
            for: "15m",
            labels: { severity: "critical" },
            annotations: { summary: "Prometheus is failing rule evaluations.", description: `Prometheus ${o.prometheus} has failed to evaluate {{ printf "%.0f" $value }} rules in the last 5m.`, runbook_url: upstreamRunbook("prometheus", "PrometheusRuleFailures") },
        },
        {
            alert: "PrometheusTargetSyncFailure",
            expr: `increase(prometheus_target_sync_failed_total{${self}}[30m]) > 0`,
            for: "5m",
            labels: { severity: "critical" },
            annotations: { summary: "Prometheus has failed to sync targets.", description: `{{ printf "%.0f" $value }} targets in Prometheus ${o.prometheus} have failed to sync because invalid configuration was supplied.`, runbook_url: upstreamRunbook("prometheus", "PrometheusTargetSyncFailure") },
        },
        ...(o.remoteWrite ? [{
            alert: "PrometheusRemoteStorageFailures",
            expr: `(rate(prometheus_remote_storage_samples_failed_total{${self}}[5m]) / rate(prometheus_remote_storage_samples_total{${self}}[5m])) * 100 > 1`,
            for: "15m",
            labels: { severity: "critical" as const },
            annotations: { summary: "Prometheus fails to send samples to remote storage.", description: `Prometheus ${o.prometheus} failed to send {{ printf "%.1f" $value }}% of the samples to {{ $labels.remote_name }}:{{ $labels.url }}`, runbook_url: runbook(RUNBOOK_ANCHORS.remoteWrite) },
        }] : []),
        // The mixin's notifier alerts (its rulesWithoutHA variant; nonNotifyingAlertmanagerRegEx is empty
        // by default, so its matcher is left out).
        ...(o.alertmanager ? [
            {
                alert: "PrometheusNotificationQueueRunningFull",
                expr: `(\n  predict_linear(prometheus_notifications_queue_length{${self}}[5m], 60 * 30)\n>\n  min_over_time(prometheus_notifications_queue_capacity{${self}}[5m])\n)`,
                for: "15m",
                labels: { severity: "warning" as const },
                annotations: { summary: "Prometheus alert notification queue predicted to run full in less than 30m.", description: `Alert notification queue of Prometheus ${o.prometheus} is running full.`, runbook_url: upstreamRunbook("prometheus", "PrometheusNotificationQueueRunningFull") },
            },
            {
                alert: "PrometheusErrorSendingAlertsToSomeAlertmanagers",
                expr: `(\n  rate(prometheus_notifications_errors_total{${self}}[5m])\n/\n  rate(prometheus_notifications_sent_total{${self}}[5m])\n)\n* 100\n> 1`,
                for: "15m",
                labels: { severity: "warning" as const },
                annotations: { summary: "More than 1% of alerts sent by Prometheus to a specific Alertmanager were affected by errors.", description: `{{ printf "%.1f" $value }}% of alerts sent by Prometheus ${o.prometheus} to Alertmanager {{$labels.alertmanager}} were affected by errors.`, runbook_url: upstreamRunbook("prometheus", "PrometheusErrorSendingAlertsToSomeAlertmanagers") },
            },
            {
                alert: "PrometheusNotConnectedToAlertmanagers",
                expr: `max_over_time(prometheus_notifications_alertmanagers_discovered{${self}}[5m]) < 1`,
                for: "10m",
                labels: { severity: "warning" as const },
                annotations: { summary: "Prometheus is not connected to any Alertmanagers.", description: `Prometheus ${o.prometheus} is not connected to any Alertmanagers.`, runbook_url: upstreamRunbook("prometheus", "PrometheusNotConnectedToAlertmanagers") },
            },
            {
                alert: "PrometheusErrorSendingAlertsToAnyAlertmanager",
                expr: `min without (alertmanager) (\n  rate(prometheus_notifications_errors_total{${self}}[5m])\n/\n  rate(prometheus_notifications_sent_total{${self}}[5m])\n)\n* 100\n> 3`,
                for: "15m",
                labels: { severity: "critical" as const },
                annotations: { summary: "Prometheus encounters more than 3% errors sending alerts to any Alertmanager.", description: `{{ printf "%.1f" $value }}% minimum errors while sending alerts from Prometheus ${o.prometheus} to any Alertmanager.`, runbook_url: upstreamRunbook("prometheus", "PrometheusErrorSendingAlertsToAnyAlertmanager") },
            },
        ] : []),
        {
            // A dead man's switch: it always fires, so a receiver outside the cluster notices when it stops.
            alert: "Watchdog",
            expr: "vector(1)",
            labels: { severity: "none" },
            annotations: { summary: "An alert that should always be firing to certify that Alertmanager is working properly.", description: `Always firing while Prometheus ${o.prometheus} evaluates its rules and delivers alerts; route it to a dead man's switch outside the cluster.`, runbook_url: upstreamRunbook("general", "Watchdog") },
        },
    ];

    return [{ name: "mtls-scrape", rules: mtls }, { name: "mesh-prometheus", rules: health }];
}
