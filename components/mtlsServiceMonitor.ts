import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { KubeAccess } from "../lib/kubeProvider";
import { serviceMonitorScrapePool } from "../lib/names";
import { MonitorAccepted } from "../lib/prometheusReady";
import { reportsAcceptance, ScrapeTarget } from "../lib/upstream";

/** What a ServiceMonitor needs of the Prometheus that scrapes with the mesh certificate (MeshPrometheus has it). */
export interface MtlsScraper {
    /** Labels the Prometheus selects ServiceMonitors by. */
    serviceMonitorLabels: Record<string, string>;
    /** Its scrape class that presents the mesh certificate. */
    scrapeClass: string;
    /** namespace/name of the Prometheus custom resource, whose acceptance the wait reads. */
    ref: pulumi.Input<string>;
}

export interface MtlsServiceMonitorArgs {
    /** The namespace of the Service to scrape, where the ServiceMonitor is created. */
    namespace: pulumi.Input<string>;
    /** The Service to scrape: its name, the labels it is selected by, the name of its metrics port. */
    target: ScrapeTarget;
    interval: string;
    path: string;
    /** The Prometheus that selects this ServiceMonitor and owns the mTLS scrape class. */
    prometheus: MtlsScraper;
    /**
     * Wait, in up, for the operator (of this version) to accept it; unset: no wait (no operator runs, or YAML
     * is rendered).
     */
    awaitAcceptance?: { access: KubeAccess; operatorVersion: string };
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
            metadata: { name: args.target.service, namespace: args.namespace, labels: args.prometheus.serviceMonitorLabels },
            spec: {
                selector: { matchLabels: args.target.selector },
                // TLS comes from the scrape class: the files it names live in the Prometheus pod, and a
                // ServiceMonitor naming them itself would be refused (arbitraryFSAccessThroughSMs.deny).
                scrapeClass: args.prometheus.scrapeClass,
                endpoints: [{ port: args.target.portName, scheme: "https", interval: args.interval, path: args.path }],
            },
        // The caller's: after the operator's CRDs and the scraped application.
        }, { parent: this, dependsOn: opts?.dependsOn });

        // The operator ignores a ServiceMonitor it rejects (a scrape class its Prometheus lacks) without a
        // word; with its status gate on it says so, and up fails with the reason.
        const wait = args.awaitAcceptance;
        const access = wait?.access;
        this.accepted = wait && access && !access.renderDir && reportsAcceptance(wait.operatorVersion) ? new MonitorAccepted(`${name}-accepted`, {
            namespace: this.serviceMonitor.metadata.namespace,
            name: this.serviceMonitor.metadata.name,
            prometheus: args.prometheus.ref,
            generation: this.serviceMonitor.metadata.generation,
            timeoutSeconds: 300,
            access,
        }, { parent: this }) : undefined;
        this.scrapePool = pulumi.all([this.serviceMonitor.metadata.namespace, this.serviceMonitor.metadata.name]).apply(([ns, n]) => serviceMonitorScrapePool(ns, n));
        this.registerOutputs({ name: this.serviceMonitor.metadata.name, scrapePool: this.scrapePool });
    }
}
