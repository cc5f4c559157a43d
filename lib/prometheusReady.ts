import * as pulumi from "@pulumi/pulumi";
import { apiClient, moduleDigest } from "./crdSet";
import { clusterCredentials, KubeAccess } from "./kubeProvider";

// An up whose Prometheus never runs must fail, and say why. The operator's Available condition says only
// "containers with unready status: [prometheus]" for the commonest cause under a mesh: a pod without its
// istio-proxy sidecar, whose mesh certificate (and so every scrape) never exists. This waits for the
// operator to report the Prometheus Available at its current generation, and fails at once, naming the
// sidecar and the fix, when a pod of the current rollout has no sidecar.

/** What state holds: where the Prometheus is and which generation of it was awaited. */
interface ReadyState {
    namespace: string;
    name: string;
    /** The Prometheus's metadata.generation after the apply: a new one is awaited again. */
    generation: number;
    timeoutSeconds: number;
    kubeconfig?: string;
    context?: string;
    codeDigest?: string;
}

export interface PrometheusReadyArgs {
    namespace: pulumi.Input<string>;
    name: pulumi.Input<string>;
    generation: pulumi.Input<number>;
    timeoutSeconds: number;
    access: KubeAccess;
}

interface Condition {
    type: string;
    status: string;
    reason?: string;
    message?: string;
    observedGeneration?: number;
}

/** The container every pod of a sidecar-injected Prometheus must have. */
const SIDECAR = "istio-proxy";

/** Why this pod can never scrape under STRICT mTLS, or undefined when it has its sidecar. */
function missingSidecar(pod: Pod, s: ReadyState): string | undefined {
    const names = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => c.name);
    if (names.includes(SIDECAR)) return undefined;
    return `Prometheus ${s.namespace}/${s.name}: pod ${pod.metadata.name} has no ${SIDECAR} sidecar (containers: ${names.join(", ")}), so the mesh certificate it scrapes with is never written and it never becomes Ready. ` +
        `The mesh did not inject it: the namespace ${s.namespace} must be labelled istio-injection=enabled (the stack labels it) and the cluster attached to the ASM mesh, whose injector must be running. ` +
        `Fix that, then replace the pod: kubectl -n ${s.namespace} delete pod ${pod.metadata.name}, and run pulumi up again.`;
}

type Call = Awaited<ReturnType<typeof apiClient>>;
interface Pod {
    metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
    spec: { containers: { name: string }[]; initContainers?: { name: string }[] };
}

/**
 * The first pod of the StatefulSet's current revision (the rollout of this generation) that has no
 * sidecar; pods of an older revision are on their way out.
 */
async function sidecarProblem(call: Call, s: ReadyState): Promise<string | undefined> {
    const sts = await call("GET", `/apis/apps/v1/namespaces/${s.namespace}/statefulsets/prometheus-${s.name}`);
    const set = sts.body as unknown as { metadata?: { generation?: number }; status?: { observedGeneration?: number; updateRevision?: string } };
    // Until the StatefulSet controller has seen the operator's last change, its revision is the old one.
    const revision = set.status?.observedGeneration === set.metadata?.generation ? set.status?.updateRevision : undefined;
    if (sts.status !== 200 || !revision) return undefined;
    const pods = await call("GET", `/api/v1/namespaces/${s.namespace}/pods?labelSelector=${encodeURIComponent(`operator.prometheus.io/name=${s.name}`)}`);
    if (pods.status !== 200) return undefined;
    for (const pod of (pods.body as unknown as { items: Pod[] }).items) {
        if (pod.metadata.deletionTimestamp || pod.metadata.labels?.["controller-revision-hash"] !== revision) continue;
        const why = missingSidecar(pod, s);
        if (why) return why;
    }
    return undefined;
}

/** Waits until the operator reports the Prometheus Available at generation, or fails with the reason. */
async function awaitReady(s: ReadyState): Promise<void> {
    const call = await apiClient(s);
    const base = `/apis/monitoring.coreos.com/v1/namespaces/${s.namespace}/prometheuses/${s.name}`;
    const deadline = Date.now() + s.timeoutSeconds * 1000;
    let last = "the operator has not reported on it yet";
    for (;;) {
        const r = await call("GET", base);
        if (r.status !== 200) throw new Error(`read Prometheus ${s.namespace}/${s.name}: HTTP ${r.status}: ${r.body.message ?? "no message"}`);
        const body = r.body as unknown as { status?: { conditions?: Condition[] } };
        const available = body.status?.conditions?.find((c) => c.type === "Available");
        const current = available !== undefined && (available.observedGeneration ?? 0) >= s.generation;
        if (current) {
            // First: a pod that is Ready without its sidecar (no startup probe stopped it) scrapes nothing either.
            const why = await sidecarProblem(call, s);
            if (why) throw new Error(why);
            if (available.status === "True") return;
            last = `Available ${available.status} (${available.reason ?? "no reason"}): ${available.message ?? ""}`.trim();
        }
        if (Date.now() > deadline) {
            throw new Error(`Prometheus ${s.namespace}/${s.name} not Available after ${s.timeoutSeconds} s: ${last}. A pod whose startup probe fails has no mesh certificate in its volume (kubectl -n ${s.namespace} describe pod -l operator.prometheus.io/name=${s.name}); npm run verify names the cause once it runs.`);
        }
        await new Promise((res) => setTimeout(res, 2000));
    }
}

/** The awaiting provider; exported for its tests. */
export const prometheusReadyProvider: pulumi.dynamic.ResourceProvider = {
    async diff(_id: string, olds: ReadyState, news: ReadyState) {
        const changes = (["namespace", "name", "generation", "timeoutSeconds", "kubeconfig", "context", "codeDigest"] as const).some((k) => olds[k] !== news[k]);
        return { changes };
    },
    async create(inputs: ReadyState) {
        await awaitReady(inputs);
        return { id: `${inputs.namespace}/${inputs.name}`, outs: inputs };
    },
    async update(_id: string, olds: ReadyState, news: ReadyState) {
        // Only a new generation (or another Prometheus) is a rollout to wait for; a rotated kubeconfig or
        // new code is not.
        if (olds.generation !== news.generation || olds.namespace !== news.namespace || olds.name !== news.name) await awaitReady(news);
        return { outs: news };
    },
};

/** A ServiceMonitor whose acceptance by one Prometheus is awaited. */
interface AcceptedState {
    namespace: string;
    name: string;
    /** The Prometheus that selects it, namespace/name. */
    prometheus: string;
    /** The ServiceMonitor's metadata.generation after the apply. */
    generation: number;
    timeoutSeconds: number;
    kubeconfig?: string;
    context?: string;
    codeDigest?: string;
}

interface Binding {
    resource?: string;
    name?: string;
    namespace?: string;
    conditions?: Condition[];
}

/**
 * Waits until the operator reports the ServiceMonitor Accepted by the Prometheus at its generation; a
 * rejection (a scrape class the Prometheus lacks, a file it may not read) fails with the operator's reason.
 */
async function awaitAccepted(s: AcceptedState): Promise<void> {
    const call = await apiClient(s);
    const path = `/apis/monitoring.coreos.com/v1/namespaces/${s.namespace}/servicemonitors/${s.name}`;
    const deadline = Date.now() + s.timeoutSeconds * 1000;
    for (;;) {
        const r = await call("GET", path);
        if (r.status !== 200) throw new Error(`read ServiceMonitor ${s.namespace}/${s.name}: HTTP ${r.status}: ${r.body.message ?? "no message"}`);
        const bindings = (r.body as unknown as { status?: { bindings?: Binding[] } }).status?.bindings ?? [];
        const binding = bindings.find((b) => b.resource === "prometheuses" && `${b.namespace}/${b.name}` === s.prometheus);
        const accepted = binding?.conditions?.find((c) => c.type === "Accepted");
        if (accepted && (accepted.observedGeneration ?? 0) >= s.generation) {
            if (accepted.status === "True") return;
            throw new Error(`ServiceMonitor ${s.namespace}/${s.name} is rejected by Prometheus ${s.prometheus}, which scrapes nothing of it: ${accepted.reason ?? "no reason"}: ${accepted.message ?? ""}`.trim());
        }
        if (Date.now() > deadline) {
            throw new Error(`ServiceMonitor ${s.namespace}/${s.name}: the operator reported no acceptance by Prometheus ${s.prometheus} within ${s.timeoutSeconds} s (it reports it with its StatusForConfigurationResources feature gate, which the stack turns on; is the operator running?)`);
        }
        await new Promise((res) => setTimeout(res, 1000));
    }
}

/** The acceptance-awaiting provider; exported for its tests. */
export const monitorAcceptedProvider: pulumi.dynamic.ResourceProvider = {
    async diff(_id: string, olds: AcceptedState, news: AcceptedState) {
        const changes = (["namespace", "name", "prometheus", "generation", "timeoutSeconds", "kubeconfig", "context", "codeDigest"] as const).some((k) => olds[k] !== news[k]);
        return { changes };
    },
    async create(inputs: AcceptedState) {
        await awaitAccepted(inputs);
        return { id: `${inputs.namespace}/${inputs.name}`, outs: inputs };
    },
    async update(_id: string, olds: AcceptedState, news: AcceptedState) {
        if ((["namespace", "name", "prometheus", "generation"] as const).some((k) => olds[k] !== news[k])) await awaitAccepted(news);
        return { outs: news };
    },
};

// As for the CRD set: the module's digest makes a code change an update, which stores the new code.
const CODE_DIGEST = moduleDigest(__filename);

/** A waiter's inputs: its arguments, with the cluster's credentials in place of the access, and this module's digest. */
function waiterInputs({ access, ...rest }: PrometheusReadyArgs | MonitorAcceptedArgs): pulumi.Inputs {
    return { ...rest, ...clusterCredentials(access), codeDigest: CODE_DIGEST };
}

/** Waits, in up, until the operator runs the Prometheus; fails naming a missing sidecar. */
export class PrometheusReady extends pulumi.dynamic.Resource {
    constructor(name: string, args: PrometheusReadyArgs, opts?: pulumi.CustomResourceOptions) {
        super(prometheusReadyProvider, name, waiterInputs(args), opts, "kubernetes", "PrometheusReady");
    }
}

export interface MonitorAcceptedArgs {
    namespace: pulumi.Input<string>;
    name: pulumi.Input<string>;
    /** namespace/name of the Prometheus that selects the ServiceMonitor. */
    prometheus: pulumi.Input<string>;
    generation: pulumi.Input<number>;
    timeoutSeconds: number;
    access: KubeAccess;
}

/** Waits, in up, until the operator accepts a ServiceMonitor; fails with its reason when it does not. */
export class MonitorAccepted extends pulumi.dynamic.Resource {
    constructor(name: string, args: MonitorAcceptedArgs, opts?: pulumi.CustomResourceOptions) {
        super(monitorAcceptedProvider, name, waiterInputs(args), opts, "kubernetes", "MonitorAccepted");
    }
}
