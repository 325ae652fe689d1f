import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { ERROR_CODE_LISTS, TROUBLESHOOTING_PAGE } from "../../scripts/error-codes";

const ROOT = path.resolve(__dirname, "../..");

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(path.join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [path.join(dir, entry.name)]
        : [],
  );
}

describe("one list of error codes (docs/troubleshooting.md)", () => {
  const listed = new Map(ERROR_CODE_LISTS.flatMap(({ codes }) => Object.entries(codes)));

  it("lists every code the service raises with a literal, each once, with what it means and what to do", () => {
    const raised = new Set(
      sources("app/src").flatMap((file) =>
        [
          ...readFileSync(path.join(ROOT, file), "utf8").matchAll(
            /(?:super|ServiceError|Error)\(\s*"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"/g,
          ),
        ].map((match) => match[1]!),
      ),
    );
    expect(raised.size).to.be.greaterThan(3);
    expect([...raised].filter((code) => !listed.has(code))).to.deep.equal([]);
    const all = ERROR_CODE_LISTS.flatMap(({ codes }) => Object.keys(codes));
    expect(all.length, "no code in two lists").to.equal(new Set(all).size);
    for (const [code, doc] of listed) {
      expect(doc.meaning, code).to.match(/\S.{20,}/);
      expect(doc.action, code).to.match(/\S.{10,}/);
    }
  });

  it("shows every listed code on the troubleshooting page", () => {
    const page = readFileSync(path.join(ROOT, TROUBLESHOOTING_PAGE), "utf8");
    for (const code of listed.keys()) expect(page, code).to.contain(`| \`${code}\``);
  });
});
