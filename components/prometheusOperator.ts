import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CrdSet, crdObjects, CrdSummary, isCrd, summarizeCrds } from "../lib/crdSet";
import { declareObjects } from "../lib/kubeObjects";
import { KubeAccess } from "../lib/kubeProvider";
import { KubeObject } from "../lib/manifests";

export interface PrometheusOperatorArgs {
    /** The verified objects of the release's bundle.yaml (with crds given, those other than the CRDs suffice). */
    objects: KubeObject[];
    /** With crdManagement set: the CRDs' names and digests, where the objects hold no CRD (the cached summary). */
    crds?: CrdSummary;
    /** The same objects in the download cache, from which the CRDs are applied. */
    cacheFile: string;
    version: string;
    /** The cluster the provider of the other objects talks to. */
    access: KubeAccess;
    /** Keep the CRDs in the cluster when the stack forgets them. */
    retainCrds: boolean;
    /** Drop the schemas' description texts from the CRDs. */
    stripCrdDescriptions: boolean;
    /** One CrdSet, or one provider-managed CustomResourceDefinition per CRD. */
    crdManagement: "set" | "provider";
    /** Wait for the operator Service's endpoints (off only where none can exist). */
    awaitServiceEndpoints: boolean;
    /** Take over CRDs that another tool (kubectl create, Helm) applied (the CRD set's own apply; the stack's adoption transformation forces the other objects). */
    adoptExisting: boolean;
    /** Leave the operator's objects (not the CRDs: retainCrds) in the cluster on destroy. */
    keepOnDestroy?: boolean;
}

/** prometheus-operator from its release bundle: ten monitoring.coreos.com CRDs, RBAC, the Deployment. */
export class PrometheusOperator extends pulumi.ComponentResource {
    /** What the other objects wait for: the CrdSet, or the CRDs as provider resources. */
    readonly crds: CrdSet | pulumi.CustomResource[];
    readonly resources: pulumi.CustomResource[];
    readonly version: string;
    /** Namespace the operator runs in (the bundle's default, or operatorNamespace). */
    readonly namespace: string;
    /** The operator's own namespace, when it is not default. */
    readonly ownNamespace?: k8s.core.v1.Namespace;

    constructor(name: string, args: PrometheusOperatorArgs, opts?: pulumi.ComponentResourceOptions) {
        super("asm-prometheus-mtls:operator:PrometheusOperator", name, {}, opts);
        const summary = args.crdManagement === "set" && args.crds ? args.crds : undefined;
        if (!summary && !args.objects.some(isCrd)) throw new Error(`prometheus-operator ${args.version}: bundle.yaml holds no CustomResourceDefinition`);

        // Deleting a CRD deletes every object of its kind cluster-wide, other teams' ServiceMonitors too.
        this.crds = args.crdManagement === "provider"
            ? declareObjects(`${name}-crd`, crdObjects(args.objects, args.stripCrdDescriptions), { parent: this, retainOnDelete: args.retainCrds }, args)
            : new CrdSet(`${name}-crds`, {
                crds: summary ?? summarizeCrds(args.objects, args.stripCrdDescriptions),
                cacheFile: args.cacheFile,
                stripDescriptions: args.stripCrdDescriptions,
                retain: args.retainCrds,
                access: args.access,
                timeoutSeconds: 300,
                adopt: args.adoptExisting,
            // Retained CRDs: the engine shows delete[retain] and never asks the set to delete them.
            }, { parent: this, ...(args.retainCrds ? { retainOnDelete: true } : {}) });
        this.namespace = args.objects.find((o) => o.kind === "Deployment")?.metadata.namespace ?? "default";
        // Not labelled for injection: the operator talks to the API server only.
        const keep = args.keepOnDestroy ? { retainOnDelete: true } : {};
        this.ownNamespace = this.namespace === "default" ? undefined : new k8s.core.v1.Namespace(`${name}-ns`, { metadata: { name: this.namespace } }, { parent: this, ...keep });
        this.resources = declareObjects(name, args.objects.filter((o) => !isCrd(o)), { parent: this, dependsOn: [this.crds, this.ownNamespace ?? []].flat(), ...keep }, args);
        this.version = args.version;
        this.registerOutputs({ version: this.version, namespace: this.namespace });
    }
}
