import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, openSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { connect as tlsConnect } from "node:tls";
import * as YAML from "yaml";
import { eventually, kubectl, kubectlJson, track, World } from "./world";

// Istio's control plane for the mesh tests, out of cluster: the objects of `istioctl manifest generate`
// (minimal profile) without istiod's Deployment, Service and autoscaling, and istiod itself
// (pilot-discovery) run here against the local API server. istiod creates its self-signed CA, serves
// certificates on 15012 to agents that present a ServiceAccount token of audience istio-ca (checked by
// TokenReview), and the injection webhook on 15017, whose caBundle it patches into the webhook
// configuration of its revision.

const ISTIO_NAMESPACE = "istio-system";
export const TRUST_DOMAIN = "cluster.local";
/** Where cluster DNS would resolve istiod's Service; pods reach it at the node address instead. */
export const ISTIOD_HOST = `istiod.${ISTIO_NAMESPACE}.svc`;

export interface Istio {
    istiod: ChildProcess;
    log: string;
}

/** The objects of the minimal profile that exist without istiod running in the cluster. */
function controlPlaneObjects(bin: string, webhookUrl: string, sets: string[] = []): any[] {
    const out = execFileSync(path.join(bin, "istioctl"), [
        "manifest", "generate", "--set", "profile=minimal", ...sets.flatMap((x) => ["--set", x]),
        "--set", `values.istiodRemote.injectionURL=${webhookUrl}/inject`,
        "--set", `values.base.validationURL=${webhookUrl}/validate`,
        "--set", `values.global.istioNamespace=${ISTIO_NAMESPACE}`,
    ], { encoding: "utf8", maxBuffer: 64 << 20, stdio: ["ignore", "pipe", "pipe"] });
    return YAML.parseAllDocuments(out).map((d) => d.toJSON()).filter((o) => o && !["Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"].includes(o.kind));
}

/**
 * Applies Istio's objects and starts istiod; resolves once the injector's caBundle is in place.
 * certTtl: the workload certificates' lifetime (SECRET_TTL in the mesh's default proxy metadata; agents renew
 * at half of it). nativeSidecars: what istiod's ENABLE_NATIVE_SIDECARS says (unset: its own choice, "auto").
 */
export async function startIstio(w: World, nodeAddress: string, o: { certTtl?: string; nativeSidecars?: boolean } = {}): Promise<Istio> {
    const dir = path.join(w.tmp, "istiod");
    mkdirSync(path.join(dir, "var", "lib", "istio", "inject"), { recursive: true });
    const objects = controlPlaneObjects(w.bin, "https://127.0.0.1:15017", o.certTtl ? [`meshConfig.defaultConfig.proxyMetadata.SECRET_TTL=${o.certTtl}`] : []);
    const file = path.join(dir, "istio.yaml");
    const ns = { apiVersion: "v1", kind: "Namespace", metadata: { name: ISTIO_NAMESPACE } };
    writeFileSync(file, [ns, ...objects].map((o) => YAML.stringify(o)).join("---\n"));
    kubectl(w, ["apply", "--server-side", "-f", file]);
    kubectl(w, ["wait", "--for=condition=Established", "crd", "--all", "--timeout=120s"]);
    return runIstiod(w, nodeAddress, o);
}

/**
 * Starts istiod on the objects startIstio applied (again, after a stop: its CA's root is kept in istio-system,
 * and it patches the webhooks' caBundle itself); resolves once the injector's caBundle is in place.
 */
export async function runIstiod(w: World, nodeAddress: string, o: { nativeSidecars?: boolean } = {}): Promise<Istio> {
    const dir = path.join(w.tmp, "istiod");
    const log = path.join(dir, "istiod.log");
    const out = openSync(log, "a");
    const istiod = spawn(path.join(w.bin, "pilot-discovery"), [
        "discovery", "--kubeconfig", w.kubeconfig,
        // Agents in pod network namespaces reach it at the node address; the API server calls the webhook locally.
        "--secureGRPCAddr", `${nodeAddress}:15012`,
        "--httpsAddr", "127.0.0.1:15017",
        "--httpAddr", "127.0.0.1:0", "--grpcAddr", "127.0.0.1:0", "--monitoringAddr", "127.0.0.1:0",
        "--domain", TRUST_DOMAIN, "--log_output_level", "default:info",
    ], {
        cwd: dir,
        env: {
            ...w.env,
            POD_NAMESPACE: ISTIO_NAMESPACE,
            POD_NAME: "istiod-local",
            REVISION: "default",
            CLUSTER_ID: "Kubernetes",
            // Becomes an IP SAN of the webhook's serving certificate.
            ISTIOD_CUSTOM_HOST: "127.0.0.1",
            INJECTION_WEBHOOK_CONFIG_NAME: "istio-sidecar-injector",
            VALIDATION_WEBHOOK_CONFIG_NAME: `istio-validator-${ISTIO_NAMESPACE}`,
            PILOT_ENABLE_ANALYSIS: "false",
            ...(o.nativeSidecars === undefined ? {} : { ENABLE_NATIVE_SIDECARS: String(o.nativeSidecars) }),
        },
        detached: true,
        stdio: ["ignore", out, out],
    });
    track(istiod);
    await eventually("istiod's caBundle in the injection webhook", () => {
        const hooks = kubectlJson(w, ["get", "mutatingwebhookconfiguration", "istio-sidecar-injector"]).webhooks ?? [];
        return hooks.length > 0 && hooks.every((h: any) => h.clientConfig?.caBundle) ? true : undefined;
    }, 180_000);
    // The webhook server starts only once istiod's caches have synced, after the caBundle is patched.
    await eventually("istiod's webhook server on 127.0.0.1:15017", () => new Promise<true | undefined>((resolve) => {
        const s = tlsConnect({ host: "127.0.0.1", port: 15017, rejectUnauthorized: false }, () => {
            s.destroy();
            resolve(true);
        });
        s.on("error", () => resolve(undefined));
    }), 120_000);
    await eventually("the mesh root certificate ConfigMap", () => (kubectlJson(w, ["get", "configmap", "-A", "--field-selector", "metadata.name=istio-ca-root-cert"]).items.length > 0 ? true : undefined), 120_000);
    return { istiod, log };
}
