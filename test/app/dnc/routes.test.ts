import { expect } from "chai";
import { readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Registry } from "prom-client";
import { DncRoutes } from "../../../app/src/dnc/routes";
import { ImportMetrics } from "../../../app/src/import/metrics";
import { dncLayout } from "../../../app/src/shared/layout";
import type { ConfigurationError } from "../../../app/src/shared/errors";
import type { RouteSpec } from "../../../app/src/shared/routes";
import { FakeClock } from "../../support/fake-clock";
import { waitFor } from "../../support/harness";
import { CONFIG, dncFixture, e164, LISTS, ukMobiles, type DncFixture } from "./support";

const SPECS: RouteSpec[] = [
  { name: "spring", contactListId: "c-1", checkDnc: ["opt-outs"] },
  { name: "opt-outs", dncListName: LISTS.phone.name },
  { name: "email-opt-outs", dncListId: LISTS.email.id },
  { name: "scrub", dncListId: LISTS.external.id },
];

/**
 * Every DNC route of a replica (dnc/routes.ts): resolved at start, each with its own loop and
 * gate on one client, so a route whose list takes no entries holds back alone.
 */
describe("the DNC routes of a replica (simulator, fake clock)", function () {
  this.timeout(120_000);
  let f: DncFixture;
  let clock: FakeClock;
  let routes: DncRoutes | undefined;
  let stop: AbortController;
  let problems: ConfigurationError[];
  let registry: Registry;

  beforeEach(async () => {
    clock = new FakeClock(Date.now() + 3_600_000);
    f = await dncFixture(clock);
    stop = new AbortController();
    problems = [];
    registry = new Registry();
  });
  afterEach(async () => {
    stop.abort();
    await routes?.stopped();
    routes = undefined;
    await f?.close();
  });

  function startRoutes(specs: readonly RouteSpec[]): DncRoutes {
    routes = new DncRoutes({
      specs,
      client: f.client,
      config: CONFIG,
      layout: f.root,
      metrics: new ImportMetrics(registry),
      logger: f.capture.logger,
      clock,
      random: () => 0.5,
      replicaId: "test-1-0a1b2c3d",
      hostIsPod: false,
      signal: stop.signal,
      onConfigurationError: (error) => problems.push(error),
    });
    routes.start();
    return routes;
  }

  const folder = (route: string, lane: "add" | "remove") => path.join(dncLayout(f.root, route).inbox, lane);
  /** Writes a file straight into a route's folder (the loop takes files that are settled: settleSeconds 0). */
  const drop = (route: string, lane: "add" | "remove", name: string, content: string) =>
    writeFileSync(path.join(folder(route, lane), name), content);
  const archived = (route: string) =>
    readdirSync(dncLayout(f.root, route).archive).filter((name) => !name.endsWith(".json"));

  it("resolves each DNC route (by name, its entries from the list's contact method), runs them, and holds back only the one whose list is not internal", async () => {
    const running = startRoutes([
      { ...SPECS[0]!, checkDnc: ["opt-outs", "email-opt-outs"] },
      ...SPECS.slice(1),
    ]);
    await waitFor(() => running.running.length === 3, "three DNC routes to start");
    expect(f.capture.text()).to.contain(
      "route spring checks DNC route email-opt-outs, whose list holds email addresses: the count looks up phone numbers, so it stays 0",
    );
    const status = () => Object.fromEntries(running.status().map((route) => [route.name, route]));
    expect(status()["opt-outs"]).to.deep.include({
      state: "running",
      dncListId: LISTS.phone.id,
      entries: "phone",
    });
    expect(status()["email-opt-outs"]).to.deep.include({ entries: "email" });
    await clock.advanceUntil(
      () => status().scrub!.blocked !== undefined,
      "the external list to be held back",
    );
    expect(running.readinessWarnings()).to.deep.equal([
      `DNC route scrub is holding back: DNC list ${LISTS.external.id} is not an internal DNC list (${status().scrub!.blocked!.message}). Fix: ${status().scrub!.blocked!.fix}`,
    ]);

    drop("scrub", "add", "scrub.txt", "07911 100000\n");
    drop("email-opt-outs", "add", "emails.txt", "Jane@Example.com\n");
    await clock.advanceUntil(() => archived("email-opt-outs").length === 1, "the email route's file");
    expect(f.sim.isOnDnc(LISTS.email.id, "jane@example.com")).to.equal(true);
    expect(readdirSync(folder("scrub", "add")), "the blocked route's file waits").to.deep.equal([
      "scrub.txt",
    ]);
    expect(problems).to.deep.equal([]);
    expect(await registry.metrics()).to.contain(
      `import_target_blocked{contact_list="${LISTS.external.id}",route="scrub"} 1`,
    );
  });

  it("a 403 holds back one route while the others apply their files, and it resumes by itself once granted", async () => {
    const running = startRoutes(SPECS.slice(0, 3));
    await waitFor(() => running.running.length === 2, "two DNC routes to start");
    f.sim.faults.dncListFailure(LISTS.phone.id, 403, "outbound:dnc:edit");
    const numbers = ukMobiles(1_200);
    drop("opt-outs", "add", "optouts.txt", `${numbers.join("\n")}\n`);
    const blocked = () => running.status().find((route) => route.name === "opt-outs")!.blocked;
    await clock.advanceUntil(() => blocked() !== undefined, "the route to hold back");
    expect(blocked()!.status).to.equal(403);

    drop("email-opt-outs", "add", "emails.txt", "ann@example.org\n");
    await clock.advanceUntil(() => archived("email-opt-outs").length === 1, "the other route's file");
    expect(archived("opt-outs")).to.deep.equal([]);

    f.sim.faults.dncListFailure(LISTS.phone.id, undefined);
    await clock.advanceUntil(() => archived("opt-outs").length === 1, "the route to resume", {
      stepMs: 5_000,
    });
    expect(blocked()).to.equal(undefined);
    expect(numbers.every((number) => f.sim.isOnDnc(LISTS.phone.id, e164(number)))).to.equal(true);
  });

  it("counts, for a contact route that checks it, the numbers a DNC route put on its list and not those it took off", async () => {
    const running = startRoutes(SPECS.slice(0, 2));
    const check = running.checkFor(["opt-outs"], ["phone", "mobile"])!;
    expect(check.routes).to.deep.equal(["opt-outs"]);
    expect(running.checkFor(["nowhere"], ["phone"]), "names no DNC route of the set").to.equal(undefined);
    await waitFor(() => running.running.length === 1, "the DNC route to start");
    drop("opt-outs", "add", "a.txt", "07911 100000\n07911 100001\n");
    await clock.advanceUntil(() => archived("opt-outs").length === 1, "the additions");
    drop("opt-outs", "remove", "b.txt", "07911 100001\n");
    await clock.advanceUntil(() => archived("opt-outs").length === 2, "the removal");
    expect(check.listed({ phone: "+447911100000" })).to.equal(true);
    expect(check.listed({ phone: "+447911999999", mobile: "+447911100000" })).to.equal(true);
    expect(check.listed({ phone: "+447911100001" }), "taken off").to.equal(false);
    expect(running.status()[0]!.indexedEntries).to.equal(1);
  });

  it("refuses, as a configuration problem naming the route and the fix, a list name that matches none, and entries that do not fit the list", async () => {
    startRoutes([
      { name: "typo", dncListName: "Opt outs" },
      { name: "mismatch", dncListId: LISTS.phone.id, dncEntries: "email" },
    ]);
    await waitFor(() => problems.length === 1, "the routes to be refused");
    expect(problems[0]!.problems).to.deep.equal([
      'route typo: no DNC list is named "Opt outs" (names match exactly, case included): correct dncListName, or give dncListId',
      `route mismatch: DNC list "${LISTS.phone.name}" (${LISTS.phone.id}) holds phone numbers (contactMethod Phone), and the route's entries are email addresses: set dncEntries to phone, or point the route at a DNC list of email addresses`,
    ]);
  });
});
