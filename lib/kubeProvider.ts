import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface KubeAccess {
    /** A kubeconfig's contents; unset means the ambient kubeconfig (KUBECONFIG or ~/.kube/config). */
    kubeconfig?: pulumi.Input<string>;
    context?: string;
    /** Write YAML there instead of applying. */
    renderDir?: string;
}

/** The Kubernetes provider every in-cluster resource goes through. */
export function kubernetesProvider(name: string, access: KubeAccess, opts?: pulumi.CustomResourceOptions): k8s.Provider {
    // Rendering talks to no cluster, and the provider refuses a kubeconfig alongside it.
    const cluster = access.renderDir ? {} : access;
    return new k8s.Provider(name, {
        kubeconfig: cluster.kubeconfig === undefined ? undefined : pulumi.secret(cluster.kubeconfig),
        context: cluster.context,
        // The operator's CRDs exceed the 256 KiB last-applied annotation of client-side apply.
        enableServerSideApply: true,
        renderYamlToDirectory: access.renderDir,
    }, opts);
}
