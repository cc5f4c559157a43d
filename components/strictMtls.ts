import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { askCluster } from "../lib/askCluster";
import { configKey } from "../lib/config";
import type { KubeAccess } from "../lib/kubeProvider";

export interface StrictMtlsArgs {
    /** The namespace that accepts only mutual TLS. */
    namespace: pulumi.Input<string>;
    /** A mesh the same program creates, if any: the wait for its API starts once it exists. */
    mesh?: { meshId: pulumi.Input<string> };
    /** The cluster the provider applies to, asked whether it serves the PeerAuthentication API yet. */
    access: KubeAccess;
    /** How long an up waits for that API; 0: not at all. */
    apiTimeoutSeconds: number;
}

const PEER_AUTHENTICATIONS = { group: "security.istio.io", version: "v1", resource: "peerauthentications" };

/** A namespace-wide STRICT PeerAuthentication, applied through the cluster's API server. */
export class StrictMtls extends pulumi.ComponentResource {
    readonly peerAuthentication: k8s.apiextensions.CustomResource;

    constructor(name: string, args: StrictMtlsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("asm-prometheus-mtls:mesh:StrictMtls", name, {}, opts);
        // ASM serves Istio's APIs through the cluster's API server only a minute or two after the attach; the
        // provider's own retry of an unknown kind gives up after about 30 s. Preview and render talk to no cluster.
        const wait = args.apiTimeoutSeconds > 0 && !args.access.renderDir && !pulumi.runtime.isDryRun();
        const mode = wait
            ? pulumi.unsecret(pulumi.all([args.access.kubeconfig, args.mesh?.meshId]).apply(async ([kubeconfig]) => {
                await askCluster("waitUntilServed", { kubeconfig, context: args.access.context }, PEER_AUTHENTICATIONS, args.apiTimeoutSeconds,
                    args.mesh
                        ? `ASM serves it once the cluster is attached (crAggregationEnabled); raise ${configKey("meshApiTimeoutSeconds")} if the attach takes longer`
                        : `attach the cluster to an ASM mesh with Istio resources served through its API server, or install Istio's CRDs; or set ${configKey("strictMtls")} false`);
                return "STRICT";
            }))
            : "STRICT";
        this.peerAuthentication = new k8s.apiextensions.CustomResource(`${name}-peerauth`, {
            apiVersion: `${PEER_AUTHENTICATIONS.group}/${PEER_AUTHENTICATIONS.version}`,
            kind: "PeerAuthentication",
            // "default" is the conventional name of a namespace-wide policy.
            metadata: { name: "default", namespace: args.namespace },
            spec: { mtls: { mode } },
        // The caller's: the namespace, and the mesh that serves the kind.
        }, { parent: this, dependsOn: opts?.dependsOn });
        this.registerOutputs({});
    }
}
