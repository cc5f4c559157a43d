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
