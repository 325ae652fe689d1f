import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const IMPORT_DIR = path.join(__dirname, "../../../app/src/import");

/** The relative imports of each module of import/, resolved to paths under app/src/. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of readdirSync(IMPORT_DIR).filter((name) => name.endsWith(".ts"))) {
    const source = readFileSync(path.join(IMPORT_DIR, file), "utf8");
    const targets = [...source.matchAll(/from "(\.{1,2}\/[^"]+)"/g)].map((match) =>
      path.join("import", `${match[1]!}.ts`),
    );
    graph.set(path.join("import", file), targets);
  }
  return graph;
}

describe("the import module's layering", () => {
  it("never reaches up to the top-level config.ts: it owns its config type", () => {
    const upward = [...importGraph()].flatMap(([file, targets]) =>
      targets.filter((target) => target === "config.ts").map(() => file),
    );
    expect(upward).to.deep.equal([]);
  });

  it("has no import cycle among its modules", () => {
    const graph = importGraph();
    const cycles: string[] = [];
    const visit = (file: string, trail: string[]) => {
      if (trail.includes(file)) {
        cycles.push([...trail.slice(trail.indexOf(file)), file].join(" -> "));
        return;
      }
      for (const target of graph.get(file) ?? []) visit(target, [...trail, file]);
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).to.deep.equal([]);
  });
});
