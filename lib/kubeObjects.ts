import * as pulumi from "@pulumi/pulumi";
import { KubeObject } from "./manifests";

/** The provider's type token of a Kubernetes object (the core group is spelled "core/v1"). */
function typeToken(o: KubeObject): string {
    return `kubernetes:${o.apiVersion === "v1" ? "core/v1" : o.apiVersion}:${o.kind}`;
}

/** One object of an upstream manifest, registered with the Kubernetes provider under its own type. */
export class ManifestObject extends pulumi.CustomResource {
    constructor(o: KubeObject, name: string, opts: pulumi.CustomResourceOptions) {
        super(typeToken(o), name, { ...o }, opts);
    }
}

/**
 * Declares each object of a parsed manifest as its own resource. Unlike a ConfigGroup fed the whole
 * text, state then holds no multi-megabyte blob beside the objects. Without awaitServiceEndpoints, the
 * provider does not wait for any Service's endpoints (where none can exist).
 */
export function declareObjects(
    prefix: string,
    objects: KubeObject[],
    opts: pulumi.CustomResourceOptions,
    { awaitServiceEndpoints = true }: { awaitServiceEndpoints?: boolean } = {},
): ManifestObject[] {
    const seen = new Set<string>();
    return objects.map((o) => {
        // The type token carries the kind, so names only need to be unique per kind (one manifest, one namespace).
        const name = `${prefix}-${o.metadata.name}`;
        const key = `${typeToken(o)}::${name}`;
        if (seen.has(key)) throw new Error(`manifest declares ${o.kind} ${o.metadata.name} twice`);
        seen.add(key);
        return new ManifestObject(awaitServiceEndpoints || o.kind !== "Service" ? o : skipAwait(o), name, opts);
    });
}

function skipAwait(o: KubeObject): KubeObject {
    const annotations = { ...(o.metadata.annotations as Record<string, string> | undefined), "pulumi.com/skipAwait": "true" };
    return { ...o, metadata: { ...o.metadata, annotations } };
}

function withoutDescriptions(x: unknown): unknown {
    if (Array.isArray(x)) return x.map(withoutDescriptions);
    if (x === null || typeof x !== "object") return x;
    return Object.fromEntries(Object.entries(x).filter(([k, v]) => !(k === "description" && typeof v === "string")).map(([k, v]) => [k, withoutDescriptions(v)]));
}

/** A CRD without the description texts of its schemas (a property named "description" stays). */
export function stripDescriptions(crd: KubeObject): KubeObject {
    const spec = crd.spec as { versions?: { schema?: { openAPIV3Schema?: unknown } }[] };
    return {
        ...crd,
        spec: { ...spec, versions: spec.versions?.map((v) => ({ ...v, schema: v.schema && { ...v.schema, openAPIV3Schema: withoutDescriptions(v.schema.openAPIV3Schema) } })) },
    };
}

/**
 * The objects of a manifest moved from one namespace to another: each object's own namespace and the
 * ServiceAccount subjects of its (Cluster)RoleBindings, which otherwise still grant the old namespace.
 */
export function moveNamespace(objects: KubeObject[], from: string, to: string): KubeObject[] {
    if (from === to) return objects;
    return objects.map((o) => {
        const moved: KubeObject = o.metadata.namespace === from ? { ...o, metadata: { ...o.metadata, namespace: to } } : o;
        const subjects = (o as { subjects?: { kind: string; namespace?: string }[] }).subjects;
        if (!subjects) return moved;
        return { ...moved, subjects: subjects.map((s) => (s.kind === "ServiceAccount" && s.namespace === from ? { ...s, namespace: to } : s)) } as KubeObject;
    });
}
