import { expect } from "chai";
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Registry } from "prom-client";
import { GenesysClient } from "../../../app/src/genesys/client";
import { ClaimStore, replicaId } from "../../../app/src/import/claims";
import { importClaimedFile, type DncCheck, type ImportDependencies } from "../../../app/src/import/importer";
import { fileIdentity, Journal } from "../../../app/src/import/journal";
import { ImportMetrics } from "../../../app/src/import/metrics";
import { dataLayout, ensureLayout, type DataLayout } from "../../../app/src/shared/layout";
import { resolveEndpoints } from "../../../app/src/shared/regions";
import { startSimulator, type GenesysSimulator } from "../../../simulator/simulator";
import { capturedLogger } from "../../support/capture";
import { FakeClock } from "../../support/fake-clock";
import { CONFIG } from "./support";

/**
 * The contact import's hook for checkDnc (import/importer.ts DncCheck): a contact whose number is
 * on a checked DNC list is imported all the same (Genesys suppresses it when dialling), and the
 * file's summary counts those imported, resumed batches included, refused rows not.
 */
describe("counting imported contacts on a checked DNC list (importer hook, simulator)", function () {
  this.timeout(60_000);
  let sim: GenesysSimulator;
  let client: GenesysClient;
  let layout: DataLayout;
  let claims: ClaimStore;
  const clock = new FakeClock(Date.now() + 3_600_000);

  beforeEach(async () => {
    sim = await startSimulator({ rateLimit: { requestsPerWindow: 100_000, windowMs: 60_000 } });
    client = new GenesysClient({
      endpoints: resolveEndpoints({ apiBaseUrl: sim.apiBaseUrl, loginBaseUrl: sim.loginBaseUrl }),
      clientId: sim.clients[0]!.clientId,
      clientSecret: sim.clients[0]!.clientSecret,
      logger: capturedLogger().logger,
    });
    client.start();
    await client.whenReady();
    layout = dataLayout(mkdtempSync(path.join(tmpdir(), "dnc-hook-")));
    await ensureLayout(layout);
    claims = new ClaimStore(
      layout,
      { replicaId: replicaId("test", process.pid, "0a1b2c3d"), claimTimeoutMs: 60_000, settleMs: 0 },
      clock,
    );
  });
  afterEach(async () => {
    await client?.close();
    await sim?.close();
  });

  function deps(dncCheck: DncCheck | undefined): ImportDependencies {
    return {
      client,
      contactListId: sim.contactListIds[0]!,
      config: { ...CONFIG, batchesInFlight: 2 },
      layout,
      metrics: new ImportMetrics(new Registry()),
      logger: capturedLogger().logger,
      clock,
      random: () => 0.5,
      signal: new AbortController().signal,
      ...(dncCheck ? { dncCheck } : {}),
    };
  }

  /** 2,500 contacts, one in ten with a number on the list. */
  function drop(name: string): void {
    const rows = Array.from({ length: 2_500 }, (_, index) => `c${index},07911 ${100_000 + index}`);
    writeFileSync(path.join(layout.inbox, `.${name}`), `id,phone\n${rows.join("\n")}\n`);
    renameSync(path.join(layout.inbox, `.${name}`), path.join(layout.inbox, name));
  }
  const listed = new Set(Array.from({ length: 250 }, (_, index) => `+447911${100_000 + index * 10}`));
  const check: DncCheck = { routes: ["opt-outs"], listed: (data) => listed.has(data.phone!) };

  it("imports every contact and counts those on the list in the summary", async () => {
    drop("spring.csv");
    const outcome = await importClaimedFile((await claims.claim("spring.csv"))!, deps(check));
    expect(outcome).to.deep.include({ status: "imported", synced: 2_500 });
    expect((outcome as unknown as { onDncLists: unknown }).onDncLists).to.deep.equal({
      routes: ["opt-outs"],
      contacts: 250,
    });
    expect(sim.contacts(sim.contactListIds[0]!).size, "still imported").to.equal(2_500);
  });

  it("counts the contacts of batches a resumed file skips, and not the rows Genesys refused", async () => {
    drop("resumed.csv");
    const journal = await Journal.open(
      path.join(layout.state, "resumed.csv.journal"),
      await fileIdentity(path.join(layout.inbox, "resumed.csv"), "resumed.csv"),
    );
    await journal.record(0);
    await journal.close();
    sim.faults.refuseContacts((contact) =>
      (contact.id as string) === "c1010" ? "invalid phone" : undefined,
    );
    const outcome = await importClaimedFile((await claims.claim("resumed.csv"))!, deps(check));
    expect(outcome).to.deep.include({ alreadySynced: 1_000, synced: 1_499, rejected: 1 });
    expect((outcome as unknown as { onDncLists: { contacts: number } }).onDncLists.contacts).to.equal(249);
  });

  it("says nothing of DNC lists for a route that checks none", async () => {
    drop("plain.csv");
    const outcome = await importClaimedFile((await claims.claim("plain.csv"))!, deps(undefined));
    expect(outcome).not.to.have.property("onDncLists");
  });
});
