import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";

export interface AckClusterArgs {
    name: string;
    zoneIds: string[];
    vpcCidr: string;
    /** One per zone, same order as zoneIds. */
    vswitchCidrs: string[];
    podCidr: string;
    serviceCidr: string;
    clusterSpec: string;
    kubernetesVersion?: string;
    nodeInstanceTypes: string[];
    nodeCount: number;
    /** An existing ECS key pair, or a public key the component makes one of. */
    nodeLogin: { keyPair: string } | { publicKey: string };
    deletionProtection: boolean;
    slbInternetEnabled: boolean;
    /** RAM identities (user:<id> or role:<id>) given the cluster's admin role. */
    admins: string[];
}

/** A VPC with one vSwitch per zone, an ACK managed cluster and its node pool. */
export class AckCluster extends pulumi.ComponentResource {
    readonly vpc: alicloud.vpc.Network;
    readonly vswitches: alicloud.vpc.Switch[];
    readonly cluster: alicloud.cs.ManagedKubernetes;
    readonly nodePool: alicloud.cs.NodePool;
    readonly keyPair?: alicloud.ecs.KeyPair;
    readonly admins: alicloud.cs.KubernetesPermission[];
    readonly clusterId: pulumi.Output<string>;
    readonly vpcId: pulumi.Output<string>;
    readonly vswitchIds: pulumi.Output<string>[];
    /** Admin kubeconfig of the cluster (secret). */
    readonly kubeconfig: pulumi.Output<string>;

    constructor(name: string, args: AckClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("asm-prometheus-mtls:cloud:AckCluster", name, {}, opts);

        this.vpc = new alicloud.vpc.Network(`${name}-vpc`, { vpcName: args.name, cidrBlock: args.vpcCidr }, { parent: this });
        this.vswitches = args.zoneIds.map((zoneId, i) => new alicloud.vpc.Switch(`${name}-vsw-${zoneId}`, {
            vswitchName: `${args.name}-${zoneId}`,
            vpcId: this.vpc.id,
            zoneId,
            cidrBlock: args.vswitchCidrs[i],
        }, { parent: this }));
        this.vpcId = this.vpc.id;
        this.vswitchIds = this.vswitches.map((v) => v.id);

        this.cluster = new alicloud.cs.ManagedKubernetes(`${name}-ack`, {
            name: args.name,
            clusterSpec: args.clusterSpec,
            version: args.kubernetesVersion,
            vswitchIds: this.vswitchIds,
            podCidr: args.podCidr,
            serviceCidr: args.serviceCidr,
            newNatGateway: true,
            slbInternetEnabled: args.slbInternetEnabled,
            deletionProtection: args.deletionProtection,
            // The provider would otherwise keep the cluster's client key in state, unmarked; the stack takes
            // its kubeconfig from cs.getClusterCredential instead.
            skipSetCertificateAuthority: true,
        }, { parent: this, protect: args.deletionProtection, additionalSecretOutputs: ["certificateAuthority"] });
        this.clusterId = this.cluster.id;

        this.keyPair = "publicKey" in args.nodeLogin
            ? new alicloud.ecs.KeyPair(`${name}-nodes-key`, { keyPairName: `${args.name}-nodes`, publicKey: args.nodeLogin.publicKey }, { parent: this })
            : undefined;
        this.nodePool = new alicloud.cs.NodePool(`${name}-nodes`, {
            clusterId: this.cluster.id,
            nodePoolName: `${args.name}-default`,
            vswitchIds: this.vswitchIds,
            instanceTypes: args.nodeInstanceTypes,
            desiredSize: String(args.nodeCount),
            keyName: this.keyPair ? this.keyPair.keyPairName : (args.nodeLogin as { keyPair: string }).keyPair,
            // The default (cloud_efficiency) is not offered by recent instance families such as g7.
            systemDiskCategory: "cloud_essd",
        }, { parent: this });

        // The kubeconfig below is the caller's own; CI roles and colleagues get theirs from ACK once granted.
        this.admins = args.admins.map((who) => {
            const [kind, uid] = who.split(":");
            return new alicloud.cs.KubernetesPermission(`${name}-admin-${uid}`, {
                uid,
                permissions: [{ cluster: this.cluster.id, roleType: "cluster", roleName: "admin", isCustom: false, isRamRole: kind === "role" }],
            }, { parent: this });
        });

        this.kubeconfig = pulumi.secret(
            alicloud.cs.getClusterCredentialOutput({ clusterId: this.cluster.id }, { parent: this }).kubeConfig,
        );
        this.registerOutputs({ clusterId: this.clusterId, vpcId: this.vpcId, kubeconfig: this.kubeconfig });
    }
}
