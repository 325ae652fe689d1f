import { expect } from "chai";
import {
  addContacts,
  findContactListsByName,
  readContacts,
  removeContacts,
} from "../../../app/src/genesys/api";
import { GenesysClient } from "../../../app/src/genesys/client";
import { failureClass, GenesysHttpError, targetFix } from "../../../app/src/genesys/errors";
import { resolveEndpoints } from "../../../app/src/shared/regions";
import { startSimulator, type GenesysSimulator, type SimulatorOptions } from "../../../simulator/simulator";
import { capturedLogger } from "../../support/capture";

const LISTS_ROUTE = "GET /api/v2/outbound/contactlists";
const REMOVE_ROUTE = "DELETE /api/v2/outbound/contactlists/{id}/contacts";

/** The calls the many-lists work needs, against the simulator over loopback HTTP. */
describe("contact lists by name and contact removal against the simulator", function () {
  this.timeout(60_000);
  let sim: GenesysSimulator;
  let client: GenesysClient;
  const phones = [{ columnName: "phone", type: "cell" }];

  async function setup(options: SimulatorOptions = {}) {
    sim = await startSimulator({
      contactLists: [
        { id: "spring", name: "Spring", columnNames: ["id", "phone"], phoneColumns: phones },
        { id: "autumn-1", name: "Autumn", columnNames: ["ref", "mobile"], phoneColumns: [] },
        { id: "autumn-2", name: "Autumn", columnNames: ["ref", "home"], phoneColumns: [] },
      ],
      ...options,
    });
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
  }

  afterEach(async () => {
    await client?.close();
    await sim?.close();
  });

  async function addIds(listId: string, ids: readonly string[]) {
    await addContacts(
      client,
      listId,
      ids.map((id) => ({ id, contactListId: listId, data: { id, phone: "+353850000001" } })),
    );
  }

  describe("findContactListsByName", () => {
    it("finds none, one or two lists by exact name, with their columns and phone columns", async () => {
      await setup();
      expect(await findContactListsByName(client, "Summer")).to.deep.equal([]);
      // "Spr" would match Spring as the API's default prefix filter: the call asks for Equals.
      expect(await findContactListsByName(client, "Spr")).to.deep.equal([]);
      expect(await findContactListsByName(client, "Spring")).to.deep.equal([
        { id: "spring", name: "Spring", columnNames: ["id", "phone"], phoneColumns: phones },
      ]);
      const autumn = await findContactListsByName(client, "Autumn");
      expect(autumn.map((list) => [list.id, list.columnNames])).to.deep.equal([
        ["autumn-1", ["ref", "mobile"]],
        ["autumn-2", ["ref", "home"]],
      ]);
    });

    it("follows every page of 100", async () => {
      await setup();
      for (let index = 0; index < 230; index += 1)
        sim.createContactList({ name: "Bulk", columnNames: ["id"], phoneColumns: [] });
      const found = await findContactListsByName(client, "Bulk");
      expect(found).to.have.length(230);
      expect(new Set(found.map((list) => list.id)).size).to.equal(230);
      expect(sim.count(LISTS_ROUTE, 200)).to.equal(3);
    });

    it("retries a 429 and a 503 like every call", async () => {
      await setup();
      sim.faults.rateLimitStorm(1, 1);
      sim.faults.serverErrors(1, 503, LISTS_ROUTE);
      expect(await findContactListsByName(client, "Spring")).to.have.length(1);
      expect(sim.count(LISTS_ROUTE, 200)).to.equal(1);
    });
  });

  describe("removeContacts", () => {
    it("removes the ids in one DELETE; a contact in use by a campaign stays, as a read-back shows", async () => {
      await setup();
      await addIds("spring", ["a", "b", "c"]);
      sim.holdContacts("spring", ["b"]);
      await removeContacts(client, "spring", ["a", "b", "c"]);
      expect(sim.count(REMOVE_ROUTE, 200)).to.equal(1);
      const left = await readContacts(client, "spring", ["a", "b", "c"]);
      expect(left.map((contact) => contact.id)).to.deep.equal(["b"]);
      sim.releaseContacts("spring");
      await removeContacts(client, "spring", ["b"]);
      expect(sim.contacts("spring").size).to.equal(0);
    });

    it("takes 100 ids in a call and refuses 101 before sending anything", async () => {
      await setup();
      const ids = Array.from({ length: 101 }, (_, index) => `c-${index}`);
      await addIds("spring", ids);
      const error = await removeContacts(client, "spring", ids).catch((caught: unknown) => caught);
      expect(error).to.be.instanceOf(RangeError);
      expect((error as Error).message).to.contain("at most 100 ids");
      expect(sim.count(REMOVE_ROUTE, 200) + sim.count(REMOVE_ROUTE, 400)).to.equal(0);
      await removeContacts(client, "spring", ids.slice(0, 100));
      expect([...sim.contacts("spring").keys()]).to.deep.equal(["c-100"]);
    });

    it("ends in a target-fatal GenesysHttpError for a deleted list or a missing outbound:contact:delete", async () => {
      await setup();
      sim.faults.contactListFailure("spring", 403, "outbound:contact:delete");
      const refused = await removeContacts(client, "spring", ["a"]).catch((caught: unknown) => caught);
      expect(refused).to.be.instanceOf(GenesysHttpError);
      expect((refused as GenesysHttpError).status).to.equal(403);
      expect(failureClass(refused)).to.equal("target-fatal");
      expect(targetFix(refused, "contact list spring")).to.contain("outbound:contact:delete");
      sim.faults.contactListFailure("spring", 404);
      const gone = await removeContacts(client, "spring", ["a"]).catch((caught: unknown) => caught);
      expect((gone as GenesysHttpError).status).to.equal(404);
      expect(failureClass(gone)).to.equal("target-fatal");
    });

    it("retries a 429 and a connection reset without losing the removal", async () => {
      await setup();
      await addIds("spring", ["a", "b"]);
      sim.faults.rateLimitStorm(1, 1);
      sim.faults.connectionResets(1, REMOVE_ROUTE);
      await removeContacts(client, "spring", ["a", "b"]);
      expect(sim.contacts("spring").size).to.equal(0);
      expect(sim.received.resets).to.equal(1);
    });
  });
});
