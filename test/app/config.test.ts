import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "../../app/src/config";
import { ConfigurationError } from "../../app/src/genesys/errors";

const BASE = {
  GENESYS_REGION: "eu-west-1",
  GENESYS_CLIENT_ID: "client-id",
  GENESYS_CLIENT_SECRET: "a-secret-value-123",
  GENESYS_CONTACT_LIST_ID: "list-id",
  SYNC_DATA_DIR: "/data",
};

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigurationError);
    return [...(error as ConfigurationError).problems];
  }
  throw new Error("expected a ConfigurationError");
}

describe("service configuration from the environment", () => {
  it("fills the defaults of the contract", () => {
    const config = loadConfig(BASE);
    expect(config.endpoints.loginBaseUrl).to.equal("https://login.mypurecloud.ie");
    expect(config).to.include({
      port: 8080,
      tokenRefreshBufferSeconds: 60,
      pollingIntervalSeconds: 300,
      dataDir: "/data",
    });
    expect(config.rateLimit).to.deep.equal({ requestsPerWindow: 300, windowMs: 60_000 });
    expect(config.import.phoneColumns).to.deep.equal(["phone"]);
  });

  it("reads the client secret from GENESYS_CLIENT_SECRET_FILE (a mounted Secret)", () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "secret-")), "client-secret");
    writeFileSync(file, "from-the-file\n");
    const { GENESYS_CLIENT_SECRET: _omitted, ...rest } = BASE;
    expect(loadConfig({ ...rest, GENESYS_CLIENT_SECRET_FILE: file }).clientSecret).to.equal("from-the-file");
    expect(problems({ ...rest, GENESYS_CLIENT_SECRET_FILE: "/nope/missing" }).join("\n")).to.contain(
      "cannot be read (ENOENT)",
    );
    expect(problems({ ...BASE, GENESYS_CLIENT_SECRET_FILE: file }).join("\n")).to.contain("keep one");
  });

  it("reports every problem at once, each naming the fix, and never a value", () => {
    const found = problems({
      GENESYS_REGION: "mars-1",
      GENESYS_CLIENT_SECRET: "do-not-print-me",
      PORT: "http",
      TOKEN_REFRESH_BUFFER_SECONDS: "-5",
      IMPORT_DEFAULT_COUNTRY: "ireland",
      IMPORT_COLUMNS: "name,email",
    });
    const text = found.join("\n");
    expect(text).to.contain('unknown Genesys Cloud region "mars-1"');
    expect(text).to.contain("GENESYS_CLIENT_ID is required");
    expect(text).to.contain("GENESYS_CONTACT_LIST_ID is required");
    expect(text).to.contain("SYNC_DATA_DIR is required");
    expect(text).to.contain("PORT must be");
    expect(text).to.contain("TOKEN_REFRESH_BUFFER_SECONDS must not be negative");
    expect(text).to.contain("two-letter ISO 3166 code");
    expect(text).to.contain('IMPORT_COLUMNS does not list "id"');
    expect(found.length).to.be.at.least(8);
    expect(text).not.to.contain("do-not-print-me");
  });

  it("refuses plain http to a remote Genesys endpoint", () => {
    expect(problems({ ...BASE, GENESYS_API_BASE_URL: "http://proxy.corp:8080" }).join("\n")).to.contain(
      "plain http",
    );
  });
});
