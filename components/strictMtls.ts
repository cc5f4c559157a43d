import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface StrictMtlsArgs {
    /** Namespace whose workloads accept only mutual TLS. */
    namespace: pulumi.Input<string>;
    /** What must exist first: the namespace and, with a new mesh, the mesh (its CRDs). */
    dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** A namespace-wide STRICT PeerAuthentication, applied through the cluster's API server. */
export class StrictMtls extends pulumi.ComponentResource {
    readonly peerAuthentication: k8s.apiextensions.CustomResource;

    constructor(name: string, args: StrictMtlsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("asm-prometheus-mtls:mesh:StrictMtls", name, {}, opts);
        this.peerAuthentication = new k8s.apiextensions.CustomResource(`${name}-peerauth`, {
            apiVersion: "security.istio.io/v1",
            kind: "PeerAuthentication",
            // "default" is the conventional name of a namespace-wide policy.
            metadata: { name: "default", namespace: args.namespace },
            spec: { mtls: { mode: "STRICT" } },
        }, { parent: this, dependsOn: args.dependsOn });
        this.registerOutputs({});
    }
}
