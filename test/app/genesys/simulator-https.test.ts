import { expect } from "chai";
import { Agent, request } from "undici";
import { startSimulator, type GenesysSimulator } from "../../../simulator/simulator";
import { issueServerCertificate, makeCertificateAuthority } from "../../support/tls";

/**
 * The simulator as the e2e tier uses it: HTTPS with a private CA's certificate, reached by a name
 * it advertises, telling which client address made which call (which pod polled, which imported).
 */
describe("Genesys simulator over HTTPS (private CA, advertised host, callers by address)", () => {
  let sim: GenesysSimulator;
  let trusting: Agent;

  beforeEach(async () => {
    const ca = await makeCertificateAuthority();
    const leaf = await issueServerCertificate(ca, { dnsNames: ["localhost"] });
    sim = await startSimulator({ tls: leaf, advertisedHost: "localhost" });
    trusting = new Agent({ connect: { ca: ca.cert } });
  });
  afterEach(async () => {
    await trusting.close();
    await sim.close();
  });

  const token = async () => {
    const { clientId, clientSecret } = sim.clients[0]!;
    const response = await request(`${sim.loginBaseUrl}/oauth/token`, {
      method: "POST",
      dispatcher: trusting,
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: "grant_type=client_credentials",
    });
    return ((await response.body.json()) as { access_token: string }).access_token;
  };

  it("serves both servers over https at the advertised host, with the certificate it was given", async () => {
    expect(sim.loginBaseUrl).to.match(/^https:\/\/localhost:\d+$/);
    expect(sim.apiBaseUrl).to.match(/^https:\/\/localhost:\d+$/);
    const bearer = await token();
    const response = await request(`${sim.apiBaseUrl}/api/v2/ipranges`, {
      dispatcher: trusting,
      headers: { authorization: `Bearer ${bearer}` },
    });
    await response.body.dump();
    expect(response.statusCode).to.equal(200);
  });

  it("refuses a client that does not trust the CA (the TLS handshake fails; nothing is recorded)", async () => {
    const untrusting = new Agent();
    try {
      const failure = await request(`${sim.loginBaseUrl}/oauth/token`, {
        method: "POST",
        dispatcher: untrusting,
      }).then(
        () => undefined,
        (error: unknown) => error as { code?: string },
      );
      expect(failure?.code).to.equal("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
      expect(sim.received.tokenRequests).to.deep.equal([]);
    } finally {
      await untrusting.close();
    }
  });

  it("records each route's callers by address, token requests included", async () => {
    const bearer = await token();
    for (let i = 0; i < 2; i++) {
      const response = await request(`${sim.apiBaseUrl}/api/v2/ipranges`, {
        dispatcher: trusting,
        headers: { authorization: `Bearer ${bearer}` },
      });
      await response.body.dump();
    }
    expect(sim.clientAddresses("POST /oauth/token")).to.deep.equal(["127.0.0.1"]);
    expect(sim.received.clientAddresses.get("GET /api/v2/ipranges")).to.deep.equal(
      new Map([["127.0.0.1", 2]]),
    );
    expect(sim.clientAddresses()).to.deep.equal(["127.0.0.1"]);
    expect(sim.clientAddresses("POST /api/v2/analytics/conversations/details/query")).to.deep.equal([]);
  });
});
