import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

/**
 * A private certificate authority and server certificates for HTTPS tests, made with the openssl
 * CLI (no npm dependency). Everything is PEM text; the temporary files are removed before
 * returning. The CA's `cert` is what a client trusts (NODE_EXTRA_CA_CERTS, `ca` in TLS options).
 */
export interface CertificateAuthority {
  readonly cert: string;
  readonly key: string;
}

export interface ServerCertificate {
  /** The leaf alone: a client must hold the CA to verify it (as with most private CAs). */
  readonly cert: string;
  readonly key: string;
}

export function makeCertificateAuthority(commonName = "sync test CA"): Promise<CertificateAuthority> {
  return inTempDir(async (dir) => {
    await openssl([
      "req",
      "-x509",
      ...NEW_P256_KEY,
      "-days",
      "2",
      "-subj",
      `/CN=${commonName}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
      "-keyout",
      path.join(dir, "ca.key"),
      "-out",
      path.join(dir, "ca.crt"),
    ]);
    return { cert: await read(dir, "ca.crt"), key: await read(dir, "ca.key") };
  });
}

/**
 * A leaf for a TLS server, signed by `ca`, valid for the given names and addresses: Node checks
 * the subjectAltName, not the common name, so every host a client dials must be listed.
 */
export async function issueServerCertificate(
  ca: CertificateAuthority,
  names: { readonly dnsNames?: readonly string[]; readonly ipAddresses?: readonly string[] },
): Promise<ServerCertificate> {
  const altNames = [
    ...(names.dnsNames ?? []).map((name) => `DNS:${name}`),
    ...(names.ipAddresses ?? []).map((address) => `IP:${address}`),
  ];
  if (altNames.length === 0)
    throw new Error("issueServerCertificate needs at least one DNS name or IP address");
  return inTempDir(async (dir) => {
    await writeFile(path.join(dir, "ca.crt"), ca.cert);
    await writeFile(path.join(dir, "ca.key"), ca.key, { mode: 0o600 });
    await writeFile(
      path.join(dir, "leaf.ext"),
      [
        `subjectAltName=${altNames.join(",")}`,
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature",
        "extendedKeyUsage=serverAuth",
        "",
      ].join("\n"),
    );
    await openssl([
      "req",
      ...NEW_P256_KEY,
      "-subj",
      `/CN=${altNames[0]!.replace(/^\w+:/, "")}`,
      "-keyout",
      path.join(dir, "leaf.key"),
      "-out",
      path.join(dir, "leaf.csr"),
    ]);
    await openssl([
      "x509",
      "-req",
      "-in",
      path.join(dir, "leaf.csr"),
      "-CA",
      path.join(dir, "ca.crt"),
      "-CAkey",
      path.join(dir, "ca.key"),
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      path.join(dir, "leaf.ext"),
      "-out",
      path.join(dir, "leaf.crt"),
    ]);
    return { cert: await read(dir, "leaf.crt"), key: await read(dir, "leaf.key") };
  });
}

/** A new unencrypted P-256 key (small and fast to make; every TLS stack here accepts it). */
const NEW_P256_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

async function openssl(args: readonly string[]): Promise<void> {
  try {
    await promisify(execFile)("openssl", args);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT")
      throw new Error("openssl is missing: apt-get install openssl");
    throw error;
  }
}

async function inTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), "test-tls-"));
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const read = (dir: string, name: string) => readFile(path.join(dir, name), "utf8");
