// Where the time of one pulumi command goes, from the engine's own OpenTelemetry traces
// (pulumi --otel-traces file://..., spans of the CLI, the language host and the plugins) and the entry
// probe (entryProbe.ts), which marks when the program's entry module loaded.
import { existsSync, readFileSync } from "node:fs";

export interface Span {
    service: string;
    name: string;
    start: number;
    end: number;
    attrs: Record<string, unknown>;
}

export interface Phase {
    what: string;
    /** Seconds since the CLI started. */
    at: number;
    took: number;
}

interface OtlpValue {
    stringValue?: string;
    intValue?: string;
    boolValue?: boolean;
}

/** The spans of an OTLP JSON-lines file, times in ms since the epoch. */
export function readSpans(file: string): Span[] {
    const spans: Span[] = [];
    for (const line of readFileSync(file, "utf8").split("\n")) {
        if (!line.trim()) continue;
        for (const rs of JSON.parse(line).resourceSpans ?? []) {
            const service = (rs.resource?.attributes ?? []).find((a: { key: string }) => a.key === "service.name")?.value?.stringValue ?? "";
            for (const ss of rs.scopeSpans ?? []) {
                for (const s of ss.spans ?? []) {
                    const attrs = Object.fromEntries((s.attributes ?? []).map((a: { key: string; value: OtlpValue }) => [a.key, a.value.stringValue ?? a.value.intValue ?? a.value.boolValue]));
                    spans.push({ service, name: s.name, start: Number(BigInt(s.startTimeUnixNano) / 1000000n), end: Number(BigInt(s.endTimeUnixNano) / 1000000n), attrs });
                }
            }
        }
    }
    return spans.sort((a, b) => a.start - b.start);
}

export interface Probe {
    entry: string;
    start: number;
    end: number;
}

export function readProbe(file: string): Probe | undefined {
    if (!existsSync(file)) return undefined;
    const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
    return lines.length ? (JSON.parse(lines[lines.length - 1]) as Probe) : undefined;
}

const PROVIDER_CALLS = ["Check", "Diff", "Create", "Update", "Read", "Delete"];

/**
 * The phases of one run, in the order they started. Those on the way to the first resource follow one
 * another; the plugins' starts and the provider calls overlap the program's registrations.
 */
export function phases(spans: Span[], probe?: Probe): Phase[] {
    const cli = spans.filter((s) => s.service === "pulumi-cli");
    const one = (name: string) => {
        const s = cli.find((x) => x.name === name);
        if (!s) throw new Error(`the trace has no ${name} span; was it written by pulumi --otel-traces?`);
        return s;
    };
    const root = one("pulumi");
    const plan = one("pulumi-plan");
    const run = one("run-program");
    const registers = cli.filter((s) => s.name === "pulumirpc.ResourceMonitor/RegisterResource");
    const stackRegistered = one("pulumirpc.Engine/SetRootResource").start;
    // The stack resource is the first registration; the program's own come after it.
    const firstResource = registers[1]?.start ?? stackRegistered;
    const lastCall = Math.max(...cli.filter((s) => /^pulumirpc\.(ResourceMonitor|ResourceProvider)\//.test(s.name) && !s.name.endsWith("/Cancel")).map((s) => s.end));
    const rel = (t: number) => (t - root.start) / 1000;
    const phase = (what: string, from: number, to: number): Phase => ({ what, at: rel(from), took: (to - from) / 1000 });

    const out: Phase[] = [
        phase("CLI start, state read", root.start, plan.start),
        phase("language host start, required plugins listed", plan.start, run.start),
        phase("node start, SDK loaded, stack registered", run.start, stackRegistered),
    ];
    if (probe && probe.start >= stackRegistered - 50 && probe.end <= firstResource) {
        out.push(phase("program modules loaded (index.ts and its imports)", probe.start, probe.end));
        out.push(phase("program's own work before its first resource", probe.end, firstResource));
    } else {
        out.push(phase("program modules loaded and own work before its first resource", stackRegistered, firstResource));
    }

    // Each resource plugin: its start, then its Configure; the first RPC to a new address follows its start.
    const plugins = cli.filter((s) => s.name === "newPlugin" && s.attrs.kind === "resource");
    for (const p of plugins) {
        const name = String(p.attrs.prefix ?? "plugin").replace(/ \(resource\)$/, "");
        out.push(phase(`${name} plugin started`, p.start, p.end));
        const handshake = cli.find((s) => s.name === "pulumirpc.ResourceProvider/Handshake" && s.start >= p.start && s.start <= p.end);
        const peer = handshake?.attrs["net.peer.name"];
        if (!peer) continue;
        const calls = cli.filter((s) => s.attrs["net.peer.name"] === peer);
        const configure = calls.find((s) => s.name.endsWith("/Configure"));
        if (configure) out.push(phase(`${name} provider configured`, configure.start, configure.end));
        for (const call of PROVIDER_CALLS) {
            const these = calls.filter((s) => s.name === `pulumirpc.ResourceProvider/${call}`);
            if (!these.length) continue;
            const sum = these.reduce((a, s) => a + s.end - s.start, 0);
            const from = Math.min(...these.map((s) => s.start));
            const to = Math.max(...these.map((s) => s.end));
            out.push({ what: `${name} ${call} x${these.length} (${(sum / 1000).toFixed(2)} s summed)`, at: rel(from), took: (to - from) / 1000 });
        }
    }
    out.push(phase("last resource done -> CLI exit", lastCall, root.end));
    out.push(phase("total", root.start, root.end));
    return out.sort((a, b) => a.at - b.at || (a.what === "total" ? 1 : 0));
}

export function formatPhases(title: string, rows: Phase[]): string {
    const lines = [title, `  ${"at s".padStart(6)} ${"took s".padStart(7)}  what`];
    for (const r of rows) lines.push(`  ${r.at.toFixed(2).padStart(6)} ${r.took.toFixed(2).padStart(7)}  ${r.what}`);
    return lines.join("\n");
}
