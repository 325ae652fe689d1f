import { expect } from "chai";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Registry } from "prom-client";
import { addContacts } from "../../../app/src/genesys/api";
import { GenesysClient } from "../../../app/src/genesys/client";
import { ClaimStore, replicaId, type Claim } from "../../../app/src/import/claims";
import type { ImportConfig } from "../../../app/src/import/config";
import { fileIdentity, Journal } from "../../../app/src/import/journal";
import { ImportMetrics } from "../../../app/src/import/metrics";
import {
  KEPT_RETRY_DELAYS_MS,
  removeClaimedFile,
  type RemovalDependencies,
} from "../../../app/src/import/removals";
import { TargetGate } from "../../../app/src/import/target-gate";
import {
  dataLayout,
  ensureLayout,
  laneLayout,
  nameProblem,
  type DataLayout,
} from "../../../app/src/shared/layout";
import { resolveEndpoints } from "../../../app/src/shared/regions";
import { startSimulator, type GenesysSimulator } from "../../../simulator/simulator";
import { capturedLogger } from "../../support/capture";
import { FakeClock } from "../../support/fake-clock";
import { waitFor } from "../../support/harness";

const ROOT = path.resolve(__dirname, "../../..");
const DELETE = "DELETE /api/v2/outbound/contactlists/{id}/contacts";
const READ_BACK = "POST /api/v2/outbound/contactlists/{id}/contacts/bulk";

const CONFIG: ImportConfig = {
  idColumn: "id",
  phoneColumns: ["phone"],
  defaultCountry: "IE",
  columns: [],
  scanIntervalSeconds: 1,
  claimTimeoutSeconds: 60,
  settleSeconds: 0,
  batchesInFlight: 4,
  maxRecordBytes: 65_536,
  maxRejectedRows: 1_000,
  bulk: { allowClear: false, uploadTimeoutSeconds: 60, unseenSeconds: 20, pollMaxSeconds: 10 },
};

const ids = (prefix: string, count: number, from = 0) =>
  Array.from({ length: count }, (_, index) => `${prefix}${from + index}`);

/**
 * Removing the contacts a file of inbox/remove/ lists (import/removals.ts), against the simulator
 * over loopback HTTP: Genesys' DELETE of up to 100 ids, which leaves contacts a campaign is using,
 * and the read-back that finds them. Waits between the retries of kept ids run on a fake clock.
 */
describe("removing the contacts a file lists by id (simulator)", function () {
  this.timeout(120_000);
  let sim: GenesysSimulator;
  let client: GenesysClient;
  let listId: string;
  let clock: FakeClock;
  let layout: DataLayout;
  let claims: ClaimStore;
  let capture: ReturnType<typeof capturedLogger>;
  let registry: Registry;
  let metrics: ImportMetrics;

  beforeEach(async () => {
    // An hour ahead of the files' real mtimes, so that a scan finds them settled.
    clock = new FakeClock(Date.now() + 3_600_000);
    sim = await startSimulator({ rateLimit: { requestsPerWindow: 100_000, windowMs: 60_000 } });
    listId = sim.contactListIds[0]!;
    client = new GenesysClient({
      endpoints: resolveEndpoints({ apiBaseUrl: sim.apiBaseUrl, loginBaseUrl: sim.loginBaseUrl }),
      clientId: sim.clients[0]!.clientId,
      clientSecret: sim.clients[0]!.clientSecret,
      logger: capturedLogger().logger,
      breaker: { openDurationMs: 100 },
      transientBackoff: { initialDelayMs: 10, maxDelayMs: 50 },
    });
    client.start();
    await client.whenReady();
    layout = dataLayout(mkdtempSync(path.join(tmpdir(), "removals-")));
    await ensureLayout(layout);
    claims = removeLaneClaims(layout, "0a1b2c3d");
    capture = capturedLogger("info");
    registry = new Registry();
    metrics = new ImportMetrics(registry);
  });

  afterEach(async () => {
    await client?.close();
    await sim?.close();
  });

  function removeLaneClaims(at: DataLayout, nonce: string, claimTimeoutMs = 60_000): ClaimStore {
    return new ClaimStore(
      laneLayout(at, "remove"),
      { replicaId: replicaId("test", process.pid, nonce), claimTimeoutMs, settleMs: 0, lane: "remove" },
      clock,
    );
  }

  function deps(extra: Partial<RemovalDependencies> = {}): RemovalDependencies {
    return {
      client,
      contactListId: listId,
      config: CONFIG,
      layout,
      metrics,
      logger: capture.logger,
      clock,
      random: () => 0.5,
      signal: new AbortController().signal,
      ...extra,
    };
  }

  async function seed(contactIds: readonly string[]): Promise<void> {
    for (let start = 0; start < contactIds.length; start += 1_000)
      await addContacts(
        client,
        listId,
        contactIds
          .slice(start, start + 1_000)
          .map((id) => ({ id, contactListId: listId, data: { id, phone: "+353851234567" } })),
      );
  }

  const inRemoveInbox = (name: string) => path.join(layout.inbox, "remove", name);

  /** Writes under a dot-name and renames into inbox/remove/, as writers are asked to. */
  function drop(name: string, content: string): void {
    writeFileSync(inRemoveInbox(`.${name}.tmp`), content);
    renameSync(inRemoveInbox(`.${name}.tmp`), inRemoveInbox(name));
  }

  async function claim(name: string): Promise<Claim> {
    const claimed = await claims.claim(name);
    expect(claimed, `${name} claimed`).to.not.equal(undefined);
    return claimed!;
  }

  const inList = (id: string) => sim.contacts(listId).has(id);
  const journalOf = (name: string) => path.join(layout.state, `${name}.remove.journal`);
  const metricsText = () => registry.metrics();

  it("takes .csv and .txt in remove/ (and .txt nowhere else)", async () => {
    drop("optouts.txt", "c1\n");
    drop("optouts.csv", "id\nc1\n");
    drop("contacts.ndjson", '{"id":"c1"}\n');
    const scan = await claims.scanInbox();
    expect(scan.ready).to.have.members(["optouts.txt", "optouts.csv"]);
    expect(scan.refused.map((entry) => entry.name)).to.deep.equal(["contacts.ndjson"]);
    expect(scan.refused[0]!.reason).to.contain("neither .csv nor .txt");
    expect(nameProblem("optouts.txt")).to.contain("neither .csv nor .ndjson");
    expect(nameProblem("optouts.txt", "remove")).to.equal(undefined);
  });

  it("removes the ids of a CSV and of a .txt from the list, at most 100 a call, and leaves the others", async () => {
    await seed([...ids("c", 450), ...ids("other", 10)]);
    drop(
      "crm-optouts.csv",
      `id,name\n${ids("c", 250)
        .map((id) => `${id},Someone`)
        .join("\n")}\n`,
    );
    const csv = await removeClaimedFile(await claim("crm-optouts.csv"), deps());
    expect(csv).to.deep.include({
      status: "removed",
      mode: "remove",
      rowsRead: 250,
      accepted: 250,
      synced: 250,
    });
    expect(csv.removal).to.deep.equal({ removedOrAbsent: 250, kept: 0, keptByGenesys: [], retryRounds: 0 });
    expect(sim.count(DELETE, 200), "250 ids in three calls").to.equal(3);
    expect(sim.count(READ_BACK, 200), "each call checked").to.equal(3);

    // CRLF, a header line that is the id column's name, spaces around ids, a blank line at the end,
    // and an id the list never had.
    const text = ["ID", ...ids("c", 200, 250).map((id) => ` ${id} `), "ghost", ""].join("\r\n");
    drop("optouts.txt", `${text}\r\n`);
    const txt = await removeClaimedFile(await claim("optouts.txt"), deps());
    expect(txt).to.deep.include({ status: "removed", rowsRead: 201, accepted: 201, rejected: 0 });
    expect(txt.removal!.removedOrAbsent).to.equal(201);

    expect(ids("c", 450).filter(inList)).to.deep.equal([]);
    expect(ids("other", 10).every(inList), "ids not listed stay").to.equal(true);
    for (const outcome of [csv, txt]) {
      expect(existsSync(outcome.movedTo!), "archived").to.equal(true);
      const summary = JSON.parse(readFileSync(`${outcome.movedTo}.summary.json`, "utf8")) as {
        status: string;
      };
      expect(summary.status).to.equal("removed");
    }
    expect(readdirSync(layout.state), "no journal left").to.deep.equal([]);
    const text2 = await metricsText();
    expect(text2).to.contain('import_rows_total{outcome="removed"} 451');
    expect(text2).to.contain('import_files_total{outcome="removed"} 2');
  });

  it("puts bad lines in the rejects report with their line and reason, and removes the rest", async () => {
    await seed(["c0", "c1", "c2", "c3", "c4", "c5", "c6"]);
    const lines = [
      "id,name",
      "c0,A",
      ",empty", // 3
      "c1,B",
      "c0,again", // 5
      '"c2,c3",comma', // 6
      `${"x".repeat(513)},long`, // 7
      "c4\tx,tab", // 8
      "c5", // 9: one field where the header has two
      "c6,F",
    ];
    drop("mixed.csv", `${lines.join("\n")}\n`);
    const outcome = await removeClaimedFile(await claim("mixed.csv"), deps());
    expect(outcome).to.deep.include({
      status: "removed_with_rejects",
      rowsRead: 9,
      accepted: 3,
      rejected: 6,
    });
    const report = readFileSync(outcome.rejectsReport!, "utf8").trim().split("\n").slice(1);
    expect(report.map((row) => Number(row.split(",")[0]))).to.deep.equal([3, 5, 6, 7, 8, 9]);
    const reasons = report.join("\n");
    expect(reasons).to.contain('line 3 has no contact id (its ""id"" is empty)');
    expect(reasons).to.contain("line 5 repeats id c0 from line 2");
    expect(reasons).to.contain("line 6 has a comma in id");
    expect(reasons).to.contain("line 7 has an id of 513 characters");
    expect(reasons).to.contain("line 8 has a control character");
    expect(reasons).to.contain("line 9 has 1 fields where the header has 2");
    expect(["c0", "c1", "c6"].filter(inList), "the good ids are removed").to.deep.equal([]);
    expect(["c2", "c3", "c4", "c5"].every(inList), "a comma never names two other contacts").to.equal(true);
    expect(await metricsText()).to.contain('import_rows_total{outcome="rejected"} 6');
  });

  it("puts a CSV it cannot read to the end aside, saying which ids before that line were removed", async () => {
    await seed(["c1", "c2", "c3"]);
    drop("broken.csv", 'id\nc1\n"c2\nc3\n');
    const outcome = await removeClaimedFile(await claim("broken.csv"), deps());
    expect(outcome.status).to.equal("rejected");
    expect(outcome.reason).to.contain("line 3 opens a quoted field that is never closed");
    expect(outcome.reason).to.contain(
      "1 id(s) before that line were removed. Fix that line and drop the whole file again",
    );
    expect(["c1", "c2", "c3"].filter(inList)).to.deep.equal(["c2", "c3"]);
    expect(readdirSync(layout.state), "no journal left").to.deep.equal([]);
  });

  it("retries contacts a campaign is using after waits on the clock; one released between rounds goes, the rest are reported by id", async () => {
    await seed(ids("c", 200));
    sim.holdContacts(listId, ["c10", "c20", "c150"]);
    drop("busy.txt", `${ids("c", 200).join("\n")}\n`);
    const running = removeClaimedFile(await claim("busy.txt"), deps());
    const waited = (ms: number) => clock.sleeps.includes(ms);

    await waitFor(() => waited(KEPT_RETRY_DELAYS_MS[0]!), "the first wait before a retry");
    expect(sim.count(DELETE, 200)).to.equal(2);
    expect(ids("c", 200).filter(inList)).to.deep.equal(["c10", "c20", "c150"]);
    expect(readFileSync(journalOf("busy.txt"), "utf8"), "kept ids journalled with their batch").to.contain(
      '"kept":["c10","c20"]',
    );

    await clock.advance(KEPT_RETRY_DELAYS_MS[0]!);
    await waitFor(() => waited(KEPT_RETRY_DELAYS_MS[1]!), "the second wait");
    expect(sim.count(DELETE, 200), "round 1 tried the three again").to.equal(3);
    sim.releaseContacts(listId, ["c20"]);

    await clock.advance(KEPT_RETRY_DELAYS_MS[1]!);
    await waitFor(() => waited(KEPT_RETRY_DELAYS_MS[2]!), "the third wait");
    expect(inList("c20"), "released between rounds, removed in the next").to.equal(false);

    await clock.advance(KEPT_RETRY_DELAYS_MS[2]!);
    const outcome = await running;
    expect(outcome.status).to.equal("removed_with_kept");
    expect(outcome.removal).to.deep.include({ removedOrAbsent: 198, kept: 2, retryRounds: 3 });
    // Batches finish in any order (four in flight): the kept ids are listed in the order they were found.
    expect(outcome.removal!.keptByGenesys).to.have.members(["c10", "c150"]);
    const keptFile = readFileSync(outcome.removal!.keptIdsFile!, "utf8");
    expect(keptFile.split("\n").sort(), "ready to drop in remove/ again").to.deep.equal(["", "c10", "c150"]);
    expect(outcome.reason).to.contain("a campaign is using").and.to.contain("over 7.5 min");
    const summary = JSON.parse(readFileSync(`${outcome.movedTo}.summary.json`, "utf8")) as typeof outcome;
    expect(summary.removal!.keptByGenesys).to.deep.equal(outcome.removal!.keptByGenesys);
    expect(clock.sleeps.filter((ms) => KEPT_RETRY_DELAYS_MS.includes(ms))).to.deep.equal([
      ...KEPT_RETRY_DELAYS_MS,
    ]);
    const text = await metricsText();
    expect(text).to.contain('import_rows_total{outcome="kept"} 2');
    expect(text).to.contain('import_files_total{outcome="removed_with_kept"} 1');
  });

  it("a 403 on the removal blocks the list through the target gate; the file waits in the inbox with its journal, then resumes", async () => {
    await seed(ids("c", 300));
    sim.faults.contactListFailure(listId, 403, "outbound:contact:delete");
    const gate = new TargetGate({ client, contactListId: listId, clock, logger: capture.logger, metrics });
    drop("optouts.txt", `${ids("c", 300).join("\n")}\n`);
    const refused = await removeClaimedFile(await claim("optouts.txt"), deps({ targetGate: gate }));
    expect(refused.status).to.equal("released");
    expect(gate.blocked?.status).to.equal(403);
    expect(gate.blocked?.fix).to.contain("outbound:contact:delete");
    expect(existsSync(inRemoveInbox("optouts.txt")), "back in the inbox").to.equal(true);
    expect(existsSync(journalOf("optouts.txt")), "with its journal").to.equal(true);
    expect(ids("c", 300).every(inList)).to.equal(true);

    sim.faults.contactListFailure(listId, undefined);
    const resumed = await removeClaimedFile(await claim("optouts.txt"), deps({ targetGate: gate }));
    expect(resumed.status).to.equal("removed");
    expect(ids("c", 300).filter(inList)).to.deep.equal([]);
  });

  it("resumes after a crash: the batches the journal lists are not sent again", async () => {
    await seed(ids("c", 500));
    drop("big.txt", `${ids("c", 500).join("\n")}\n`);
    // As a crash leaves it: batches 0 to 2 acknowledged.
    const journal = await Journal.open(
      journalOf("big.txt"),
      await fileIdentity(inRemoveInbox("big.txt"), "big.txt"),
    );
    for (const index of [0, 1, 2]) await journal.record(index);
    await journal.close();

    const outcome = await removeClaimedFile(await claim("big.txt"), deps());
    expect(sim.count(DELETE, 200), "only batches 3 and 4").to.equal(2);
    expect(outcome).to.deep.include({ status: "removed", alreadySynced: 300, synced: 200, batchesSent: 2 });
    expect(outcome.removal!.removedOrAbsent).to.equal(500);
    expect(ids("c", 300).every(inList), "the journalled batches were skipped").to.equal(true);
    expect(ids("c", 200, 300).filter(inList)).to.deep.equal([]);
  });

  it("a file handed back at shutdown keeps the ids Genesys kept in its journal: the next run retries and reports them", async () => {
    await seed(ids("c", 300));
    sim.holdContacts(listId, ["c5", "c250"]);
    drop("evening.txt", `${ids("c", 300).join("\n")}\n`);
    const shutdown = new AbortController();
    const first = removeClaimedFile(await claim("evening.txt"), deps({ signal: shutdown.signal }));
    await waitFor(() => clock.sleeps.includes(KEPT_RETRY_DELAYS_MS[0]!), "the first wait before a retry");
    shutdown.abort();
    expect((await first).status).to.equal("released");
    const deletes = sim.count(DELETE, 200);

    sim.releaseContacts(listId, ["c5"]);
    const second = removeClaimedFile(await claim("evening.txt"), deps());
    const waits = (ms: number) => clock.sleeps.filter((slept) => slept === ms).length;
    await waitFor(() => waits(KEPT_RETRY_DELAYS_MS[0]!) === 2, "the first wait of the second run");
    expect(sim.count(DELETE, 200), "no batch sent again").to.equal(deletes);
    for (const [round, delayMs] of KEPT_RETRY_DELAYS_MS.entries()) {
      const next = KEPT_RETRY_DELAYS_MS[round + 1];
      await clock.advance(delayMs);
      if (next !== undefined) await waitFor(() => waits(next) === 1, `the wait before round ${round + 2}`);
    }
    const outcome = await second;
    expect(sim.count(DELETE, 200) - deletes, "only the kept ids, in each round").to.equal(3);
    expect(outcome).to.deep.include({ status: "removed_with_kept", alreadySynced: 298 });
    expect(outcome.removal).to.deep.include({ removedOrAbsent: 299, kept: 1, keptByGenesys: ["c250"] });
    expect(inList("c5")).to.equal(false);
  });

  it("refuses a CSV without the id column as a whole, naming the column and the fix", async () => {
    await seed(["c1"]);
    drop("export.csv", "email,phone\nc1@example.com,0851234567\n");
    drop("bare.csv", "c1\nc2\n");
    for (const name of ["export.csv", "bare.csv"]) {
      const outcome = await removeClaimedFile(await claim(name), deps());
      expect(outcome.status, name).to.equal("rejected");
      expect(outcome.reason).to.contain('the header has no "id" column, the list\'s id column');
      expect(outcome.reason).to.contain('Fix: name the column of contact ids "id"');
      expect(outcome.reason).to.contain("ids without a header go in a .txt file");
      expect(readFileSync(`${outcome.movedTo}.reason.txt`, "utf8")).to.contain(outcome.reason!);
    }
    expect(sim.count(DELETE, 200)).to.equal(0);
    expect(inList("c1")).to.equal(true);
    expect(readdirSync(layout.state)).to.deep.equal([]);
  });

  it("takes the CRM's name for the id column through the route's column map, and refuses a header naming it twice", async () => {
    await seed(["c1", "c2"]);
    const columnMap = { columns: { CustomerKey: "ID", Mobile: "phone" } };
    drop("crm.csv", "customerkey,Mobile\nc1,0851234567\n");
    const outcome = await removeClaimedFile(await claim("crm.csv"), deps({ columnMap }));
    expect(outcome.status).to.equal("removed");
    expect(inList("c1")).to.equal(false);

    drop("both.csv", "id,CustomerKey\nc2,c2\n");
    const twice = await removeClaimedFile(await claim("both.csv"), deps({ columnMap }));
    expect(twice.status).to.equal("rejected");
    expect(twice.reason).to.contain('"id", "CustomerKey", which all name the list\'s id column');
    drop("none.csv", "email\nc2\n");
    const none = await removeClaimedFile(await claim("none.csv"), deps({ columnMap }));
    expect(none.reason).to.contain('(nor "CustomerKey", which the route\'s column map maps to it)');
    expect(inList("c2")).to.equal(true);
  });

  it("kill -9 mid-file, then a takeover: every id removed, at most the batch in flight sent twice", async () => {
    const count = 3_000;
    await seed(ids("c", count));
    drop("crash.txt", `${ids("c", count).join("\n")}\n`);
    sim.faults.latency(25);
    const child = spawnRemoval(layout.root, "crash.txt");
    await waitFor(() => sim.count(DELETE, 200) >= 10, "part of the file to be removed", 60_000);
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    const atKill = sim.count(DELETE, 200);
    expect(atKill, "killed mid-file").to.be.lessThan(count / 100);
    expect(existsSync(journalOf("crash.txt"))).to.equal(true);
    sim.faults.latency(0);

    const takeover = removeLaneClaims(layout, "9f8e7d6c", 0);
    const [recovered] = await takeover.recoverStale();
    expect(recovered?.name).to.equal("crash.txt");
    const outcome = await removeClaimedFile(recovered!, deps());
    expect(outcome.status).to.equal("removed");
    expect(ids("c", count).filter(inList)).to.deep.equal([]);
    expect(sim.count(DELETE, 200), "one batch in flight at most").to.be.at.most(count / 100 + 1);
    expect(outcome.alreadySynced + outcome.synced).to.equal(count);
  });

  /** A process that claims `name` from remove/ and removes it, with one batch in flight, until it is killed. */
  function spawnRemoval(root: string, name: string) {
    const script = `
      const { GenesysClient } = require("./app/src/genesys/client");
      const { resolveEndpoints } = require("./app/src/shared/regions");
      const { ClaimStore } = require("./app/src/import/claims");
      const { ImportMetrics } = require("./app/src/import/metrics");
      const { removeClaimedFile } = require("./app/src/import/removals");
      const { dataLayout, laneLayout } = require("./app/src/shared/layout");
      const { systemClock } = require("./app/src/time/clock");
      const { Registry } = require("prom-client");
      const pino = require("pino");
      const given = JSON.parse(process.env.REMOVAL);
      (async () => {
        const logger = pino({ level: "silent" });
        const client = new GenesysClient({ ...given.client, endpoints: resolveEndpoints(given.endpoints), logger });
        client.start();
        await client.whenReady();
        const layout = dataLayout(given.root);
        const claims = new ClaimStore(laneLayout(layout, "remove"),
          { replicaId: "child-" + process.pid + "-01234567", claimTimeoutMs: 60000, settleMs: 0, lane: "remove" }, systemClock);
        const claim = await claims.claim(given.name);
        await removeClaimedFile(claim, { client, contactListId: given.listId, config: given.config, layout,
          metrics: new ImportMetrics(new Registry()), logger, clock: systemClock, random: Math.random,
          signal: new AbortController().signal });
      })();
    `;
    const given = {
      root,
      name,
      listId,
      config: { ...CONFIG, batchesInFlight: 1 },
      endpoints: { apiBaseUrl: sim.apiBaseUrl, loginBaseUrl: sim.loginBaseUrl },
      client: { clientId: sim.clients[0]!.clientId, clientSecret: sim.clients[0]!.clientSecret },
    };
    return spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", REMOVAL: JSON.stringify(given) },
      stdio: "ignore",
    });
  }
});
