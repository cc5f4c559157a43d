import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import { configKey, StackConfig } from "./config";

// What a fresh Alibaba Cloud account lacks before it can create an ACK cluster, checked before anything
// is created, so a first `up` stops with the step to take instead of failing halfway.

/**
 * The service roles ACK assumes, as its console's one-time authorization grants them (ACK quick start,
 * "Cloud Resource Access Authorization"). Creating a managed cluster fails without them.
 */
export const ACK_SERVICE_ROLES = [
    "AliyunCSDefaultRole",
    "AliyunCSManagedKubernetesRole",
    "AliyunCSManagedLogRole",
    "AliyunCSManagedCmsRole",
    "AliyunCSManagedCsiRole",
    "AliyunCSManagedVKRole",
    "AliyunCSManagedNetworkRole",
    "AliyunCSManagedArmsRole",
    "AliyunCSClusterRole",
    "AliyunCSServerlessKubernetesRole",
    "AliyunCSKubernetesAuditRole",
];

export class PrerequisiteError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PrerequisiteError";
    }
}

/** What a preview says instead of opening ACK: the step that does, and why a preview never takes it. */
export const ACTIVATION_DEFERRED =
    `${configKey("activateAck")}: this preview did not open ACK and cannot tell whether it is open (the provider's only way to ask opens it, ` +
    `which accepts ACK's terms and cannot be undone). \`pulumi up\` opens it before creating anything; or open it once yourself in the ACK console ` +
    `(docs/operations.md: A fresh account) and set ${configKey("activateAck")} false.`;

/**
 * Before the stack's cluster exists: activates ACK when asked to (the provider's only way to learn whether
 * it is: opening it, which also accepts its terms and cannot be undone), then checks that each zone offers
 * a node type and that ACK's service roles exist. Once the cluster exists there is nothing to gate, and a
 * later stock-out must not fail every preview of a running cluster: one lookup, nothing else.
 *
 * A preview never opens ACK: it runs a pull request's code with a read-only role, and accepting terms on
 * the account is a step a person takes, with `pulumi up` or in the console. It warns instead.
 */
export async function checkAckPrerequisites(cluster: StackConfig["cluster"], provider: alicloud.Provider): Promise<void> {
    const exists = await alicloud.cs.getManagedKubernetesClusters({ nameRegex: `^${cluster.name}$` }, { provider });
    if (exists.names.includes(cluster.name)) return;
    if (cluster.activateAck && pulumi.runtime.isDryRun()) {
        await pulumi.log.warn(ACTIVATION_DEFERRED);
    } else if (cluster.activateAck) {
        const service = await alicloud.cs.getAckService({ enable: "On", type: "propayasgo" }, { provider });
        if (service.status !== "Opened") {
            throw new PrerequisiteError(`ACK could not be activated (status ${JSON.stringify(service.status)}); activate Container Service for Kubernetes in its console with the account owner, then run again`);
        }
    }
    // Stock differs per zone; the node pool takes the first type of the list it can get, with ESSD system disks.
    const offered = await Promise.all(cluster.zoneIds.map((zone) =>
        alicloud.ecs.getInstanceTypes({ availabilityZone: zone, kubernetesNodeRole: "Worker", systemDiskCategory: "cloud_essd" }, { provider }).then((r) => [zone, r.ids] as const)));
    const unserved = offered.filter(([, ids]) => !cluster.nodeInstanceTypes.some((t) => ids.includes(t)));
    if (unserved.length > 0) {
        throw new PrerequisiteError(unserved.map(([zone, ids]) =>
            `${configKey("nodeInstanceTypes")}: none of ${cluster.nodeInstanceTypes.join(", ")} is offered for ACK workers with ESSD disks in ${zone}; accepted: a type offered there, such as ${ids.slice(0, 6).join(", ") || "(none: choose another zone)"}`).join("\n"));
    }
    const roles = await alicloud.ram.getRoles({ nameRegex: "^AliyunCS" }, { provider });
    const missing = ACK_SERVICE_ROLES.filter((r) => !roles.names.includes(r));
    if (missing.length > 0) {
        throw new PrerequisiteError(
            `this account lacks the ACK service roles ${missing.join(", ")}; nothing was created. The account owner (or a RAM user with AliyunRAMFullAccess) ` +
                `grants them once: open the ACK console and accept "Cloud Resource Access Authorization" (docs/operations.md: A fresh account). ` +
                `An account where ACK was never activated also needs ${configKey("activateAck")} true, or activation in the console.`,
        );
    }
}
