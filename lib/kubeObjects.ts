import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { KubeObject } from "./manifests";

/** The provider's type token of a Kubernetes object (the core group is spelled "core/v1"). */
function typeToken(o: KubeObject): string {
    return `kubernetes:${o.apiVersion === "v1" ? "core/v1" : o.apiVersion}:${o.kind}`;
}

type KubeClass = new (name: string, args: object, opts: pulumi.CustomResourceOptions) => pulumi.CustomResource;

/**
 * The SDK's own class of an object's kind: it carries the aliases across the kind's former apiVersions and
 * marks a Secret's data secret. The SDK names its modules after a group's first label ("core" for the core
 * group); the class's type token is checked, so a kind the rule misses is never registered under another.
 */
function sdkClass(o: KubeObject): KubeClass | undefined {
    const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
    const modules = k8s as unknown as Record<string, Record<string, Record<string, { __pulumiType?: string }> | undefined> | undefined>;
    const found = modules[group === "" ? "core" : group.split(".")[0]]?.[version]?.[o.kind];
    return found?.__pulumiType === typeToken(o) ? (found as unknown as KubeClass) : undefined;
}

/** One object of an upstream manifest: its kind's SDK class, or a CustomResource for a kind the SDK lacks. */
function declare(o: KubeObject, name: string, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
    const Class = sdkClass(o);
    if (Class) return new Class(name, o, opts);
    if (!o.apiVersion.includes("/")) throw new Error(`manifest object ${o.kind} ${o.metadata.name}: the core group has no kind ${o.kind} in @pulumi/kubernetes`);
    return new k8s.apiextensions.CustomResource(name, o as k8s.apiextensions.CustomResourceArgs, opts);
}

/**
 * Declares each object of a parsed manifest as its own resource, named and typed as stacks have held them
 * since the first release, so no stack needs an alias to move. A yaml/v2 ConfigGroup would rename every
 * object ("prefix:namespace/name", under the group): an alias each, and under mocks no objects to test.
 * Without awaitServiceEndpoints, the provider does not wait for any Service's endpoints (where none can exist).
 */
export function declareObjects(
    prefix: string,
    objects: KubeObject[],
    opts: pulumi.CustomResourceOptions,
    { awaitServiceEndpoints = true }: { awaitServiceEndpoints?: boolean } = {},
): pulumi.CustomResource[] {
    const seen = new Set<string>();
    return objects.map((o) => {
        // The type token carries the kind, so names only need to be unique per kind (one manifest, one namespace).
        const name = `${prefix}-${o.metadata.name}`;
        const key = `${typeToken(o)}::${name}`;
        if (seen.has(key)) throw new Error(`manifest declares ${o.kind} ${o.metadata.name} twice`);
        seen.add(key);
        const skip: Record<string, string> = !awaitServiceEndpoints && o.kind === "Service" ? { "pulumi.com/skipAwait": "true" } : {};
        return declare({ ...o, metadata: withAnnotations(o.metadata, skip) }, name, opts);
    });
}

/**
 * With adoptExisting, the provider forces each server-side apply (pulumi.com/patchForce): fields a
 * hand-made object holds under another manager with other values (the guide's kubectl apply, an older
 * bundle) become the stack's instead of failing the up with a field conflict.
 */
export function adoptionAnnotations(adoptExisting: boolean): Record<string, string> {
    return adoptExisting ? { "pulumi.com/patchForce": "true" } : {};
}

/**
 * adoptExisting for a whole stack: registered by the program (index.ts), it forces the apply of every
 * Kubernetes object any component declares, so no component takes a switch for it. Namespaces are left
 * alone: a shared one (default) keeps its labels' other owners.
 */
export function adoptionTransformation(): pulumi.ResourceTransformation {
    return (a) => {
        if (!a.type.startsWith("kubernetes:") || /^kubernetes:core\/v1:Namespace(Patch)?$/.test(a.type)) return undefined;
        const metadata = a.props.metadata;
        if (!metadata || pulumi.Output.isInstance(metadata)) return undefined;
        return { props: { ...a.props, metadata: withAnnotations(metadata, adoptionAnnotations(true)) }, opts: a.opts };
    };
}

/** Metadata with annotations added; without any, it stays as it was (no empty map to diff against). */
export function withAnnotations<M extends object>(metadata: M, extra: Record<string, string>): M {
    if (Object.keys(extra).length === 0) return metadata;
    return { ...metadata, annotations: { ...(metadata as { annotations?: Record<string, string> }).annotations, ...extra } };
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

/**
 * With two or more replicas, at most one more in any zone and on any node than elsewhere: DoNotSchedule where
 * the stack knows the nodes span the zones (it made them), ScheduleAnyway on a cluster it found.
 */
export function replicaSpread(replicas: number, podLabels: Record<string, string>, zone: "DoNotSchedule" | "ScheduleAnyway", node: "DoNotSchedule" | "ScheduleAnyway") {
    if (replicas < 2) return undefined;
    return [
        { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: zone, labelSelector: { matchLabels: podLabels } },
        { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: node, labelSelector: { matchLabels: podLabels } },
    ];
}

/**
 * The pods of the operator's Prometheus and Alertmanager: not root, as the operator's own examples run them
 * (the operator sets no user). fsGroup makes a memory volume where the sidecar (uid 1337) writes the mesh
 * certificate group-owned by the container's group.
 */
export const MONITORING_POD_SECURITY = { runAsUser: 1000, runAsGroup: 2000, runAsNonRoot: true, fsGroup: 2000, seccompProfile: { type: "RuntimeDefault" } } as const;

/**
 * A component's dependsOn option as a list its children can extend: a component passes its caller's
 * dependencies (the operator whose CRDs define a kind) on to the children that need them.
 */
export function dependencyList(d: pulumi.ResourceOptions["dependsOn"]): pulumi.Input<pulumi.Resource>[] {
    if (d === undefined) return [];
    return Array.isArray(d) ? d : [d as pulumi.Input<pulumi.Resource>];
}
