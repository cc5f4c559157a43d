import * as pulumi from "@pulumi/pulumi";
import type { V1Deployment } from "@kubernetes/client-node";
import { configKey, StackConfig } from "./config";
import { ClusterLogin, kubeClient } from "./kubeProvider";
import type { KubeObject } from "./manifests";
import type { Upstream } from "./upstream";

/** A Deployment the stack declares, where it declares it. */
export interface DeclaredDeployment {
    namespace: string;
    name: string;
}

/** The Deployments of parsed manifests; objects without a namespace go to `namespace`. */
function declaredDeployments(objects: KubeObject[], namespace?: string): DeclaredDeployment[] {
    return objects.filter((o) => o.kind === "Deployment").map((o) => ({ namespace: o.metadata.namespace ?? namespace ?? "default", name: o.metadata.name }));
}

/** Pulumi's Kubernetes provider names its field managers pulumi-kubernetes or pulumi-kubernetes-<id>. */
const byPulumi = (d: V1Deployment) => (d.metadata?.managedFields ?? []).some((f) => f.manager?.startsWith("pulumi-kubernetes"));

/**
 * Refuses a cluster where a Deployment this stack declares already exists without Pulumi among its
 * field managers: the guide's `kubectl create -f`, applied by hand. Creating over it would fail with
 * AlreadyExists (provider >= 4.29) or silently take it over (older providers); adoptExisting says which.
 */
export async function refuseHandMadeInstall(login: ClusterLogin, declared: DeclaredDeployment[]): Promise<void> {
    const { k8s, kc } = await kubeClient(login);
    const api = k8s.KubernetesObjectApi.makeApiClient(kc);
    const found: string[] = [];
    const managers = new Set<string>();
    for (const namespace of [...new Set(declared.map((d) => d.namespace))]) {
        let items: V1Deployment[];
        try {
            items = (await api.list<V1Deployment>("apps/v1", "Deployment", namespace)).items;
        } catch (e) {
            throw new Error(`cannot list the Deployments of namespace ${namespace} to check for a hand-made install: ${e instanceof k8s.ApiException ? `HTTP ${e.code}` : (e as Error).message}`);
        }
        for (const d of items) {
            if (!declared.some((x) => x.namespace === namespace && x.name === d.metadata?.name) || byPulumi(d)) continue;
            found.push(`${namespace}/${d.metadata!.name}`);
            for (const f of d.metadata?.managedFields ?? []) if (f.manager) managers.add(f.manager);
        }
    }
    if (found.length === 0) return;
    throw new Error(
        `the cluster already has Deployment ${found.join(", ")}, made outside Pulumi (field managers: ${[...managers].sort().join(", ") || "none"}). ` +
        `Set ${configKey("adoptExisting")} true to take over the objects of the same names without deleting them (README: Adopting a hand-made install), or delete them first.`,
    );
}

/**
 * Before anything is registered by an up: an existing cluster (not rendered to files, adoption not
 * asked for) must not hold the operator's or Bookinfo's Deployments made by hand. A preview skips the
 * question; it changes nothing, and the up that would refuses before it applies anything.
 */
export async function checkNoHandMadeInstall(cfg: StackConfig, upstream: Upstream): Promise<void> {
    if (cfg.cluster.create || cfg.renderDir || cfg.adoptExisting || pulumi.runtime.isDryRun()) return;
    await refuseHandMadeInstall(cfg.existing, [...declaredDeployments(upstream.operatorObjects), ...declaredDeployments(upstream.bookinfoObjects, cfg.namespaces.app)]);
}
