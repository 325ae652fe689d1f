import { expect } from "chai";
import { groupsOf } from "../../../app/src/console/oidc";
import { cookie, CookieSealer, parseCookies } from "../../../app/src/console/session";
import { escapeHtml } from "../../../app/src/console/page";
import { FakeClock } from "../../support/fake-clock";

describe("console sessions: sealed cookies", () => {
  const SECRET = "a-session-secret-of-at-least-32-characters";
  const clock = new FakeClock();
  const sealer = new CookieSealer(SECRET, "session", () => clock.now());

  it("opens what it sealed, on any replica holding the same secret", () => {
    const sealed = sealer.seal({ sub: "alice", csrf: "token" }, clock.now() + 60_000);
    const otherReplica = new CookieSealer(SECRET, "session", () => clock.now());
    expect(otherReplica.open(sealed)).to.deep.equal({ sub: "alice", csrf: "token" });
    expect(sealed).to.match(/^[A-Za-z0-9_-]+$/);
    expect(sealed).not.to.contain("alice");
  });

  it("refuses every single-bit change, another key, another purpose, and an expired cookie", async () => {
    const sealed = sealer.seal({ sub: "alice" }, clock.now() + 60_000);
    const raw = Buffer.from(sealed, "base64url");
    for (let index = 0; index < raw.length; index += 1) {
      const tampered = Buffer.from(raw);
      tampered[index]! ^= 1;
      expect(sealer.open(tampered.toString("base64url")), `byte ${index}`).to.equal(undefined);
    }
    expect(
      new CookieSealer("another-secret-of-at-least-32-characters!", "session", () => clock.now()).open(
        sealed,
      ),
    ).to.equal(undefined);
    expect(new CookieSealer(SECRET, "sign-in", () => clock.now()).open(sealed)).to.equal(undefined);
    expect(sealer.open("garbage")).to.equal(undefined);
    expect(sealer.open(undefined)).to.equal(undefined);
    const shortLived = sealer.seal({ sub: "alice" }, clock.now() + 1_000);
    await clock.advance(1_000);
    expect(sealer.open(shortLived)).to.equal(undefined);
  });

  it("writes Secure, HttpOnly, SameSite=Lax cookies and reads the Cookie header", () => {
    expect(cookie("sync_console", "v", { path: "/console", maxAgeSeconds: 60 })).to.equal(
      "sync_console=v; Path=/console; Max-Age=60; Secure; HttpOnly; SameSite=Lax",
    );
    expect(parseCookies("a=1; sync_console=x=y; b=2")).to.deep.equal({ a: "1", sync_console: "x=y", b: "2" });
  });

  it("reads a groups or roles claim given as a list or a string; escapes what it prints", () => {
    expect(groupsOf(["ops", 7, "staff"])).to.deep.equal(["ops", "staff"]);
    expect(groupsOf("ops staff,admins")).to.deep.equal(["ops", "staff", "admins"]);
    expect(groupsOf(undefined)).to.deep.equal([]);
    expect(escapeHtml(`<script>"x" & 'y'</script>`)).to.equal(
      "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;",
    );
  });
});
