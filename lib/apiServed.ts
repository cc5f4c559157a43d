import type { KubeAccess } from "./kubeProvider";

/** A resource of an API group, as discovery lists it. */
export interface ServedResource {
    group: string;
    version: string;
    /** The plural, e.g. peerauthentications. */
    resource: string;
}

const POLL_MS = 2000;

/**
 * Resolves once the cluster's API server lists the resource in its discovery document; throws at the
 * deadline with the last answer and the hint. An aggregated API (ASM's crAggregation) or a CRD just
 * applied answers 404 or 503 until it is served.
 */
export async function waitUntilServed(
    access: Pick<KubeAccess, "context"> & { kubeconfig?: string },
    api: ServedResource,
    timeoutSeconds: number,
    hint: string,
): Promise<void> {
    // Imported here: loading the Kubernetes client takes a second, which a preview does not pay.
    const { ApiException, CustomObjectsApi, KubeConfig } = await import("@kubernetes/client-node");
    const kc = new KubeConfig();
    if (access.kubeconfig) kc.loadFromString(access.kubeconfig);
    else kc.loadFromDefault();
    if (access.context) kc.setCurrentContext(access.context);
    const client = kc.makeApiClient(CustomObjectsApi);
    const deadline = Date.now() + timeoutSeconds * 1000;
    const what = `${api.group}/${api.version} ${api.resource}`;
    let last = "no answer";
    for (;;) {
        try {
            const list = await client.getAPIResources({ group: api.group, version: api.version });
            if (list.resources.some((r) => r.name === api.resource)) return;
            last = `${api.group}/${api.version} is served without ${api.resource}`;
        } catch (e) {
            last = e instanceof ApiException ? `HTTP ${e.code}` : (e as Error).message;
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${what} is not served by the cluster's API server after ${timeoutSeconds} s (last answer: ${last}); ${hint}`);
        await new Promise((r) => setTimeout(r, Math.min(POLL_MS, left)));
    }
}
