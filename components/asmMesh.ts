import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import type { AckCluster } from "./ackCluster";

export interface AsmMeshArgs {
    name: string;
    edition: string;
    clusterSpec: string;
    version?: string;
    /** The ACK cluster attached to the mesh; the mesh joins its VPC. */
    cluster: AckCluster;
    forceDelete: boolean;
    /** Leave the cluster out of the mesh: the teardown step before the mesh can be deleted. */
    detachCluster: boolean;
}

/** An ASM instance with the cluster attached and Istio resources served through the cluster's API server. */
export class AsmMesh extends pulumi.ComponentResource {
    readonly mesh: alicloud.servicemesh.ServiceMesh;
    readonly meshId: pulumi.Output<string>;

    constructor(name: string, args: AsmMeshArgs, opts?: pulumi.ComponentResourceOptions) {
        super("asm-prometheus-mtls:cloud:AsmMesh", name, {}, opts);
        // The attach needs the cluster's id, so the mesh starts only once ACK is running, in parallel with
        // the node pool (docs/operations.md: The critical path). The provider has no separate attach resource that would
        // let the mesh start alongside the cluster.
        this.mesh = new alicloud.servicemesh.ServiceMesh(`${name}-asm`, {
            serviceMeshName: args.name,
            edition: args.edition,
            clusterSpec: args.clusterSpec,
            version: args.version,
            // The provider takes the vSwitch list as one string.
            network: { vpcId: args.cluster.vpcId, vswitcheList: args.cluster.vswitchIds[0] },
            clusterIds: args.detachCluster ? [] : [args.cluster.clusterId],
            // PeerAuthentication and friends then go through the ACK API server, whose kubeconfig this
            // stack has; the mesh's own kubeconfig points at a private VPC address.
            extraConfiguration: { crAggregationEnabled: true },
            force: args.forceDelete,
        }, {
            parent: this,
            customTimeouts: { create: "30m", update: "30m", delete: "30m" },
            // The mesh's own kubeconfig, which the provider does not mark sensitive.
            additionalSecretOutputs: ["kubeconfig"],
        });
        this.meshId = this.mesh.id;
        this.registerOutputs({ meshId: this.meshId });
    }
}
