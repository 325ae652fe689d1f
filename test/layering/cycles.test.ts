import { expect } from "chai";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
/** The product's code: the service, the Pulumi program, the policy pack. Tests may import anything. */
const SOURCES = ["app/src", "simulator", "components", "stacks", "policies", "index.ts"];

function tsFiles(at: string): string[] {
  const full = path.join(ROOT, at);
  if (!existsSync(full)) return [];
  if (statSync(full).isFile()) return [at];
  return readdirSync(full, { withFileTypes: true }).flatMap((entry) =>
    entry.name === "node_modules" || entry.name === "dist"
      ? []
      : entry.isDirectory()
        ? tsFiles(path.join(at, entry.name))
        : entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")
          ? [path.join(at, entry.name)]
          : [],
  );
}

/** Relative imports of a file, resolved to files (type-only imports count: they still tie modules together). */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), "utf8");
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/g)].map(
    (match) => match[1]!,
  );
  return specifiers.flatMap((specifier) => {
    const base = path.join(path.dirname(file), specifier);
    const found = [`${base}.ts`, path.join(base, "index.ts")].find((candidate) =>
      existsSync(path.join(ROOT, candidate)),
    );
    return found ? [found] : [];
  });
}

/** Strongly connected components of more than one file (Tarjan): each is an import cycle. */
export function importCycles(files: readonly string[]): string[][] {
  const graph = new Map(files.map((file) => [file, importsOf(file)]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let counter = 0;
  const visit = (file: string) => {
    index.set(file, counter);
    low.set(file, counter);
    counter += 1;
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(file, Math.min(low.get(file)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(file, Math.min(low.get(file)!, index.get(next)!));
    }
    if (low.get(file) === index.get(file)) {
      const component: string[] = [];
      for (let member = stack.pop()!; ; member = stack.pop()!) {
        onStack.delete(member);
        component.push(member);
        if (member === file) break;
      }
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return cycles;
}

describe("layering", () => {
  it("has no import cycle in the product's code (as madge --circular would report)", () => {
    const files = SOURCES.flatMap(tsFiles);
    expect(files.length).to.be.greaterThan(50);
    expect(importCycles(files)).to.deep.equal([]);
  });

  it("keeps the folders' direction: the Pulumi program's typed settings and plan never import its resources, the service imports neither, and no module of the service reaches up to config.ts", () => {
    const crossings = SOURCES.flatMap(tsFiles).flatMap((file) =>
      importsOf(file)
        .filter(
          (target) =>
            (file.startsWith("stacks/") && target.startsWith("components/")) ||
            (file.startsWith("app/src/") && !target.startsWith("app/src/")) ||
            // Each module owns its config type; only the entry points read the whole configuration.
            (/^app\/src\/[^/]+\//.test(file) && target === "app/src/config.ts"),
        )
        .map((target) => `${file} -> ${target}`),
    );
    expect(crossings).to.deep.equal([]);
  });

  it("finds a cycle when there is one (the check itself works)", () => {
    const cycles = importCycles([
      "test/layering/fixtures/a.ts",
      "test/layering/fixtures/b.ts",
      "test/layering/fixtures/c.ts",
    ]);
    expect(cycles).to.deep.equal([["test/layering/fixtures/a.ts", "test/layering/fixtures/b.ts"]]);
  });
});
