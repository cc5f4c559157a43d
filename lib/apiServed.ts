import { ClusterLogin, kubeClient } from "./kubeClient";

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
    login: ClusterLogin,
    api: ServedResource,
    timeoutSeconds: number,
    hint: string,
): Promise<void> {
    const { k8s, kc } = await kubeClient(login);
    const client = kc.makeApiClient(k8s.CustomObjectsApi);
    const deadline = Date.now() + timeoutSeconds * 1000;
    const what = `${api.group}/${api.version} ${api.resource}`;
    let last = "no answer";
    for (;;) {
        try {
            const list = await client.getAPIResources({ group: api.group, version: api.version });
            if (list.resources.some((r) => r.name === api.resource)) return;
            last = `${api.group}/${api.version} is served without ${api.resource}`;
        } catch (e) {
            last = e instanceof k8s.ApiException ? `HTTP ${e.code}` : (e as Error).message;
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${what} is not served by the cluster's API server after ${timeoutSeconds} s (last answer: ${last}); ${hint}`);
        await new Promise((r) => setTimeout(r, Math.min(POLL_MS, left)));
    }
}
