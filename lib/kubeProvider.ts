import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import * as path from "node:path";

export interface KubeAccess {
    /** A kubeconfig's contents; unset means the ambient kubeconfig (KUBECONFIG or ~/.kube/config). */
    kubeconfig?: pulumi.Input<string>;
    context?: string;
    /** Write YAML there instead of applying. */
    renderDir?: string;
}

/**
 * Where a kubeconfig given as text (a created cluster's, or the kubeconfig setting) is kept for the
 * providers: a path relative to the project folder, which the program, the Kubernetes provider and the
 * CRD set's provider all run in (the engine starts plugins there). The same on every machine and for every
 * identity, so the providers' inputs are too.
 */
export const KUBECONFIG_DIR = ".pulumi-kubeconfig";

export function kubeconfigFile(stack: string): string {
    return `${KUBECONFIG_DIR}/${stack}.yaml`;
}

/** Writes the text where kubeconfigFile says, readable by its owner only, replaced whole (a reader never sees half). */
export function writeKubeconfig(text: string, file: string): string {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, text, { mode: 0o600 });
    renameSync(partial, file);
    return file;
}

const written = new WeakMap<KubeAccess, pulumi.Output<string>>();

/**
 * The cluster credentials of an access as the providers get them; none when rendering, which talks to no
 * cluster (and the provider refuses a kubeconfig alongside it).
 *
 * A kubeconfig is the identity that runs the program (ACK issues one per RAM identity), so a pull
 * request's preview and the deploy hold different ones for the same cluster. Given to the providers as
 * text it would be a change in every preview (the Kubernetes provider's DiffConfig counts any change of the
 * kubeconfig input as an update). The program writes it to kubeconfigFile each run and the providers get
 * the path, which is the same for everyone; state holds no credential. Unset: the ambient kubeconfig,
 * which the SDK passes as the KUBECONFIG path.
 */
export function clusterCredentials(access: KubeAccess): { kubeconfig?: pulumi.Output<string>; context?: string } {
    if (access.renderDir) return {};
    if (access.kubeconfig === undefined) return { context: access.context };
    let file = written.get(access);
    if (!file) {
        const target = kubeconfigFile(pulumi.getStack());
        file = pulumi.unsecret(pulumi.output(access.kubeconfig).apply((text) => writeKubeconfig(text, target)));
        written.set(access, file);
    }
    return { kubeconfig: file, context: access.context };
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
