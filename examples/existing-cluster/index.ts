// Another team's program, not this stack: it manages its own cluster access (a kubernetes Provider of its
// kubeconfig), already runs prometheus-operator (kube-prometheus-stack, say) and an app "shop" in the ASM
// mesh, and adds what this project is for: a Prometheus that scrapes under STRICT mTLS, one ServiceMonitor
// for its "checkout" Service, and the STRICT policy. The components take names and Inputs, no sibling
// component of this project; each exposes what the next one needs.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { MeshPrometheus } from "../../components/meshPrometheus";
import { MtlsServiceMonitor } from "../../components/mtlsServiceMonitor";
import { StrictMtls } from "../../components/strictMtls";
import { VERSIONS } from "../../lib/versions";

export = async () => {
    const config = new pulumi.Config();
    const kubeconfig = config.requireSecret("kubeconfig");
    const appNamespace = config.get("appNamespace") ?? "shop";
    // Off only where no kubelet runs the pods with their sidecars (a test cluster).
    const awaitAvailable = config.getBoolean("awaitAvailable") ?? true;
    const provider = new k8s.Provider("cluster", { kubeconfig });

    // The app's namespace exists already (another program made it); the policy only needs its name.
    new StrictMtls("shop-strict", { namespace: appNamespace, access: { kubeconfig }, apiTimeoutSeconds: 0 }, { provider });

    const prometheus = new MeshPrometheus("mtls-prometheus", {
        namespace: config.get("monitoringNamespace") ?? "mesh-monitoring",
        name: "mesh",
        replicas: 2,
        // This project's pinned Prometheus, unless the program chooses its own (>= v3.0.0).
        version: config.get("prometheusVersion") ?? VERSIONS.prometheus.version,
        retention: "15d",
        retentionSize: "17GB",
        storage: { size: "20Gi" },
        resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "1Gi" } },
        // A cluster this program does not size: spread where the nodes allow.
        zoneSpread: "ScheduleAnyway",
        nodeSpread: "ScheduleAnyway",
        externalLabels: { cluster: pulumi.getStack() },
        evaluationInterval: "30s",
        selfScrapeInterval: "30s",
        serviceMonitorNamespace: appNamespace,
        awaitAvailable,
        access: { kubeconfig },
    }, { provider });

    const checkout = new MtlsServiceMonitor("checkout", {
        namespace: appNamespace,
        target: { service: "checkout", portName: "http-metrics", selector: { app: "checkout" } },
        interval: "30s",
        path: "/metrics",
        prometheus,
    }, { provider, dependsOn: [prometheus] });

    return {
        prometheus: prometheus.ref,
        scrapeClass: prometheus.scrapeClass,
        serviceMonitorLabels: prometheus.serviceMonitorLabels,
        scrapePool: checkout.scrapePool,
        portForwardCommand: pulumi.interpolate`kubectl -n ${prometheus.namespaceName} port-forward svc/${prometheus.serviceName} 9090`,
    };
};
