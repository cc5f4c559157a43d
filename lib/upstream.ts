import { existsSync, promises as fs } from "node:fs";
import * as path from "node:path";
import { configKey, StackConfig } from "./config";
import { CrdSummary, isCrd, summarizeCrds } from "./crdSet";
import { mirrorImages } from "./images";
import { moveNamespace } from "./kubeObjects";
import { defaultCacheDir, KubeObject, loadManifest, LoadedManifest, ManifestError, ManifestSource, manifestSource, parsedCacheFile } from "./manifests";
import { VERSIONS } from "./versions";

// Everything the program needs from outside, fetched and checked before the first resource is declared.

export interface ScrapeTarget {
    service: string;
    /** Name of the Service port that serves metrics, as the deployed manifest names it. */
    portName: string;
    /** The Service's own labels: a ServiceMonitor selecting them selects exactly this Service. */
    selector: Record<string, string>;
}

export interface Upstream {
    operatorObjects: KubeObject[];
    /** The operator objects in the download cache: the CRDs are applied from there. */
    operatorCacheFile: string;
    /** The CRDs' names and digests, when operatorObjects came from the cached summary and hold no CRD. */
    operatorCrds?: CrdSummary;
    bookinfoObjects: KubeObject[];
    scrapeTargets: ScrapeTarget[];
}

/**
 * The operator's feature gate that writes whether each ServiceMonitor was accepted into its status
 * (status.bindings), off by default; up waits for it. ServiceMonitors have it since v0.86.0 (CHANGELOG);
 * an older operator refuses an unknown gate at start, so it gets none.
 */
export const OPERATOR_STATUS_GATE = "--feature-gates=StatusForConfigurationResources=true";

/** Whether an operator release reports ServiceMonitor acceptance (the gate exists from v0.86.0). */
export function reportsAcceptance(version: string): boolean {
    const [major, minor] = version.slice(1).split(".").map(Number);
    return major > 0 || minor >= 86;
}

/** The bundle with the status gate on the operator's container (the one with --prometheus-config-reloader). */
export function withStatusGate(objects: KubeObject[], version: string): KubeObject[] {
    if (!reportsAcceptance(version)) return objects;
    return objects.map((o) => {
        if (o.kind !== "Deployment") return o;
        const spec = o.spec as { template: { spec: { containers: { args?: string[] }[] } } };
        const containers = spec.template.spec.containers.map((c) =>
            c.args?.some((a) => a.startsWith("--prometheus-config-reloader=")) && !c.args.some((a) => a.startsWith("--feature-gates=")) ? { ...c, args: [...c.args, OPERATOR_STATUS_GATE] } : c);
        return { ...o, spec: { ...spec, template: { ...spec.template, spec: { ...spec.template.spec, containers } } } };
    });
}

export async function loadUpstream(cfg: StackConfig): Promise<Upstream> {
    const operatorSrc = manifestSource({
        known: VERSIONS.prometheusOperator.files.bundle.sha256,
        settings: { version: configKey("operatorVersion"), urlTemplate: configKey("operatorUrlTemplate"), sha256: configKey("operatorSha256") },
        ...cfg.operator,
    });
    const bookinfoSrc = manifestSource({
        known: VERSIONS.istio.files.bookinfo.sha256,
        settings: { version: configKey("istioVersion"), urlTemplate: configKey("bookinfoUrlTemplate"), sha256: configKey("bookinfoSha256") },
        ...cfg.bookinfo,
    });
    const [operator, bookinfo] = await Promise.all([
        operatorBundle(operatorSrc, cfg),
        loadManifest(bookinfoSrc, cfg.downloads),
    ]);
    if (!operator.cacheFile) {
        throw new ManifestError(
            `${configKey("manifestCacheDir")}: cannot write to ${cfg.downloads.cacheDir ?? defaultCacheDir()}; the CRDs are applied from the verified bundle there; accepted: a writable folder`,
        );
    }
    return {
        // The bundle installs the operator into default.
        operatorObjects: withStatusGate(moveNamespace(mirrorImages(operator.objects, cfg.imageRegistryMirror), "default", cfg.operator.namespace), cfg.operator.version),
        operatorCacheFile: operator.cacheFile,
        operatorCrds: operator.crds,
        bookinfoObjects: mirrorImages(bookinfo.objects, cfg.imageRegistryMirror),
        scrapeTargets: scrapeTargets(bookinfo.objects, cfg.scrape.services, cfg.bookinfo.version),
    };
}

// The summary's file name carries its format: a change of summarizeCrds needs a new one.
const SUMMARY = "crd-summary-v1";

/**
 * The operator bundle as the program needs it. The CRD set's provider reads the CRDs from the cache
 * itself, so the program needs only their names and digests: a summary beside the verified download,
 * under its sha256 and written only after the verification, spares every later run parsing 2.4 MB of
 * JSON and hashing it (0.2 s and about 24 MiB). Its objects are those other than the CRDs.
 */
async function operatorBundle(src: ManifestSource, cfg: StackConfig): Promise<LoadedManifest & { crds?: CrdSummary }> {
    const dir = cfg.downloads.cacheDir ?? defaultCacheDir();
    const summaryFile = path.join(dir, `${src.sha256}.${SUMMARY}.json`);
    const cacheFile = parsedCacheFile(dir, src.sha256);
    const strip = cfg.operator.stripCrdDescriptions;
    if (cfg.operator.crdManagement === "set" && existsSync(cacheFile)) {
        try {
            const s = JSON.parse(await fs.readFile(summaryFile, "utf8")) as { objects: KubeObject[]; plain: CrdSummary; stripped: CrdSummary };
            return { objects: s.objects, cacheFile, crds: strip ? s.stripped : s.plain };
        } catch {
            // No summary yet (or unreadable): from the bundle, which writes it.
        }
    }
    const loaded = await loadManifest(src, cfg.downloads);
    if (loaded.cacheFile) {
        const summary = { objects: loaded.objects.filter((o) => !isCrd(o)), plain: summarizeCrds(loaded.objects, false), stripped: summarizeCrds(loaded.objects, true) };
        try {
            const tmp = `${summaryFile}.${process.pid}.tmp`;
            await fs.writeFile(tmp, JSON.stringify(summary));
            await fs.rename(tmp, summaryFile);
        } catch {
            // A read-only cache: the next run summarizes again.
        }
    }
    return loaded;
}

/** Resolves each configured service against the Services of the Bookinfo manifest that is deployed. */
export function scrapeTargets(objects: KubeObject[], services: string[], version: string): ScrapeTarget[] {
    const byName = new Map(objects.filter((o) => o.kind === "Service").map((o) => [o.metadata.name, o]));
    return services.map((name) => {
        const svc = byName.get(name);
        if (!svc) {
            throw new Error(
                `${configKey("scrapeServices")}: ${JSON.stringify(name)} is not a Service of Bookinfo ${version}; accepted: ${[...byName.keys()].sort().join(", ")}`,
            );
        }
        const ports = ((svc.spec as { ports?: { name?: string; port: number }[] })?.ports ?? []);
        const port = ports[0];
        if (!port?.name) {
            throw new Error(`${configKey("scrapeServices")}: Service ${JSON.stringify(name)} has no named port; accepted: a Service whose first port is named`);
        }
        return { service: name, portName: port.name, selector: { ...(svc.metadata.labels ?? {}) } };
    });
}
