import * as pulumi from "@pulumi/pulumi";
import { Bookinfo } from "./components/bookinfo";
import { MeshAlertmanager } from "./components/meshAlertmanager";
import { MeshPrometheus } from "./components/meshPrometheus";
import { MtlsScrapeAlerts } from "./components/mtlsScrapeAlerts";
import { MtlsScrapeDashboard } from "./components/mtlsScrapeDashboard";
import { MtlsServiceMonitor } from "./components/mtlsServiceMonitor";
import { PrometheusOperator } from "./components/prometheusOperator";
import { StrictMtls } from "./components/strictMtls";
import { checkNoHandMadeInstall } from "./lib/adoption";
import { ALERTMANAGER_PORT_NAME } from "./lib/alertmanager";
import { checked } from "./lib/checked";
import { isConfigSecret, parseConfig } from "./lib/config";
import { adoptionTransformation } from "./lib/kubeObjects";
import { kubernetesProvider } from "./lib/kubeProvider";
import { stackOutputs } from "./lib/outputs";
import { alertmanagerServiceName } from "./lib/names";
import { loadUpstream } from "./lib/upstream";

// config -> [cluster] -> [mesh] -> operator and Bookinfo in parallel -> Prometheus -> ServiceMonitors -> [alerts, Alertmanager, dashboard] -> outputs
export = async () => {
    // Both throw before any resource is registered: bad config, unknown digest, failed or altered download.
    const cfg = await checked(() => parseConfig(pulumi.runtime.allConfig(), isConfigSecret, process.env, pulumi.getStack()));
    const upstream = await checked(() => loadUpstream(cfg));
    // Throws before any resource is registered: the guide's hand-made install, unless adoptExisting.
    await checked(() => checkNoHandMadeInstall(cfg, upstream));

    // Taking over what the guide applied by hand is the stack's choice, made once for every object it declares.
    if (cfg.adoptExisting) pulumi.runtime.registerStackTransformation(adoptionTransformation());

    // Only a stack that creates the cluster loads @pulumi/alicloud, a large module tree (0.1 s a run).
    const ali = cfg.cluster.create ? await cloudModules() : undefined;
    const cloud = ali?.alicloudProvider("alicloud", cfg);
    // Throws before the first cloud resource: ACK not activated, no node type offered, service roles missing.
    if (ali && cloud) await checked(() => ali.checkAckPrerequisites(cfg.cluster, cloud));
    const cluster = ali && cloud && new ali.AckCluster("cluster", { ...cfg.cluster, region: cfg.region }, { providers: [cloud] });
    const mesh = ali && cloud && cluster && cfg.mesh.create
        ? new ali.AsmMesh("mesh", { ...cfg.mesh, name: cfg.cluster.name, cluster }, { providers: [cloud] })
        : undefined;

    const access = cluster
        ? { kubeconfig: cluster.kubeconfig, renderDir: cfg.renderDir }
        : { kubeconfig: cfg.existing.kubeconfig, context: cfg.existing.context, renderDir: cfg.renderDir };
    // Everything in the cluster waits for the nodes and, with a new mesh, for the attach: ASM injects only
    // pods created after it, and a pod without its sidecar has no certificate to scrape with.
    const kube = kubernetesProvider("kubernetes", access, cfg.adoptExisting, { dependsOn: [...(cluster ? [cluster.nodePool] : []), ...(mesh ? [mesh] : [])] });

    const operator = new PrometheusOperator("operator", {
        ...cfg.operator,
        objects: upstream.operatorObjects,
        crds: upstream.operatorCrds,
        cacheFile: upstream.operatorCacheFile,
        access,
        awaitServiceEndpoints: cfg.awaitServiceEndpoints,
        adoptExisting: cfg.adoptExisting,
        keepOnDestroy: cfg.keepOnDestroy.operator,
    }, { providers: [kube] });
    const bookinfo = new Bookinfo("bookinfo", {
        objects: upstream.bookinfoObjects,
        namespace: cfg.namespaces.app,
        awaitServiceEndpoints: cfg.awaitServiceEndpoints,
        keepOnDestroy: cfg.keepOnDestroy.bookinfo,
    }, { providers: [kube] });
    const strict = cfg.mesh.strictMtls
        ? new StrictMtls("strict-mtls", { namespace: bookinfo.namespaceName, mesh, access, apiTimeoutSeconds: cfg.mesh.apiTimeoutSeconds }, { providers: [kube], dependsOn: [bookinfo.namespace, ...(mesh ? [mesh] : [])] })
        : undefined;

    // Prometheus sends to this Service, which the Alertmanager declares.
    const alertmanagerService = cfg.alertmanager && { name: alertmanagerServiceName(cfg.prometheus.name), port: ALERTMANAGER_PORT_NAME };
    const prometheus = new MeshPrometheus("prometheus", {
        ...cfg.prometheus,
        imageRegistryMirror: cfg.imageRegistryMirror,
        namespace: cfg.namespaces.monitoring,
        selfScrapeInterval: cfg.scrape.interval,
        serviceMonitorNamespace: bookinfo.namespaceName,
        alertmanager: alertmanagerService,
        access,
    }, { providers: [kube], dependsOn: [operator] });

    const monitors = upstream.scrapeTargets.map((target) => new MtlsServiceMonitor(`monitor-${target.service}`, {
        namespace: bookinfo.namespaceName,
        target,
        interval: cfg.scrape.interval,
        path: cfg.scrape.path,
        prometheus,
        awaitAcceptance: cfg.awaitServiceMonitors ? { access, operatorVersion: cfg.operator.version } : undefined,
    }, { providers: [kube], dependsOn: [operator, bookinfo] }));

    const alerts = cfg.alerts && new MtlsScrapeAlerts("alerts", {
        ...cfg.alerts,
        namespace: prometheus.namespaceName,
        prometheusName: cfg.prometheus.name,
        ruleLabels: prometheus.ruleLabels,
        appNamespaces: [bookinfo.namespaceName],
        scrapePools: monitors.map((m) => m.scrapePool),
        remoteWrite: cfg.prometheus.remoteWrite !== undefined,
        alertmanager: alertmanagerService !== undefined,
    }, { providers: [kube], dependsOn: [operator] });

    const alertmanager = cfg.alertmanager && alertmanagerService && new MeshAlertmanager("alertmanager", {
        ...cfg.alertmanager,
        name: cfg.prometheus.name,
        namespace: prometheus.namespaceName,
        service: alertmanagerService,
        imageRegistryMirror: cfg.imageRegistryMirror,
        zoneSpread: cfg.prometheus.zoneSpread,
        nodeSpread: cfg.prometheus.nodeSpread,
    }, { providers: [kube], dependsOn: [operator] });

    const dashboard = cfg.dashboard && new MtlsScrapeDashboard("dashboard", {
        namespace: cfg.dashboard.namespace ?? prometheus.namespaceName,
        appNamespaces: [bookinfo.namespaceName],
        certFloor: cfg.alerts && { ttlSeconds: cfg.alerts.certTtlSeconds, remainingPercent: cfg.alerts.certRemainingPercent },
    }, { providers: [kube] });

    return stackOutputs({ cfg, cluster, mesh, prometheus, monitors, strict, alerts, alertmanager, dashboard });
};

async function cloudModules() {
    return {
        ...(await import("./components/ackCluster")),
        ...(await import("./components/asmMesh")),
        ...(await import("./lib/cloudProvider")),
        ...(await import("./lib/prerequisites")),
    };
}
