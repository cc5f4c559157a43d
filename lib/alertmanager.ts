// The Alertmanager of the stack: its configuration (plain data, which amtool checks and routes in the
// tests) and the facts about its pods that Prometheus and the mesh must agree on.

/** The web port of every Alertmanager pod the operator runs (its --web.listen-address). */
export const ALERTMANAGER_WEB_PORT = 9093;
/**
 * The name of that port on the pod and on the Services. The operator names it spec.portName (default web);
 * http- tells Istio the protocol, so the sidecar's STRICT inbound treats it as HTTP rather than sniffing.
 */
export const ALERTMANAGER_PORT_NAME = "http-web";
/**
 * The port of the replicas' gossip (memberlist, TCP and UDP). The sidecar would capture its TCP half and not
 * its UDP half, and the peers dial each other by pod name; it is left out of the mesh on both sides.
 */
export const ALERTMANAGER_GOSSIP_PORT = 9094;

/** Where the operator mounts the keys of the config Secret besides alertmanager.yaml (its configSecret). */
const CONFIG_DIR = "/etc/alertmanager/config";

/** The receivers, by what they get; each maps to one key of the config Secret holding its URL. */
export const RECEIVERS = {
    /** Every alert without a route of its own. */
    default: { name: "webhook", key: "webhook-url" },
    /** severity=critical, when a URL is given for them (a pager). */
    critical: { name: "critical", key: "critical-webhook-url" },
    /** The Watchdog, which always fires: a dead man's switch outside the cluster, or nowhere. */
    watchdog: { name: "watchdog", key: "watchdog-webhook-url" },
    /** Alertmanager drops what reaches a receiver without integrations. */
    none: { name: "null" },
} as const;

export interface AlertmanagerRouting {
    /** Which receivers have a URL besides the default one. */
    critical: boolean;
    watchdog: boolean;
    /** Alertmanager's grouping timers (route group_wait, group_interval, repeat_interval). */
    groupWait: string;
    groupInterval: string;
    repeatInterval: string;
    /** How often the Watchdog pings the dead man's switch. */
    watchdogInterval: string;
}

/** Labels alerts are grouped by: one notification per broken job, not one per pod. */
export const GROUP_BY = ["alertname", "namespace", "job", "scrape_job"];

/**
 * alertmanager.yaml. The webhook URLs are not in it: each receiver reads its URL from a file (url_file), a
 * key of the same Secret, so the configuration can be shown and diffed without the credential a URL carries.
 */
export function alertmanagerConfig(o: AlertmanagerRouting): Record<string, unknown> {
    const webhook = (r: { name: string; key: string }) => ({ name: r.name, webhook_configs: [{ url_file: `${CONFIG_DIR}/${r.key}`, send_resolved: true }] });
    return {
        route: {
            receiver: RECEIVERS.default.name,
            group_by: GROUP_BY,
            group_wait: o.groupWait,
            group_interval: o.groupInterval,
            repeat_interval: o.repeatInterval,
            routes: [
                // First, so the dead man's switch gets it whatever its severity, and nothing else does.
                {
                    matchers: ['alertname = "Watchdog"'],
                    receiver: o.watchdog ? RECEIVERS.watchdog.name : RECEIVERS.none.name,
                    // A dead man's switch expects a ping every few minutes, not after the default's hours:
                    // the group is flushed, and the alert sent again, at this interval.
                    group_wait: "0s",
                    group_interval: o.watchdogInterval,
                    repeat_interval: o.watchdogInterval,
                },
                ...(o.critical ? [{ matchers: ['severity = "critical"'], receiver: RECEIVERS.critical.name }] : []),
            ],
        },
        // kube-prometheus-stack's default: an alert firing as critical silences its own warning-level twin
        // in the same namespace, for rules added beside ours that come in both severities.
        inhibit_rules: [{ source_matchers: ['severity = "critical"'], target_matchers: ['severity = "warning"'], equal: ["namespace", "alertname"] }],
        receivers: [
            webhook(RECEIVERS.default),
            ...(o.critical ? [webhook(RECEIVERS.critical)] : []),
            ...(o.watchdog ? [webhook(RECEIVERS.watchdog)] : []),
            { name: RECEIVERS.none.name },
        ],
    };
}
