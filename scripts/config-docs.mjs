#!/usr/bin/env node
// Regenerates the config declarations of Pulumi.yaml, and docs/configuration.md's reference table and its
// line of known digests, from SETTINGS in lib/config.ts and versions.json (run `npm run build` first). Tests
// fail when either file has drifted.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const { ENGINE_CONFIG, SETTINGS } = require(path.join(root, "dist", "lib", "config.js"));
const YAML = require("yaml");

const projectFile = path.join(root, "Pulumi.yaml");
const project = YAML.parse(readFileSync(projectFile, "utf8"));
// Only settings with a default: the engine treats a declared key without one as required.
project.config = { ...ENGINE_CONFIG, ...Object.fromEntries(Object.entries(SETTINGS).filter(([, s]) => s.default !== undefined).map(([k, s]) => [k, {
    type: s.type,
    ...(s.type === "array" ? { items: { type: "string" } } : {}),
    description: s.description,
    default: s.default,
}])) };
writeFileSync(projectFile, YAML.stringify(project, { lineWidth: 0 }));

const cell = (text) => text.replace(/\|/g, "\\|");
const HEADER = "| key | type | default | meaning | accepted |";
const rows = [HEADER, "|---|---|---|---|---|"];
for (const [k, s] of Object.entries(SETTINGS)) {
    const d = s.default === undefined ? "(unset)" : "`" + JSON.stringify(s.default) + "`";
    rows.push(`| \`${k}\` | ${s.type}${s.secret ? " (secret)" : ""} | ${d} | ${cell(s.description)} | ${s.accepts ? cell(s.accepts.accepted) : ""} |`);
}
const pageFile = path.join(root, "docs", "configuration.md");
let page = readFileSync(pageFile, "utf8");
const start = page.indexOf("| key | type | default | meaning |");
// Without the table's header the slice below would cut the page at random.
if (start < 0) throw new Error(`${pageFile}: no settings table to replace`);
const end = page.indexOf("\n\n", start);
page = page.slice(0, start) + rows.join("\n") + page.slice(end);

const { knownDigestsLine } = require(path.join(root, "dist", "lib", "versions.js"));
page = page.replace(/^Known digests: .*?\.(?= Any other)/ms, knownDigestsLine());
writeFileSync(pageFile, page);
console.log(`Pulumi.yaml and docs/configuration.md: ${rows.length - 2} settings`);
