import { expect } from "chai";
import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { generateCsv } from "../../support/contacts";
import { startHarness, waitFor } from "../../support/harness";
import { startOidcProvider } from "../../support/oidc-provider";

/**
 * The operator console end to end, in a real browser: Debian's Chromium driven by playwright-core,
 * against the service (in this process, with the simulator as Genesys Cloud) and a real OpenID
 * provider (oidc-provider) on loopback. Nothing is mocked. A screenshot of the status page is
 * saved to test-artifacts/console.png.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = path.resolve(__dirname, "../../../test-artifacts");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe("operator console in a real browser (Chromium + oidc-provider + simulator)", function () {
  this.timeout(120_000);
  let browser: Browser;
  let provider: Awaited<ReturnType<typeof startOidcProvider>>;
  let harness: Awaited<ReturnType<typeof startHarness>>;
  let base: string;

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    provider = await startOidcProvider({
      clientId: "sync-console",
      clientSecret: "console-client-secret-for-tests",
      redirectUri: `${base}/console/callback`,
      groups: { alice: ["sync-operators", "staff"], bob: ["staff"] },
    });
    harness = await startHarness({
      env: {
        PORT: String(port),
        IMPORT_COLUMNS: "id,phone,firstName,note",
        OIDC_ISSUER_URL: provider.issuer,
        OIDC_CLIENT_ID: "sync-console",
        OIDC_CLIENT_SECRET: "console-client-secret-for-tests",
        OIDC_SCOPES: "openid profile email groups",
        CONSOLE_SESSION_SECRET: "a-session-secret-of-at-least-32-characters",
        CONSOLE_PUBLIC_URL: base,
        CONSOLE_ALLOWED_GROUPS: "sync-operators",
      },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });
  after(async () => {
    await browser?.close();
    await harness?.close();
    await provider?.close();
  });

  async function signIn(context: BrowserContext, login: string): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${base}/console`);
    expect(page.url(), "not signed in: sent to the provider").to.match(new RegExp(`^${provider.issuer}/`));
    await page.fill('input[name="login"]', login);
    await page.fill('input[name="password"]', "any");
    await page.click('button[type="submit"]');
    // The provider asks for consent once per client: "Continue".
    if (page.url().startsWith(provider.issuer)) await page.click('button[type="submit"]');
    await page.waitForURL((url) => !url.href.startsWith(provider.issuer));
    return page;
  }

  it("sign in, see real numbers from a running import, requeue a fixed file, sign out", async () => {
    const context = await browser.newContext();
    // A good file, and one whose header does not match the contact list (refused as a whole).
    const good = generateCsv(2_000, { badEvery: 400 });
    harness.drop("contacts.csv", good.content);
    harness.drop("wrong-columns.csv", "id,fullname,phone\nw-1,Wanda,+353 85 123 4567\n");
    await waitFor(() => harness.list("archive").some((name) => name.endsWith("contacts.csv")), "the import");
    await waitFor(
      () => harness.list("rejects").some((name) => name.endsWith("wrong-columns.csv")),
      "the refusal",
    );

    const page = await signIn(context, "alice");
    expect(page.url()).to.equal(`${base}/console`);
    expect(await page.textContent('[data-testid="user"]')).to.equal("alice@example.com");
    // The callback's query carried the one-time code and the state: the access log keeps the path.
    expect(harness.capture.text()).to.contain('"url":"/console/callback"');
    expect(harness.capture.text()).not.to.match(/console\/callback\?/);
    expect(await page.textContent('[data-testid="token-state"]')).to.equal("valid");
    expect(await page.textContent('[data-testid="breaker"]')).to.equal("closed");
    expect(await page.textContent('[data-testid="archive-count"]')).to.equal("1");
    expect(await page.textContent('[data-testid="rejected-count"]')).to.equal("1");
    const synced = harness.sim.contacts().size;
    expect(synced).to.equal(good.goodIds.length);
    expect(await page.textContent("body")).to.contain(`${synced} synced`);
    expect(await page.textContent('[data-testid="last-window"]')).to.match(/conversations \(query\)/);
    expect(await page.isVisible('[data-testid="rate-chart"]')).to.equal(true);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, "console.png"), fullPage: true });

    // Fix the refused file where it lies, then requeue it from the console.
    const [refused] = harness.list("rejects").filter((name) => name.endsWith("-wrong-columns.csv"));
    writeFileSync(
      path.join(harness.dataDir, "rejects", refused!),
      "id,phone,firstName,note\nw-1,+353 85 123 4567,Wanda,fixed\n",
    );
    await page.click('[data-testid="rejected"] button');
    if (!(await page.isVisible('[data-testid="notice"]')))
      throw new Error((await page.textContent("body")) ?? "");
    expect(await page.textContent('[data-testid="notice"]')).to.contain("back in inbox/");
    await waitFor(() => harness.sim.contacts().has("w-1"), "the requeued file to be imported");
    expect(harness.capture.text()).to.match(/"action":"requeue","by":\{"user":"alice@example.com"/);

    // Pause and resume the import.
    await page.click('text="Pause import"');
    expect(await page.isVisible('[data-testid="import-paused"]')).to.equal(true);
    expect(harness.service.importer.status().paused).to.equal(true);
    expect(harness.capture.text()).to.match(/"action":"pause-import","by":\{"user":"alice@example.com"/);
    await page.click('text="Resume import"');
    expect(harness.service.importer.status().paused).to.equal(false);

    await page.click('text="Sign out"');
    expect(await page.textContent('[data-testid="title"]')).to.equal("Signed out");
    const cookies = await context.cookies(`${base}/console`);
    expect(cookies.map((cookie) => cookie.name)).not.to.include("sync_console");
    // The provider still has its own session (single sign-on), so a browser would come straight
    // back; what matters is that the console itself sends it to the provider.
    const again = await page.request.get(`${base}/console`, { maxRedirects: 0 });
    expect(again.status()).to.equal(302);
    expect(again.headers().location, "signed out: sent to the provider again").to.match(
      new RegExp(`^${provider.issuer}/`),
    );
    await context.close();
  });

  it("a user outside the allowed group gets 403", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const responses: number[] = [];
    page.on("response", (response) => {
      if (response.url().startsWith(`${base}/console/callback`)) responses.push(response.status());
    });
    await page.goto(`${base}/console`);
    await page.fill('input[name="login"]', "bob");
    await page.fill('input[name="password"]', "any");
    await page.click('button[type="submit"]');
    if (page.url().startsWith(provider.issuer)) await page.click('button[type="submit"]');
    await page.waitForURL((url) => url.href.startsWith(`${base}/console/callback`));
    expect(responses).to.deep.equal([403]);
    expect(await page.textContent('[data-testid="title"]')).to.equal("Not allowed");
    expect((await context.cookies(`${base}/console`)).map((cookie) => cookie.name)).not.to.include(
      "sync_console",
    );
    await context.close();
  });

  it("the session cookie is Secure, HttpOnly and SameSite=Lax; a tampered one is refused", async () => {
    const context = await browser.newContext();
    await signIn(context, "alice");
    const session = (await context.cookies(`${base}/console`)).find(
      (cookie) => cookie.name === "sync_console",
    )!;
    expect(session).to.include({ secure: true, httpOnly: true, sameSite: "Lax", path: "/console" });
    const value = session.value;
    const flipped = value.slice(0, 20) + (value[20] === "A" ? "B" : "A") + value.slice(21);
    await context.addCookies([{ ...session, value: flipped }]);
    const page = await context.newPage();
    const answer = await page.request.get(`${base}/console`, { maxRedirects: 0 });
    expect(answer.status()).to.equal(302);
    expect(answer.headers().location, "refused: sent to sign in again").to.match(
      new RegExp(`^${provider.issuer}/`),
    );
    expect(harness.capture.text()).to.contain("a session cookie was refused");
    await context.close();
  });

  it("an action without the CSRF token, or from another origin, is refused", async () => {
    const context = await browser.newContext();
    const page = await signIn(context, "alice");
    const noToken = await page.request.post(`${base}/console/actions/pause-import`, { form: { file: "x" } });
    expect(noToken.status()).to.equal(403);
    expect(await noToken.text()).to.contain("missing or wrong CSRF token");
    const csrf = await page.getAttribute('input[name="csrf"]', "value");
    const wrong = await page.request.post(`${base}/console/actions/pause-import`, {
      form: { csrf: "guess" },
    });
    expect(wrong.status()).to.equal(403);
    const crossSite = await page.request.post(`${base}/console/actions/pause-import`, {
      form: { csrf: csrf! },
      headers: { origin: "https://evil.example" },
    });
    expect(crossSite.status()).to.equal(403);
    expect(harness.service.importer.status().paused, "nothing was paused").to.equal(false);
    const allowed = await page.request.post(`${base}/console/actions/pause-import`, {
      form: { csrf: csrf! },
      headers: { origin: base },
      maxRedirects: 0,
    });
    expect(allowed.status()).to.equal(303);
    expect(harness.service.importer.status().paused).to.equal(true);
    harness.service.importer.resume();
    await context.close();
  });
});
