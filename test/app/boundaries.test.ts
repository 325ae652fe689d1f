import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../..");

function tsFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : tsFiles(relative);
    return entry.name.endsWith(".ts") ? [relative] : [];
  });
}

/** Every relative import of a file, resolved to a path from the project root. */
function importsOf(file: string): string[] {
  const source = readFileSync(path.join(ROOT, file), "utf8");
  return [...source.matchAll(/(?:from\s+|import\(|require\()["'](\.{1,2}\/[^"']+)["']/g)].map((match) =>
    path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, file)), match[1]!)),
  );
}

describe("module boundaries", () => {
  it("the service's source imports nothing outside app/src (the simulator and the demo cannot ship)", () => {
    const crossings = tsFiles("app/src").flatMap((file) =>
      importsOf(file)
        .filter((target) => !target.startsWith(`app${path.sep}src${path.sep}`))
        .map((target) => `${file} -> ${target}`),
    );
    expect(crossings).to.deep.equal([]);
  });

  it("the Pulumi program and the policy pack reach into the service only through app/src/shared", () => {
    const files = ["index.ts", ...tsFiles("stacks"), ...tsFiles("components"), ...tsFiles("policies")];
    const crossings = files.flatMap((file) =>
      importsOf(file)
        .filter((target) => target.startsWith(`app${path.sep}`))
        .filter((target) => !target.startsWith(path.join("app", "src", "shared") + path.sep))
        .map((target) => `${file} -> ${target}`),
    );
    expect(crossings).to.deep.equal([]);
  });
});
