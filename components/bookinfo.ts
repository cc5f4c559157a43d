import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { injectedNamespace } from "../lib/certContract";
import { declareObjects } from "../lib/kubeObjects";
import { KubeObject } from "../lib/manifests";

export interface BookinfoArgs {
    /** The verified objects of Istio's bookinfo.yaml. */
    objects: KubeObject[];
    namespace: string;
    /** Wait for the Services' endpoints (off only where none can exist). */
    awaitServiceEndpoints: boolean;
    /** Leave the namespace and the objects in the cluster on destroy. */
    keepOnDestroy?: boolean;
}

/** Istio's Bookinfo sample in a namespace of its own, labelled for sidecar injection. */
export class Bookinfo extends pulumi.ComponentResource {
    readonly namespace: k8s.core.v1.Namespace;
    readonly namespaceName: pulumi.Output<string>;
    readonly resources: pulumi.CustomResource[];

    constructor(name: string, args: BookinfoArgs, opts?: pulumi.ComponentResourceOptions) {
        super("asm-prometheus-mtls:app:Bookinfo", name, {}, opts);
        const keep = args.keepOnDestroy ? { retainOnDelete: true } : {};
        this.namespace = injectedNamespace(`${name}-ns`, args.namespace, { parent: this, ...keep });
        this.namespaceName = this.namespace.metadata.name;

        const placed = args.objects.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: args.namespace } }));
        this.resources = declareObjects(name, placed, { parent: this, dependsOn: [this.namespace], ...keep }, args);
        this.registerOutputs({ namespace: this.namespaceName });
    }
}
