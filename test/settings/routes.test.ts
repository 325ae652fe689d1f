import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { RESERVED_ROUTE_NAMES, ROUTE_FIELDS, routeJsonSchema } from "../../app/src/shared/routes";
import { CONFIGURATION_PAGE, generatedFiles, REGENERATE, ROOT } from "../../scripts/settings-files";

const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");

/**
 * The route table (app/src/shared/routes.ts) renders into the same generated files as the settings
 * table, so the staleness check of settings.test.ts covers it; these say where each piece lands.
 */
describe("one table for every route field", () => {
  it(`gives the chart's schema the route table's item schema (else: ${REGENERATE})`, () => {
    const schema = JSON.parse(read("app/chart/values.schema.json")) as {
      properties: Record<string, { type: string; items: unknown }>;
    };
    expect(schema.properties.routes?.type).to.equal("array");
    expect(schema.properties.routes?.items).to.deep.equal(routeJsonSchema());
  });

  it("gives values.yaml an empty routes list with its @param line, which the chart README lists", () => {
    const values = read("app/chart/values.yaml");
    expect((parseYaml(values) as { routes: unknown }).routes).to.deep.equal([]);
    const param = /^## @param routes (.+)$/m.exec(values)?.[1];
    expect(param, "values.yaml has a `## @param routes` line").to.be.a("string");
    for (const field of ROUTE_FIELDS) expect(param).to.contain(field.key);
    expect(read("app/chart/README.md")).to.match(/^\| `routes` +\| Import routes/m);
  });

  it(`lists every route field in ${CONFIGURATION_PAGE}, with its default and meaning`, () => {
    const page = read(CONFIGURATION_PAGE);
    for (const field of ROUTE_FIELDS) {
      const row = page.split("\n").find((line) => line.startsWith(`| \`${field.key}\``));
      expect(row, field.key).to.be.a("string");
      expect(row).to.contain(field.doc);
      expect(row).to.contain(field.defaultText ?? (field.required ? "required" : "(none)"));
    }
    for (const name of RESERVED_ROUTE_NAMES) expect(page).to.contain(`\`${name}\``);
  });

  it(`types each list field in ${CONFIGURATION_PAGE} by what it holds, and names both kinds of route's list below the table`, () => {
    const page = read(CONFIGURATION_PAGE);
    const row = (key: string) => page.split("\n").find((line) => line.startsWith(`| \`${key}\``))!;
    expect(row("checkDnc").split("|")[2]!.trim()).to.equal("list of route names");
    expect(row("phoneColumns").split("|")[2]!.trim()).to.equal("list of column names");
    const rules = page.split("\n").find((line) => line.startsWith("Each route names one list"));
    expect(rules, "the sentence below the route table").to.be.a("string");
    for (const key of [
      "contactListId",
      "contactListName",
      "dncListId",
      "dncListName",
      "dncEntries",
      "expiryColumn",
    ])
      expect(rules).to.contain(`\`${key}\``);
    expect(rules).to.contain("`dnc/`, the DNC routes' folder");
  });

  it("says in the routes value's doc that routes feed DNC lists too, from dnc/<name>/", () => {
    const param = /^## @param routes (.+)$/m.exec(read("app/chart/values.yaml"))![1]!;
    expect(param).to.contain("internal DNC lists").and.to.contain("dnc/<name>/add/");
  });

  it("renders those pieces through settings:generate, so the staleness check covers them", async () => {
    const generated = new Map((await generatedFiles()).map(({ file, content }) => [file, content]));
    expect(generated.get("app/chart/values.schema.json")).to.contain('"routes": {');
    expect(generated.get("app/chart/values.yaml")).to.contain("## @param routes ");
    expect(generated.get(CONFIGURATION_PAGE)).to.contain("generated from app/src/shared/routes.ts");
  });
});
