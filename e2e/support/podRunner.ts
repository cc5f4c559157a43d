import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";

// A kubelet of processes, for the few pods whose behaviour the mesh tests observe (Prometheus,
// productpage). kwok still owns every pod's status (it schedules them, gives them an IP of the pod
// network and marks them Ready); this runs what the pod spec, as the API server stored it after
// injection, says to run:
// - a network namespace per pod with the pod's IP, joined to the world's by a veth pair;
// - each volume laid out as the kubelet would (memory emptyDirs on tmpfs, Secrets, ConfigMaps, projected
//   ServiceAccount tokens from TokenRequest bound to the pod, the downward API, claims bound to local
//   PersistentVolumes as those volumes' folders), group-owned by fsGroup;
// - each container in a mount namespace (bubblewrap) with those volumes at their exact paths, the
//   container's env with fieldRefs resolved and $(VAR) expanded, as its runAsUser/runAsGroup/fsGroup;
// - init containers first, then the containers in order, waiting for each postStart hook, as the kubelet
//   does (which is what holdApplicationUntilProxyStarts relies on).
// Container images are not pulled: an image table maps each image to a local stand-in.

export interface Cluster {
    kubectl(args: string[]): string;
    /** API server port; pods reach it at nodeAddress, as in-cluster clients do through the kubernetes Service. */
    apiserverPort: number;
    nodeAddress: string;
}

/** What a container of an image runs here. */
export interface Stand {
    /** argv[0] and the files it needs, bound read-only at the same path in the container. */
    entrypoint: string[];
    binds?: Record<string, string>;
    workingDir?: string;
    /** The image's USER, for a container whose securityContext names none. */
    user?: number;
    env?: Record<string, string>;
    /** Instead of a process, done by the runner itself (the config reloader's work). */
    emulate?: "config-reloader-init" | "config-reloader";
}

export type ImageTable = (image: string, container: any, pod: any) => Stand | undefined;

export interface PodRunnerOptions {
    cluster: Cluster;
    /** Folder for the pods' files and logs. */
    root: string;
    images: ImageTable;
    /** /etc/hosts entries every pod gets (what cluster DNS would answer). */
    hosts: Record<string, string>;
    /** Marker every started process carries in its environment, for the teardown's sweep. */
    marker: [string, string];
    /** Declare a kwok PortForward per pod, so that kubectl port-forward reaches the processes run here. */
    portForwards?: boolean;
    /** Extra processes run beside a container (the sidecar's STRICT stand-in beside pilot-agent). */
    companions?: (container: any, pod: any) => { name: string; argv: string[]; uid: number; gid: number; binds: Record<string, string>; env?: Record<string, string> }[];
}

export interface PodDirs {
    base: string;
    volumes: Record<string, string>;
}

export interface RunningPod {
    namespace: string;
    name: string;
    uid: string;
    ip: string;
    spec: any;
    dirs: PodDirs;
    /** Log file of a container (or companion) by name. */
    log(container: string): string;
}

/** A pod run here: as the API server stored it, and what runs it. */
interface Entry {
    api: any;
    pod: RunningPod;
    procs: Proc[];
    pause: ChildProcess;
    veth: string;
    timers: NodeJS.Timeout[];
}

interface Proc {
    name: string;
    child: ChildProcess;
    argv: string[];
    env: Record<string, string>;
    log: string;
}

const ROOT_SYMLINKS = ["bin", "lib", "lib64", "sbin"];
const HOST_ETC = ["passwd", "group", "nsswitch.conf", "localtime", "ssl", "alternatives", "ca-certificates", "python3", "python3.11"];

let vethCounter = 0;

function run(cmd: string, args: string[]): string {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** $(VAR) references expanded from env, $$ escaping a $, unknown names left as they are: the kubelet's rule. */
function expand(text: string, env: Record<string, string>): string {
    return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name) => (m === "$$" ? "$" : name in env ? env[name] : m));
}

/** A container's env, as the kubelet resolves it (value, fieldRef, resourceFieldRef, secret/configMap keys, $(VAR)). */
function containerEnv(c: any, pod: any, lookup: { secret(name: string, key: string): string; configMap(name: string, key: string): string }): Record<string, string> {
    const env: Record<string, string> = {};
    for (const e of c.env ?? []) {
        if (e.value !== undefined) env[e.name] = expand(e.value, env);
        else if (e.valueFrom?.fieldRef) env[e.name] = fieldRef(pod, e.valueFrom.fieldRef.fieldPath);
        else if (e.valueFrom?.resourceFieldRef) env[e.name] = resourceField(c, e.valueFrom.resourceFieldRef);
        else if (e.valueFrom?.secretKeyRef) env[e.name] = lookup.secret(e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key);
        else if (e.valueFrom?.configMapKeyRef) env[e.name] = lookup.configMap(e.valueFrom.configMapKeyRef.name, e.valueFrom.configMapKeyRef.key);
        else env[e.name] = "";
    }
    return env;
}

function fieldRef(pod: any, p: string): string {
    const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(p);
    if (m) return pod.metadata[m[1]]?.[m[2]] ?? "";
    switch (p) {
        case "metadata.name": return pod.metadata.name;
        case "metadata.namespace": return pod.metadata.namespace;
        case "metadata.uid": return pod.metadata.uid;
        case "metadata.labels": return keyValues(pod.metadata.labels);
        case "metadata.annotations": return keyValues(pod.metadata.annotations);
        case "spec.nodeName": return pod.spec.nodeName ?? "";
        case "spec.serviceAccountName": return pod.spec.serviceAccountName ?? "default";
        case "status.podIP": return pod.status.podIP ?? "";
        case "status.podIPs": return (pod.status.podIPs ?? []).map((i: { ip: string }) => i.ip).join(",");
        case "status.hostIP": return pod.status.hostIP ?? "";
        case "status.hostIPs": return (pod.status.hostIPs ?? []).map((i: { ip: string }) => i.ip).join(",");
        default: throw new Error(`fieldRef ${p} is not supported by the process kubelet`);
    }
}

/** The downward API's key="value" lines, sorted, values quoted as the kubelet writes them. */
function keyValues(m: Record<string, string> | undefined): string {
    return Object.keys(m ?? {}).sort().map((k) => `${k}=${JSON.stringify(m![k])}`).join("\n");
}

const UNITS: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, m: 1e-3 };
function quantity(q: string | number | undefined): number | undefined {
    if (q === undefined) return undefined;
    const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(String(q));
    return m ? Number(m[1]) * (UNITS[m[2]] ?? 1) : undefined;
}

function resourceField(c: any, ref: { resource: string; divisor?: string }): string {
    const [kind, res] = ref.resource.split(".");
    const v = quantity(c.resources?.[kind]?.[res]);
    const divisor = quantity(ref.divisor ?? "1") ?? 1;
    // Unset limits resolve to the node's allocatable; a large number stands in for it.
    if (v === undefined) return res === "cpu" ? "2" : String(24 * 1024 ** 3);
    return String(Math.ceil(v / divisor));
}

export class PodRunner {
    private readonly pods = new Map<string, Entry>();

    constructor(private readonly o: PodRunnerOptions) {}

    /** Runs the pod's containers; resolves once every container has started (and its postStart returned). */
    async run(namespace: string, name: string): Promise<RunningPod> {
        const pod = JSON.parse(this.o.cluster.kubectl(["get", "pod", name, "-n", namespace, "-o", "json"]));
        if (!pod.status?.podIP) throw new Error(`pod ${namespace}/${name} has no IP yet`);
        // By uid, as the kubelet keeps pods: a pod that replaces one of the same name starts with new emptyDirs.
        const base = path.join(this.o.root, `${namespace}_${name}_${pod.metadata.uid}`);
        mkdirSync(path.join(base, "logs"), { recursive: true });

        const { pause, veth } = this.network(pod);
        const running: RunningPod = {
            namespace, name, uid: pod.metadata.uid, ip: pod.status.podIP, spec: pod.spec, dirs: { base, volumes: {} },
            log: (c) => path.join(base, "logs", `${c}.log`),
        };
        const e: Entry = { api: pod, pod: running, procs: [], pause, veth, timers: [] };
        this.pods.set(`${namespace}/${name}`, e);

        for (const v of pod.spec.volumes ?? []) this.layOut(e, v, true);
        writeFileSync(path.join(base, "hosts"), [
            "127.0.0.1\tlocalhost",
            "::1\tlocalhost ip6-localhost ip6-loopback",
            `${pod.status.podIP}\t${pod.spec.hostname ?? pod.metadata.name}`,
            ...Object.entries(this.o.hosts).map(([h, ip]) => `${ip}\t${h}`),
        ].join("\n") + "\n");

        for (const c of pod.spec.initContainers ?? []) {
            if (c.restartPolicy === "Always") await this.start(c, e, true);
            else await this.runToCompletion(c, e);
        }
        for (const c of pod.spec.containers) await this.start(c, e);
        if (this.o.portForwards) this.portForward(pod);
        return running;
    }

    /** What a kubelet's port-forward does for its pods, told to kwok (which serves the nodes' kubelet endpoint). */
    private portForward(pod: any): void {
        const ports = [...new Set<number>(pod.spec.containers.flatMap((c: any) => (c.ports ?? []).map((p: any) => p.containerPort)))];
        const pf = {
            apiVersion: "kwok.x-k8s.io/v1alpha1", kind: "PortForward",
            metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace },
            spec: { forwards: ports.map((port) => ({ ports: [port], target: { port, address: pod.status.podIP } })) },
        };
        const file = path.join(this.o.root, `${pod.metadata.namespace}_${pod.metadata.name}_${pod.metadata.uid}`, "portforward.json");
        writeFileSync(file, JSON.stringify(pf));
        this.o.cluster.kubectl(["apply", "--server-side", "--force-conflicts", "-f", file]);
    }

    /** The pod's network namespace: a pause process holds it; a veth pair joins it to the world. */
    private network(pod: any): { pause: ChildProcess; veth: string } {
        const ip = pod.status.podIP as string;
        const pause = spawn("unshare", ["--net", "--", "sleep", "infinity"], { stdio: "ignore", env: { ...process.env, [this.o.marker[0]]: this.o.marker[1] } });
        for (let i = 0; i < 50 && !this.netnsReady(pause.pid!); i++) spawnSync("sleep", ["0.05"]);
        const veth = `vp${process.pid % 1000}x${++vethCounter}`;
        const node = this.o.cluster.nodeAddress;
        run("ip", ["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", String(pause.pid)]);
        run("ip", ["link", "set", veth, "up"]);
        run("ip", ["route", "add", `${ip}/32`, "dev", veth]);
        const ns = ["nsenter", `--net=/proc/${pause.pid}/ns/net`, "--"];
        for (const argv of [
            ["ip", "link", "set", "lo", "up"],
            ["ip", "addr", "add", `${ip}/32`, "dev", "eth0"],
            ["ip", "link", "set", "eth0", "up"],
            ["ip", "route", "add", node, "dev", "eth0"],
            ["ip", "route", "add", "default", "via", node, "dev", "eth0"],
        ]) run(ns[0], [...ns.slice(1), ...argv]);
        return { pause, veth };
    }

    private netnsReady(pid: number): boolean {
        try {
            return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "sleep";
        } catch {
            return false;
        }
    }

    /**
     * The data of a Secret or ConfigMap, decoded, in one read: a missing object is an empty source when
     * optional (as the kubelet makes it), else an error.
     */
    private sourceData(kind: "secret" | "configmap", namespace: string, name: string, optional = false): Record<string, Buffer> {
        const out = this.o.cluster.kubectl(["get", kind, name, "-n", namespace, "--ignore-not-found", "-o", "json"]).trim();
        if (!out) {
            if (optional) return {};
            throw new Error(`${kind} ${namespace}/${name} does not exist`);
        }
        const obj = JSON.parse(out);
        const decode = (m: Record<string, string> | undefined, enc: BufferEncoding) => Object.entries(m ?? {}).map(([k, v]) => [k, Buffer.from(v, enc)]);
        return Object.fromEntries(kind === "secret" ? decode(obj.data, "base64") : [...decode(obj.data, "utf8"), ...decode(obj.binaryData, "base64")]);
    }

    /** A ServiceAccount token from TokenRequest, bound to the pod, as a projected volume gets it. */
    private token(pod: any, audience: string | undefined, seconds: number | undefined): string {
        return this.o.cluster.kubectl([
            "create", "token", pod.spec.serviceAccountName ?? "default", "-n", pod.metadata.namespace,
            ...(audience ? ["--audience", audience] : []),
            "--duration", `${seconds ?? 3607}s`,
            "--bound-object-kind", "Pod", "--bound-object-name", pod.metadata.name, "--bound-object-uid", pod.metadata.uid,
        ]).trim();
    }

    /** The kubelet's FsUser: the runAsUser every container (init ones included) shares, if they all share one. */
    private fsUser(pod: any): number | undefined {
        const users = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c: any) => c.securityContext?.runAsUser ?? pod.spec.securityContext?.runAsUser);
        return users.every((u) => u !== undefined && u === users[0]) ? users[0] : undefined;
    }

    /** The files of a volume, as the kubelet would write them (an emptyDir has none). */
    private volumeFiles(pod: any, v: any): Record<string, { data: Buffer; mode?: number; owner?: number }> {
        const fsGroup: number | undefined = pod.spec.securityContext?.fsGroup;
        const ns = pod.metadata.namespace;
        const files: Record<string, { data: Buffer; mode?: number; owner?: number }> = {};
        const items = (data: Record<string, Buffer>, list: { key: string; path: string; mode?: number }[] | undefined, mode?: number) => {
            for (const it of list ?? Object.keys(data).map((k) => ({ key: k, path: k, mode: undefined }))) {
                if (data[it.key] !== undefined) files[it.path] = { data: data[it.key], mode: it.mode ?? mode };
            }
        };
        if (v.emptyDir || v.persistentVolumeClaim) return files;
        if (v.secret) items(this.sourceData("secret", ns, v.secret.secretName, v.secret.optional), v.secret.items, v.secret.defaultMode);
        else if (v.configMap) items(this.sourceData("configmap", ns, v.configMap.name, v.configMap.optional), v.configMap.items, v.configMap.defaultMode);
        else if (v.downwardAPI) for (const it of v.downwardAPI.items ?? []) files[it.path] = { data: Buffer.from(fieldRef(pod, it.fieldRef.fieldPath)), mode: it.mode ?? v.downwardAPI.defaultMode };
        else if (v.projected) {
            const fsUser = this.fsUser(pod);
            for (const src of v.projected.sources ?? []) {
                // As the kubelet: the volume's mode, but 0600 (owned by FsUser) when FsUser or fsGroup is set.
                if (src.serviceAccountToken) files[src.serviceAccountToken.path] = { data: Buffer.from(this.token(pod, src.serviceAccountToken.audience, src.serviceAccountToken.expirationSeconds)), mode: fsUser !== undefined || fsGroup !== undefined ? 0o600 : v.projected.defaultMode, owner: fsUser };
                else if (src.configMap) items(this.sourceData("configmap", ns, src.configMap.name, src.configMap.optional), src.configMap.items);
                else if (src.secret) items(this.sourceData("secret", ns, src.secret.name, src.secret.optional), src.secret.items);
                else if (src.downwardAPI) for (const it of src.downwardAPI.items ?? []) files[it.path] = { data: Buffer.from(fieldRef(pod, it.fieldRef.fieldPath)), mode: it.mode };
                else throw new Error(`projected source ${JSON.stringify(src)} is not supported by the process kubelet`);
            }
        } else {
            throw new Error(`volume ${v.name} of ${ns}/${pod.metadata.name}: ${Object.keys(v).join(",")} is not supported by the process kubelet`);
        }
        return files;
    }

    /**
     * Lays a volume out (first: the folder, tmpfs for a memory emptyDir, fsGroup ownership) or brings its
     * files up to date, each replaced by rename as the kubelet's atomic writer does.
     */
    private layOut(e: Entry, v: any, first: boolean): void {
        const pod = e.api;
        const fsGroup: number | undefined = pod.spec.securityContext?.fsGroup;
        const dir = v.persistentVolumeClaim ? this.claimedDir(pod, v.persistentVolumeClaim.claimName) : path.join(e.pod.dirs.base, "volumes", v.name);
        if (first) {
            mkdirSync(dir, { recursive: true });
            e.pod.dirs.volumes[v.name] = dir;
            if (v.emptyDir?.medium === "Memory") run("mount", ["-t", "tmpfs", "-o", "mode=0777,size=64m", `emptydir-${v.name}`, dir]);
            if (v.emptyDir) chmodSync(dir, 0o777);
        }
        for (const [rel, f] of Object.entries(this.volumeFiles(pod, v))) {
            const file = path.join(dir, rel);
            if (!first && existsSync(file) && readFileSync(file).equals(f.data)) continue;
            mkdirSync(path.dirname(file), { recursive: true });
            writeFileSync(`${file}.new`, f.data);
            // The kubelet's default file mode is 0644; fsGroup ownership then adds group read.
            const mode = f.mode ?? 0o644;
            chmodSync(`${file}.new`, fsGroup !== undefined ? mode | 0o040 : mode);
            chownSync(`${file}.new`, f.owner ?? 0, fsGroup ?? 0);
            renameSync(`${file}.new`, file);
        }
        // Volume ownership as the kubelet sets it for fsGroup: group fsGroup, setgid on folders (a disk's
        // folder group-writable, as SetVolumeOwnership leaves it).
        if (first && fsGroup !== undefined) {
            chownSync(dir, 0, fsGroup);
            chmodSync(dir, v.emptyDir ? 0o2777 : v.persistentVolumeClaim ? 0o2775 : 0o2755);
        }
    }

    /**
     * The folder of the local PersistentVolume a claim is bound to (scripts/cluster.sh makes them): the
     * same folder for every pod that mounts the claim, so what one pod wrote the next one finds.
     */
    private claimedDir(pod: any, claim: string): string {
        const pvc = JSON.parse(this.o.cluster.kubectl(["get", "pvc", claim, "-n", pod.metadata.namespace, "-o", "json"]));
        if (pvc.status?.phase !== "Bound") throw new Error(`claim ${pod.metadata.namespace}/${claim} of pod ${pod.metadata.name} is ${pvc.status?.phase}, not Bound`);
        const pv = JSON.parse(this.o.cluster.kubectl(["get", "pv", pvc.spec.volumeName, "-o", "json"]));
        const dir = pv.spec.local?.path ?? pv.spec.hostPath?.path;
        if (!dir) throw new Error(`PersistentVolume ${pv.metadata.name}: only local and hostPath volumes are supported by the process kubelet`);
        return dir;
    }

    /** The identity a container runs as: its securityContext over the pod's, fsGroup as a supplementary group. */
    private identity(c: any, pod: any, stand?: Stand): { uid: number; gid: number; groups: number[] } {
        const ps = pod.spec.securityContext ?? {};
        const cs = c.securityContext ?? {};
        const uid = cs.runAsUser ?? ps.runAsUser ?? stand?.user ?? 0;
        const gid = cs.runAsGroup ?? ps.runAsGroup ?? 0;
        const groups = [...new Set([gid, ...(ps.fsGroup !== undefined ? [ps.fsGroup] : []), ...(ps.supplementalGroups ?? [])])];
        return { uid, gid, groups };
    }

    /** bwrap + setpriv argv running argv in the container's filesystem and identity, in the pod's network namespace. */
    private sandbox(c: any, e: Entry, stand: Stand, argv: string[], who = this.identity(c, e.api, stand), extraBinds: Record<string, string> = {}): string[] {
        const b: string[] = ["--die-with-parent", "--unshare-ipc", "--ro-bind", "/usr", "/usr", "--tmpfs", "/usr/local", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--perms", "0755", "--dir", "/etc", "--perms", "0755", "--dir", "/var", "--perms", "0755", "--dir", "/run"];
        for (const l of ROOT_SYMLINKS) b.push("--symlink", `usr/${l}`, `/${l}`);
        for (const f of HOST_ETC) if (existsSync(`/etc/${f}`)) b.push("--ro-bind", `/etc/${f}`, `/etc/${f}`);
        b.push("--ro-bind", path.join(e.pod.dirs.base, "hosts"), "/etc/hosts");
        for (const [src, dst] of Object.entries({ ...stand.binds, ...extraBinds })) {
            for (const p of parents(dst)) if (!p.startsWith("/usr/") || p.startsWith("/usr/local")) b.push("--perms", "0755", "--dir", p);
            b.push("--ro-bind", src, dst);
        }
        for (const m of c.volumeMounts ?? []) {
            const src = e.pod.dirs.volumes[m.name];
            if (!src) throw new Error(`container ${c.name}: volume ${m.name} not found`);
            for (const p of parents(m.mountPath)) b.push("--perms", "0755", "--dir", p);
            if (m.subPath) subPathDir(src, m.subPath);
            b.push(m.readOnly ? "--ro-bind" : "--bind", m.subPath ? path.join(src, m.subPath) : src, m.mountPath);
        }
        b.push("--chdir", stand.workingDir ?? c.workingDir ?? "/");
        const priv = ["/usr/bin/setpriv", `--reuid=${who.uid}`, `--regid=${who.gid}`, `--groups=${who.groups.join(",")}`, ...(who.uid === 0 ? [] : ["--inh-caps=-all"]), "--"];
        return ["nsenter", `--net=/proc/${e.pause.pid}/ns/net`, "--", "bwrap", ...b, "--", ...priv, ...argv];
    }

    private commandOf(c: any, stand: Stand, env: Record<string, string>): string[] {
        // An image's entrypoint is replaced by the container's command; its arguments by the container's args.
        const command = c.command ? c.command.map((a: string) => expand(a, env)) : stand.entrypoint;
        return [...command, ...(c.args ?? []).map((a: string) => expand(a, env))];
    }

    private envOf(c: any, pod: any, stand: Stand): Record<string, string> {
        const ns = pod.metadata.namespace;
        const env = containerEnv(c, pod, {
            secret: (n, k) => this.sourceData("secret", ns, n)[k]?.toString("utf8") ?? "",
            configMap: (n, k) => this.sourceData("configmap", ns, n)[k]?.toString("utf8") ?? "",
        });
        return {
            PATH: "/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin",
            HOSTNAME: pod.metadata.name,
            // What the kubelet adds for the kubernetes Service; there is no kube-proxy, so it names the node address.
            KUBERNETES_SERVICE_HOST: this.o.cluster.nodeAddress,
            KUBERNETES_SERVICE_PORT: String(this.o.cluster.apiserverPort),
            KUBERNETES_SERVICE_PORT_HTTPS: String(this.o.cluster.apiserverPort),
            ...env,
            ...stand.env,
            [this.o.marker[0]]: this.o.marker[1],
        };
    }

    private standOf(c: any, pod: any): Stand {
        const stand = this.o.images(c.image, c, pod);
        if (!stand) throw new Error(`container ${c.name} of ${pod.metadata.namespace}/${pod.metadata.name}: no local stand-in for image ${c.image}`);
        return stand;
    }

    private async runToCompletion(c: any, e: Entry): Promise<void> {
        const stand = this.standOf(c, e.api);
        if (stand.emulate === "config-reloader-init") {
            this.reloadConfig(c, e);
            return;
        }
        const env = this.envOf(c, e.api, stand);
        const code = await this.exitOf(this.sandbox(c, e, stand, this.commandOf(c, stand, env)), env, e.pod.log(c.name), 120_000);
        if (code !== 0) throw new Error(`init container ${c.name} of ${e.pod.namespace}/${e.pod.name} exited ${code}: ${readFileSync(e.pod.log(c.name), "utf8").slice(-2000)}`);
    }

    private async start(c: any, e: Entry, sidecar = false): Promise<void> {
        const p = e.pod;
        const stand = this.standOf(c, e.api);
        if (stand.emulate === "config-reloader") {
            // The reloader's loop: the Secret volume refreshed as the kubelet refreshes it, the config expanded
            // again, and the server (Prometheus, Alertmanager) asked to reload when it changed, at its
            // --reload-url from inside the pod, as the reloader container asks (past the sidecar's capture).
            const { input, reloadUrl } = this.reloaderArgs(c);
            const configVolume = e.api.spec.volumes.find((v: any) => v.name === this.mountOf(c, input).name);
            const t = setInterval(() => {
                try {
                    this.layOut(e, configVolume, false);
                    if (this.reloadConfig(c, e) && reloadUrl) {
                        spawn("nsenter", [`--net=/proc/${e.pause.pid}/ns/net`, "--", "curl", "-sf", "-m", "10", "-X", "POST", reloadUrl], { stdio: "ignore" }).on("error", () => undefined);
                    }
                } catch {
                    // The next round tries again, as the reloader does.
                }
            }, 2000);
            t.unref();
            e.timers.push(t);
            return;
        }
        const env = this.envOf(c, e.api, stand);
        const argv = this.sandbox(c, e, stand, this.commandOf(c, stand, env));
        e.procs.push({ name: c.name, child: this.spawnLogged(argv, env, p.log(c.name)), argv, env, log: p.log(c.name) });
        for (const comp of this.o.companions?.(c, e.api) ?? []) {
            const cargv = this.sandbox(c, e, stand, comp.argv, { uid: comp.uid, gid: comp.gid, groups: [comp.gid] }, comp.binds);
            const cenv = { ...env, ...comp.env };
            e.procs.push({ name: comp.name, child: this.spawnLogged(cargv, cenv, p.log(comp.name)), argv: cargv, env: cenv, log: p.log(comp.name) });
        }
        const hook = c.lifecycle?.postStart?.exec?.command as string[] | undefined;
        if (hook) {
            // The kubelet starts the next container only when postStart returns.
            const code = await this.exitOf(this.sandbox(c, e, stand, hook.map((a) => expand(a, env))), env, p.log(`${c.name}.postStart`), 180_000);
            if (code !== 0) throw new Error(`postStart of ${c.name} in ${p.namespace}/${p.name} exited ${code}: ${readFileSync(p.log(`${c.name}.postStart`), "utf8").slice(-2000)}`);
        }
        // A native sidecar blocks the containers after it until its startupProbe succeeds.
        const probe = c.startupProbe?.httpGet;
        if (sidecar && probe) {
            const port = typeof probe.port === "number" ? probe.port : (c.ports ?? []).find((x: any) => x.name === probe.port)?.containerPort;
            const url = `http://${p.ip}:${port}${probe.path ?? "/"}`;
            const deadline = Date.now() + 180_000;
            while (!(await fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.status >= 200 && r.status < 400, () => false))) {
                if (Date.now() > deadline) throw new Error(`startupProbe ${url} of ${c.name} in ${p.namespace}/${p.name} never succeeded`);
                await new Promise((r) => setTimeout(r, 500));
            }
        }
    }

    /** Runs argv to completion without blocking the tests' event loop (the stand-ins answer meanwhile). */
    private exitOf(argv: string[], env: Record<string, string>, log: string, timeoutMs: number): Promise<number | string> {
        const child = this.spawnLogged(argv, env, log);
        return new Promise((resolve) => {
            const t = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
            child.on("exit", (code, signal) => {
                clearTimeout(t);
                resolve(code ?? signal ?? "unknown");
            });
        });
    }

    private spawnLogged(argv: string[], env: Record<string, string>, log: string): ChildProcess {
        const out = openSync(log, "a");
        return spawn(argv[0], argv.slice(1), { env, stdio: ["ignore", out, out], detached: true });
    }

    private reloaderArgs(c: any): { input: string; output: string; reloadUrl?: string } {
        const arg = (name: string) => (c.args ?? []).find((a: string) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
        const input = arg("config-file");
        const output = arg("config-envsubst-file");
        if (!input || !output) throw new Error(`container ${c.name}: --config-file and --config-envsubst-file expected, args ${JSON.stringify(c.args)}`);
        return { input, output, reloadUrl: arg("reload-url") };
    }

    /**
     * What prometheus-config-reloader does: read the operator's (gzipped) config from its volume, expand
     * $(VAR) from the container's env, write it where Prometheus reads it. Returns whether the file changed.
     */
    private reloadConfig(c: any, e: Entry): boolean {
        const { input, output } = this.reloaderArgs(c);
        const raw = readFileSync(this.hostPath(c, e, input));
        const env = containerEnv(c, e.api, { secret: () => "", configMap: () => "" });
        const expanded = expand((input.endsWith(".gz") ? gunzipSync(raw) : raw).toString("utf8"), env);
        const dst = this.hostPath(c, e, output);
        if (existsSync(dst) && readFileSync(dst, "utf8") === expanded) return false;
        writeFileSync(`${dst}.tmp`, expanded);
        renameSync(`${dst}.tmp`, dst);
        return true;
    }

    private mountOf(c: any, file: string): { name: string; mountPath: string } {
        const m = (c.volumeMounts ?? []).filter((x: any) => file.startsWith(`${x.mountPath}/`)).sort((a: any, b: any) => b.mountPath.length - a.mountPath.length)[0];
        if (!m) throw new Error(`container ${c.name}: no volume mounted above ${file}`);
        return m;
    }

    /** Where a path of a container's filesystem lives on this machine (it must be inside a volume). */
    private hostPath(c: any, e: Entry, file: string): string {
        const m = this.mountOf(c, file);
        return path.join(e.pod.dirs.volumes[m.name], file.slice(m.mountPath.length + 1));
    }

    /** Runs argv in a running pod's container: its filesystem, identity and network, as kubectl exec would. */
    exec(key: string, container: string, argv: string[]): string {
        const e = this.pods.get(key);
        if (!e) throw new Error(`pod ${key} is not run here`);
        const c = [...(e.api.spec.initContainers ?? []), ...e.api.spec.containers].find((x: any) => x.name === container);
        if (!c) throw new Error(`pod ${key} has no container ${container}`);
        const full = this.sandbox(c, e, this.standOf(c, e.api), argv);
        return execFileSync(full[0], full.slice(1), { encoding: "utf8", env: { PATH: "/usr/bin:/bin" }, stdio: ["ignore", "pipe", "pipe"] });
    }

    /** Restarts a container's process, as the kubelet does after it exits: same argv, env and volumes. */
    async restart(key: string, container: string): Promise<ChildProcess> {
        const pr = this.pods.get(key)?.procs.find((x) => x.name === container);
        if (!pr) throw new Error(`no container ${container} in ${key}`);
        const exited = new Promise((r) => (pr.child.exitCode !== null || pr.child.signalCode !== null ? r(undefined) : pr.child.once("exit", r)));
        try {
            process.kill(-pr.child.pid!, "SIGTERM");
        } catch {
            // Already gone.
        }
        await exited;
        pr.child = this.spawnLogged(pr.argv, pr.env, pr.log);
        return pr.child;
    }

    /** Process of a container by name (first one). */
    process(key: string, container: string): ChildProcess | undefined {
        return this.pods.get(key)?.procs.find((x) => x.name === container)?.child;
    }

    /**
     * Deletes a pod as the kubelet does: SIGTERM to every container, SIGKILL to what is left after the
     * grace period, then the pod's network and volumes go.
     */
    async terminate(key: string, graceMs = 30_000): Promise<void> {
        const e = this.pods.get(key);
        if (!e) return;
        const alive = () => e.procs.filter((pr) => pr.child.exitCode === null && pr.child.signalCode === null);
        for (const pr of alive()) {
            try {
                process.kill(-pr.child.pid!, "SIGTERM");
            } catch {
                // Already gone.
            }
        }
        const deadline = Date.now() + graceMs;
        while (alive().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        this.stop(key);
    }

    stop(key: string): void {
        const e = this.pods.get(key);
        if (!e) return;
        this.pods.delete(key);
        for (const t of e.timers) clearInterval(t);
        for (const pr of e.procs) {
            try {
                process.kill(-pr.child.pid!, "SIGKILL");
            } catch {
                // Already gone.
            }
        }
        try {
            e.pause.kill("SIGKILL");
        } catch {
            // Already gone.
        }
        spawnSync("ip", ["link", "del", e.veth], { stdio: "ignore" });
        if (this.o.portForwards) {
            try {
                this.o.cluster.kubectl(["delete", "portforward.kwok.x-k8s.io", e.pod.name, "-n", e.pod.namespace, "--ignore-not-found"]);
            } catch {
                // The cluster may be gone already.
            }
        }
        for (const dir of Object.values(e.pod.dirs.volumes)) spawnSync("umount", ["-l", dir], { stdio: "ignore" });
    }

    stopAll(): void {
        for (const k of [...this.pods.keys()]) this.stop(k);
    }
}

/** A missing subPath folder made as the kubelet makes it: the volume's own mode, its group through setgid. */
function subPathDir(volume: string, sub: string): void {
    const dir = path.join(volume, sub);
    if (existsSync(dir)) return;
    const st = statSync(volume);
    mkdirSync(dir);
    chmodSync(dir, st.mode & 0o7777);
    chownSync(dir, 0, st.mode & 0o2000 ? st.gid : 0);
}

function parents(p: string): string[] {
    const out: string[] = [];
    let d = path.posix.dirname(p);
    while (d !== "/" && d !== ".") {
        out.unshift(d);
        d = path.posix.dirname(d);
    }
    return out;
}
