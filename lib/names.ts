// Names the stack gives Prometheus's objects, which `npm run verify` also points a person at.

/** Prometheus's ServiceAccount, in its own namespace. */
export function prometheusServiceAccount(prometheusName: string): string {
    return `prometheus-${prometheusName}`;
}

/** The Role and RoleBinding that let it discover targets, in the namespace it discovers in. */
export function discoveryRbacName(monitoringNamespace: string, prometheusName: string): string {
    return `prometheus-${monitoringNamespace}-${prometheusName}`;
}

/** The Secret holding the remote write endpoint's basic auth, beside Prometheus. */
export function remoteWriteSecretName(prometheusName: string): string {
    return `prometheus-${prometheusName}-remote-write`;
}

/** The PrometheusRule of the mTLS scrape's alerts, beside Prometheus. */
export function alertRulesName(prometheusName: string): string {
    return `prometheus-${prometheusName}-mtls-scrape`;
}

/**
 * The scrape pool (job_name) the operator generates for a ServiceMonitor's endpoint, which
 * prometheus_target_scrape_pool_targets labels scrape_job (prometheus-operator pkg/prometheus/promcfg.go).
 */
export function serviceMonitorScrapePool(namespace: string, name: string, endpoint = 0): string {
    return `serviceMonitor/${namespace}/${name}/${endpoint}`;
}

/** The Alertmanager's own Service (beside the operator's alertmanager-operated), which Prometheus discovers its pods through. */
export function alertmanagerServiceName(alertmanagerName: string): string {
    return `alertmanager-${alertmanagerName}`;
}

/** The Secret holding alertmanager.yaml and the receivers' URLs (the Alertmanager's configSecret). */
export function alertmanagerConfigSecretName(alertmanagerName: string): string {
    return `alertmanager-${alertmanagerName}-config`;
}
