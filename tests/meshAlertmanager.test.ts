import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as YAML from "yaml";
import { ALERTMANAGER_GOSSIP_PORT, RECEIVERS } from "../lib/alertmanager";
import { CERT_CONTRACT } from "../lib/certContract";
import { configKey } from "../lib/config";
import { byType, failingProgram, one, runProgram, secretValue, testConfig } from "./support/harness";

const AM = "kubernetes:monitoring.coreos.com/v1:Alertmanager";
const PROM = "kubernetes:monitoring.coreos.com/v1:Prometheus";
const SECRET = "kubernetes:core/v1:Secret";
const HOOK = "https://hooks.example/T0KEN/warn";
const PAGER = "https://pager.example/T0KEN/crit";
const DMS = "https://dms.example/ping/T0KEN";
const WEBHOOK_KEYS = ["alertWebhookUrl", "alertCriticalWebhookUrl", "alertWatchdogWebhookUrl"].map((k) => configKey(k as "alertWebhookUrl"));

/** Receiver name -> the file its webhook reads, from the config the stack writes. */
function receiverFiles(config: any): Record<string, string | undefined> {
    return Object.fromEntries(config.receivers.map((r: any) => [r.name, r.webhook_configs?.[0]?.url_file]));
}

describe("MeshAlertmanager in the stack", () => {
    test("Prometheus sends to the Alertmanager's Service over mTLS, discovering it with a Role in its own namespace", async () => {
        const { resources } = await runProgram(testConfig({ monitoringNamespace: "obs", prometheusName: "edge", alertmanager: true, alertWebhookUrl: HOOK }), WEBHOOK_KEYS);
        const am = one(resources, AM);
        const prom = one(resources, PROM);
        const svc = one(resources, "kubernetes:core/v1:Service", "alertmanager-service");
        assert.equal(am.inputs.metadata.namespace, "obs");
        assert.equal(svc.inputs.metadata.namespace, "obs");
        const [target] = prom.inputs.spec.alerting.alertmanagers;
        // The Service the Prometheus names is the one the stack declares, by name and port name, and that
        // port is the pods' web port as the operator names it from portName.
        assert.equal(target.name, svc.inputs.metadata.name);
        assert.equal(target.namespace, "obs");
        assert.deepEqual(svc.inputs.spec.ports.map((p: any) => [p.name, p.port, p.targetPort]), [[target.port, 9093, am.inputs.spec.portName]]);
        assert.equal(target.port, am.inputs.spec.portName);
        // The Service selects the pods the operator labels for this Alertmanager.
        assert.deepEqual(svc.inputs.spec.selector, { "app.kubernetes.io/name": "alertmanager", alertmanager: am.inputs.metadata.name });
        // Under STRICT the Alertmanager's sidecar admits only mTLS: https, with the scrape's certificate files.
        assert.equal(target.scheme, "https");
        assert.equal(target.apiVersion, "v2");
        const dir = CERT_CONTRACT.prometheusMountDir;
        assert.deepEqual([target.tlsConfig.certFile, target.tlsConfig.keyFile, target.tlsConfig.caFile], [`${dir}/cert-chain.pem`, `${dir}/key.pem`, `${dir}/root-cert.pem`]);
        assert.deepEqual(prom.inputs.spec.alerting.alertmanagers[0].tlsConfig, prom.inputs.spec.scrapeClasses[0].tlsConfig);

        // Discovery of the Alertmanager's endpoints: read-only, in Prometheus's namespace, bound to its ServiceAccount.
        const role = byType(resources, "kubernetes:rbac.authorization.k8s.io/v1:Role").find((r) => r.inputs.metadata.namespace === "obs")!;
        assert.deepEqual(role.inputs.rules.flatMap((r: any) => r.verbs).filter((v: string, i: number, a: string[]) => a.indexOf(v) === i), ["get", "list", "watch"]);
        assert.ok(role.inputs.rules.some((r: any) => r.resources.includes("endpointslices")));
        const binding = byType(resources, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").find((r) => r.inputs.metadata.namespace === "obs")!;
        assert.equal(binding.inputs.roleRef.name, role.inputs.metadata.name);
        assert.deepEqual(binding.inputs.subjects, [{ kind: "ServiceAccount", name: prom.inputs.spec.serviceAccountName, namespace: "obs" }]);
        assert.ok(prom.waitsFor.some((k) => k.endsWith(`::${binding.name}`)), prom.waitsFor.join(", "));
        // The CRD defines the kind: the Alertmanager waits for the operator's.
        assert.ok(am.waitsFor.some((k) => k.endsWith("::operator-crds")), am.waitsFor.join(", "));
    });

    test("the URLs stay secrets: keys of the config Secret, read through url_file, never in the configuration", async () => {
        const { resources } = await runProgram(testConfig({ alertmanager: true, alertWebhookUrl: HOOK, alertCriticalWebhookUrl: PAGER, alertWatchdogWebhookUrl: DMS }), WEBHOOK_KEYS);
        const am = one(resources, AM);
        const secret = byType(resources, SECRET).find((s) => s.inputs.metadata.name === am.inputs.spec.configSecret)!;
        assert.ok(secret, "the configSecret the Alertmanager names");
        const data = secretValue(secret.inputs.stringData) as Record<string, string>;
        assert.deepEqual({ ...data, "alertmanager.yaml": undefined }, {
            "alertmanager.yaml": undefined, [RECEIVERS.default.key]: HOOK, [RECEIVERS.critical.key]: PAGER, [RECEIVERS.watchdog.key]: DMS,
        });
        const config = YAML.parse(data["alertmanager.yaml"]);
        for (const url of [HOOK, PAGER, DMS]) assert.equal(data["alertmanager.yaml"].includes(url), false, url);
        // The operator mounts the Secret's other keys beside the configuration, in /etc/alertmanager/config.
        assert.deepEqual(receiverFiles(config), {
            webhook: `/etc/alertmanager/config/${RECEIVERS.default.key}`,
            critical: `/etc/alertmanager/config/${RECEIVERS.critical.key}`,
            watchdog: `/etc/alertmanager/config/${RECEIVERS.watchdog.key}`,
            null: undefined,
        });
        assert.ok(config.receivers.every((r: any) => (r.webhook_configs ?? []).every((w: any) => w.send_resolved === true)));
        // Routed by severity; the Watchdog first, to the dead man's switch, every 5 minutes.
        assert.deepEqual(config.route.routes.map((r: any) => [r.matchers, r.receiver]), [[['alertname = "Watchdog"'], "watchdog"], [['severity = "critical"'], "critical"]]);
        assert.deepEqual([config.route.routes[0].group_interval, config.route.routes[0].repeat_interval], ["5m", "5m"]);
    });

    test("without a critical or watchdog URL: critical alerts go to the webhook, the Watchdog nowhere", async () => {
        const { resources } = await runProgram(testConfig({ alertmanager: true, alertWebhookUrl: HOOK, alertGroupWait: "10s", alertGroupInterval: "1m", alertRepeatInterval: "12h" }), WEBHOOK_KEYS);
        const secret = byType(resources, SECRET).find((s) => s.inputs.metadata.name === one(resources, AM).inputs.spec.configSecret)!;
        const data = secretValue(secret.inputs.stringData) as Record<string, string>;
        assert.deepEqual(Object.keys(data).sort(), ["alertmanager.yaml", RECEIVERS.default.key]);
        const config = YAML.parse(data["alertmanager.yaml"]);
        assert.deepEqual(Object.keys(receiverFiles(config)), ["webhook", "null"]);
        assert.deepEqual(config.route.routes.map((r: any) => r.receiver), ["null"]);
        assert.deepEqual([config.route.group_wait, config.route.group_interval, config.route.repeat_interval], ["10s", "1m", "12h"]);
    });

    test("pods: injected, gossip left out of the mesh, spread and a disruption budget with two replicas; the notifier alerts come with it", async () => {
        const { resources } = await runProgram(testConfig({ alertmanager: true, alertWebhookUrl: HOOK, imageRegistryMirror: "registry.example/mirror" }), WEBHOOK_KEYS);
        const spec = one(resources, AM).inputs.spec;
        assert.equal(spec.replicas, 2);
        assert.equal(spec.podMetadata.labels["sidecar.istio.io/inject"], "true");
        const gossip = String(ALERTMANAGER_GOSSIP_PORT);
        assert.equal(spec.podMetadata.annotations["traffic.sidecar.istio.io/excludeInboundPorts"], gossip);
        assert.equal(spec.podMetadata.annotations["traffic.sidecar.istio.io/excludeOutboundPorts"], gossip);
        assert.deepEqual(spec.topologySpreadConstraints.map((t: any) => t.topologyKey), ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]);
        assert.equal(spec.image, `registry.example/mirror/prometheus/alertmanager:${spec.version}`);
        assert.equal(spec.securityContext.runAsNonRoot, true);
        assert.ok(spec.resources.limits.memory);
        const pdb = one(resources, "kubernetes:policy/v1:PodDisruptionBudget", "alertmanager-pdb");
        assert.deepEqual(pdb.inputs.spec.selector.matchLabels, { "app.kubernetes.io/name": "alertmanager", alertmanager: "mesh" });
        const alerts = one(resources, "kubernetes:monitoring.coreos.com/v1:PrometheusRule").inputs.spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.alert));
        for (const a of ["PrometheusNotConnectedToAlertmanagers", "PrometheusErrorSendingAlertsToAnyAlertmanager"]) assert.ok(alerts.includes(a), a);

        const single = await runProgram(testConfig({ alertmanager: true, alertWebhookUrl: HOOK, alertmanagerReplicas: 1 }), WEBHOOK_KEYS);
        assert.equal(one(single.resources, AM).inputs.spec.topologySpreadConstraints, undefined);
        assert.deepEqual(byType(single.resources, "kubernetes:policy/v1:PodDisruptionBudget").filter((p) => p.name.startsWith("alertmanager")), []);
    });

    test("off by default: no Alertmanager, no alerting section, no notifier alerts", async () => {
        const { resources } = await runProgram(testConfig());
        assert.deepEqual(byType(resources, AM), []);
        assert.equal(one(resources, PROM).inputs.spec.alerting, undefined);
        const alerts = one(resources, "kubernetes:monitoring.coreos.com/v1:PrometheusRule").inputs.spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.alert));
        assert.equal(alerts.some((a: string) => a.includes("Alertmanager")), false);
    });

    test("bad settings are refused before anything is registered, and a secret URL is never shown", async () => {
        const cases: [Record<string, string | boolean>, string[], RegExp][] = [
            [{ alertmanager: true }, [], new RegExp(`${configKey("alertmanager")}: true is not accepted without ${configKey("alertWebhookUrl")}`)],
            [{ alertWebhookUrl: HOOK }, WEBHOOK_KEYS, new RegExp(`${configKey("alertWebhookUrl")}: set while ${configKey("alertmanager")} is not true`)],
            [{ alertmanager: true, alertWebhookUrl: HOOK, alertRules: false }, WEBHOOK_KEYS, new RegExp(`${configKey("alertmanager")}: true is not accepted while ${configKey("alertRules")} is false`)],
            [{ alertmanager: true, alertWebhookUrl: HOOK }, [], new RegExp(`${configKey("alertWebhookUrl")}: stored in plain text`)],
            [{ alertmanager: true, alertWebhookUrl: "hooks.example/T0KEN" }, WEBHOOK_KEYS, new RegExp(`${configKey("alertWebhookUrl")}: the secret value is not accepted; accepted: an http:// or https:// URL`)],
        ];
        for (const [config, secrets, message] of cases) {
            const { error, resources } = await failingProgram(testConfig(config), secrets);
            assert.match(String(error), message);
            assert.equal(String(error).includes("T0KEN"), false, String(error));
            assert.deepEqual(resources, []);
        }
    });
});
