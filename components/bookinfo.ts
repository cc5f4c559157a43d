import * as pulumi from "@pulumi/pulumi";
import { injectedNamespace, InjectedNamespace } from "../lib/certContract";
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

/** Istio's Bookinfo sample in a namespace labelled for sidecar injection (its own, or default as in the guide). */
export class Bookinfo extends pulumi.ComponentResource {
    readonly namespace: InjectedNamespace["resource"];
    readonly namespaceName: pulumi.Output<string>;
    readonly resources: pulumi.CustomResource[];

    constructor(name: string, args: BookinfoArgs, opts?: pulumi.ComponentResourceOptions) {
        super("asm-prometheus-mtls:app:Bookinfo", name, {}, opts);
        const keep = args.keepOnDestroy ? { retainOnDelete: true } : {};
        ({ resource: this.namespace, name: this.namespaceName } = injectedNamespace(`${name}-ns`, args.namespace, { parent: this, ...keep }));

        const placed = args.objects.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: args.namespace } }));
        this.resources = declareObjects(name, placed, { parent: this, dependsOn: [this.namespace], ...keep }, args);
        this.registerOutputs({ namespace: this.namespaceName });
    }
}
