import { PROJECT, StackConfig } from "./config";
import { defaultCacheDir, KNOWN_DIGESTS, KubeObject, loadManifest, ManifestError, manifestSource } from "./manifests";

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
    bookinfoObjects: KubeObject[];
    scrapeTargets: ScrapeTarget[];
}

export async function loadUpstream(cfg: StackConfig): Promise<Upstream> {
    const operatorSrc = manifestSource(
        KNOWN_DIGESTS.operator,
        { version: `${PROJECT}:operatorVersion`, urlTemplate: `${PROJECT}:operatorUrlTemplate`, sha256: `${PROJECT}:operatorSha256` },
        cfg.operator.version,
        cfg.operator.urlTemplate,
        cfg.operator.sha256,
    );
    const bookinfoSrc = manifestSource(
        KNOWN_DIGESTS.bookinfo,
        { version: `${PROJECT}:istioVersion`, urlTemplate: `${PROJECT}:bookinfoUrlTemplate`, sha256: `${PROJECT}:bookinfoSha256` },
        cfg.bookinfo.version,
        cfg.bookinfo.urlTemplate,
        cfg.bookinfo.sha256,
    );
    const [operator, bookinfo] = await Promise.all([
        loadManifest(operatorSrc, cfg.downloads),
        loadManifest(bookinfoSrc, cfg.downloads),
    ]);
    if (!operator.cacheFile) {
        throw new ManifestError(
            `${PROJECT}:manifestCacheDir: cannot write to ${cfg.downloads.cacheDir ?? defaultCacheDir()}; the CRDs are applied from the verified bundle there; accepted: a writable folder`,
        );
    }
    return {
        operatorObjects: operator.objects,
        operatorCacheFile: operator.cacheFile,
        bookinfoObjects: bookinfo.objects,
        scrapeTargets: scrapeTargets(bookinfo.objects, cfg.scrape.services, cfg.bookinfo.version),
    };
}

/** Resolves each configured service against the Services of the Bookinfo manifest that is deployed. */
export function scrapeTargets(objects: KubeObject[], services: string[], version: string): ScrapeTarget[] {
    const byName = new Map(objects.filter((o) => o.kind === "Service").map((o) => [o.metadata.name, o]));
    return services.map((name) => {
        const svc = byName.get(name);
        if (!svc) {
            throw new Error(
                `${PROJECT}:scrapeServices: ${JSON.stringify(name)} is not a Service of Bookinfo ${version}; accepted: ${[...byName.keys()].sort().join(", ")}`,
            );
        }
        const ports = ((svc.spec as { ports?: { name?: string; port: number }[] })?.ports ?? []);
        const port = ports[0];
        if (!port?.name) {
            throw new Error(`${PROJECT}:scrapeServices: Service ${JSON.stringify(name)} has no named port; accepted: a Service whose first port is named`);
        }
        return { service: name, portName: port.name, selector: { ...(svc.metadata.labels ?? {}) } };
    });
}
