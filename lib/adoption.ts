import * as pulumi from "@pulumi/pulumi";
import { askCluster } from "./askCluster";
import { configKey, StackConfig } from "./config";
import type { DeclaredDeployment } from "./handMade";
import type { ClusterLogin } from "./kubeClient";
import type { KubeObject } from "./manifests";
import type { Upstream } from "./upstream";

/** The Deployments of parsed manifests; objects without a namespace go to `namespace`. */
function declaredDeployments(objects: KubeObject[], namespace?: string): DeclaredDeployment[] {
    return objects.filter((o) => o.kind === "Deployment").map((o) => ({ namespace: o.metadata.namespace ?? namespace ?? "default", name: o.metadata.name }));
}

/**
 * Refuses a cluster where a Deployment this stack declares already exists without Pulumi among its
 * field managers: the guide's `kubectl create -f`, applied by hand. Creating over it would fail with
 * AlreadyExists (provider >= 4.29) or silently take it over (older providers); adoptExisting says which.
 */
export async function refuseHandMadeInstall(login: ClusterLogin, declared: DeclaredDeployment[]): Promise<void> {
    const { found, managers } = await askCluster("handMadeDeployments", login, declared);
    if (found.length === 0) return;
    throw new Error(
        `the cluster already has Deployment ${found.join(", ")}, made outside Pulumi (field managers: ${managers.join(", ") || "none"}). ` +
        `Set ${configKey("adoptExisting")} true to take over the objects of the same names without deleting them (docs/operations.md: Adopting a hand-made install), or delete them first.`,
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
