import { execFile } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import path from "node:path";

/**
 * Small helpers for tests against a real Kubernetes cluster (the e2e tier): everything goes
 * through `kubectl` with the caller's KUBECONFIG, so these helpers need no client library and
 * work with any kubeconfig kubectl understands (client certificates, tokens, exec plugins).
 *
 * A test tier that needs a cluster calls `requireCluster()` in a `before` hook: without one it
 * fails at once with one line naming what is missing, instead of skipping silently.
 */

/** The cluster is not usable: the message is one line naming what is missing, without a stack. */
export class ClusterUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ClusterUnavailableError";
    this.stack = `${this.name}: ${message}`;
  }
}

/** kubectl from PATH (the cluster kit builds it into ~/.cache/cluster-kit/bin, which may not be on PATH). */
export function kubectlPath(): string {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, "kubectl");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new ClusterUnavailableError(
    "kubectl is missing: put it on PATH (the cluster kit builds it into ~/.cache/cluster-kit/bin)",
  );
}

export interface KubectlOptions {
  /** Written to kubectl's stdin, for `apply -f -`. */
  readonly input?: string;
  /** Default 30 s. */
  readonly timeoutMs?: number;
}

/** Runs kubectl and resolves with its stdout; rejects with its stderr (trimmed) and the arguments. */
export function kubectl(args: readonly string[], options: KubectlOptions = {}): Promise<string> {
  const binary = kubectlPath();
  return new Promise((resolve, reject) => {
    const child = execFile(
      binary,
      args,
      { timeout: options.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          const detail = String(stderr).trim() || error.message;
          reject(new Error(`kubectl ${args.join(" ")}: ${detail}`, { cause: error }));
        } else resolve(String(stdout));
      },
    );
    child.stdin?.end(options.input ?? "");
  });
}

/**
 * Fails with one line unless KUBECONFIG names a file, kubectl is on PATH and the API server
 * answers /readyz within 10 s.
 */
export async function requireCluster(): Promise<void> {
  if (!process.env.KUBECONFIG)
    throw new ClusterUnavailableError(
      'KUBECONFIG is not set: the e2e tier needs a running cluster (cluster-kit: `eval "$(cluster.sh up)"`)',
    );
  const files = process.env.KUBECONFIG.split(path.delimiter).filter(Boolean);
  if (!files.some((file) => existsSync(file)))
    throw new ClusterUnavailableError(
      `KUBECONFIG=${process.env.KUBECONFIG} names no file: start the cluster (cluster-kit: \`eval "$(cluster.sh up)"\`) or fix the path`,
    );
  kubectlPath();
  try {
    await kubectl(["get", "--raw", "/readyz", "--request-timeout=10s"], { timeoutMs: 15_000 });
  } catch (error) {
    const detail = (error as Error).message.split("\n")[0];
    throw new ClusterUnavailableError(
      `the API server in KUBECONFIG=${process.env.KUBECONFIG} is not reachable: ${detail}`,
    );
  }
}

/** Creates a namespace with labels (such as pod-security.kubernetes.io/enforce). */
export async function createNamespace(name: string, labels: Record<string, string> = {}): Promise<void> {
  await kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } }),
  });
}

/** Deletes a namespace and everything in it, without waiting for finalizers; absent is fine. */
export async function deleteNamespace(name: string): Promise<void> {
  await kubectl(["delete", "namespace", name, "--ignore-not-found", "--wait=false"]);
}

/** Applies manifests (YAML or JSON, several separated by `---`). */
export async function apply(manifests: string): Promise<void> {
  await kubectl(["apply", "-f", "-"], { input: manifests });
}

/** A bound token for a ServiceAccount (`kubectl create token`), valid for the given seconds (min 600). */
export async function serviceAccountToken(namespace: string, serviceAccount: string, seconds = 600) {
  const token = await kubectl(["-n", namespace, "create", "token", serviceAccount, `--duration=${seconds}s`]);
  return token.trim();
}

/** The API server of the current context and the PEM of the CA that signed its certificate. */
export async function apiServerUrlAndCa(): Promise<{ url: string; ca: string | undefined }> {
  const config = JSON.parse(await kubectl(["config", "view", "--raw", "--minify", "-o", "json"])) as {
    clusters?: Array<{
      cluster: { server: string; "certificate-authority-data"?: string; "certificate-authority"?: string };
    }>;
  };
  const cluster = config.clusters?.[0]?.cluster;
  if (!cluster) throw new ClusterUnavailableError("the current kubeconfig context names no cluster");
  const caData = cluster["certificate-authority-data"];
  const caFile = cluster["certificate-authority"];
  const ca = caData
    ? Buffer.from(caData, "base64").toString("utf8")
    : caFile
      ? readFileSync(caFile, "utf8")
      : undefined;
  return { url: cluster.server, ca };
}

export interface WaitOptions {
  /** Default 30 s. */
  readonly timeoutMs?: number;
  /** Default 200 ms. */
  readonly intervalMs?: number;
  /** What is awaited, for the timeout message ("pod-b to lead"). */
  readonly what: string;
}

/**
 * Calls `fn` until it returns something other than undefined or false, and resolves with that;
 * rejects after the timeout naming `what` and the last error `fn` threw, if any.
 */
export async function waitFor<T>(
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitOptions,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 200;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const last = lastError ? ` (last error: ${(lastError as Error).message})` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what}${last}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
