import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ROOT } from "../../scripts/settings-files";
import { anchorsOf, brokenLinks, linksIn, markdownFilesUnder } from "./markdown-links";

/** The README and the manual it links to. */
const DOCUMENTATION = ["README.md", ...markdownFilesUnder(ROOT, "docs")];

/** A scratch repository holding these files. */
function scratchRepository(files: Readonly<Record<string, string>>): string {
  const root = mkdtempSync(path.join(tmpdir(), "links-"));
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), content);
  }
  return root;
}

describe("links in the README and docs/", () => {
  it("resolve to files in the repository, and their anchors to headings", () => {
    expect(brokenLinks(ROOT, DOCUMENTATION)).to.deep.equal([]);
  });

  it("reach every page of docs/ from the README", () => {
    const linked = new Set(
      linksIn(readFileSync(path.join(ROOT, "README.md"), "utf8")).map((link) => link.target.split("#")[0]),
    );
    const unlinked = markdownFilesUnder(ROOT, "docs").filter((page) => !linked.has(page));
    expect(unlinked, "pages of docs/ the README does not link to").to.deep.equal([]);
  });
});

describe("the link check", () => {
  it("refuses a link that climbs out of the repository, even to a file that exists", () => {
    const root = scratchRepository({
      "repo/README.md": "See [the facts](../shared/facts.md).\n",
      "shared/facts.md": "# Facts\n",
    });
    const problems = brokenLinks(path.join(root, "repo"), ["README.md"]);
    expect(problems).to.have.length(1);
    expect(problems[0]).to.contain("README.md:1: ../shared/facts.md leaves the repository");
  });

  it("refuses a missing file, a missing anchor, an absolute path and a file: URL, with their lines", () => {
    const root = scratchRepository({
      "docs/a.md": [
        "# A",
        "[gone](b.md)",
        "[no such heading](../README.md#deploying)",
        "[absolute](/docs/a.md)",
        "[file](file:///etc/passwd)",
      ].join("\n"),
      "README.md": "# Read me\n",
    });
    const problems = brokenLinks(root, ["docs/a.md"]);
    expect(problems).to.have.length(4);
    expect(problems[0]).to.match(/^docs\/a\.md:2: b\.md: docs\/b\.md does not exist/);
    expect(problems[1]).to.contain(":3: ../README.md#deploying: README.md has no heading with the anchor");
    expect(problems[2]).to.contain(":4: /docs/a.md is an absolute path");
    expect(problems[3]).to.contain(":5: file:///etc/passwd leaves the repository");
  });

  it("accepts relative links with anchors, web addresses, and ignores code", () => {
    const root = scratchRepository({
      "README.md": [
        "# Project",
        "[import](docs/import.md#whole-lists-bulk-loads), [here](#project), [web](https://example.com)",
        '![image](docs/diagram.png) <a href="docs/import.md">import</a>',
        "[ref]: docs/import.md",
        "`[not a link](../outside.md)`",
        "```",
        "[not a link either](../outside.md)",
        "```",
      ].join("\n"),
      "docs/import.md": "# The contact import\n\n## Whole lists: bulk loads\n",
      "docs/diagram.png": "",
    });
    expect(brokenLinks(root, ["README.md"])).to.deep.equal([]);
    expect(
      linksIn(readFileSync(path.join(root, "README.md"), "utf8")).map((link) => link.target),
    ).to.deep.equal([
      "docs/import.md#whole-lists-bulk-loads",
      "#project",
      "https://example.com",
      "docs/diagram.png",
      "docs/import.md",
      "docs/import.md",
    ]);
  });

  it("derives anchors as GitHub does: punctuation dropped, code kept, repeats numbered", () => {
    const anchors = anchorsOf("# The `npm test` run\n## Whole lists: bulk loads\n## Notes\n## Notes\n");
    expect([...anchors]).to.deep.equal(["the-npm-test-run", "whole-lists-bulk-loads", "notes", "notes-1"]);
  });
});
