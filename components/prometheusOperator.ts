import * as pulumi from "@pulumi/pulumi";
import { declareObjects, ManifestObject, stripDescriptions } from "../lib/kubeObjects";
import { KubeObject } from "../lib/manifests";

export interface PrometheusOperatorArgs {
    /** The verified objects of the release's bundle.yaml. */
    objects: KubeObject[];
    version: string;
    /** Keep the CRDs in the cluster when the stack forgets them. */
    retainCrds: boolean;
    /** Drop the schemas' description texts from the CRDs. */
    stripCrdDescriptions: boolean;
    /** Wait for the operator Service's endpoints (off only where none can exist). */
    awaitServiceEndpoints: boolean;
}

/** prometheus-operator from its release bundle: ten monitoring.coreos.com CRDs, RBAC, the Deployment. */
export class PrometheusOperator extends pulumi.ComponentResource {
    readonly crds: ManifestObject[];
    readonly resources: ManifestObject[];
    readonly version: string;
    /** Namespace the bundle installs the operator into. */
    readonly namespace: string;

    constructor(name: string, args: PrometheusOperatorArgs, opts?: pulumi.ComponentResourceOptions) {
        super("asm-prometheus-mtls:operator:PrometheusOperator", name, {}, opts);
        const isCrd = (o: KubeObject) => o.kind === "CustomResourceDefinition";
        const crdObjects = args.objects.filter(isCrd).map((c) => (args.stripCrdDescriptions ? stripDescriptions(c) : c));
        if (crdObjects.length === 0) throw new Error(`prometheus-operator ${args.version}: bundle.yaml holds no CustomResourceDefinition`);

        // Deleting a CRD deletes every object of its kind cluster-wide, other teams' ServiceMonitors too.
        this.crds = declareObjects(`${name}-crd`, crdObjects, { parent: this, retainOnDelete: args.retainCrds });
        const rest = declareObjects(name, args.objects.filter((o) => !isCrd(o)), { parent: this, dependsOn: this.crds }, args);
        this.resources = [...this.crds, ...rest];
        this.version = args.version;
        this.namespace = args.objects.find((o) => o.kind === "Deployment")?.metadata.namespace ?? "default";
        this.registerOutputs({ version: this.version, namespace: this.namespace });
    }
}
