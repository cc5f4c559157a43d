import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as YAML from "yaml";
import type { ConfigKey } from "./config";
import { atVersion } from "./versions";

// Upstream manifests reach the stack as downloads pinned by version and checked against a digest. A
// verified file is cached under its digest, with its parsed objects beside it, so a preview with a
// known digest neither downloads nor parses the multi-megabyte bundle again.

export interface KubeObject {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
    [k: string]: unknown;
}

export interface LoadedManifest {
    objects: KubeObject[];
    /** The parsed objects in the cache, where the cache holds them (unset when it could not be written). */
    cacheFile?: string;
}

/** The config keys a manifest's version, URL template and digest come from, for error messages. */
export interface ManifestSettings {
    version: ConfigKey;
    urlTemplate: ConfigKey;
    sha256: ConfigKey;
}

export interface ManifestSource {
    settings: ManifestSettings;
    version: string;
    url: string;
    sha256: string;
}

export class ManifestError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ManifestError";
    }
}

/** Resolves URL and digest; throws when no digest is known for the version. */
export function manifestSource({ known, settings, version, urlTemplate, sha256 }: {
    /** Digests by version (versions.json). */
    known: Record<string, string>;
    settings: ManifestSettings;
    version: string;
    urlTemplate: string;
    /** The configured digest, which overrides the known one. */
    sha256?: string;
}): ManifestSource {
    const digest = sha256 ?? known[version];
    if (!digest) {
        throw new ManifestError(
            `${settings.version}: ${JSON.stringify(version)} has no known sha256; accepted: one of ${Object.keys(known).join(", ")}, ` +
                `or any version together with ${settings.sha256} set to the digest of its file`,
        );
    }
    return { settings, version, url: atVersion(urlTemplate, version), sha256: digest };
}

/** Under the one cache root of the project, beside the scripts' toolchain, cluster and demo folders. */
export function defaultCacheDir(): string {
    const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
    return path.join(base, "asm-prom-mtls", "manifests");
}

function sha256Of(data: Buffer): string {
    return createHash("sha256").update(data).digest("hex");
}

async function download(src: ManifestSource, timeoutSeconds: number): Promise<Buffer> {
    const where = `${src.url} (from ${src.settings.urlTemplate})`;
    if (src.url.startsWith("file:")) {
        try {
            return await fs.readFile(fileURLToPath(src.url));
        } catch (e) {
            throw new ManifestError(`cannot read ${where}: ${(e as Error).message}`);
        }
    }
    let res: Response;
    try {
        res = await fetch(src.url, { signal: AbortSignal.timeout(timeoutSeconds * 1000), redirect: "follow" });
    } catch (e) {
        const cause = (e as { cause?: Error }).cause?.message ?? (e as Error).message;
        throw new ManifestError(`cannot download ${where}: ${cause}`);
    }
    if (!res.ok) {
        throw new ManifestError(`cannot download ${where}: HTTP ${res.status} ${res.statusText}`);
    }
    return Buffer.from(await res.arrayBuffer());
}

/** Splits a multi-document manifest into objects (YAML 1.2: the bundle has a bare "=" in an enum). */
export function parseManifest(text: string): KubeObject[] {
    return YAML.parseAllDocuments(text)
        .map((doc) => {
            if (doc.errors.length > 0) throw new ManifestError(`invalid YAML: ${doc.errors[0].message}`);
            return doc.toJS({ maxAliasCount: -1 }) as KubeObject | null;
        })
        .filter((o): o is KubeObject => o !== null && typeof o === "object" && typeof o.kind === "string");
}

/** Where the cache keeps a verified manifest's parsed objects, under its sha256. */
export function parsedCacheFile(dir: string, sha256: string): string {
    return path.join(dir, `${sha256}.json`);
}

/**
 * The manifest's objects, from the cache when a file with the expected digest is there, else downloaded
 * and verified. Any failure throws before the caller registers a resource.
 */
export async function loadManifest(src: ManifestSource, opts: { cacheDir?: string; timeoutSeconds: number }): Promise<LoadedManifest> {
    const dir = opts.cacheDir ?? defaultCacheDir();
    const parsedPath = parsedCacheFile(dir, src.sha256);
    try {
        return { objects: JSON.parse(await fs.readFile(parsedPath, "utf8")) as KubeObject[], cacheFile: parsedPath };
    } catch {
        // Not cached yet (or unreadable): fall through to the download.
    }

    const data = await download(src, opts.timeoutSeconds);
    const actual = sha256Of(data);
    if (actual !== src.sha256) {
        throw new ManifestError(
            `sha256 mismatch for ${src.url}: expected ${src.sha256} (${src.settings.sha256} or the known digest of ${src.version}), got ${actual}; nothing was applied`,
        );
    }
    const objects = parseManifest(data.toString("utf8"));
    return { objects, cacheFile: (await writeCache(dir, src.sha256, data, objects)) ? parsedPath : undefined };
}

/** Returns whether the files were written. */
async function writeCache(dir: string, sha: string, data: Buffer, objects: KubeObject[]): Promise<boolean> {
    try {
        await fs.mkdir(dir, { recursive: true });
        // Written under a temporary name and renamed, so a concurrent run never reads half a file.
        for (const [name, body] of [[`${sha}.yaml`, data], [`${sha}.json`, JSON.stringify(objects)]] as const) {
            const tmp = path.join(dir, `.${name}.${process.pid}.tmp`);
            await fs.writeFile(tmp, body);
            await fs.rename(tmp, path.join(dir, name));
        }
        return true;
    } catch {
        // A read-only home (some CI runners): the caller decides whether it needs the file.
        return false;
    }
}
