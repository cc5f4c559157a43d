import { KubeObject } from "./manifests";

// Every image the stack makes a cluster pull, optionally from one mirror. Clusters in mainland China
// cannot pull from docker.io or quay.io reliably; an ACR Enterprise instance can copy the images there
// (artifact subscription) under their original paths, and this rewrites each reference to it.

/** The operator's default Prometheus image (its --prometheus-default-base-image), without a tag. */
export const PROMETHEUS_BASE_IMAGE = "quay.io/prometheus/prometheus";

/** Operator flags whose value is an image the operator makes the cluster pull. */
const IMAGE_FLAGS = ["--prometheus-config-reloader=", "--prometheus-default-base-image="];

/** The registry host of a reference and its path, Docker's defaults applied (docker.io, library/). */
export function splitImage(ref: string): { registry: string; path: string } {
    const [first, ...rest] = ref.split("/");
    if (rest.length > 0 && (first.includes(".") || first.includes(":") || first === "localhost")) return { registry: first, path: rest.join("/") };
    return { registry: "docker.io", path: rest.length > 0 ? ref : `library/${ref}` };
}

/** The reference as pulled through the mirror (the registry replaced, the path kept), or unchanged without one. */
export function mirrorImage(ref: string, mirror: string | undefined): string {
    return mirror ? `${mirror}/${splitImage(ref).path}` : ref;
}

/** The image of our Prometheus; also the operator's default base image, so both name the same. */
export function prometheusImage(version: string, mirror: string | undefined): string {
    return `${mirrorImage(PROMETHEUS_BASE_IMAGE, mirror)}:${version}`;
}

/** The operator's default Alertmanager image (its --alertmanager-default-base-image), without a tag. */
export const ALERTMANAGER_BASE_IMAGE = "quay.io/prometheus/alertmanager";

/** The image of our Alertmanager, through the mirror when there is one. */
export function alertmanagerImage(version: string, mirror: string | undefined): string {
    return `${mirrorImage(ALERTMANAGER_BASE_IMAGE, mirror)}:${version}`;
}

type PodSpec = { containers?: { image?: string; args?: string[] }[]; initContainers?: { image?: string; args?: string[] }[] };

/**
 * The objects with every container image rewritten to the mirror; the operator's Deployment also gets
 * its image flags rewritten and the default Prometheus base image set to the mirror's.
 */
export function mirrorImages(objects: KubeObject[], mirror: string | undefined): KubeObject[] {
    if (!mirror) return objects;
    return objects.map((o) => {
        const pod = (o.spec as { template?: { spec?: PodSpec } } | undefined)?.template?.spec;
        if (!pod) return o;
        const rewrite = (c: { image?: string; args?: string[] }) => {
            const args = c.args?.map((a) => {
                const flag = IMAGE_FLAGS.find((f) => a.startsWith(f));
                return flag ? flag + mirrorImage(a.slice(flag.length), mirror) : a;
            });
            const isOperator = args?.some((a) => a.startsWith("--prometheus-config-reloader="));
            const base = `--prometheus-default-base-image=${mirrorImage(PROMETHEUS_BASE_IMAGE, mirror)}`;
            return {
                ...c,
                ...(c.image ? { image: mirrorImage(c.image, mirror) } : {}),
                ...(args ? { args: isOperator && !args.some((a) => a.startsWith("--prometheus-default-base-image=")) ? [...args, base] : args } : {}),
            };
        };
        const spec = { ...pod, containers: pod.containers?.map(rewrite), ...(pod.initContainers ? { initContainers: pod.initContainers.map(rewrite) } : {}) };
        const template = { ...(o.spec as { template: object }).template, spec };
        return { ...o, spec: { ...(o.spec as object), template } };
    });
}
