import type { V1Deployment } from "@kubernetes/client-node";
import { ClusterLogin, kubeClient } from "./kubeClient";

/** A Deployment the stack declares, where it declares it. */
export interface DeclaredDeployment {
    namespace: string;
    name: string;
}

/** Pulumi's Kubernetes provider names its field managers pulumi-kubernetes or pulumi-kubernetes-<id>. */
const byPulumi = (d: V1Deployment) => (d.metadata?.managedFields ?? []).some((f) => f.manager?.startsWith("pulumi-kubernetes"));

/**
 * The declared Deployments that already exist without Pulumi among their field managers (namespace/name),
 * and the field managers they have instead: what the guide's `kubectl create -f` leaves.
 */
export async function handMadeDeployments(login: ClusterLogin, declared: DeclaredDeployment[]): Promise<{ found: string[]; managers: string[] }> {
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
    return { found, managers: [...managers].sort() };
}
