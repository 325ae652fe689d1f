import { spawnSync } from "node:child_process";
import path from "node:path";
import { parseAllDocuments } from "yaml";

export const CHART = path.resolve(__dirname, "../../app/chart");
/** The Kubernetes version charts are rendered for (helm template otherwise assumes 1.20). */
export const KUBE_VERSION = "1.31.0";

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
}

/**
 * Runs the real helm binary (installed by .ci/run from Go modules). A missing helm fails the
 * test with the command that installs it; it is never a reason to skip.
 */
export function helm(args: string[]): { status: number; stdout: string; stderr: string } {
  const binary = process.env.HELM_BIN ?? "helm";
  const result = spawnSync(binary, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.error && (result.error as NodeJS.ErrnoException).code === "ENOENT") {
    throw new Error(
      "helm is not installed: run `bash .ci/run`, or `go install helm.sh/helm/v3/cmd/helm@v3.22.0` and put $(go env GOPATH)/bin on PATH",
    );
  }
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

export function valuesFile(name: "dev" | "prod"): string {
  return path.join(CHART, "ci", `${name}-values.yaml`);
}

/** `helm template` with values files and --set pairs; throws with helm's message when it fails. */
export function renderChart(
  options: { files?: string[]; set?: Record<string, string>; namespace?: string } = {},
): {
  text: string;
  objects: K8sObject[];
} {
  const args = [
    "template",
    "sync",
    CHART,
    "--namespace",
    options.namespace ?? "genesys-sync",
    "--kube-version",
    KUBE_VERSION,
  ];
  for (const file of options.files ?? []) args.push("-f", file);
  for (const [key, value] of Object.entries(options.set ?? {})) args.push("--set", `${key}=${value}`);
  const result = helm(args);
  if (result.status !== 0) throw new Error(result.stderr);
  const objects = parseAllDocuments(result.stdout)
    .map((document) => document.toJS() as K8sObject | null)
    .filter((object): object is K8sObject => object !== null);
  return { text: result.stdout, objects };
}

export function find<T = K8sObject>(objects: K8sObject[], kind: string): T {
  const found = objects.filter((object) => object.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0] as T;
}
