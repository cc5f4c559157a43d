import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DASHBOARD_UID, GRAFANA_DASHBOARD_LABEL, mtlsScrapeDashboard } from "../lib/dashboard";

export interface MtlsScrapeDashboardArgs {
    /** Where the ConfigMap goes: a namespace the Grafana sidecar watches. */
    namespace: pulumi.Input<string>;
    /** Namespaces of the ServiceMonitors that use the mTLS scrape class. */
    appNamespaces: pulumi.Input<string>[];
    /** Where MeshCertificateNotRenewed fires, drawn as the certificate panels' threshold; unset: none drawn. */
    certFloor?: { ttlSeconds: number; remainingPercent: number };
}

/** A Grafana dashboard of the mTLS scrape, in a ConfigMap labelled for Grafana's dashboard sidecar. */
export class MtlsScrapeDashboard extends pulumi.ComponentResource {
    readonly configMap: k8s.core.v1.ConfigMap;
    /** The file name of the dashboard's JSON in the ConfigMap. */
    readonly fileName = `${DASHBOARD_UID}.json`;

    constructor(name: string, args: MtlsScrapeDashboardArgs, opts?: pulumi.ComponentResourceOptions) {
        super("asm-prometheus-mtls:monitoring:MtlsScrapeDashboard", name, {}, opts);
        const json = pulumi.all(args.appNamespaces).apply((appNamespaces) => JSON.stringify(mtlsScrapeDashboard({ appNamespaces, certFloor: args.certFloor }), null, 2));
        this.configMap = new k8s.core.v1.ConfigMap(`${name}-dashboard`, {
            metadata: { name: `grafana-dashboard-${DASHBOARD_UID}`, namespace: args.namespace, labels: GRAFANA_DASHBOARD_LABEL },
            data: { [this.fileName]: json },
        }, { parent: this });
        this.registerOutputs({ name: this.configMap.metadata.name, fileName: this.fileName });
    }
}
