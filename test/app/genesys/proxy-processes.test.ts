import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { dataLayout, ensureLayout } from "../../../app/src/shared/layout";
import { startSimulator, type GenesysSimulator } from "../../../simulator/simulator";
import { startConnectProxy, type ConnectProxy } from "../../support/connect-proxy";
import { killAll, serviceEnv, spawnService, waitFor } from "../../support/harness";
import {
  issueServerCertificate,
  makeCertificateAuthority,
  type CertificateAuthority,
} from "../../support/tls";

/**
 * The real service as its own process (NODE_EXTRA_CA_CERTS is read only at process start)
 * against the simulator over HTTPS with a certificate from a private CA, through a real CONNECT
 * proxy: what a pod behind a corporate proxy with TLS inspection or a private Genesys endpoint sees.
 */
describe("the service over HTTPS through a CONNECT proxy, trusting a private CA (child processes)", function () {
  this.timeout(120_000);
  let ca: CertificateAuthority;
  let caFile: string;
  let sim: GenesysSimulator;
  let proxy: ConnectProxy;
  let dataDir: string;
  const children: Array<ReturnType<typeof spawnService>> = [];

  before(async () => {
    ca = await makeCertificateAuthority();
    caFile = path.join(mkdtempSync(path.join(tmpdir(), "ca-")), "ca.crt");
    writeFileSync(caFile, ca.cert);
  });
  beforeEach(async () => {
    const leaf = await issueServerCertificate(ca, { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
    sim = await startSimulator({
      tls: leaf,
      rateLimit: { requestsPerWindow: 100_000, windowMs: 60_000 },
    });
    proxy = await startConnectProxy();
    dataDir = mkdtempSync(path.join(tmpdir(), "proxy-proc-"));
    await ensureLayout(dataLayout(dataDir));
  });
  afterEach(async () => {
    await killAll(children);
    await proxy.close();
    await sim.close();
  });

  const start = (extra: Record<string, string>) => {
    const spawned = spawnService(
      serviceEnv(sim, dataDir, { LOG_LEVEL: "info", HTTPS_PROXY: proxy.url, ...extra }),
    );
    children.push(spawned);
    return spawned;
  };

  it("refuses the simulator's certificate without the CA, saying why and how to trust it", async () => {
    expect(sim.apiBaseUrl).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
    const service = start({});
    await waitFor(() => service.output().includes("token request failed"), "the first token failure");
    const failure = service
      .output()
      .split("\n")
      .find((line) => line.includes("token request failed"))!;
    expect(failure).to.contain("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
    expect(failure).to.contain("give that CA's PEM file in NODE_EXTRA_CA_CERTS");
    expect(sim.tokensIssued()).to.equal(0);
    // The tunnel was open: the refusal is the client's TLS check, not the network path.
    expect(proxy.tunnelsTo(new URL(sim.loginBaseUrl).host)).to.be.at.least(1);
  });

  it("with NODE_EXTRA_CA_CERTS, gets its token and calls the API, every request through the proxy", async () => {
    const service = start({ NODE_EXTRA_CA_CERTS: caFile });
    await waitFor(() => sim.tokensIssued() > 0 && sim.received.apiRequests > 0, "a token and an API call");
    expect(service.output()).not.to.contain("token request failed");
    const targets = new Set(proxy.tunnels.map((tunnel) => tunnel.target));
    expect([...targets].sort()).to.deep.equal(
      [new URL(sim.loginBaseUrl).host, new URL(sim.apiBaseUrl).host].sort(),
    );
    const started = service
      .output()
      .split("\n")
      .find((line) => line.includes('"sync service started"'))!;
    expect(JSON.parse(started).proxy).to.deep.equal({
      https: new URL(proxy.url).host,
      http: "direct",
      noProxy: [],
    });
  });

  it("with NO_PROXY naming the simulator's host, goes direct: no tunnel", async () => {
    start({ NODE_EXTRA_CA_CERTS: caFile, NO_PROXY: "127.0.0.1" });
    await waitFor(() => sim.tokensIssued() > 0 && sim.received.apiRequests > 0, "a token and an API call");
    expect(proxy.tunnels).to.deep.equal([]);
  });
});
