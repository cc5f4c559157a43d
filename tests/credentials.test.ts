import * as pulumi from "@pulumi/pulumi";
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { configKey } from "../lib/config";
import { kubeconfigFile } from "../lib/kubeProvider";
import { discovery } from "./support/discovery";
import { CREDENTIAL_KUBECONFIG, CREDENTIAL_PEM_KEY, failingProgram, isSecret, Recorded, runProgram, secretValue, testConfig } from "./support/harness";

// No credential reaches state or the stack outputs in plain text: every resource input that holds one is
// a secret, every provider output that holds one is listed in additionalSecretOutputs, and every stack
// output that holds one is a secret.

const CREDENTIAL = /-----BEGIN [A-Z ]*PRIVATE KEY-----|client-key-data:|client-certificate-data:|\btoken:\s*\S|kind:\s*Config\b/;

/** Paths under value where a credential sits outside a secret. */
function plainCredentials(value: unknown, at = ""): string[] {
    if (typeof value === "string") return CREDENTIAL.test(value) ? [at || "(value)"] : [];
    if (value === null || typeof value !== "object") return [];
    const sig = (value as Record<string, unknown>)[pulumi.runtime.specialSigKey];
    if (sig === pulumi.runtime.specialSecretSig) return [];
    return Object.entries(value).flatMap(([k, v]) => plainCredentials(v, at ? `${at}.${k}` : k));
}

const ALICLOUD = path.join(__dirname, "..", "..", "node_modules", "@pulumi", "alicloud");
/** What a property's documentation says when it holds a credential (the first sentence; booleans about one do not). */
const HOLDS_CREDENTIAL = /kube.?config|certificate authority|private key|client key|password/i;

/**
 * The outputs of an Alibaba Cloud resource type that may hold a credential, read from the provider's own
 * schema as its SDK carries it (@pulumi/alicloud, generated from that schema): the outputs the schema
 * marks secret (the SDK's additionalSecretOutputs), and those whose documentation says they hold a
 * kubeconfig, a certificate authority, a key or a password. input: whether the program could set it.
 */
function credentialOutputs(type: string): { name: string; markedSecret: boolean; input: boolean }[] {
    const mod = type.split(":")[1];
    const dts = readFileSync(path.join(ALICLOUD, `${mod}.d.ts`), "utf8");
    const js = readFileSync(path.join(ALICLOUD, `${mod}.js`), "utf8");
    const cls = dts.slice(dts.indexOf("export declare class"), dts.indexOf("constructor(name"));
    const args = dts.slice(dts.lastIndexOf("export interface"));
    const marked: string[] = JSON.parse(/additionalSecretOutputs: (\[[^\]]*\])/.exec(js)?.[1] ?? "[]");
    return [...cls.matchAll(/(?:\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*)?readonly (\w+): pulumi\.Output<([\s\S]*?)>;\n/g)]
        .map(([, doc = "", name, t]) => ({ name, t, sentence: doc.replace(/\s*\*\s?/g, " ").trim().split(/\.\s/)[0] }))
        .filter((o) => marked.includes(o.name) || (HOLDS_CREDENTIAL.test(o.sentence) && !/^boolean/.test(o.t)))
        .map((o) => ({ name: o.name, markedSecret: marked.includes(o.name), input: new RegExp(`\\b${o.name}\\?:`).test(args) }));
}

/**
 * What a run would store in plain text: inputs holding a credential outside a secret, and outputs that may
 * hold one (by the provider's schema) which are neither secret nor left unset.
 */
function leaks(resources: Recorded[]): string[] {
    return resources.flatMap((r) => {
        const inputs = plainCredentials(r.inputs).map((p) => `${r.type} ${r.name}: input ${p}`);
        if (!r.type.startsWith("alicloud:")) return inputs;
        const secretOutputs = (r.opts as pulumi.CustomResourceOptions).additionalSecretOutputs ?? [];
        const outputs = credentialOutputs(r.type)
            .filter((o) => !o.markedSecret && !secretOutputs.includes(o.name) && !(o.input && r.inputs[o.name] === undefined))
            .map((o) => `${r.type} ${r.name}: output ${o.name}`);
        return [...inputs, ...outputs];
    });
}

async function plainOutputs(raw: Record<string, pulumi.Input<unknown>>, outputs: Record<string, unknown>): Promise<string[]> {
    const found: string[] = [];
    for (const [k, v] of Object.entries(outputs)) {
        if (plainCredentials(v).length === 0) continue;
        if (!(pulumi.Output.isInstance(raw[k]) && (await isSecret(raw[k] as pulumi.Output<unknown>)))) found.push(k);
    }
    return found;
}

describe("credentials are secrets in state and outputs", () => {
    test("the check finds a key, a kubeconfig and a token outside a secret, and passes one inside", () => {
        assert.deepEqual(plainCredentials({ a: { b: CREDENTIAL_PEM_KEY } }), ["a.b"]);
        assert.deepEqual(plainCredentials([CREDENTIAL_KUBECONFIG]), ["0"]);
        assert.deepEqual(plainCredentials({ t: "users:\n- user:\n    token: abc" }), ["t"]);
        assert.deepEqual(plainCredentials({ s: { [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value: CREDENTIAL_PEM_KEY } }), []);
        assert.deepEqual(plainCredentials({ name: "asm-prom", kind: "Deployment" }), []);
    });

    test("the providers' schemas name the outputs that hold credentials: ACK's certificate authority and key files, the node pool's password, ASM's kubeconfig, the key pair's key file", () => {
        const names = (type: string) => credentialOutputs(type).map((o) => `${o.name}${o.markedSecret ? " (secret)" : ""}${o.input ? " (input)" : ""}`);
        assert.deepEqual(names("alicloud:cs/managedKubernetes:ManagedKubernetes"), ["certificateAuthority", "clientCert (input)", "clientKey (input)", "clusterCaCert (input)"]);
        assert.deepEqual(names("alicloud:cs/nodePool:NodePool"), ["kmsEncryptedPassword (secret) (input)", "kmsEncryptionContext (input)", "password (secret) (input)"]);
        assert.deepEqual(names("alicloud:servicemesh/serviceMesh:ServiceMesh"), ["kubeconfig"]);
        assert.deepEqual(names("alicloud:ecs/keyPair:KeyPair"), ["keyFile (input)"]);
        assert.deepEqual(names("alicloud:vpc/network:Network"), []);
    });

    test("a credential output the program neither marks secret nor leaves unset is found", () => {
        const ack = (opts: string[], inputs: Record<string, unknown>) => ({ type: "alicloud:cs/managedKubernetes:ManagedKubernetes", name: "c", custom: true, inputs, opts: { additionalSecretOutputs: opts, aliasTypes: [] }, waitsFor: [] });
        assert.deepEqual(leaks([ack([], {})]), ["alicloud:cs/managedKubernetes:ManagedKubernetes c: output certificateAuthority"]);
        assert.deepEqual(leaks([ack(["certificateAuthority"], { clientKey: "~/.kube/client-key.pem" })]), ["alicloud:cs/managedKubernetes:ManagedKubernetes c: output clientKey"]);
        assert.deepEqual(leaks([ack(["certificateAuthority"], {})]), []);
    });

    test("cluster and mesh created: the certificate authority and the mesh kubeconfig are secret outputs, the kubeconfig a secret", async () => {
        // With a public key the stack makes the key pair, which could save a private key to a file.
        const withKey = await runProgram(testConfig({ createCluster: true, nodeSshPublicKey: "ssh-ed25519 AAAAC3Nza ops@example", createMesh: true, zoneIds: ["cn-hangzhou-k"], vswitchCidrs: ["192.168.0.0/19"] }));
        assert.ok(withKey.resources.some((r) => r.type === "alicloud:ecs/keyPair:KeyPair"));
        assert.deepEqual(leaks(withKey.resources), []);
        const { raw, outputs, resources } = await runProgram(testConfig({ createCluster: true, nodeKeyPair: "ops", createMesh: true, zoneIds: ["cn-hangzhou-k"], vswitchCidrs: ["192.168.0.0/19"], apiServerAllowedCidrs: ["203.0.113.0/24"], clusterAdmins: ["user:2000000000000001"] }));
        assert.deepEqual(leaks(resources), []);
        assert.deepEqual(await plainOutputs(raw, outputs), []);
        // The stack output does carry the cluster's kubeconfig, as a secret.
        assert.equal(outputs.kubeconfig, CREDENTIAL_KUBECONFIG);
        // The provider is told not to keep the certificate authority at all.
        const ack = resources.find((r) => r.type === "alicloud:cs/managedKubernetes:ManagedKubernetes")!;
        assert.equal(ack.inputs.skipSetCertificateAuthority, true);
    });

    test("remote write: the endpoint's user and password reach only a Kubernetes Secret, as secrets; the Prometheus refers to it", async () => {
        const [user, password] = ["LTAI5tRemoteWriteUser", "remote-write-password-not-in-state"];
        const { raw, outputs, resources } = await runProgram(
            testConfig({ remoteWriteUrl: "https://cn-hangzhou.arms.aliyuncs.com/prometheus/1/2/3/cn-hangzhou/api/v3/write", remoteWriteUsername: user, remoteWritePassword: password }),
            [configKey("remoteWriteUsername"), configKey("remoteWritePassword")],
        );
        const holders = resources.filter((r) => JSON.stringify(r.inputs).includes(password) || JSON.stringify(r.inputs).includes(user));
        assert.deepEqual(holders.map((r) => r.type), ["kubernetes:core/v1:Secret"]);
        assert.deepEqual(secretValue(holders[0].inputs.stringData), { username: user, password });
        const prom = resources.find((r) => r.type === "kubernetes:monitoring.coreos.com/v1:Prometheus")!;
        assert.deepEqual(prom.inputs.spec.remoteWrite[0].basicAuth.password, { name: holders[0].inputs.metadata.name, key: "password" });
        assert.equal(JSON.stringify(outputs).includes(password), false);
        assert.deepEqual(await plainOutputs(raw, outputs), []);
    });

    test("remote write credentials set in plain text are refused before anything is registered", async () => {
        const { error, resources } = await failingProgram(testConfig({ remoteWriteUrl: "https://receiver.example/api/v1/write", remoteWriteUsername: "u", remoteWritePassword: "p" }), [configKey("remoteWriteUsername")]);
        assert.match(String(error), /asm-prometheus-mtls:remoteWritePassword: stored in plain text; accepted: a secret value \(pulumi config set --secret remoteWritePassword \.\.\.\)/);
        assert.deepEqual(resources, []);
    });

    test("existing cluster: the kubeconfig from config stays a secret in every resource that holds it", async () => {
        // A cluster that answers the program's questions, with a bearer token for its user.
        const { kubeconfig } = await discovery(0);
        const { raw, outputs, resources } = await runProgram(testConfig({ kubeconfig }), [configKey("kubeconfig")]);
        // The providers get the file the program writes it to, so no resource holds the credential at all.
        assert.deepEqual(resources.filter((r) => JSON.stringify(r.inputs).includes("token: t")).map((r) => r.type), []);
        assert.deepEqual(resources.filter((r) => r.inputs.kubeconfig === kubeconfigFile("test")).map((r) => r.type).sort(), ["pulumi-nodejs:dynamic/kubernetes:CrdSet", "pulumi-nodejs:dynamic/kubernetes:MonitorAccepted", "pulumi-nodejs:dynamic/kubernetes:PrometheusReady", "pulumi:providers:kubernetes"]);
        assert.equal(readFileSync(kubeconfigFile("test"), "utf8"), kubeconfig);
        assert.deepEqual(leaks(resources), []);
        assert.deepEqual(await plainOutputs(raw, outputs), []);
    });
});
