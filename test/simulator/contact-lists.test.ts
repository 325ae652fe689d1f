import { expect } from "chai";
import { request } from "undici";
import { startSimulator, type GenesysSimulator } from "../../simulator/simulator";
import { FakeClock } from "../support/fake-clock";

/** Many lists, found by name, and contacts removed as Genesys removes them (genesys-cloud-facts.md). */
describe("Genesys Cloud simulator: many lists and contact removal", () => {
  let sim: GenesysSimulator;
  let bearer: string;
  const DEFAULT = "5f0a1e4c-2d7b-4e3a-9c1b-0a1b2c3d4e5f";
  const phones = [{ columnName: "phone", type: "cell" }];

  beforeEach(async () => {
    sim = await startSimulator({
      clock: new FakeClock(),
      contactListIds: [DEFAULT],
      contactLists: [
        { id: "spring", name: "Spring campaign", columnNames: ["id", "phone"], phoneColumns: phones },
        { id: "autumn-1", name: "Autumn", columnNames: ["ref", "mobile"], phoneColumns: [] },
        { id: "autumn-2", name: "Autumn", columnNames: ["ref", "home"], phoneColumns: [] },
      ],
      rateLimit: { requestsPerWindow: 300, windowMs: 60_000 },
    });
    bearer = await login();
  });
  afterEach(() => sim.close());

  async function login(): Promise<string> {
    const client = sim.clients[0]!;
    const answer = await request(`${sim.loginBaseUrl}/oauth/token`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: "grant_type=client_credentials",
    });
    return ((await answer.body.json()) as { access_token: string }).access_token;
  }

  async function api(method: "GET" | "POST" | "DELETE", path: string, body?: unknown) {
    const response = await request(`${sim.apiBaseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${bearer}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.body.text();
    return { status: response.statusCode, body: text ? JSON.parse(text) : undefined };
  }

  const idsOf = (entities: Array<{ id: string }>) => entities.map((entity) => entity.id);

  async function addContacts(listId: string, ids: readonly string[]) {
    const answer = await api(
      "POST",
      `/api/v2/outbound/contactlists/${listId}/contacts`,
      ids.map((id) => ({ id, contactListId: listId, data: { id, phone: "+353850000001" } })),
    );
    expect(answer.status).to.equal(200);
  }

  describe("lists by name", () => {
    it("keeps the default list and its name, and gives each named list its own definition", async () => {
      expect(sim.contactListIds).to.deep.equal([DEFAULT, "spring", "autumn-1", "autumn-2"]);
      const plain = await api("GET", `/api/v2/outbound/contactlists/${DEFAULT}`);
      expect(plain.body).to.include({ id: DEFAULT, name: `list ${DEFAULT}` });
      const spring = await api("GET", "/api/v2/outbound/contactlists/spring");
      expect(spring.body).to.deep.include({
        name: "Spring campaign",
        columnNames: ["id", "phone"],
        phoneColumns: phones,
      });
      const created = sim.createContactList({ name: "Winter", columnNames: ["x"], phoneColumns: [] });
      expect((await api("GET", `/api/v2/outbound/contactlists/${created}`)).body).to.include({
        name: "Winter",
      });
    });

    it("finds 0, 1 or 2 lists with filterType=Equals, in a paged entity listing", async () => {
      const none = await api("GET", "/api/v2/outbound/contactlists?name=Summer&filterType=Equals");
      expect(none.status).to.equal(200);
      expect(none.body).to.deep.include({
        entities: [],
        total: 0,
        pageNumber: 1,
        pageSize: 25,
        pageCount: 0,
      });
      const one = await api("GET", "/api/v2/outbound/contactlists?name=Spring%20campaign&filterType=Equals");
      expect(idsOf(one.body.entities)).to.deep.equal(["spring"]);
      expect(one.body.entities[0]).to.deep.include({ columnNames: ["id", "phone"], phoneColumns: phones });
      const two = await api("GET", "/api/v2/outbound/contactlists?name=Autumn&filterType=Equals");
      expect(idsOf(two.body.entities)).to.deep.equal(["autumn-1", "autumn-2"]);
      expect(two.body).to.include({ total: 2, pageCount: 1 });
    });

    it("matches name as a prefix by default, as Genesys' API description says", async () => {
      const prefix = await api("GET", "/api/v2/outbound/contactlists?name=Spring");
      expect(idsOf(prefix.body.entities)).to.deep.equal(["spring"]);
      const exact = await api("GET", "/api/v2/outbound/contactlists?name=Spring&filterType=Equals");
      expect(exact.body.entities).to.deep.equal([]);
    });

    it("pages with pageSize and pageNumber (at most 100 a page) and leaves out a deleted list", async () => {
      const first = await api("GET", "/api/v2/outbound/contactlists?name=Autumn&pageSize=1");
      expect(idsOf(first.body.entities)).to.deep.equal(["autumn-1"]);
      expect(first.body).to.include({ total: 2, pageCount: 2, pageSize: 1, pageNumber: 1 });
      expect(first.body.nextUri).to.contain("pageNumber=2");
      const second = await api("GET", "/api/v2/outbound/contactlists?name=Autumn&pageSize=1&pageNumber=2");
      expect(idsOf(second.body.entities)).to.deep.equal(["autumn-2"]);
      expect(second.body).not.to.have.property("nextUri");
      expect((await api("GET", "/api/v2/outbound/contactlists?pageSize=101")).status).to.equal(400);
      sim.faults.contactListFailure("autumn-1", 404);
      const left = await api("GET", "/api/v2/outbound/contactlists?name=Autumn");
      expect(idsOf(left.body.entities)).to.deep.equal(["autumn-2"]);
    });
  });

  describe("removing contacts", () => {
    it("removes the contacts named, leaves a contact a campaign is using, and answers 200 with no body", async () => {
      await addContacts("spring", ["a", "b", "c", "d"]);
      sim.holdContacts("spring", ["b"]);
      const answer = await api(
        "DELETE",
        "/api/v2/outbound/contactlists/spring/contacts?contactIds=a,b,c,unknown",
      );
      expect(answer).to.deep.equal({ status: 200, body: undefined });
      expect([...sim.contacts("spring").keys()]).to.deep.equal(["b", "d"]);
      expect((await api("GET", "/api/v2/outbound/contactlists/spring/contacts/b")).status).to.equal(200);
      expect((await api("GET", "/api/v2/outbound/contactlists/spring/contacts/a")).status).to.equal(404);
      sim.releaseContacts("spring", ["b"]);
      // Repeated parameters, as the SDKs send a collection, work too.
      await api("DELETE", "/api/v2/outbound/contactlists/spring/contacts?contactIds=b&contactIds=d");
      expect(sim.contacts("spring").size).to.equal(0);
      expect(sim.count("DELETE /api/v2/outbound/contactlists/{id}/contacts", 200)).to.equal(2);
    });

    it("refuses more than 100 ids and none, with a message, and removes nothing", async () => {
      const ids = Array.from({ length: 101 }, (_, index) => `c-${index}`);
      await addContacts("spring", ids);
      const over = await api(
        "DELETE",
        `/api/v2/outbound/contactlists/spring/contacts?contactIds=${ids.join(",")}`,
      );
      expect(over.status).to.equal(400);
      expect(over.body.message).to.contain("At most 100 contact ids");
      expect(sim.contacts("spring").size).to.equal(101);
      const none = await api("DELETE", "/api/v2/outbound/contactlists/spring/contacts");
      expect(none.status).to.equal(400);
      const hundred = await api(
        "DELETE",
        `/api/v2/outbound/contactlists/spring/contacts?contactIds=${ids.slice(0, 100).join(",")}`,
      );
      expect(hundred.status).to.equal(200);
      expect([...sim.contacts("spring").keys()]).to.deep.equal(["c-100"]);
    });

    it("answers 404 for an unknown or deleted list and 403 naming outbound:contact:delete", async () => {
      expect(
        (await api("DELETE", "/api/v2/outbound/contactlists/nope/contacts?contactIds=a")).status,
      ).to.equal(404);
      await addContacts("spring", ["a"]);
      sim.faults.contactListFailure("spring", 403, "outbound:contact:delete");
      const refused = await api("DELETE", "/api/v2/outbound/contactlists/spring/contacts?contactIds=a");
      expect(refused.status).to.equal(403);
      expect(refused.body).to.include({ code: "missing.permissions" });
      expect(refused.body.message).to.contain("outbound:contact:delete");
      expect(
        (await api("GET", "/api/v2/outbound/contactlists/spring")).status,
        "only deleting is refused",
      ).to.equal(200);
      sim.faults.contactListFailure("spring", 404);
      expect(
        (await api("DELETE", "/api/v2/outbound/contactlists/spring/contacts?contactIds=a")).status,
      ).to.equal(404);
      expect(sim.contacts("spring").size).to.equal(1);
    });

    it("counts against the token's budget like every API call", async () => {
      await sim.close();
      sim = await startSimulator({
        contactListIds: [DEFAULT],
        rateLimit: { requestsPerWindow: 2, windowMs: 60_000 },
      });
      bearer = await login();
      const path = `/api/v2/outbound/contactlists/${DEFAULT}/contacts?contactIds=a`;
      expect((await api("DELETE", path)).status).to.equal(200);
      expect((await api("GET", "/api/v2/outbound/contactlists?name=x")).status).to.equal(200);
      expect((await api("DELETE", path)).status).to.equal(429);
    });
  });
});
