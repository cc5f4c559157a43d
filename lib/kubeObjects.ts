import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { KubeObject } from "./manifests";

/**
 * Declares each object of a parsed manifest as its own resource. Unlike a ConfigGroup fed the whole
 * text, state then holds every object once and no multi-megabyte blob beside them.
 */
export function declareObjects(
    prefix: string,
    objects: KubeObject[],
    opts: pulumi.CustomResourceOptions,
    optsFor: (o: KubeObject) => pulumi.CustomResourceOptions = () => ({}),
): k8s.apiextensions.CustomResource[] {
    const seen = new Set<string>();
    return objects.map((o) => {
        // The type token carries the kind, so names only need to be unique per kind (one manifest, one namespace).
        const name = `${prefix}-${o.metadata.name}`;
        const key = `${o.apiVersion}/${o.kind}/${name}`;
        if (seen.has(key)) throw new Error(`manifest declares ${o.kind} ${name} twice`);
        seen.add(key);
        return new k8s.apiextensions.CustomResource(name, o as k8s.apiextensions.CustomResourceArgs, { ...opts, ...optsFor(o) });
    });
}
