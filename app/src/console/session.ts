import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/**
 * Sealed cookies: JSON encrypted and authenticated with AES-256-GCM under a key derived (HKDF-SHA256)
 * from the console's session secret. The GCM tag is the signature: a cookie changed by one bit, or
 * sealed with another key, does not open. Every replica holding the same secret opens every
 * cookie, so no session store and no sticky sessions are needed. Each purpose (the session, the
 * sign-in transaction) has its own key, so one cannot be replayed as the other.
 */
export class CookieSealer {
  private readonly key: Buffer;

  constructor(
    secret: string,
    private readonly purpose: string,
    private readonly now: () => number,
  ) {
    this.key = Buffer.from(hkdfSync("sha256", secret, "genesys-sync-console", purpose, 32));
  }

  /** Seals `value` until `expiresAtMs`; the result is cookie-safe (base64url). */
  seal(value: object, expiresAtMs: number): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(this.purpose));
    const plain = Buffer.from(JSON.stringify({ v: value, exp: expiresAtMs }));
    const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString("base64url");
  }

  /** The value, or undefined when the cookie was tampered with, sealed elsewhere, or expired. */
  open<T>(cookie: string | undefined): T | undefined {
    if (!cookie) return undefined;
    try {
      const raw = Buffer.from(cookie, "base64url");
      if (raw.length < 29) return undefined;
      const decipher = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(this.purpose));
      decipher.setAuthTag(raw.subarray(12, 28));
      const plain = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
      const { v, exp } = JSON.parse(plain.toString("utf8")) as { v: T; exp: number };
      return exp > this.now() ? v : undefined;
    } catch {
      return undefined;
    }
  }
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? "").split(";")) {
    const index = part.indexOf("=");
    if (index <= 0) continue;
    const name = part.slice(0, index).trim();
    if (!(name in cookies)) cookies[name] = part.slice(index + 1).trim();
  }
  return cookies;
}

/** A Set-Cookie value: Secure, HttpOnly, SameSite=Lax, always. */
export function cookie(
  name: string,
  value: string,
  options: { path: string; maxAgeSeconds: number },
): string {
  return `${name}=${value}; Path=${options.path}; Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}; Secure; HttpOnly; SameSite=Lax`;
}
