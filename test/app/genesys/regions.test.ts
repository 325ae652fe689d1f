import { expect } from "chai";
import { ConfigurationError } from "../../../app/src/shared/errors";
import { GENESYS_REGIONS, resolveEndpoints } from "../../../app/src/shared/regions";

describe("Genesys Cloud endpoints", () => {
  it("resolves an AWS region key to api., login. and apps. of its domain", () => {
    expect(resolveEndpoints({ region: "eu-west-1" })).to.deep.equal({
      domain: "mypurecloud.ie",
      apiBaseUrl: "https://api.mypurecloud.ie",
      loginBaseUrl: "https://login.mypurecloud.ie",
      appsBaseUrl: "https://apps.mypurecloud.ie",
    });
  });

  it("derives the bulk upload host like the others, and lets it be overridden", () => {
    expect(resolveEndpoints({ region: "apps.mypurecloud.de" }).appsBaseUrl).to.equal(
      "https://apps.mypurecloud.de",
    );
    expect(
      resolveEndpoints({ region: "eu-west-1", appsBaseUrl: "https://genesys-proxy.corp.example/apps/" })
        .appsBaseUrl,
    ).to.equal("https://genesys-proxy.corp.example/apps");
    // The API overridden: its api. host becomes apps.; a host without api. (the simulator) serves both.
    expect(
      resolveEndpoints({ apiBaseUrl: "https://api.private.example:8443", loginBaseUrl: "https://login.x" })
        .appsBaseUrl,
    ).to.equal("https://apps.private.example:8443");
    expect(
      resolveEndpoints({ apiBaseUrl: "http://127.0.0.1:8080", loginBaseUrl: "http://127.0.0.1:8081" })
        .appsBaseUrl,
    ).to.equal("http://127.0.0.1:8080");
    expect(
      resolveEndpoints({
        region: "eu-west-1",
        apiBaseUrl: "https://10.0.0.5:8443",
        loginBaseUrl: "https://10.0.0.5:8444",
      }).appsBaseUrl,
      "with a region too (the chart always sets one), the simulator in the e2e tier",
    ).to.equal("https://10.0.0.5:8443");
    const error = captureError(() =>
      resolveEndpoints({ region: "eu-west-1", appsBaseUrl: "http://apps.corp.example" }),
    );
    expect(error.message).to.contain("apps (bulk upload) base URL");
  });

  it("accepts a domain, with or without the api. prefix", () => {
    expect(resolveEndpoints({ region: "mypurecloud.com.au" }).loginBaseUrl).to.equal(
      "https://login.mypurecloud.com.au",
    );
    expect(resolveEndpoints({ region: "api.usw2.pure.cloud" }).apiBaseUrl).to.equal(
      "https://api.usw2.pure.cloud",
    );
  });

  it("knows every region of the facts file, sovereign and FedRAMP included", () => {
    expect(Object.keys(GENESYS_REGIONS)).to.have.length(18);
    expect(GENESYS_REGIONS["eusc-de-east-1"]).to.equal("edee1.eusc-pure.cloud");
    expect(GENESYS_REGIONS["us-east-2"]).to.equal("use2.us-gov-pure.cloud");
  });

  it("lets base-URL overrides win over the region (proxies, private endpoints)", () => {
    const endpoints = resolveEndpoints({
      region: "eu-west-1",
      apiBaseUrl: "https://genesys-proxy.corp.example/api/",
      loginBaseUrl: "https://genesys-proxy.corp.example/login",
    });
    expect(endpoints.apiBaseUrl).to.equal("https://genesys-proxy.corp.example/api");
    expect(endpoints.loginBaseUrl).to.equal("https://genesys-proxy.corp.example/login");
    // Uploads follow the overridden API, not the region: they must not bypass the endpoint.
    expect(endpoints.appsBaseUrl).to.equal("https://genesys-proxy.corp.example/api");
  });

  it("rejects an unknown region and lists the valid ones", () => {
    const error = captureError(() => resolveEndpoints({ region: "eu-west-9" }));
    expect(error.message).to.contain('unknown Genesys Cloud region "eu-west-9"');
    expect(error.message).to.contain("eu-west-1");
    expect(error.message).to.contain("ap-southeast-2");
  });

  it("refuses plain http unless the host is loopback", () => {
    expect(
      resolveEndpoints({ apiBaseUrl: "http://127.0.0.1:8080", loginBaseUrl: "http://localhost:8081" })
        .apiBaseUrl,
    ).to.equal("http://127.0.0.1:8080");
    expect(
      resolveEndpoints({ apiBaseUrl: "http://[::1]:1", loginBaseUrl: "http://[::1]:2" }).loginBaseUrl,
    ).to.equal("http://[::1]:2");
    const error = captureError(() =>
      resolveEndpoints({ apiBaseUrl: "http://proxy.corp:8080", loginBaseUrl: "https://login.x" }),
    );
    expect(error.message).to.contain("plain http to a non-loopback host");
  });

  it("reports every problem at once", () => {
    const error = captureError(() =>
      resolveEndpoints({ region: "nowhere", apiBaseUrl: "ftp://x", loginBaseUrl: "not a url" }),
    );
    expect(error.problems).to.have.length(3);
  });

  it("asks for a region when nothing is configured", () => {
    expect(captureError(() => resolveEndpoints({})).message).to.contain("set GENESYS_REGION");
  });
});

function captureError(run: () => unknown): ConfigurationError {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error("expected a ConfigurationError");
}
