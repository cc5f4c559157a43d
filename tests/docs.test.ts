import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";

// The pages link to each other and to the repository's files; a moved file or renamed heading breaks a
// link without any other test noticing.

const ROOT = path.join(__dirname, "..", "..");
const PAGES = ["README.md", ...readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

/** The anchor GitHub gives a heading: lower case, tags and punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
    return heading.replace(/<[^>]+>/g, "").trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-");
}

/** Every anchor a page offers: its headings' (numbered when repeated, as GitHub does) and its explicit ids. */
function anchors(text: string): Set<string> {
    const out = new Set<string>();
    const seen = new Map<string, number>();
    const prose = text.replace(/^```[\s\S]*?^```/gm, "");
    for (const [, h] of prose.matchAll(/^#{1,6} (.+)$/gm)) {
        const s = slug(h);
        const n = seen.get(s) ?? 0;
        out.add(n === 0 ? s : `${s}-${n}`);
        seen.set(s, n + 1);
    }
    for (const [, id] of prose.matchAll(/<a id="([^"]+)"><\/a>/g)) out.add(id);
    return out;
}

/** The relative links of a page, outside code blocks and code spans. */
function links(text: string): string[] {
    const prose = text.replace(/^```[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "");
    return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:/.test(l));
}

describe("documentation links", () => {
    test("the pages exist: README.md and docs/", () => {
        assert.ok(PAGES.length >= 3, PAGES.join(", "));
    });

    // A page under docs/ that the README does not name is one a newcomer never finds.
    test("README links every page under docs/", () => {
        const linked = new Set(links(readFileSync(path.join(ROOT, "README.md"), "utf8")).map((l) => l.split("#")[0]));
        assert.deepEqual(PAGES.filter((p) => p !== "README.md" && !linked.has(p)), []);
    });

    for (const page of PAGES) {
        test(`${page}: every relative link reaches a file, and its anchor a heading or id there`, () => {
            const text = readFileSync(path.join(ROOT, page), "utf8");
            const broken: string[] = [];
            for (const link of links(text)) {
                const [file, anchor] = link.split("#");
                const target = file === "" ? path.join(ROOT, page) : path.resolve(path.dirname(path.join(ROOT, page)), decodeURIComponent(file));
                if (!existsSync(target)) {
                    broken.push(`${link}: no such file`);
                    continue;
                }
                if (anchor !== undefined && target.endsWith(".md") && statSync(target).isFile() && !anchors(readFileSync(target, "utf8")).has(anchor)) {
                    broken.push(`${link}: no heading or id "${anchor}" in ${path.relative(ROOT, target)}`);
                }
            }
            assert.deepEqual(broken, []);
        });
    }

    test("the slug rule matches GitHub's on this project's kinds of heading", () => {
        assert.equal(slug("Mesh in a box: the mTLS scrape, observed"), "mesh-in-a-box-the-mtls-scrape-observed");
        assert.equal(slug("Versions: one table, `versions.json`"), "versions-one-table-versionsjson");
        assert.equal(slug('<a id="cert-renewal"></a>The mesh certificate of Prometheus is not renewed'), "the-mesh-certificate-of-prometheus-is-not-renewed");
    });
});
