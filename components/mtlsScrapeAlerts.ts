import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { MtlsAlertOptions, mtlsAlertGroups } from "../lib/alertRules";
import { alertRulesName } from "../lib/names";

/** The rules' options (lib/alertRules.ts), with what may come from other resources as Inputs. */
export interface MtlsScrapeAlertsArgs extends Omit<MtlsAlertOptions, "appNamespaces" | "scrapePools" | "prometheus"> {
    /** The Prometheus's namespace, where it looks for rules. */
    namespace: pulumi.Input<string>;
    /** Name of the Prometheus custom resource, which names the rule object and the texts. */
    prometheusName: string;
    /** Labels the Prometheus selects rules by. */
    ruleLabels: Record<string, string>;
    /** Namespaces of the ServiceMonitors that use the mTLS scrape class. */
    appNamespaces: pulumi.Input<string>[];
    /** Their scrape pools (MtlsServiceMonitor.scrapePool). */
    scrapePools: pulumi.Input<string>[];
}

/** The alert rules of the mTLS scrape and of its Prometheus's health, as one PrometheusRule. */
export class MtlsScrapeAlerts extends pulumi.ComponentResource {
    readonly rule: k8s.apiextensions.CustomResource;
    /** The alerts it declares, by group. */
    readonly alertNames: pulumi.Output<Record<string, string[]>>;

    constructor(name: string, args: MtlsScrapeAlertsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("asm-prometheus-mtls:monitoring:MtlsScrapeAlerts", name, {}, opts);
        const { targetDownFor, noTargetFor, certTtlSeconds, certRemainingPercent, runbookBase, remoteWrite, alertmanager } = args;
        const groups = pulumi.all([args.namespace, pulumi.all(args.appNamespaces), pulumi.all(args.scrapePools)]).apply(([namespace, appNamespaces, scrapePools]) => mtlsAlertGroups({
            appNamespaces, scrapePools, prometheus: `${namespace}/${args.prometheusName}`, targetDownFor, noTargetFor, certTtlSeconds, certRemainingPercent, runbookBase, remoteWrite, alertmanager,
        }));
        this.rule = new k8s.apiextensions.CustomResource(`${name}-rules`, {
            apiVersion: "monitoring.coreos.com/v1",
            kind: "PrometheusRule",
            metadata: { name: alertRulesName(args.prometheusName), namespace: args.namespace, labels: args.ruleLabels },
            spec: { groups },
        }, { parent: this, dependsOn: opts?.dependsOn }); // the caller's: the operator, whose CRD defines the kind
        this.alertNames = groups.apply((gs) => Object.fromEntries(gs.map((g) => [g.name, g.rules.map((r) => r.alert)])));
        this.registerOutputs({ name: this.rule.metadata.name, alertNames: this.alertNames });
    }
}
