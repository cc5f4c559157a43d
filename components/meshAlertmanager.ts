import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { ALERTMANAGER_GOSSIP_PORT, ALERTMANAGER_WEB_PORT, AlertmanagerRouting, alertmanagerConfig, RECEIVERS } from "../lib/alertmanager";
import { SIDECAR_INJECT_LABELS } from "../lib/certContract";
import { alertmanagerImage } from "../lib/images";
import { MONITORING_POD_SECURITY, replicaSpread } from "../lib/kubeObjects";
import { alertmanagerConfigSecretName } from "../lib/names";

export interface MeshAlertmanagerArgs extends Omit<AlertmanagerRouting, "critical" | "watchdog"> {
    /** A sidecar-injected namespace (Prometheus's): the pods get the mesh's identity and its STRICT inbound. */
    namespace: pulumi.Input<string>;
    /** Name of the Alertmanager custom resource. */
    name: string;
    /** The Service Prometheus discovers the pods through: its name and the web port's name. */
    service: { name: string; port: string };
    replicas: number;
    version: string;
    imageRegistryMirror?: string;
    /** The receivers' URLs; each becomes a key of the config Secret, never a plain value in state. */
    webhooks: { default: pulumi.Input<string>; critical?: pulumi.Input<string>; watchdog?: pulumi.Input<string> };
    /** As for Prometheus: whether the replicas must or only should land in different zones and nodes. */
    zoneSpread: "DoNotSchedule" | "ScheduleAnyway";
    nodeSpread: "DoNotSchedule" | "ScheduleAnyway";
}

/** Modest, as kube-prometheus sizes it: Alertmanager holds only the alerts in flight, silences and its notification log. */
const RESOURCES = { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "128Mi" } };

/**
 * An Alertmanager in the mesh: the operator runs it from a config Secret the stack writes, its pods get a
 * sidecar like every pod of the namespace, and Prometheus reaches them over mTLS with its own mesh
 * certificate (MeshPrometheus alerting), which a STRICT PeerAuthentication admits.
 */
export class MeshAlertmanager extends pulumi.ComponentResource {
    readonly configSecret: k8s.core.v1.Secret;
    readonly alertmanager: k8s.apiextensions.CustomResource;
    readonly service: k8s.core.v1.Service;
    readonly disruptionBudget?: k8s.policy.v1.PodDisruptionBudget;
    /** The receivers alerts can reach, by name. */
    readonly receivers: string[];

    constructor(name: string, args: MeshAlertmanagerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("asm-prometheus-mtls:monitoring:MeshAlertmanager", name, {}, opts);
        const config = alertmanagerConfig({
            groupWait: args.groupWait, groupInterval: args.groupInterval, repeatInterval: args.repeatInterval, watchdogInterval: args.watchdogInterval,
            critical: args.webhooks.critical !== undefined, watchdog: args.webhooks.watchdog !== undefined,
        });
        this.receivers = (config.receivers as { name: string }[]).map((r) => r.name);

        const urls: Record<string, pulumi.Input<string>> = {
            [RECEIVERS.default.key]: args.webhooks.default,
            ...(args.webhooks.critical !== undefined ? { [RECEIVERS.critical.key]: args.webhooks.critical } : {}),
            ...(args.webhooks.watchdog !== undefined ? { [RECEIVERS.watchdog.key]: args.webhooks.watchdog } : {}),
        };
        this.configSecret = new k8s.core.v1.Secret(`${name}-config`, {
            metadata: { name: alertmanagerConfigSecretName(args.name), namespace: args.namespace },
            // The operator copies every key into the generated Secret it mounts at /etc/alertmanager/config,
            // where the receivers' url_file points.
            stringData: pulumi.secret(pulumi.output(urls).apply((u) => ({ "alertmanager.yaml": YAML.stringify(config), ...u }))),
        }, { parent: this });

        // The labels the operator gives every pod of this Alertmanager (pkg/alertmanager makeSelectorLabels).
        const podLabels = { "app.kubernetes.io/name": "alertmanager", alertmanager: args.name };
        const spread = replicaSpread(args.replicas, podLabels, args.zoneSpread, args.nodeSpread);
        const gossip = String(ALERTMANAGER_GOSSIP_PORT);

        this.alertmanager = new k8s.apiextensions.CustomResource(`${name}-alertmanager`, {
            apiVersion: "monitoring.coreos.com/v1",
            kind: "Alertmanager",
            metadata: { name: args.name, namespace: args.namespace },
            spec: {
                replicas: args.replicas,
                version: args.version,
                ...(args.imageRegistryMirror ? { image: alertmanagerImage(args.version, args.imageRegistryMirror) } : {}),
                portName: args.service.port,
                configSecret: this.configSecret.metadata.name,
                // AlertmanagerConfig objects of other teams are not merged into this one (nil selects none).
                resources: RESOURCES,
                podMetadata: {
                    labels: { ...SIDECAR_INJECT_LABELS },
                    // The replicas' gossip goes around the sidecar: memberlist's UDP half is never captured,
                    // and its TCP half would arrive as a stream the sidecar does not route by pod name.
                    annotations: { "traffic.sidecar.istio.io/excludeInboundPorts": gossip, "traffic.sidecar.istio.io/excludeOutboundPorts": gossip },
                },
                securityContext: MONITORING_POD_SECURITY,
                ...(spread ? { topologySpreadConstraints: spread } : {}),
            },
        }, { parent: this, dependsOn: opts?.dependsOn }); // the caller's: the operator, whose CRD defines the kind

        this.service = new k8s.core.v1.Service(`${name}-service`, {
            metadata: { name: args.service.name, namespace: args.namespace, labels: podLabels },
            spec: {
                selector: podLabels,
                ports: [{ name: args.service.port, port: ALERTMANAGER_WEB_PORT, targetPort: args.service.port }],
            },
        }, { parent: this });

        this.disruptionBudget = args.replicas > 1 ? new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, {
            metadata: { name: `alertmanager-${args.name}`, namespace: args.namespace },
            spec: { maxUnavailable: 1, selector: { matchLabels: podLabels } },
        }, { parent: this }) : undefined;

        this.registerOutputs({ alertmanager: this.alertmanager.metadata.name, service: this.service.metadata.name, receivers: this.receivers });
    }
}
