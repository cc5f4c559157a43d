import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ScrapeTarget } from "../lib/upstream";
import type { MeshPrometheus } from "./meshPrometheus";

export interface MtlsServiceMonitorArgs {
    /** The Service to scrape, resolved from the manifest the stack deploys. */
    target: ScrapeTarget;
    /** Namespace of the Service (and of this ServiceMonitor). */
    namespace: pulumi.Input<string>;
    interval: string;
    path: string;
    /** The Prometheus that selects this ServiceMonitor and owns the mTLS scrape class. */
    prometheus: MeshPrometheus;
    /** What must exist first: the operator's CRDs and the scraped application. */
    dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** A ServiceMonitor scraping one Service over HTTPS with the mesh client certificate. */
export class MtlsServiceMonitor extends pulumi.ComponentResource {
    readonly serviceMonitor: k8s.apiextensions.CustomResource;

    constructor(name: string, args: MtlsServiceMonitorArgs, opts?: pulumi.ComponentResourceOptions) {
        super("asm-prometheus-mtls:monitoring:MtlsServiceMonitor", name, {}, opts);
        this.serviceMonitor = new k8s.apiextensions.CustomResource(`${name}-sm`, {
            apiVersion: "monitoring.coreos.com/v1",
            kind: "ServiceMonitor",
            metadata: { name: args.target.service, namespace: args.namespace, labels: args.prometheus.serviceMonitorLabels },
            spec: {
                selector: { matchLabels: args.target.selector },
                // TLS comes from the scrape class: the files it names live in the Prometheus pod, and a
                // ServiceMonitor naming them itself would be refused (arbitraryFSAccessThroughSMs.deny).
                scrapeClass: args.prometheus.scrapeClass,
                endpoints: [{ port: args.target.portName, scheme: "https", interval: args.interval, path: args.path }],
            },
        }, { parent: this, dependsOn: args.dependsOn });
        this.registerOutputs({ name: this.serviceMonitor.metadata.name });
    }
}
