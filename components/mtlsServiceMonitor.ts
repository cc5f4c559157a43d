import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { adoptionAnnotations, withAnnotations } from "../lib/kubeObjects";
import type { KubeAccess } from "../lib/kubeProvider";
import { serviceMonitorScrapePool } from "../lib/names";
import { MonitorAccepted } from "../lib/prometheusReady";
import { reportsAcceptance, ScrapeTarget } from "../lib/upstream";
import type { Bookinfo } from "./bookinfo";
import type { MeshPrometheus } from "./meshPrometheus";

export interface MtlsServiceMonitorArgs {
    /** The Service to scrape, resolved from the manifest the stack deploys. */
    target: ScrapeTarget;
    /** The application the Service belongs to; the ServiceMonitor lives in its namespace. */
    app: Bookinfo;
    interval: string;
    path: string;
    /** The Prometheus that selects this ServiceMonitor and owns the mTLS scrape class. */
    prometheus: MeshPrometheus;
    /** Take over a ServiceMonitor of the same name made by hand (the guide's productpage). */
    adoptExisting: boolean;
    /** Where to wait, in up, for the operator to accept it; unset: no wait (no operator runs, or YAML is rendered). */
    awaitAcceptance?: KubeAccess;
}

/** A ServiceMonitor scraping one Service over HTTPS with the mesh client certificate. */
export class MtlsServiceMonitor extends pulumi.ComponentResource {
    readonly serviceMonitor: k8s.apiextensions.CustomResource;
    /** When its Prometheus is awaited: the wait for the operator to accept this ServiceMonitor. */
    readonly accepted?: MonitorAccepted;
    /** The scrape pool Prometheus runs for its endpoint (the scrape_job of its target metrics). */
    readonly scrapePool: pulumi.Output<string>;

    constructor(name: string, args: MtlsServiceMonitorArgs, opts?: pulumi.ComponentResourceOptions) {
        super("asm-prometheus-mtls:monitoring:MtlsServiceMonitor", name, {}, opts);
        this.serviceMonitor = new k8s.apiextensions.CustomResource(`${name}-sm`, {
            apiVersion: "monitoring.coreos.com/v1",
            kind: "ServiceMonitor",
            metadata: withAnnotations({ name: args.target.service, namespace: args.app.namespaceName, labels: args.prometheus.serviceMonitorLabels }, adoptionAnnotations(args.adoptExisting)),
            spec: {
                selector: { matchLabels: args.target.selector },
                // TLS comes from the scrape class: the files it names live in the Prometheus pod, and a
                // ServiceMonitor naming them itself would be refused (arbitraryFSAccessThroughSMs.deny).
                scrapeClass: args.prometheus.scrapeClass,
                endpoints: [{ port: args.target.portName, scheme: "https", interval: args.interval, path: args.path }],
            },
        // After the operator's CRDs and the scraped application.
        }, { parent: this, dependsOn: [args.prometheus.operator, args.app] });

        // The operator ignores a ServiceMonitor it rejects (a scrape class its Prometheus lacks) without a
        // word; with its status gate on it says so, and up fails with the reason.
        const access = args.awaitAcceptance;
        this.accepted = access && !access.renderDir && reportsAcceptance(args.prometheus.operator.version) ? new MonitorAccepted(`${name}-accepted`, {
            namespace: this.serviceMonitor.metadata.namespace,
            name: this.serviceMonitor.metadata.name,
            prometheus: pulumi.interpolate`${args.prometheus.namespaceName}/${args.prometheus.prometheus.metadata.name}`,
            generation: this.serviceMonitor.metadata.generation,
            timeoutSeconds: 300,
            access,
        }, { parent: this }) : undefined;
        this.scrapePool = pulumi.all([this.serviceMonitor.metadata.namespace, this.serviceMonitor.metadata.name]).apply(([ns, n]) => serviceMonitorScrapePool(ns, n));
        this.registerOutputs({ name: this.serviceMonitor.metadata.name, scrapePool: this.scrapePool });
    }
}
