import { spawnSync } from "node:child_process";
import { copyFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";

/** The hand-written promtool cases of the stack's alert rules. */
export const RULE_TESTS = path.join(__dirname, "..", "..", "..", "e2e", "rules");

/** Writes the rules as rules.yaml beside copies of the case files (which name it) and runs `promtool test rules` there. */
export function promtoolTest(promtool: string, work: string, rules: unknown, files: string[]): { ok: boolean; out: string } {
    writeFileSync(path.join(work, "rules.yaml"), typeof rules === "string" ? rules : YAML.stringify(rules));
    for (const f of files) copyFileSync(path.join(RULE_TESTS, f), path.join(work, f));
    const r = spawnSync(promtool, ["test", "rules", ...files], { cwd: work, encoding: "utf8" });
    return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}
