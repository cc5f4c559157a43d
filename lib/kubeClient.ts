// The Kubernetes client for the program's own questions to the cluster. Imports nothing of Pulumi's: it is
// loaded in the short-lived process of askCluster.ts, not in the program.

/** An access's credentials once resolved: a kubeconfig's text (unset: the ambient one) and a context. */
export interface ClusterLogin {
    kubeconfig?: string;
    context?: string;
}

/** The Kubernetes client and the KubeConfig of a login; imported on first use (0.6 s, 80 MiB). */
export async function kubeClient(login: ClusterLogin) {
    const k8s = await import("@kubernetes/client-node");
    const kc = new k8s.KubeConfig();
    if (login.kubeconfig) kc.loadFromString(login.kubeconfig);
    else kc.loadFromDefault();
    if (login.context) kc.setCurrentContext(login.context);
    return { k8s, kc };
}
