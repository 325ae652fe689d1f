import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "../../../app/src/config";
import { buildService } from "../../../app/src/service";
import type { ConfigurationError } from "../../../app/src/shared/errors";
import type { RouteSpec } from "../../../app/src/shared/routes";
import { startSimulator, type NewContactList } from "../../../simulator/simulator";
import { capturedLogger } from "../../support/capture";
import { FakeClock } from "../../support/fake-clock";
import { listFolder, serviceEnv, startHarness, waitFor } from "../../support/harness";

type Harness = Awaited<ReturnType<typeof startHarness>>;

/** Two campaigns' lists with their own columns, and a third whose CRM sends a column too many. */
const SPRING: NewContactList = {
  name: "Spring 2027",
  columnNames: ["CustomerId", "MobilePhone", "FirstName"],
  phoneColumns: [{ columnName: "MobilePhone", type: "cell" }],
};
const RENEWALS: NewContactList = {
  id: "renewals-list",
  name: "Renewals",
  columnNames: ["id", "phone", "note"],
  phoneColumns: [{ columnName: "phone", type: "cell" }],
};
const WINBACK: NewContactList = {
  name: "Winback",
  columnNames: ["id", "phone"],
  phoneColumns: [{ columnName: "phone", type: "cell" }],
};

const ROUTES: RouteSpec[] = [
  {
    name: "spring",
    contactListName: "Spring 2027",
    columns: { "Cust No": "CustomerId", Mobile: "MobilePhone", "Given Name": "FirstName" },
    idColumn: "CustomerId",
    phoneColumns: ["MobilePhone"],
    defaultCountry: "GB",
  },
  { name: "renewals", contactListId: "renewals-list", unmappedColumns: "drop" },
  { name: "winback", contactListName: "Winback", columns: { Tel: "phone" } },
];

function routesFile(routes: readonly unknown[]): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "routes-")), "routes.json");
  writeFileSync(file, JSON.stringify(routes));
  return file;
}

/** The service in this process with three routes beside the default one, against the simulator. */
describe("import routes: many contact lists on one deployment (simulator, real files)", function () {
  this.timeout(120_000);
  let h: Harness;
  afterEach(async () => h?.close());

  const start = (routes: readonly unknown[] = ROUTES) =>
    startHarness({
      sim: { contactListIds: ["default-list"], contactLists: [SPRING, RENEWALS, WINBACK] },
      env: { IMPORT_ROUTES_FILE: routesFile(routes) },
    });
  const listId = (name: string) =>
    h.sim.contactListIds.find((id) => id === name) ??
    h.sim.contactListIds[1 + [SPRING, RENEWALS, WINBACK].findIndex((list) => list.name === name)]!;
  const archived = (route: string) => listFolder(h.dataDir, path.join("archive", route));
  const summaryOf = (route: string, file: string) => {
    const name = archived(route).find((entry) => entry.endsWith(`${file}.summary.json`))!;
    return JSON.parse(h.read(path.join("archive", route), name)) as Record<string, unknown>;
  };
  const running = () => h.service.importer.status().routes.filter((route) => route.state === "running");

  it("files with the CRM's column names land in their route's list, under the list's columns", async () => {
    h = await start();
    await waitFor(() => running().length === 4, "the three routes to resolve");
    h.drop("spring/crm-export.csv", "Cust No,Mobile,Given Name\nS1,07800 123456,Ann\nS2,+447400123456,Bob\n");
    h.drop("renewals/due.csv", "id,phone,note,internal_score\nR1,0851234567,due in May,93\n");
    h.drop("plain.csv", "id,phone\nD1,0851111111\n");
    await waitFor(
      () =>
        // The data file moves in after its summary is written: a file there has its whole summary.
        archived("spring").some((name) => name.endsWith("crm-export.csv")) &&
        archived("renewals").some((name) => name.endsWith("due.csv")) &&
        h.list("archive").some((name) => name.endsWith("plain.csv")),
      "the three files to be archived",
    );
    const spring = h.sim.contacts(listId("Spring 2027"));
    expect([...spring.keys()].sort()).to.deep.equal(["S1", "S2"]);
    expect(spring.get("S1")!.data).to.deep.equal({
      CustomerId: "S1",
      MobilePhone: "+447800123456",
      FirstName: "Ann",
    });
    // The renewals CRM sends a column the list lacks: dropped, as the route says, and named in the summary.
    expect(h.sim.contacts("renewals-list").get("R1")!.data).to.deep.equal({
      id: "R1",
      phone: "+353851234567",
      note: "due in May",
    });
    expect(summaryOf("renewals", "due.csv").warnings).to.deep.equal([
      'columns dropped (neither mapped by route renewals nor columns of its list): "internal_score"',
    ]);
    // The default route is today's single list, untouched by the others.
    expect([...h.sim.contacts("default-list").keys()]).to.deep.equal(["D1"]);
    expect(h.sim.contacts(listId("Winback")).size).to.equal(0);

    // Counted just after the file moves in.
    const series = [
      'import_files_total{outcome="imported"} 1',
      'import_files_total{outcome="imported",route="spring"} 1',
      'import_files_total{outcome="imported",route="renewals"} 1',
    ];
    let metrics = "";
    for (let tries = 0; tries < 100 && !series.every((line) => metrics.includes(line)); tries += 1) {
      metrics = await h.service.registry.metrics();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(metrics).to.contain('import_files_total{outcome="imported",route="spring"} 1');
    expect(metrics).to.contain('import_files_total{outcome="imported",route="renewals"} 1');
    expect(metrics).to.contain('import_files_total{outcome="imported"} 1');
    expect(metrics).to.contain('import_rows_total{outcome="synced",route="spring"} 2');
  });

  it("refuses a file with a column that is neither mapped nor on the list, naming it and the fix", async () => {
    h = await start();
    await waitFor(() => running().length === 4, "the routes to resolve");
    h.drop("winback/lapsed.csv", "id,Tel,Segment\nW1,0852222222,gold\n");
    const rejects = () => listFolder(h.dataDir, "rejects/winback");
    await waitFor(() => rejects().some((name) => name.endsWith(".reason.txt")), "the file to be refused");
    const reason = h.read(
      "rejects/winback",
      rejects().find((name) => name.endsWith(".reason.txt"))!,
    );
    expect(reason).to.contain(
      '"Segment" is neither mapped by route winback nor a column of its contact list',
    );
    expect(reason).to.contain("set the route's unmappedColumns to drop");
    expect(h.sim.contacts(listId("Winback")).size).to.equal(0);
  });

  it("names in /readyz a route whose list refuses calls, and holds back only that route", async () => {
    h = await start();
    await waitFor(() => running().length === 4, "the routes to resolve");
    h.sim.faults.contactListFailure("renewals-list", 403, "outbound:contact:add");
    h.drop("renewals/due.csv", "id,phone,note\nR1,0851234567,x\n");
    h.drop("spring/crm.csv", "Cust No,Mobile\nS1,07800123456\n");
    await waitFor(() => h.sim.contacts(listId("Spring 2027")).size === 1, "the spring file to go through");
    await waitFor(
      () => running().find((route) => route.name === "renewals")?.blocked !== undefined,
      "the renewals route to be blocked",
    );
    const ready = await h.service.app.inject({ method: "GET", url: "/readyz" });
    expect(ready.statusCode).to.equal(200);
    expect(ready.body).to.contain(
      "import route renewals is holding back: contact list renewals-list refuses calls",
    );
    expect(await h.service.registry.metrics()).to.contain(
      'import_target_blocked{contact_list="renewals-list",route="renewals"} 1',
    );
    expect(h.sim.contacts("renewals-list").size).to.equal(0);
  });
});

describe("removals on a route (simulator, fake clock)", function () {
  this.timeout(120_000);
  let h: Harness | undefined;
  afterEach(async () => h?.close());

  it("removes the ids of a file in inbox/<route>/remove/, retries those a campaign holds, and reports the ones kept by id", async () => {
    const clock = new FakeClock(Date.now());
    h = await startHarness({
      clock,
      sim: { contactListIds: ["default-list"], contactLists: [SPRING, RENEWALS, WINBACK] },
      env: { IMPORT_ROUTES_FILE: routesFile(ROUTES) },
    });
    const sim = h.sim;
    await clock.advanceUntil(
      () => h!.service.importer.status().routes.every((route) => route.state === "running"),
      "the routes to resolve",
    );
    h.drop(
      "renewals/due.csv",
      ["id,phone,note", ...[1, 2, 3, 4, 5].map((n) => `R${n},085123456${n},x`)].join("\n"),
    );
    await clock.advanceUntil(() => sim.contacts("renewals-list").size === 5, "the renewals to be imported");
    // R2 is being dialled now: Genesys leaves it; R3 too, until its call ends between two retries.
    sim.holdContacts("renewals-list", ["R2", "R3"]);
    h.drop("renewals/remove/opt-outs.csv", "id\nR1\nR2\nR3\nR4\n");
    await clock.advanceUntil(() => !sim.contacts("renewals-list").has("R1"), "the first removal");
    sim.releaseContacts("renewals-list", ["R3"]);
    const summaries = () =>
      // The data file moves in after its summary is written: a file there has its whole summary.
      listFolder(h!.dataDir, "archive/renewals")
        .filter((name) => name.endsWith("opt-outs.csv"))
        .map((name) => `${name}.summary.json`);
    await clock.advanceUntil(() => summaries().length === 1, "the removal to end", {
      stepMs: 5_000,
      maxSteps: 1_000,
    });
    expect([...sim.contacts("renewals-list").keys()].sort()).to.deep.equal(["R2", "R5"]);
    const summary = JSON.parse(h.read("archive/renewals", summaries()[0]!)) as {
      status: string;
      removal: { keptByGenesys: string[]; kept: number };
    };
    expect(summary.status).to.equal("removed_with_kept");
    expect(summary.removal.keptByGenesys).to.deep.equal(["R2"]);
    expect(await h.service.registry.metrics()).to.contain(
      'import_rows_total{outcome="kept",route="renewals"} 1',
    );
    // The other lists are untouched.
    expect(sim.contacts("default-list").size).to.equal(0);
  });
});

describe("the results export follows the routes", function () {
  this.timeout(60_000);
  let h: Harness | undefined;
  afterEach(async () => h?.close());

  it("covers every route's list by default, and each record names its route", async () => {
    const now = Date.now();
    const conversation = (id: string, list: string) => ({
      conversationId: id,
      conversationStart: new Date(now - 120_000).toISOString(),
      conversationEnd: new Date(now - 60_000).toISOString(),
      participants: [{ sessions: [{ outboundContactListId: list, outboundContactId: `${id}-contact` }] }],
    });
    h = await startHarness({
      sim: { contactListIds: ["default-list"], contactLists: [SPRING, RENEWALS, WINBACK] },
      env: { IMPORT_ROUTES_FILE: routesFile(ROUTES), POLLING_INTERVAL_SECONDS: "1" },
      beforeService: (sim) =>
        sim.addConversations([
          conversation("on-default", "default-list"),
          conversation("on-renewals", "renewals-list"),
          conversation("on-spring", sim.contactListIds[1]!),
          conversation("elsewhere", "a-list-no-route-imports-into"),
        ]),
    });
    const records = () =>
      h!
        .list("outbox")
        .filter((name) => name.startsWith("results-"))
        .flatMap((name) => h!.read("outbox", name).split("\n").filter(Boolean))
        .map((line) => JSON.parse(line) as { conversationId: string; route?: string });
    await waitFor(() => records().length >= 3, "the three routes' conversations in the outbox");
    const byId = new Map(records().map((record) => [record.conversationId, record.route]));
    expect(Object.fromEntries(byId)).to.deep.equal({
      "on-default": "default",
      "on-renewals": "renewals",
      "on-spring": "spring",
    });
  });
});

describe("import routes refused at start, each with what is wrong and the fix", function () {
  this.timeout(60_000);

  async function problemsAtStart(
    routes: readonly unknown[],
    lists: readonly NewContactList[],
  ): Promise<string[]> {
    const sim = await startSimulator({
      rateLimit: { requestsPerWindow: 100_000, windowMs: 60_000 },
      contactListIds: ["default-list"],
      contactLists: lists,
    });
    const dataDir = mkdtempSync(path.join(tmpdir(), "routes-start-"));
    let refused: ConfigurationError | undefined;
    const service = await buildService(
      loadConfig(serviceEnv(sim, dataDir, { IMPORT_ROUTES_FILE: routesFile(routes) })),
      { logger: capturedLogger("info").logger, onConfigurationError: (error) => (refused = error) },
    );
    try {
      await service.start();
      await waitFor(() => refused !== undefined, "the routes to be refused");
      return [...refused!.problems];
    } finally {
      await service.shutdown();
      await sim.close();
    }
  }

  it("an unknown list name, two lists of one name, and a mapping to a column the list lacks", async () => {
    const problems = await problemsAtStart(
      [
        { name: "ghost", contactListName: "No Such List" },
        { name: "twins", contactListName: "Twin" },
        {
          name: "typo",
          contactListName: "Spring 2027",
          columns: { Mobile: "MobilPhone" },
          idColumn: "CustomerId",
          phoneColumns: ["MobilePhone"],
        },
      ],
      [SPRING, { ...WINBACK, name: "Twin" }, { ...RENEWALS, id: undefined, name: "Twin" }],
    );
    expect(problems).to.have.length(3);
    expect(problems[0]).to.equal(
      'route ghost: no contact list is named "No Such List" (names match exactly, case included): correct contactListName, or give contactListId',
    );
    expect(problems[1]).to.match(
      /^route twins: 2 contact lists are named "Twin" \(ids .+\): give the route the contactListId/,
    );
    expect(problems[2]).to.contain(
      'route typo maps "Mobile" to "MobilPhone", which is not a column of contact list "Spring 2027"',
    );
    expect(problems[2]).to.contain("map it to one of them, or add the column to the list");
  });

  it("a duplicate route name, a reserved one and a route without a list: refused by the settings (exit 78) before anything starts", () => {
    const env = {
      GENESYS_REGION: "eu-west-1",
      GENESYS_CLIENT_ID: "id",
      GENESYS_CLIENT_SECRET: "secret",
      GENESYS_CONTACT_LIST_ID: "default-list",
      SYNC_DATA_DIR: mkdtempSync(path.join(tmpdir(), "routes-config-")),
      IMPORT_ROUTES_FILE: routesFile([
        { name: "spring", contactListId: "a" },
        { name: "spring", contactListId: "b" },
        { name: "bulk", contactListId: "c" },
        { name: "nolist" },
      ]),
    };
    expect(() => loadConfig(env))
      .to.throw()
      .that.satisfies((error: ConfigurationError) => {
        expect(error.problems).to.include.members([
          'IMPORT_ROUTES_FILE routes[1].name "spring" is also the name of IMPORT_ROUTES_FILE routes[0]: route names are folders, one each',
          'IMPORT_ROUTES_FILE routes[2].name "bulk" is taken (bulk, replace, remove, routes, default are the default route\'s own folders): choose another',
          "IMPORT_ROUTES_FILE routes[3] names no contact list: set contactListId or contactListName",
        ]);
        return true;
      });
  });
});
