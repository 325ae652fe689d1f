import { expect } from "chai";
import { request } from "undici";
import { startSimulator, type GenesysSimulator } from "../../simulator/simulator";
import { FakeClock } from "../support/fake-clock";

/** The simulator must be faithful, not friendly: each case is a fact from genesys-cloud-facts.md. */
describe("Genesys Cloud simulator (real HTTP on loopback)", () => {
  let clock: FakeClock;
  let sim: GenesysSimulator;
  const LIST = "5f0a1e4c-2d7b-4e3a-9c1b-0a1b2c3d4e5f";

  beforeEach(async () => {
    clock = new FakeClock();
    sim = await startSimulator({
      clock,
      tokenLifetimeSeconds: 300,
      contactListIds: [LIST],
      rateLimit: { requestsPerWindow: 300, windowMs: 60_000 },
      tokenRateLimit: { requestsPerWindow: 5, windowMs: 60_000 },
    });
  });
  afterEach(() => sim.close());

  const client = () => sim.clients[0]!;
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;

  async function tokenRequest(
    authorization: string,
    base = sim.loginBaseUrl,
    body = "grant_type=client_credentials",
  ) {
    const response = await request(`${base}/oauth/token`, {
      method: "POST",
      headers: { authorization, "content-type": "application/x-www-form-urlencoded" },
      body,
    });
    return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
  }

  async function token(): Promise<string> {
    const answer = await tokenRequest(basic(client().clientId, client().clientSecret));
    return answer.body.access_token as string;
  }

  async function api(method: string, path: string, bearer?: string, body?: unknown) {
    const response = await request(`${sim.apiBaseUrl}${path}`, {
      method: method as "GET",
      headers: {
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.body.text();
    return {
      status: response.statusCode,
      headers: response.headers,
      body: text ? JSON.parse(text) : undefined,
    };
  }

  describe("login server", () => {
    it("issues a bearer token for Basic client credentials with a form body, and no refresh token", async () => {
      const answer = await tokenRequest(basic(client().clientId, client().clientSecret));
      expect(answer.status).to.equal(200);
      expect(answer.body).to.have.keys(["access_token", "token_type", "expires_in"]);
      expect(answer.body.token_type).to.equal("bearer");
      expect(answer.body.expires_in).to.equal(300);
    });

    it("answers invalid_client for a wrong secret and 'client not found' for an unknown id", async () => {
      const wrong = await tokenRequest(basic(client().clientId, "wrong"));
      expect(wrong.body).to.include({ error: "invalid_client", description: "authentication failed" });
      const unknown = await tokenRequest(basic("nobody", "x"));
      expect(unknown.body).to.include({ error: "invalid_client", description: "client not found" });
    });

    it("throttles token requests with HTTP 400 'rate limit exceeded', not 429", async () => {
      const statuses: number[] = [];
      let last: Record<string, unknown> = {};
      for (let index = 0; index < 6; index += 1) {
        const answer = await tokenRequest(basic(client().clientId, client().clientSecret));
        statuses.push(answer.status);
        last = answer.body;
      }
      expect(statuses).to.deep.equal([200, 200, 200, 200, 200, 400]);
      expect(last.error).to.equal("invalid_request");
      expect(String(last.description)).to.match(/^rate limit exceeded/);
      expect(sim.received.tokenRequests.map((record) => record.outcome).at(-1)).to.equal("throttled");
    });

    it("is a separate host from the API: the API server does not issue tokens at /oauth/token", async () => {
      const response = await request(`${sim.apiBaseUrl}/oauth/token`, {
        method: "POST",
        headers: {
          authorization: basic(client().clientId, client().clientSecret),
          "content-type": "application/x-www-form-urlencoded",
        },
        body: "grant_type=client_credentials",
      });
      expect(response.statusCode).to.equal(401);
      expect(await response.body.json()).not.to.have.property("access_token");
    });

    it("refuses other grants and a JSON body", async () => {
      const auth = basic(client().clientId, client().clientSecret);
      expect((await tokenRequest(auth, sim.loginBaseUrl, "grant_type=password")).body.error).to.equal(
        "unsupported_grant_type",
      );
      const json = await request(`${sim.loginBaseUrl}/oauth/token`, {
        method: "POST",
        headers: { authorization: auth, "content-type": "application/json" },
        body: JSON.stringify({ grant_type: "client_credentials" }),
      });
      expect(json.statusCode).to.equal(400);
      await json.body.dump();
    });
  });

  describe("bearer checks", () => {
    it("answers 401 with Genesys' codes for missing, unknown, expired and revoked tokens", async () => {
      const path = `/api/v2/outbound/contactlists/${LIST}/contacts/bulk`;
      expect((await api("POST", path, undefined, [])).body.code).to.equal("authentication.required");
      expect((await api("POST", path, "made-up", [])).body.code).to.equal("bad.credentials");
      const expiring = await token();
      expect((await api("POST", path, expiring, [])).status).to.equal(200);
      await clock.advance(300_000);
      const expired = await api("POST", path, expiring, []);
      expect([expired.status, expired.body.code]).to.deep.equal([401, "credentials.expired"]);
      const revoked = await token();
      expect((await api("DELETE", "/api/v2/tokens/me", revoked)).status).to.equal(204);
      expect((await api("POST", path, revoked, [])).body.code).to.equal("bad.credentials");
    });
  });

  describe("rate limits", () => {
    it("gives each token its own budget and answers over it with 429, Retry-After and the real body", async () => {
      const [first, second] = [await token(), await token()];
      const path = `/api/v2/outbound/contactlists/${LIST}/contacts/bulk`;
      for (let index = 0; index < 300; index += 1)
        expect((await api("POST", path, first, [String(index)])).status).to.equal(200);
      await clock.advance(18_000);
      const limited = await api("POST", path, first, ["over"]);
      expect(limited.status).to.equal(429);
      expect(limited.headers["retry-after"]).to.equal("42");
      expect(limited.body).to.include({ code: "too.many.requests.retry.after", status: 429 });
      expect(limited.body.message).to.equal(
        "Rate limit exceeded the maximum. Retry the request in [42] seconds",
      );
      expect(limited.body.limit).to.deep.equal({
        key: "token.rate.per.minute",
        namespace: "platform.api",
        value: 300,
      });
      expect((await api("POST", path, second, ["other token"])).status).to.equal(200);
      await clock.advance(42_000);
      expect((await api("POST", path, first, ["over"])).status).to.equal(200);
    });

    it("sends no rate-limit headers on success unless asked to imitate an older deployment", async () => {
      const answer = await api(
        "POST",
        `/api/v2/outbound/contactlists/${LIST}/contacts/bulk`,
        await token(),
        [],
      );
      expect(Object.keys(answer.headers).filter((name) => /ratelimit/i.test(name))).to.deep.equal([]);
      const legacy = await startSimulator({ rateLimitHeaders: "inin", contactListIds: [LIST] });
      try {
        const auth = basic(legacy.clients[0]!.clientId, legacy.clients[0]!.clientSecret);
        const issued = await request(`${legacy.loginBaseUrl}/oauth/token`, {
          method: "POST",
          headers: { authorization: auth, "content-type": "application/x-www-form-urlencoded" },
          body: "grant_type=client_credentials",
        });
        const bearer = ((await issued.body.json()) as { access_token: string }).access_token;
        const response = await request(
          `${legacy.apiBaseUrl}/api/v2/outbound/contactlists/${LIST}/contacts/bulk`,
          {
            method: "POST",
            headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
            body: "[]",
          },
        );
        await response.body.dump();
        expect(response.headers["inin-ratelimit-allowed"]).to.equal("300");
        expect(response.headers["inin-ratelimit-count"]).to.equal("1");
      } finally {
        await legacy.close();
      }
    });

    it("records a request sent again before its Retry-After elapsed", async () => {
      const bearer = await token();
      const path = `/api/v2/outbound/contactlists/${LIST}/contacts/bulk`;
      sim.faults.rateLimitStorm(1, 5);
      expect((await api("POST", path, bearer, ["a"])).status).to.equal(429);
      await clock.advance(2_000);
      await api("POST", path, bearer, ["a"]);
      expect(sim.received.earlyRetries).to.have.length(1);
      expect(sim.received.earlyRetries[0]!.earlyByMs).to.equal(3_000);
      sim.faults.rateLimitStorm(1, 5);
      await api("POST", path, bearer, ["b"]);
      await clock.advance(5_000);
      await api("POST", path, bearer, ["b"]);
      expect(sim.received.earlyRetries).to.have.length(1);
    });
  });

  describe("outbound contact lists", () => {
    it("adds contacts as an upsert by id and reads them back in bulk", async () => {
      const bearer = await token();
      const contacts = [
        { id: "c-1", contactListId: LIST, data: { phone: "+353851234567", name: "Aoife" } },
        { id: "c-2", contactListId: LIST, data: { phone: "+353861234567", name: "Brian" } },
      ];
      const added = await api(
        "POST",
        `/api/v2/outbound/contactlists/${LIST}/contacts?priority=false`,
        bearer,
        contacts,
      );
      expect(added.status).to.equal(200);
      expect(added.body.map((contact: { id: string }) => contact.id)).to.deep.equal(["c-1", "c-2"]);
      await api("POST", `/api/v2/outbound/contactlists/${LIST}/contacts`, bearer, [
        { id: "c-1", data: { phone: "+353851234567", name: "Aoife B" } },
      ]);
      expect(sim.contacts(LIST).size).to.equal(2);
      expect(sim.contacts(LIST).get("c-1")!.data.name).to.equal("Aoife B");
      expect(sim.contacts(LIST).get("c-1")!.writes).to.equal(2);
      const read = await api("POST", `/api/v2/outbound/contactlists/${LIST}/contacts/bulk`, bearer, [
        "c-2",
        "missing",
      ]);
      expect(read.body).to.have.length(1);
      expect(read.body[0].data.name).to.equal("Brian");
    });

    it("refuses more than 1,000 contacts, bodies over 512,000 bytes, and unknown lists", async () => {
      const bearer = await token();
      const tooMany = Array.from({ length: 1_001 }, (_, index) => ({
        id: `c-${index}`,
        data: { phone: "1" },
      }));
      expect(
        (await api("POST", `/api/v2/outbound/contactlists/${LIST}/contacts`, bearer, tooMany)).status,
      ).to.equal(400);
      const big = JSON.stringify([{ id: "big", data: { note: "x".repeat(512_001) } }]);
      const tooLarge = await api("POST", `/api/v2/outbound/contactlists/${LIST}/contacts`, bearer, big);
      expect([tooLarge.status, tooLarge.body.code]).to.deep.equal([413, "request.entity.too.large"]);
      expect((await api("POST", `/api/v2/outbound/contactlists/nope/contacts`, bearer, [])).status).to.equal(
        404,
      );
      expect(sim.contacts(LIST).size).to.equal(0);
    });
  });

  describe("conversation details query", () => {
    it("pages through conversations of the days the interval touches, filtered by contact list", async () => {
      const bearer = await token();
      const base = Date.parse("2026-11-20T09:00:00Z");
      sim.addConversations(
        Array.from({ length: 250 }, (_, index) => ({
          conversationId: `conv-${index}`,
          conversationStart: new Date(base + index * 60_000).toISOString(),
          conversationEnd: new Date(base + index * 60_000 + 30_000).toISOString(),
          participants: [
            {
              sessions: [
                {
                  segments: [
                    {
                      outboundContactListId: index % 5 === 0 ? "other" : LIST,
                      outboundContactId: `c-${index}`,
                    },
                  ],
                },
              ],
            },
          ],
        })),
      );
      const query = (pageNumber: number) =>
        api("POST", "/api/v2/analytics/conversations/details/query", bearer, {
          interval: "2026-11-20T09:00:00Z/2026-11-20T13:00:00Z",
          paging: { pageSize: 100, pageNumber },
          segmentFilters: [{ type: "or", predicates: [{ dimension: "outboundContactListId", value: LIST }] }],
        });
      const pages = [await query(1), await query(2), await query(3)];
      // Like the real API, the conversations that started after 13:00 the same day come too.
      expect(pages.map((page) => page.body.conversations?.length ?? 0)).to.deep.equal([100, 100, 0]);
      expect(pages[0]!.body.totalHits).to.equal(200);
      const nextDay = await api("POST", "/api/v2/analytics/conversations/details/query", bearer, {
        interval: "2026-11-21T00:00:00Z/2026-11-21T01:00:00Z",
        paging: { pageSize: 100, pageNumber: 1 },
      });
      expect(nextDay.body.totalHits, "none touches the next day").to.equal(0);
      const tooBig = await api("POST", "/api/v2/analytics/conversations/details/query", bearer, {
        interval: "2026-11-20T09:00:00Z/2026-11-20T13:00:00Z",
        paging: { pageSize: 500, pageNumber: 1 },
      });
      expect(tooBig.status).to.equal(400);
    });
  });

  describe("faults", () => {
    it("delays answers by the injected latency, on its own clock", async () => {
      const bearer = await token();
      sim.faults.latency(2_000);
      let answered = false;
      const pending = api("POST", `/api/v2/outbound/contactlists/${LIST}/contacts/bulk`, bearer, []).then(
        (answer) => {
          answered = true;
          return answer;
        },
      );
      // Real I/O: wait until the request has reached the simulator before moving its clock.
      while (sim.received.apiRequests < 1) await new Promise((resolve) => setTimeout(resolve, 1));
      await clock.advance(1_999);
      expect(answered).to.equal(false);
      await clock.advance(1);
      expect((await pending).status).to.equal(200);
    });

    it("injects 5xx bursts and connection resets", async () => {
      const bearer = await token();
      const path = `/api/v2/outbound/contactlists/${LIST}/contacts/bulk`;
      sim.faults.serverErrors(2, 502);
      expect((await api("POST", path, bearer, [])).status).to.equal(502);
      expect((await api("POST", path, bearer, [])).status).to.equal(502);
      expect((await api("POST", path, bearer, [])).status).to.equal(200);
      sim.faults.connectionResets(1);
      const reset = await api("POST", path, bearer, []).catch((error: { code?: string }) => error.code);
      expect(reset).to.be.a("string");
      expect(sim.received.resets).to.equal(1);
    });
  });
});
