import { expect } from "chai";
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig, loadConfigAndDataDir } from "../../app/src/config";
import { ConfigurationError } from "../../app/src/shared/errors";
import { SETTINGS, type SettingDescriptor } from "../../app/src/shared/settings";
import { killAll, spawnService } from "../support/harness";

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
    expect(text).to.contain("TOKEN_REFRESH_BUFFER_SECONDS must be at least 30");
    expect(text).to.contain("two-letter ISO 3166 code");
    expect(text).to.contain('IMPORT_COLUMNS does not list "id"');
    expect(found.length).to.be.at.least(8);
    expect(text).not.to.contain("do-not-print-me");
  });

  it("lists the problems between settings together with the settings that do not parse", () => {
    const text = problems({
      ...BASE,
      GENESYS_TOKEN_POOL_SIZE: "abc",
      WEBHOOK_MAX_BODY_BYTES: "abc",
      WEBHOOK_USERNAME: "genesys",
      WEBHOOK_PASSWORD: "short-pass",
      LEADER_ELECTION_ENABLED: "true",
      LEADER_ELECTION_API_URL: "http://127.0.0.1:8001",
      POD_NAMESPACE: "sync",
      LEADER_ELECTION_LEASE_DURATION_SECONDS: "10",
      LEADER_ELECTION_RENEW_DEADLINE_SECONDS: "10",
      OIDC_ISSUER_URL: "http://login.example.com",
      CONSOLE_SESSION_HOURS: "abc",
      HTTPS_PROXY: "socks5://proxy.corp:1080",
    }).join("\n");
    expect(text).to.contain("GENESYS_TOKEN_POOL_SIZE must be");
    expect(text).to.contain("WEBHOOK_MAX_BODY_BYTES must be");
    expect(text).to.contain("CONSOLE_SESSION_HOURS must be");
    expect(text).to.contain("WEBHOOK_PASSWORD is shorter than 16 characters");
    expect(text).to.contain("RENEW_DEADLINE_SECONDS must be shorter");
    expect(text).to.contain("OIDC_ISSUER_URL must be https");
    expect(text).to.contain("OIDC_CLIENT_ID is required for the console");
    expect(text).to.contain("HTTPS_PROXY must start with http:// or https://");
    expect(text).not.to.contain("short-pass");
  });

  it("checks a rule between settings only once the settings it reads are valid, so it never misleads", () => {
    const found = problems({ ...BASE, OIDC_ISSUER_URL: "not a url", OIDC_CLIENT_ID: "sync-console" });
    expect(found).to.deep.equal(["OIDC_ISSUER_URL must be the identity provider's issuer URL"]);
    const timing = problems({
      ...BASE,
      LEADER_ELECTION_ENABLED: "true",
      LEADER_ELECTION_API_URL: "http://127.0.0.1:8001",
      POD_NAMESPACE: "sync",
      LEADER_ELECTION_RENEW_DEADLINE_SECONDS: "1.5",
    });
    expect(timing).to.have.length(1);
    expect(timing[0]).to.match(/^LEADER_ELECTION_RENEW_DEADLINE_SECONDS must be a whole number/);
  });

  it("reads numbers only as plain decimals, and says which form without echoing the value", () => {
    for (const written of ["0x10", "1e1", " 4 ", "4.0", "+4", "4_000", "Infinity"]) {
      const found = problems({ ...BASE, GENESYS_TOKEN_POOL_SIZE: written });
      expect(found, written).to.deep.equal([
        "GENESYS_TOKEN_POOL_SIZE must be a whole number in plain decimal digits, such as 1",
      ]);
    }
    for (const written of ["0x40", "1e2", " 45 ", "45.", ".5", "NaN"]) {
      const found = problems({ ...BASE, TOKEN_REFRESH_BUFFER_SECONDS: written });
      expect(found, written).to.deep.equal([
        "TOKEN_REFRESH_BUFFER_SECONDS must be a plain decimal number (digits, an optional fraction after a dot), such as 60",
      ]);
    }
    expect(loadConfig({ ...BASE, GENESYS_TOKEN_POOL_SIZE: "16" }).tokenPoolSize).to.equal(16);
    expect(loadConfig({ ...BASE, TOKEN_REFRESH_BUFFER_SECONDS: "45.5" }).tokenRefreshBufferSeconds).to.equal(
      45.5,
    );
    expect(problems({ ...BASE, PORT: "-1" })).to.deep.equal(["PORT must be at least 0 (not negative)"]);
  });

  it("bounds the rows listed in one file's rejects report (IMPORT_MAX_REJECTED_ROWS)", () => {
    expect(loadConfig(BASE).import.maxRejectedRows).to.equal(50_000);
    expect(loadConfig({ ...BASE, IMPORT_MAX_REJECTED_ROWS: "20" }).import.maxRejectedRows).to.equal(20);
    expect(problems({ ...BASE, IMPORT_MAX_REJECTED_ROWS: "0" })).to.deep.equal([
      "IMPORT_MAX_REJECTED_ROWS must be at least 1",
    ]);
  });

  it("passes every rate-limit setting to the client, the safety margin included", () => {
    const config = loadConfig({
      ...BASE,
      GENESYS_RATE_LIMIT_PER_WINDOW: "120",
      GENESYS_RATE_LIMIT_WINDOW_MS: "30000",
      GENESYS_RATE_LIMIT_MARGIN_MS: "400",
    });
    expect(config.rateLimit).to.deep.equal({ requestsPerWindow: 120, windowMs: 30_000, safetyMarginMs: 400 });
    expect(loadConfig(BASE).rateLimit).to.deep.equal({ requestsPerWindow: 300, windowMs: 60_000 });
  });

  it("takes each setting's bounds from its descriptor", () => {
    for (const setting of SETTINGS as readonly SettingDescriptor[]) {
      if (setting.type !== "integer" && setting.type !== "number") continue;
      if (setting.min !== undefined && !setting.exclusiveMin)
        expect(problems({ ...BASE, [setting.env]: String(setting.min - 1) }).join("\n")).to.contain(
          `${setting.env} must be at least ${setting.min}`,
        );
      if (setting.max !== undefined)
        expect(problems({ ...BASE, [setting.env]: String(setting.max + 1) }).join("\n")).to.contain(
          `${setting.env} must be at most ${setting.max}`,
        );
    }
  });

  it("refuses plain http to a remote Genesys endpoint", () => {
    expect(problems({ ...BASE, GENESYS_API_BASE_URL: "http://proxy.corp:8080" }).join("\n")).to.contain(
      "plain http",
    );
  });

  describe("the data directory (SYNC_DATA_DIR)", () => {
    const aFile = () => {
      const file = path.join(mkdtempSync(path.join(tmpdir(), "data-dir-")), "regular-file");
      writeFileSync(file, "not a directory");
      return file;
    };

    it("creates the layout under a directory", async () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), "data-dir-"));
      expect((await loadConfigAndDataDir({ ...BASE, SYNC_DATA_DIR: dataDir })).dataDir).to.equal(dataDir);
      expect(statSync(path.join(dataDir, "inbox", "bulk")).isDirectory()).to.equal(true);
    });

    it("refuses a regular file, or a place no directory can be made, naming the setting and the fix", async () => {
      const file = aFile();
      const refused = async (env: Record<string, string>) => {
        try {
          await loadConfigAndDataDir(env);
        } catch (error) {
          expect(error).to.be.instanceOf(ConfigurationError);
          return (error as ConfigurationError).problems.join("\n");
        }
        throw new Error("expected a ConfigurationError");
      };
      const isFile = await refused({ ...BASE, SYNC_DATA_DIR: file });
      expect(isFile).to.contain(`SYNC_DATA_DIR names ${file}, which is a file, not a directory`);
      expect(isFile).to.contain("point SYNC_DATA_DIR at the shared volume's mount path");
      const under = await refused({ ...BASE, SYNC_DATA_DIR: path.join(file, "data") });
      expect(under).to.contain(`SYNC_DATA_DIR names ${path.join(file, "data")}, which cannot be created`);
      // Listed with the settings' own problems, in one go.
      const both = await refused({ ...BASE, SYNC_DATA_DIR: file, PORT: "http" });
      expect(both).to.contain("PORT must be");
      expect(both).to.contain("which is a file, not a directory");
    });

    it("exits 78 with the problem, not a stack trace, when the service is started on a regular file", async function () {
      this.timeout(60_000);
      const children: Array<ReturnType<typeof spawnService>> = [];
      try {
        const file = aFile();
        const started = spawnService({ ...BASE, SYNC_DATA_DIR: file, LOG_LEVEL: "info" });
        children.push(started);
        expect(await started.exited, started.output()).to.equal(78);
        expect(started.output()).to.contain("which is a file, not a directory");
        expect(started.output()).not.to.match(/\n\s+at /);
      } finally {
        await killAll(children);
      }
    });
  });

  describe("results export, webhook and leader election", () => {
    it("exports the import's list by default, and polls alone outside a cluster", () => {
      const config = loadConfig(BASE);
      expect(config.export).to.deep.include({
        enabled: true,
        contactListIds: ["list-id"],
        overlapSeconds: 900,
      });
      expect(config.webhook, "no credentials: the webhook is off").to.equal(undefined);
      expect(config.leaderElection).to.equal(undefined);
    });

    it("turns the webhook on with both credentials, the password possibly from a mounted file", () => {
      const file = path.join(mkdtempSync(path.join(tmpdir(), "secret-")), "webhook-password");
      writeFileSync(file, "a-long-random-webhook-password\n");
      const config = loadConfig({ ...BASE, WEBHOOK_USERNAME: "genesys", WEBHOOK_PASSWORD_FILE: file });
      expect(config.webhook).to.deep.include({
        username: "genesys",
        password: "a-long-random-webhook-password",
      });
      expect(problems({ ...BASE, WEBHOOK_USERNAME: "genesys" }).join("\n")).to.contain(
        "WEBHOOK_PASSWORD is missing",
      );
      const short = problems({ ...BASE, WEBHOOK_USERNAME: "genesys", WEBHOOK_PASSWORD: "hunter2" }).join(
        "\n",
      );
      expect(short).to.contain("shorter than 16 characters");
      expect(short).not.to.contain("hunter2");
    });

    it("leader election needs a Kubernetes API and sane durations, and says how to fix each", () => {
      const saDir = mkdtempSync(path.join(tmpdir(), "sa-"));
      const text = problems({
        ...BASE,
        LEADER_ELECTION_ENABLED: "true",
        LEADER_ELECTION_SERVICE_ACCOUNT_DIR: saDir,
        LEADER_ELECTION_LEASE_DURATION_SECONDS: "10",
        LEADER_ELECTION_RENEW_DEADLINE_SECONDS: "10",
      }).join("\n");
      expect(text).to.contain("no Kubernetes API is known");
      expect(text).to.contain("POD_NAMESPACE is not set");
      expect(text).to.contain("RENEW_DEADLINE_SECONDS must be shorter");
      expect(problems({ ...BASE, LEADER_ELECTION_ENABLED: "yes" }).join("\n")).to.contain(
        "LEADER_ELECTION_ENABLED must be true or false",
      );
      // In a pod: the API from KUBERNETES_SERVICE_HOST, the namespace from the service account.
      writeFileSync(path.join(saDir, "namespace"), "sync\n");
      const inPod = loadConfig({
        ...BASE,
        LEADER_ELECTION_ENABLED: "true",
        LEADER_ELECTION_SERVICE_ACCOUNT_DIR: saDir,
        KUBERNETES_SERVICE_HOST: "10.96.0.1",
        KUBERNETES_SERVICE_PORT: "443",
        POD_NAME: "sync-7d9f-abcde",
      });
      expect(inPod.leaderElection).to.deep.include({
        apiUrl: "https://10.96.0.1:443",
        namespace: "sync",
        identity: "sync-7d9f-abcde",
        leaseName: "genesys-sync-poller",
      });
    });
  });

  describe("operator console", () => {
    const CONSOLE = {
      OIDC_ISSUER_URL: "https://login.example.com/realms/ops",
      OIDC_CLIENT_ID: "sync-console",
      OIDC_CLIENT_SECRET: "oidc-client-secret-value",
      CONSOLE_SESSION_SECRET: "a-session-secret-of-at-least-32-characters",
      CONSOLE_PUBLIC_URL: "https://sync.example.com",
      CONSOLE_ALLOWED_GROUPS: "sync-operators, contact-centre-admins",
    };

    it("is off without OIDC, and on with every setting", () => {
      expect(loadConfig(BASE).console).to.equal(undefined);
      expect(loadConfig({ ...BASE, ...CONSOLE }).console).to.deep.include({
        groupsClaim: "groups",
        allowedGroups: ["sync-operators", "contact-centre-admins"],
        sessionHours: 8,
      });
    });

    it("names each missing or unsafe setting, and never a secret", () => {
      const text = problems({
        ...BASE,
        OIDC_ISSUER_URL: "http://login.example.com",
        CONSOLE_SESSION_SECRET: "too-short-secret",
        CONSOLE_PUBLIC_URL: "http://sync.example.com",
      }).join("\n");
      expect(text).to.contain("OIDC_CLIENT_ID is required");
      expect(text).to.contain("OIDC_CLIENT_SECRET (or OIDC_CLIENT_SECRET_FILE) is required");
      expect(text).to.contain("CONSOLE_SESSION_SECRET is shorter than 32 characters");
      expect(text).to.contain("CONSOLE_PUBLIC_URL must be https");
      expect(text).to.contain("OIDC_ISSUER_URL must be https");
      expect(text).to.contain("CONSOLE_ALLOWED_GROUPS is required");
      expect(text).not.to.contain("too-short-secret");
      expect(problems({ ...BASE, OIDC_CLIENT_ID: "x" }).join("\n")).to.contain("OIDC_ISSUER_URL is not");
    });
  });

  describe("forward proxy for Genesys Cloud (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)", () => {
    it("is off without a proxy variable, and NO_PROXY alone changes nothing", () => {
      expect(loadConfig(BASE).proxy).to.equal(undefined);
      expect(loadConfig({ ...BASE, NO_PROXY: "example.com" }).proxy).to.equal(undefined);
    });

    it("reads the proxy in either case and splits NO_PROXY on commas and spaces", () => {
      expect(
        loadConfig({
          ...BASE,
          HTTPS_PROXY: "http://proxy.corp:3128",
          NO_PROXY: " .svc, .cluster.local  login.mypurecloud.ie:443,",
        }).proxy,
      ).to.deep.equal({
        httpsProxy: "http://proxy.corp:3128",
        httpProxy: undefined,
        noProxy: [".svc", ".cluster.local", "login.mypurecloud.ie:443"],
      });
      expect(loadConfig({ ...BASE, https_proxy: "https://proxy.corp", no_proxy: "*" }).proxy).to.deep.include(
        {
          httpsProxy: "https://proxy.corp",
          noProxy: ["*"],
        },
      );
    });

    it("sends https through HTTP_PROXY when HTTPS_PROXY is unset (undici's rule), and says so in the settings", () => {
      expect(loadConfig({ ...BASE, HTTP_PROXY: "http://proxy.corp:8080" }).proxy).to.deep.equal({
        httpsProxy: "http://proxy.corp:8080",
        httpProxy: "http://proxy.corp:8080",
        noProxy: [],
      });
    });

    it("refuses a proxy URL with credentials, naming the variable and the fix, never the password", () => {
      const found = problems({ ...BASE, HTTPS_PROXY: "http://svc-sync:Hunter2-secret@proxy.corp:3128" });
      expect(found).to.have.length(1);
      expect(found[0]).to.match(/^HTTPS_PROXY must not carry credentials/);
      expect(found[0]).to.contain("remove them");
      const text = found.join("\n");
      expect(text).not.to.contain("Hunter2-secret");
      expect(text).not.to.contain("svc-sync");
    });

    it("refuses a scheme other than http or https, and a value that is not a URL, without echoing it", () => {
      const socks = problems({ ...BASE, https_proxy: "socks5://user:pw-socks@proxy.corp:1080" });
      expect(socks.join("\n")).to.contain("https_proxy must start with http:// or https://");
      expect(socks.join("\n")).not.to.contain("pw-socks");
      // Without a scheme, "user:password@host" parses as a URL whose scheme is "user:".
      const bare = problems({ ...BASE, HTTP_PROXY: "sync:pw-bare@proxy.corp:3128" });
      expect(bare.join("\n")).to.contain("HTTP_PROXY must start with http:// or https://");
      expect(bare.join("\n")).to.contain("http://proxy.example.com:3128");
      expect(bare.join("\n")).not.to.contain("pw-bare");
      expect(problems({ ...BASE, HTTPS_PROXY: "proxy corp" }).join("\n")).to.contain(
        "HTTPS_PROXY is not a URL: write it with its scheme",
      );
    });

    it("refuses the upper- and lower-case variables set to different proxies", () => {
      const found = problems({
        ...BASE,
        HTTPS_PROXY: "http://proxy-a.corp:3128",
        https_proxy: "http://proxy-b.corp:3128",
      });
      expect(found.join("\n")).to.contain(
        "https_proxy and HTTPS_PROXY are both set, to different values: keep one",
      );
      expect(
        loadConfig({ ...BASE, HTTPS_PROXY: "http://proxy.corp:3128", https_proxy: "http://proxy.corp:3128" })
          .proxy?.httpsProxy,
      ).to.equal("http://proxy.corp:3128");
    });
  });
});
