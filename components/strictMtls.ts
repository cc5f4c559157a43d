import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AsmMesh } from "./asmMesh";
import type { Bookinfo } from "./bookinfo";

export interface StrictMtlsArgs {
    /** The application whose namespace accepts only mutual TLS. */
    app: Bookinfo;
    /** The mesh this stack creates, if any: its CRDs must be served first. */
    mesh?: AsmMesh;
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
            metadata: { name: "default", namespace: args.app.namespaceName },
            spec: { mtls: { mode: "STRICT" } },
        }, { parent: this, dependsOn: [args.app.namespace, ...(args.mesh ? [args.mesh] : [])] });
        this.registerOutputs({});
    }
}
