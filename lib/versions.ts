import table from "../versions.json";

// versions.json, typed. It is the one place where an upstream's version and digests are written; the
// config defaults, the known digests, the test mirror and the toolchain all read it.

export interface UpstreamFile {
    /** Where the file is downloaded from; {version} is replaced. */
    url: string;
    /** Its path in a mirror folder of the upstream files (ASM_UPSTREAM_MIRROR for the tests), same placeholder. */
    mirror: string;
    /** sha256 of the file, by version: the versions this code knows. */
    sha256: Record<string, string>;
}

export interface Versions {
    prometheusOperator: { version: string; upgradeFrom: string; files: { bundle: UpstreamFile } };
    istio: { version: string; files: { bookinfo: UpstreamFile; crds: UpstreamFile; productpage: UpstreamFile } };
    prometheus: { version: string };
    alertmanager: { version: string };
    kubernetesProvider: { sdk: string; plugin: string; pluginModule: string; pluginMayBeOlderBecause: string };
}

export const VERSIONS: Versions = table;

/** docs/configuration.md's sentence naming the versions whose digests the stack knows (written by npm run config-docs). */
export function knownDigestsLine(): string {
    const versions = (file: UpstreamFile) => Object.keys(file.sha256).join(" and ");
    return `Known digests: prometheus-operator ${versions(VERSIONS.prometheusOperator.files.bundle)}, Bookinfo of Istio ${versions(VERSIONS.istio.files.bookinfo)}.`;
}

/** A URL or mirror path template with its version filled in. */
export function atVersion(template: string, version: string): string {
    return template.split("{version}").join(version);
}
