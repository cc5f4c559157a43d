import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { KubeObject, parseManifest } from "../../lib/manifests";
import { atVersion, VERSIONS } from "../../lib/versions";

// Tests read the real upstream files: from the mirror folder named by ASM_UPSTREAM_MIRROR (CI points it
// at ../shared/upstream), or else from the real URLs, checked against the same digests the stack uses.

export const MIRROR = process.env.ASM_UPSTREAM_MIRROR ? path.resolve(process.env.ASM_UPSTREAM_MIRROR) : undefined;

// The files of versions.json, so tests download exactly what the stack would, checked the same way.
const FILES = {
    operator: VERSIONS.prometheusOperator.files.bundle,
    bookinfo: VERSIONS.istio.files.bookinfo,
    istioCrds: VERSIONS.istio.files.crds,
};

export type UpstreamKind = keyof typeof FILES;

/** URL template the stack should use in tests: the mirror as file:// URLs, or the real default. */
export function urlTemplate(kind: "operator" | "bookinfo"): string {
    return MIRROR ? `file://${MIRROR}/${FILES[kind].mirror}` : FILES[kind].url;
}

function digestOf(kind: UpstreamKind, version: string): string {
    const d = FILES[kind].sha256[version];
    if (!d) throw new Error(`versions.json has no digest for ${kind} ${version}`);
    return d;
}

const cache = new Map<string, KubeObject[]>();

/** The bytes of an upstream file, from the mirror folder or the real URL, checked against its digest. */
async function upstreamFile(kind: UpstreamKind, version: string): Promise<Buffer> {
    const data = MIRROR ? readFileSync(path.join(MIRROR, atVersion(FILES[kind].mirror, version))) : await download(kind, version);
    const actual = createHash("sha256").update(data).digest("hex");
    if (actual !== digestOf(kind, version)) throw new Error(`${kind} ${version}: sha256 ${actual} differs from the pinned digest`);
    return data;
}

/** The parsed objects of an upstream file, verified against its digest. */
export async function upstreamObjects(kind: UpstreamKind, version: string): Promise<KubeObject[]> {
    const key = `${kind}@${version}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const objects = parseManifest((await upstreamFile(kind, version)).toString("utf8"));
    cache.set(key, objects);
    return objects;
}

/** Files the end-to-end tests serve from their mirror: the pinned releases and the operator's upgrade start. */
const MIRRORED: [UpstreamKind, string][] = [
    ["operator", VERSIONS.prometheusOperator.version],
    ["operator", VERSIONS.prometheusOperator.upgradeFrom],
    ["bookinfo", VERSIONS.istio.version],
    ["istioCrds", VERSIONS.istio.version],
];

async function download(kind: UpstreamKind, version: string): Promise<Buffer> {
    const url = atVersion(FILES[kind].url, version);
    let res: Response;
    try {
        res = await fetch(url);
    } catch (e) {
        throw new Error(`download of ${kind} ${version} from ${url} failed (${(e as Error).cause ?? e}); without network, set ASM_UPSTREAM_MIRROR to a mirror folder`);
    }
    if (!res.ok) throw new Error(`download of ${kind} ${version} from ${url}: HTTP ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
}

/**
 * A folder laid out like the mirror: ASM_UPSTREAM_MIRROR itself, or else the folder `into` (which the caller
 * removes), filled from the real URLs, each file checked against its digest.
 */
export async function mirrorDir(into: string): Promise<string> {
    if (MIRROR) return MIRROR;
    const { mkdirSync, writeFileSync } = await import("node:fs");
    for (const [kind, version] of MIRRORED) {
        const data = await upstreamFile(kind, version);
        const file = path.join(into, atVersion(FILES[kind].mirror, version));
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, data);
    }
    return into;
}

/** The mirror's path of a file, relative to its root, as a URL template. */
export function mirrorPath(kind: UpstreamKind): string {
    return FILES[kind].mirror;
}

// productpage.py of Bookinfo, which the mesh tests run; its templates and static files are checked against
// the mirror's SHA256SUMS, the program itself against versions.json too.
const PRODUCTPAGE = VERSIONS.istio.files.productpage;

/** The mirror's SHA256SUMS: digest by path relative to the mirror's root. Throws without a mirror. */
export function mirrorSums(): Map<string, string> {
    if (!MIRROR) throw new Error("no mirror: set ASM_UPSTREAM_MIRROR (CI: ../shared/upstream)");
    return new Map(readFileSync(path.join(MIRROR, "SHA256SUMS"), "utf8").split("\n")
        .map((l) => /^([0-9a-f]{64})\s+\.?\/?(.+)$/.exec(l.trim())).filter((m): m is RegExpExecArray => m !== null).map((m) => [m[2], m[1]]));
}

/** The folder of productpage's source in the mirror, every file verified; throws without a mirror. */
export function productpageDir(version: string): string {
    if (!MIRROR) throw new Error("the mesh tests run productpage from the mirror: set ASM_UPSTREAM_MIRROR (CI: ../shared/upstream)");
    const rel = path.posix.dirname(atVersion(PRODUCTPAGE.mirror, version));
    const sums = [...mirrorSums()].filter(([file]) => file.startsWith(`${rel}/`));
    if (sums.length === 0) throw new Error(`${MIRROR}/SHA256SUMS lists nothing under ${rel}`);
    for (const [file, digest] of sums) {
        const actual = createHash("sha256").update(readFileSync(path.join(MIRROR, file))).digest("hex");
        if (actual !== digest) throw new Error(`${file}: sha256 ${actual}, SHA256SUMS says ${digest}`);
    }
    const main = sums.find(([f]) => f === atVersion(PRODUCTPAGE.mirror, version));
    if (!main || main[1] !== PRODUCTPAGE.sha256[version]) throw new Error(`productpage.py of ${version}: not the pinned digest ${PRODUCTPAGE.sha256[version] ?? "(none pinned)"}`);
    return path.join(MIRROR, rel);
}
