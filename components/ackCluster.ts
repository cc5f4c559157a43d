import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";

export interface AckClusterArgs {
    name: string;
    /** The region of the provider the component is created with. */
    region: string;
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
    /** Client CIDRs allowed to reach the API server; empty: no ACL. */
    apiServerAllowedCidrs: string[];
    /** RAM identities (user:<id> or role:<id>) given the cluster's admin role. */
    admins: string[];
    /** RAM identities given ACK's read-only restricted role, in every namespace. */
    readers: string[];
}

// ACK's API server listens on port 6443 of the load balancer ACK creates, and ACK's control plane reaches
// it from 100.104.0.0/16: a whitelist without that range (or without the nodes' VPC) cuts the cluster
// off from its own control plane (ACK: "Configure API server access control").
const API_SERVER_PORT = 6443;
const ACK_CONTROL_PLANE_CIDR = "100.104.0.0/16";

/** A VPC with one vSwitch per zone, an ACK managed cluster and its node pool. */
export class AckCluster extends pulumi.ComponentResource {
    readonly vpc: alicloud.vpc.Network;
    readonly vswitches: alicloud.vpc.Switch[];
    readonly cluster: alicloud.cs.ManagedKubernetes;
    readonly nodePool: alicloud.cs.NodePool;
    readonly keyPair?: alicloud.ecs.KeyPair;
    /** The API server's whitelist, when apiServerAllowedCidrs is set. */
    readonly apiServerAcl?: alicloud.slb.Acl;
    /** The command that binds apiServerAcl to the API server's listener, which the provider cannot. */
    readonly apiServerAclCommand?: pulumi.Output<string>;
    readonly admins: alicloud.cs.KubernetesPermission[];
    readonly readers: alicloud.cs.KubernetesPermission[];
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

        // Created before the cluster and deleted after it: SLB refuses to delete an ACL bound to a listener,
        // and deleting the cluster deletes its load balancer with the binding.
        const aclEntries = args.apiServerAllowedCidrs.length === 0
            ? []
            : [...new Set([ACK_CONTROL_PLANE_CIDR, args.vpcCidr, ...args.apiServerAllowedCidrs])];
        this.apiServerAcl = aclEntries.length === 0
            ? undefined
            : new alicloud.slb.Acl(`${name}-apiserver-acl`, { name: `${args.name}-apiserver`, ipVersion: "ipv4" }, { parent: this });
        const aclAttachments = aclEntries.map((entry) => new alicloud.slb.AclEntryAttachment(`${name}-apiserver-acl-${entry}`, {
            aclId: this.apiServerAcl!.id,
            entry,
            comment: entry === ACK_CONTROL_PLANE_CIDR ? "ACK control plane" : entry === args.vpcCidr ? "cluster VPC" : "apiServerAllowedCidrs",
        }, { parent: this }));

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
        }, { parent: this, protect: args.deletionProtection, additionalSecretOutputs: ["certificateAuthority"], dependsOn: aclAttachments });
        this.clusterId = this.cluster.id;
        // The provider has no resource that attaches an ACL to a listener it did not create
        // (aliyun/terraform-provider-alicloud#8290), and ACK's ModifyCluster ignores access_control_list
        // since 2026-07-04; SLB's own API binds it, once per cluster.
        this.apiServerAclCommand = this.apiServerAcl && pulumi.interpolate`aliyun slb SetLoadBalancerTCPListenerAttribute --RegionId ${args.region} --LoadBalancerId ${this.cluster.slbId} --ListenerPort ${API_SERVER_PORT} --AclStatus on --AclType white --AclId ${this.apiServerAcl.id}`;

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
            // Nodes evenly over the zones (Auto Scaling's default, PRIORITY, fills the first vSwitch first),
            // so the Prometheus replicas' required zone spread always finds a node in each zone.
            multiAzPolicy: "BALANCE",
        }, { parent: this });

        // The kubeconfig below is the caller's own; CI roles and colleagues get theirs from ACK once granted.
        // ACK's predefined roles (UpdateUserPermissions, role_name): admin reads and writes everything;
        // restricted reads the resources of every namespace, or of named ones, and writes nothing.
        const grant = (who: string, role: "admin" | "restricted") => {
            const [kind, uid] = who.split(":");
            return new alicloud.cs.KubernetesPermission(`${name}-${role === "admin" ? "admin" : "reader"}-${uid}`, {
                uid,
                permissions: [{ cluster: this.cluster.id, roleType: "cluster", roleName: role, isCustom: false, isRamRole: kind === "role" }],
            }, { parent: this });
        };
        this.admins = args.admins.map((who) => grant(who, "admin"));
        this.readers = args.readers.map((who) => grant(who, "restricted"));

        this.kubeconfig = pulumi.secret(
            alicloud.cs.getClusterCredentialOutput({ clusterId: this.cluster.id }, { parent: this }).kubeConfig,
        );
        this.registerOutputs({ clusterId: this.clusterId, vpcId: this.vpcId, kubeconfig: this.kubeconfig });
    }
}
