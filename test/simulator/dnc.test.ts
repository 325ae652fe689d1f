import { expect } from "chai";
import { request } from "undici";
import { GenesysClient } from "../../app/src/genesys/client";
import { failureClass, GenesysHttpError } from "../../app/src/genesys/errors";
import { resolveEndpoints } from "../../app/src/shared/regions";
import { startSimulator, type GenesysSimulator, type SimulatorOptions } from "../../simulator/simulator";
import { capturedLogger } from "../support/capture";
import { FakeClock } from "../support/fake-clock";

const INTERNAL = "0d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const EMAILS = "1d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const ANY = "2d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const DNC_COM = "3d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const GRYPHON = "4d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const CUSTOM = "5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const PHONES = `/api/v2/outbound/dnclists/${INTERNAL}/phonenumbers`;

const DNC_LISTS: SimulatorOptions["dncLists"] = [
  { id: INTERNAL, name: "Opt-outs phone", dncSourceType: "rds", contactMethod: "Phone" },
  { id: EMAILS, name: "Opt-outs email", dncSourceType: "rds", contactMethod: "Email" },
  { id: ANY, name: "Opt-outs any", dncSourceType: "rds", contactMethod: "Any" },
  { id: DNC_COM, name: "National registry", dncSourceType: "dnc.com" },
  { id: GRYPHON, name: "Gryphon", dncSourceType: "gryphon" },
  { id: CUSTOM, name: "Rule on a column", dncSourceType: "rds_custom" },
];

/**
 * The simulator's DNC lists, as genesys-cloud-facts.md and Genesys' API descriptions give them:
 * three kinds (internal, external providers, custom), entries of internal lists only, with expiry.
 */
describe("Genesys Cloud simulator: DNC lists", () => {
  let clock: FakeClock;
  let sim: GenesysSimulator;
  let bearer: string;

  async function start(options: SimulatorOptions = {}) {
    clock = new FakeClock();
    sim = await startSimulator({ clock, contactListIds: [], dncLists: DNC_LISTS, ...options });
    const { clientId, clientSecret } = sim.clients[0]!;
    const login = await request(`${sim.loginBaseUrl}/oauth/token`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: "grant_type=client_credentials",
    });
    bearer = ((await login.body.json()) as { access_token: string }).access_token;
  }

  beforeEach(() => start());
  afterEach(() => sim.close());

  async function api(method: "GET" | "POST" | "PATCH" | "DELETE", path: string, body?: unknown) {
    const response = await request(`${sim.apiBaseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${bearer}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.body.text();
    return {
      status: response.statusCode,
      body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> & { entities?: unknown[] },
    };
  }

  const names = (entities: unknown[] | undefined) =>
    (entities ?? []).map((list) => (list as { name: string }).name);
  const values = (listId: string) => sim.dncEntries(listId).map((entry) => entry.value);

  describe("lists", () => {
    it("holds the three kinds Genesys has, each with its dncSourceType and contactMethod", async () => {
      expect((await api("GET", `/api/v2/outbound/dnclists/${INTERNAL}`)).body).to.deep.include({
        id: INTERNAL,
        name: "Opt-outs phone",
        dncSourceType: "rds",
        contactMethod: "Phone",
        selfUri: `/api/v2/outbound/dnclists/${INTERNAL}`,
      });
      expect((await api("GET", `/api/v2/outbound/dnclists/${DNC_COM}`)).body).to.include({
        dncSourceType: "dnc.com",
      });
      expect((await api("GET", `/api/v2/outbound/dnclists/${GRYPHON}`)).body).to.include({
        dncSourceType: "gryphon",
      });
      expect((await api("GET", `/api/v2/outbound/dnclists/${CUSTOM}`)).body).to.include({
        dncSourceType: "rds_custom",
      });
      const made = sim.createDncList({ name: "Later", dncSourceType: "rds", contactMethod: "Email" });
      expect((await api("GET", `/api/v2/outbound/dnclists/${made}`)).body).to.include({ name: "Later" });
      const missing = await api("GET", "/api/v2/outbound/dnclists/9d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
      expect(missing.status).to.equal(404);
      expect(missing.body.code).to.equal("not.found");
    });

    it("refuses to create an internal list without a contactMethod, or a kind Genesys does not have", () => {
      expect(() => sim.createDncList({ name: "x", dncSourceType: "rds" })).to.throw(
        /contactMethod is required/,
      );
      expect(() => sim.createDncList({ name: "x", dncSourceType: "ftc" as "rds" })).to.throw(/dncSourceType/);
      expect(() => sim.createDncList({ id: INTERNAL, name: "x", dncSourceType: "gryphon" })).to.throw(
        /already exists/,
      );
    });

    it("finds lists by name (Prefix by default, or Equals), by kind, a page at a time", async () => {
      const prefix = await api("GET", "/api/v2/outbound/dnclists?name=Opt-outs");
      expect(names(prefix.body.entities)).to.deep.equal(["Opt-outs phone", "Opt-outs email", "Opt-outs any"]);
      const exact = await api(
        "GET",
        `/api/v2/outbound/dnclists?name=${encodeURIComponent("Opt-outs email")}&filterType=Equals`,
      );
      expect(names(exact.body.entities)).to.deep.equal(["Opt-outs email"]);
      const external = await api("GET", "/api/v2/outbound/dnclists?dncSourceType=gryphon");
      expect(names(external.body.entities)).to.deep.equal(["Gryphon"]);
      const first = await api("GET", "/api/v2/outbound/dnclists?pageSize=4");
      expect(first.body).to.include({ total: 6, pageCount: 2, pageNumber: 1, pageSize: 4 });
      expect(first.body.nextUri).to.equal("/api/v2/outbound/dnclists?pageSize=4&pageNumber=2");
      const second = await api("GET", first.body.nextUri as string);
      expect(names(second.body.entities)).to.deep.equal(["Gryphon", "Rule on a column"]);
      expect((await api("GET", "/api/v2/outbound/dnclists?pageSize=101")).status).to.equal(400);
    });

    it("gives the size only when asked (includeSize=true), expired entries included until deleted", async () => {
      await api("POST", `${PHONES}?expirationDateTime=2026-11-21T08:30Z`, ["+353851000001"]);
      await api("POST", PHONES, ["+353851000002"]);
      await clock.advance(3_600_000);
      expect((await api("GET", `/api/v2/outbound/dnclists/${INTERNAL}`)).body).not.to.have.property("size");
      expect((await api("GET", `/api/v2/outbound/dnclists/${INTERNAL}?includeSize=true`)).body).to.include({
        size: 2,
      });
    });
  });

  describe("entries of an internal list", () => {
    it("adds numbers with POST, with an expiry or without, and email addresses (202, no expiry there)", async () => {
      expect((await api("POST", PHONES, ["+353851000001", "+353851000002"])).status).to.equal(200);
      const dated = await api("POST", `${PHONES}?expirationDateTime=2026-12-01T00:00Z`, ["+353851000003"]);
      expect(dated.status).to.equal(200);
      expect(dated.body).to.equal(undefined);
      const emails = await api(
        "POST",
        `/api/v2/outbound/dnclists/${EMAILS}/emailaddresses?expirationDateTime=2026-12-01T00:00Z`,
        ["Ana@Example.com"],
      );
      expect(emails.status).to.equal(202);
      expect(sim.dncEntries(INTERNAL)).to.deep.equal([
        { kind: "phonenumbers", value: "+353851000001", expired: false },
        { kind: "phonenumbers", value: "+353851000002", expired: false },
        {
          kind: "phonenumbers",
          value: "+353851000003",
          expiresAtMs: Date.parse("2026-12-01T00:00Z"),
          expired: false,
        },
      ]);
      expect(sim.dncEntries(EMAILS)).to.deep.equal([
        { kind: "emailaddresses", value: "Ana@Example.com", expired: false },
      ]);
      expect(sim.isOnDnc(EMAILS, "ana@example.com")).to.equal(true);
      expect(sim.isOnDnc(INTERNAL, "+1 (353) 851-000001")).to.equal(false);
      expect(sim.isOnDnc(INTERNAL, "+353 85 100 0001")).to.equal(true);
    });

    it("adds and removes with PATCH; an entry added again takes the new expiry", async () => {
      const add = await api("PATCH", PHONES, {
        action: "Add",
        phoneNumbers: ["+353851000001", "+353851000002"],
        expirationDateTime: "2026-11-22T00:00Z",
      });
      expect(add.status).to.equal(200);
      await api("PATCH", PHONES, { action: "Add", phoneNumbers: ["+353 85 100 0001"] });
      expect(sim.dncEntries(INTERNAL)).to.deep.equal([
        { kind: "phonenumbers", value: "+353851000001", expired: false },
        {
          kind: "phonenumbers",
          value: "+353851000002",
          expiresAtMs: Date.parse("2026-11-22T00:00Z"),
          expired: false,
        },
      ]);
      const remove = await api("PATCH", PHONES, {
        action: "Remove",
        phoneNumbers: ["+353851000002", "+353859999999"],
      });
      expect(remove.status).to.equal(200);
      expect(values(INTERNAL)).to.deep.equal(["+353851000001"]);
      await api("PATCH", `/api/v2/outbound/dnclists/${ANY}/whatsappnumbers`, {
        action: "Add",
        whatsAppNumbers: ["+353851000009"],
      });
      await api("PATCH", `/api/v2/outbound/dnclists/${ANY}/emailaddresses`, {
        action: "Add",
        emailAddresses: ["bo@example.com"],
      });
      expect(sim.dncEntries(ANY).map((entry) => entry.kind)).to.deep.equal([
        "emailaddresses",
        "whatsappnumbers",
      ]);
      expect(sim.isOnDnc(ANY, "+353851000009")).to.equal(true);
    });

    it("lets an expired entry stop counting, keeps it until DELETE ?expiredOnly=true, and DELETE alone empties", async () => {
      await api("POST", `${PHONES}?expirationDateTime=2026-11-21T09:00Z`, ["+353851000001"]);
      await api("POST", PHONES, ["+353851000002"]);
      expect(sim.isOnDnc(INTERNAL, "+353851000001")).to.equal(true);
      expect(sim.isOnDnc(INTERNAL, "+353851000001", Date.parse("2026-11-21T09:00Z"))).to.equal(false);
      await clock.advance(2 * 3_600_000);
      expect(sim.isOnDnc(INTERNAL, "+353851000001")).to.equal(false);
      expect(sim.isOnDnc(INTERNAL, "+353851000002")).to.equal(true);
      expect(sim.dncEntries(INTERNAL).map((entry) => entry.expired)).to.deep.equal([true, false]);
      // A date in the past is taken, as Terraform's removal by expiry relied on.
      await api("PATCH", PHONES, {
        action: "Add",
        phoneNumbers: ["+353851000003"],
        expirationDateTime: "2020-01-01T00:00Z",
      });
      expect(sim.isOnDnc(INTERNAL, "+353851000003")).to.equal(false);
      expect((await api("DELETE", `${PHONES}?expiredOnly=true`)).status).to.equal(200);
      expect(values(INTERNAL)).to.deep.equal(["+353851000002"]);
      expect((await api("DELETE", PHONES)).status).to.equal(200);
      expect(values(INTERNAL)).to.deep.equal([]);
      expect((await api("DELETE", `${PHONES}?expiredOnly=maybe`)).body.code).to.equal(
        "invalid.query.param.value",
      );
    });

    it("refuses every change to a list that is not internal with 400 dnc.source.operation.not.supported", async () => {
      for (const listId of [DNC_COM, GRYPHON, CUSTOM]) {
        const base = `/api/v2/outbound/dnclists/${listId}/phonenumbers`;
        for (const [method, body] of [
          ["POST", ["+353851000001"]],
          ["PATCH", { action: "Add", phoneNumbers: ["+353851000001"] }],
          ["PATCH", { action: "Remove", phoneNumbers: ["+353851000001"] }],
          ["DELETE", undefined],
        ] as const) {
          const refused = await api(method, base, body);
          expect(refused.status, `${method} on ${listId}`).to.equal(400);
          expect(refused.body.code).to.equal("dnc.source.operation.not.supported");
        }
        expect((await api("GET", `/api/v2/outbound/dnclists/${listId}`)).status).to.equal(200);
        expect(sim.dncEntries(listId)).to.deep.equal([]);
      }
    });

    it("validates like Genesys where its description says, and says so where the simulator chooses", async () => {
      const notArray = await api("POST", PHONES, { phoneNumbers: ["+353851000001"] });
      expect(notArray.body.code).to.equal("bad.request");
      const letters = await api("POST", PHONES, ["+353851000001", "call me"]);
      expect([letters.status, letters.body.code]).to.deep.equal([400, "invalid.value"]);
      const badDate = await api("POST", `${PHONES}?expirationDateTime=tomorrow`, ["+353851000001"]);
      expect([badDate.status, badDate.body.code]).to.deep.equal([400, "invalid.date"]);
      const badAction = await api("PATCH", PHONES, { action: "Upsert", phoneNumbers: ["+353851000001"] });
      expect(badAction.body.code).to.equal("invalid.value");
      const tooMany = Array.from({ length: 1001 }, (_, index) => `+3538510${String(index).padStart(5, "0")}`);
      const over = await api("POST", PHONES, tooMany);
      expect([over.status, over.body.code]).to.deep.equal([400, "bad.request"]);
      expect(over.body.message).to.contain("At most 1000");
      expect((await api("POST", PHONES, tooMany.slice(0, 1000))).status).to.equal(200);
      const wrongKind = await api("POST", PHONES.replace("phonenumbers", "emailaddresses"), [
        "a@example.com",
      ]);
      expect([wrongKind.status, wrongKind.body.code]).to.deep.equal([400, "bad.request"]);
      const noPost = await api("POST", `/api/v2/outbound/dnclists/${ANY}/whatsappnumbers`, ["+353851000001"]);
      expect(noPost.status).to.equal(404);
      expect(values(INTERNAL)).to.have.length(1000);
    });

    it("refuses entries beyond the list's limit with dnc.records.per.list.limit.exceeded", async () => {
      await sim.close();
      await start({ maxDncEntriesPerList: 3 });
      expect((await api("POST", PHONES, ["+353851000001", "+353851000002"])).status).to.equal(200);
      const full = await api("POST", PHONES, ["+353851000001", "+353851000003", "+353851000004"]);
      expect([full.status, full.body.code]).to.deep.equal([400, "dnc.records.per.list.limit.exceeded"]);
      expect((await api("POST", PHONES, ["+353851000002", "+353851000003"])).status).to.equal(200);
      expect(values(INTERNAL)).to.have.length(3);
    });
  });

  describe("faults and accounting", () => {
    it("answers 403 missing.permissions on the calls that need the missing permission, and heals", async () => {
      sim.faults.dncListFailure(INTERNAL, 403, "outbound:dnc:edit");
      const patch = await api("PATCH", PHONES, { action: "Add", phoneNumbers: ["+353851000001"] });
      expect([patch.status, patch.body.code, patch.body.message]).to.deep.equal([
        403,
        "missing.permissions",
        "You are missing the following permission(s): outbound:dnc:edit",
      ]);
      expect((await api("POST", PHONES, ["+353851000001"])).status).to.equal(200);
      sim.faults.dncListFailure(INTERNAL, 403);
      expect((await api("POST", PHONES, ["+353851000002"])).body.code).to.equal("missing.permissions");
      sim.faults.dncListFailure(INTERNAL, 403, "outbound:dnc:delete");
      expect((await api("DELETE", PHONES)).status).to.equal(403);
      sim.faults.dncListFailure(INTERNAL, 403, "outbound:dncList:view");
      expect((await api("GET", `/api/v2/outbound/dnclists/${INTERNAL}`)).status).to.equal(403);
      expect((await api("POST", `/api/v2/outbound/dnclists/${INTERNAL}/export`)).status).to.equal(403);
      sim.faults.dncListFailure(INTERNAL, undefined);
      expect(
        (await api("PATCH", PHONES, { action: "Add", phoneNumbers: ["+353851000003"] })).status,
      ).to.equal(200);
      expect(values(INTERNAL)).to.deep.equal(["+353851000001", "+353851000003"]);
    });

    it("answers 404 not.found on every call of a deleted list and leaves it out of the listing", async () => {
      sim.faults.dncListFailure(INTERNAL, 404);
      for (const [method, path] of [
        ["GET", `/api/v2/outbound/dnclists/${INTERNAL}`],
        ["POST", PHONES],
        ["DELETE", PHONES],
      ] as const) {
        const gone = await api(method, path, method === "POST" ? ["+353851000001"] : undefined);
        expect([gone.status, gone.body.code]).to.deep.equal([404, "not.found"]);
      }
      expect(
        names((await api("GET", "/api/v2/outbound/dnclists?name=Opt-outs")).body.entities),
      ).to.deep.equal(["Opt-outs email", "Opt-outs any"]);
      sim.faults.dncListFailure(INTERNAL, undefined);
      expect((await api("POST", PHONES, ["+353851000001"])).status).to.equal(200);
    });

    it("counts DNC calls per route and status, and spends the token's budget on them", async () => {
      await sim.close();
      await start({ rateLimit: { requestsPerWindow: 3, windowMs: 60_000 } });
      await api("POST", PHONES, ["+353851000001"]);
      await api("PATCH", PHONES, { action: "Remove", phoneNumbers: ["+353851000001"] });
      await api("POST", `/api/v2/outbound/dnclists/${DNC_COM}/phonenumbers`, ["+353851000001"]);
      const limited = await api("GET", `/api/v2/outbound/dnclists/${INTERNAL}`);
      expect(limited.status).to.equal(429);
      expect(sim.count("POST /api/v2/outbound/dnclists/{id}/phonenumbers", 200)).to.equal(1);
      expect(sim.count("POST /api/v2/outbound/dnclists/{id}/phonenumbers", 400)).to.equal(1);
      expect(sim.count("PATCH /api/v2/outbound/dnclists/{id}/phonenumbers", 200)).to.equal(1);
      expect(sim.count("GET /api/v2/outbound/dnclists/{id}", 429)).to.equal(1);
      expect(sim.stats()).to.include({ apiRequests: 4, rateLimited: 1, dncEntries: 0 });
    });
  });

  describe("through the service's GenesysClient", () => {
    let client: GenesysClient;
    let real: GenesysSimulator;

    beforeEach(async () => {
      real = await startSimulator({ contactListIds: [], dncLists: DNC_LISTS });
      client = new GenesysClient({
        endpoints: resolveEndpoints({ apiBaseUrl: real.apiBaseUrl, loginBaseUrl: real.loginBaseUrl }),
        clientId: real.clients[0]!.clientId,
        clientSecret: real.clients[0]!.clientSecret,
        logger: capturedLogger().logger,
        breaker: { openDurationMs: 100 },
        transientBackoff: { initialDelayMs: 10, maxDelayMs: 50 },
      });
      client.start();
      await client.whenReady();
    });
    afterEach(async () => {
      await client.close();
      await real.close();
    });

    it("adds and removes with expiry, and ends in target-fatal errors for a 403, a 404 and an external list", async () => {
      await client.request({
        method: "PATCH",
        path: `/api/v2/outbound/dnclists/${INTERNAL}/phonenumbers`,
        body: {
          action: "Add",
          phoneNumbers: ["+353851000001", "+353851000002"],
          expirationDateTime: "2099-01-01T00:00Z",
        },
      });
      await client.request({
        method: "PATCH",
        path: `/api/v2/outbound/dnclists/${INTERNAL}/phonenumbers`,
        body: { action: "Remove", phoneNumbers: ["+353851000002"] },
      });
      expect(real.isOnDnc(INTERNAL, "+353851000001")).to.equal(true);
      expect(real.isOnDnc(INTERNAL, "+353851000002")).to.equal(false);
      const refusal = (listId: string) =>
        client
          .request({
            method: "POST",
            path: `/api/v2/outbound/dnclists/${listId}/phonenumbers`,
            body: ["+353851000003"],
          })
          .then(
            () => undefined,
            (error: unknown) => error as GenesysHttpError,
          );
      const external = await refusal(GRYPHON);
      expect(external).to.be.instanceOf(GenesysHttpError);
      expect([external!.status, external!.genesysCode]).to.deep.equal([
        400,
        "dnc.source.operation.not.supported",
      ]);
      real.faults.dncListFailure(INTERNAL, 403, "outbound:dnc:add");
      const forbidden = await refusal(INTERNAL);
      expect([forbidden!.status, forbidden!.genesysCode]).to.deep.equal([403, "missing.permissions"]);
      expect(failureClass(forbidden)).to.equal("target-fatal");
      real.faults.dncListFailure(INTERNAL, 404);
      const gone = await refusal(INTERNAL);
      expect(gone!.status).to.equal(404);
      expect(failureClass(gone)).to.equal("target-fatal");
      real.faults.dncListFailure(INTERNAL, undefined);
      expect(await refusal(INTERNAL)).to.equal(undefined);
      expect(real.isOnDnc(INTERNAL, "+353851000003")).to.equal(true);
    });
  });
});
