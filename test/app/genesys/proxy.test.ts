import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import net, { type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { ProxyAgent, request } from "undici";
import { addContacts } from "../../../app/src/genesys/api";
import { GenesysClient } from "../../../app/src/genesys/client";
import { genesysDispatcher, type ProxySettings } from "../../../app/src/genesys/dispatcher";
import { resolveEndpoints } from "../../../app/src/shared/regions";
import { startSimulator, type GenesysSimulator } from "../../../simulator/simulator";
import { capturedLogger } from "../../support/capture";
import { startConnectProxy, type ConnectProxy } from "../../support/connect-proxy";
import { FakeLeaseApi } from "../../support/fake-lease-api";
import { startHarness, waitFor } from "../../support/harness";

/**
 * Genesys traffic behind a corporate network path, in this process: the simulator (plain HTTP
 * on loopback) and a real HTTP CONNECT proxy that records every tunnel. undici tunnels http://
 * targets too, so these show the routing; HTTPS through the proxy with a private CA needs
 * NODE_EXTRA_CA_CERTS at process start and is in proxy-processes.test.ts.
 */
describe("Genesys requests through a forward proxy (real CONNECT proxy, simulator on loopback)", function () {
  this.timeout(60_000);
  let sim: GenesysSimulator;
  let proxy: ConnectProxy;
  let client: GenesysClient | undefined;

  beforeEach(async () => {
    sim = await startSimulator({ rateLimit: { requestsPerWindow: 100_000, windowMs: 60_000 } });
    proxy = await startConnectProxy();
  });
  afterEach(async () => {
    await client?.close();
    client = undefined;
    await proxy.close();
    await sim.close();
  });

  const loginHost = () => new URL(sim.loginBaseUrl).host;
  const apiHost = () => new URL(sim.apiBaseUrl).host;
  /** As config.ts gives it for HTTP_PROXY alone (https falls back to it). */
  const viaProxy = (noProxy: readonly string[] = []): ProxySettings => ({
    httpsProxy: proxy.url,
    httpProxy: proxy.url,
    noProxy,
  });
  const startClient = (proxySettings: ProxySettings) => {
    client = new GenesysClient({
      endpoints: resolveEndpoints({ apiBaseUrl: sim.apiBaseUrl, loginBaseUrl: sim.loginBaseUrl }),
      clientId: sim.clients[0]!.clientId,
      clientSecret: sim.clients[0]!.clientSecret,
      proxy: proxySettings,
      logger: capturedLogger("debug").logger,
    });
    client.start();
    return client;
  };
  const addOne = (genesys: GenesysClient) =>
    addContacts(genesys, sim.contactListIds[0]!, [
      { id: "c-1", contactListId: sim.contactListIds[0]!, data: { phone: "+353850000001" } },
    ]);

  it("fetches the token and calls the API through the proxy: tunnels to the login and the API host:port", async () => {
    const genesys = startClient(viaProxy());
    await genesys.whenReady();
    await addOne(genesys);
    expect(sim.tokensIssued()).to.equal(1);
    expect(sim.contacts().size).to.equal(1);
    expect(proxy.tunnels.map((tunnel) => tunnel.target).sort()).to.deep.equal(
      [apiHost(), loginHost()].sort(),
    );
    // On loopback the simulator sees the proxy as its caller; what matters is that it saw the calls.
    expect(sim.clientAddresses("POST /oauth/token")).to.deep.equal(["127.0.0.1"]);
  });

  it("goes direct to hosts in NO_PROXY: no tunnel at all", async () => {
    const genesys = startClient(viaProxy(["127.0.0.1"]));
    await genesys.whenReady();
    await addOne(genesys);
    expect(sim.contacts().size).to.equal(1);
    expect(proxy.tunnels).to.deep.equal([]);
  });

  it("matches a NO_PROXY host:port entry on the port: the login server direct, the API through the proxy", async () => {
    const genesys = startClient(viaProxy([loginHost()]));
    await genesys.whenReady();
    await addOne(genesys);
    expect(proxy.tunnels.map((tunnel) => tunnel.target)).to.deep.equal([apiHost()]);
  });

  it("reports a refused tunnel as the proxy's refusal, with the fix, and keeps trying", async () => {
    await proxy.close();
    proxy = await startConnectProxy({ allow: [apiHost()] });
    const genesys = startClient(viaProxy());
    await waitFor(() => genesys.state().tokens[0]!.lastError !== undefined, "the first token failure");
    const lastError = genesys.state().tokens[0]!.lastError!;
    expect(lastError).to.contain("Proxy response (403)");
    expect(lastError).to.contain("allow this host and port on the proxy, or list the host in NO_PROXY");
    expect(genesys.hasValidToken()).to.equal(false);
    expect(proxy.tunnels[0]).to.deep.include({ target: loginHost(), allowed: false });
  });

  it("gives up on a proxy that accepts the connection but never answers CONNECT within the connect timeout", async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const dispatcher = genesysDispatcher(
      { httpsProxy: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, noProxy: [] },
      300,
    );
    const startedAt = Date.now();
    try {
      const failure = await request("https://login.mypurecloud.ie/oauth/token", { dispatcher }).then(
        () => undefined,
        (error: unknown) => error as { code?: string },
      );
      // Without a bound, undici waits 300 s for the CONNECT answer; the request's own timeouts start later.
      expect(failure?.code).to.equal("UND_ERR_HEADERS_TIMEOUT");
      expect(Date.now() - startedAt).to.be.below(5_000);
    } finally {
      await dispatcher.destroy();
      silent.close();
    }
  });

  it("the test proxy also forwards absolute-URI requests (HTTP_PROXY without CONNECT, as curl sends them)", async () => {
    const plain = new ProxyAgent({ uri: proxy.url, proxyTunnel: false });
    try {
      const response = await request(`${sim.apiBaseUrl}/api/v2/ipranges`, { dispatcher: plain });
      await response.body.dump();
      expect(response.statusCode, "the simulator's answer to a call without a token").to.equal(401);
      expect(proxy.forwarded.map((entry) => entry.url)).to.deep.equal([`${sim.apiBaseUrl}/api/v2/ipranges`]);
      expect(proxy.tunnels).to.deep.equal([]);
    } finally {
      await plain.close();
    }
  });

  it("the service sends Genesys traffic through HTTP_PROXY, logs the proxy as host:port, and keeps the Lease API off it", async () => {
    const TOKEN = "service-account-token";
    const lease = await new FakeLeaseApi(TOKEN).start();
    const saDir = mkdtempSync(path.join(tmpdir(), "sa-"));
    writeFileSync(path.join(saDir, "token"), TOKEN);
    await sim.close();
    const harness = await startHarness({
      env: {
        HTTP_PROXY: proxy.url,
        NO_PROXY: "metadata.internal",
        LEADER_ELECTION_ENABLED: "true",
        LEADER_ELECTION_API_URL: lease.url,
        LEADER_ELECTION_SERVICE_ACCOUNT_DIR: saDir,
        POD_NAME: "pod-a",
        POD_NAMESPACE: "sync",
      },
    });
    sim = harness.sim;
    try {
      await harness.service.client.whenReady();
      await waitFor(() => lease.writes.length > 0, "the Lease taken");
      expect(proxy.tunnelsTo(new URL(sim.loginBaseUrl).host)).to.equal(1);
      expect(proxy.tunnelsTo(new URL(lease.url).host), "leader election goes direct").to.equal(0);
      const started = harness.capture.lines
        .map((line) => JSON.parse(line) as { msg: string; proxy?: unknown })
        .find((line) => line.msg === "sync service started");
      const { port } = new URL(proxy.url);
      expect(started?.proxy).to.deep.equal({
        https: `127.0.0.1:${port}`,
        http: `127.0.0.1:${port}`,
        noProxy: ["metadata.internal"],
      });
    } finally {
      await harness.service.shutdown();
      await lease.close();
    }
  });
});
