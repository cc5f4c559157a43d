import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface KubeAccess {
    /** A kubeconfig's contents; unset means the ambient kubeconfig (KUBECONFIG or ~/.kube/config). */
    kubeconfig?: pulumi.Input<string>;
    context?: string;
    /** Write YAML there instead of applying. */
    renderDir?: string;
}

/** An access's credentials once resolved: a kubeconfig's text (unset: the ambient one) and a context. */
export interface ClusterLogin {
    kubeconfig?: string;
    context?: string;
}

/**
 * The Kubernetes client and the KubeConfig of a login, for the program's own questions to the cluster.
 * The client is imported on first use: loading it takes a second, which a preview does not pay.
 */
export async function kubeClient(login: ClusterLogin) {
    const k8s = await import("@kubernetes/client-node");
    const kc = new k8s.KubeConfig();
    if (login.kubeconfig) kc.loadFromString(login.kubeconfig);
    else kc.loadFromDefault();
    if (login.context) kc.setCurrentContext(login.context);
    return { k8s, kc };
}

/**
 * The cluster credentials of an access, the kubeconfig as a secret; none when rendering, which talks to
 * no cluster (and the provider refuses a kubeconfig alongside it).
 */
export function clusterCredentials(access: KubeAccess): { kubeconfig?: pulumi.Output<string>; context?: string } {
    if (access.renderDir) return {};
    return { kubeconfig: access.kubeconfig === undefined ? undefined : pulumi.secret(access.kubeconfig), context: access.context };
}

/**
 * The Kubernetes provider every in-cluster resource goes through. With adopt, a create over an object
 * that exists updates it (upsert); otherwise the provider (>= 4.29) refuses it with AlreadyExists, so a
 * renamed resource cannot create-then-delete a live object.
 */
export function kubernetesProvider(name: string, access: KubeAccess, adopt: boolean, opts?: pulumi.CustomResourceOptions): k8s.Provider {
    return new k8s.Provider(name, {
        ...clusterCredentials(access),
        // The operator's CRDs exceed the 256 KiB last-applied annotation of client-side apply.
        enableServerSideApply: true,
        upsertExistingObjects: adopt,
        renderYamlToDirectory: access.renderDir,
    }, opts);
}
