import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { LineCounter, parseAllDocuments } from "yaml";
import { evaluate, type Finding, type PackConfig } from "./engine";
import type { K8sObject } from "./lib";

/**
 * `npm run policy:check -- [--json] [--stack dev|prod | --config FILE] <file|dir|->`: the pack's
 * rules over manifests rendered by any tool (`helm template ... | npm run policy:check -- -`).
 * Exit 0: no mandatory violation; 1: at least one; 2: unreadable input or bad arguments.
 */
class InputError extends Error {}

export interface CheckResult {
  readonly exitCode: 0 | 1 | 2;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCheck(
  argv: readonly string[],
  readStdin: () => string = () => readFileSync(0, "utf8"),
): CheckResult {
  let json = false;
  let configFile: string | undefined;
  const targets: string[] = [];
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index]!;
    if (arg === "--json") json = true;
    else if (arg === "--stack") configFile = path.join(__dirname, "config", `${argv[++index] ?? ""}.json`);
    else if (arg === "--config") configFile = argv[++index];
    else targets.push(arg);
  }
  const usage = "usage: npm run policy:check -- [--json] [--stack dev|prod | --config FILE] <file|dir|->";
  if (targets.length !== 1) return { exitCode: 2, stdout: "", stderr: `${usage}\n` };
  try {
    const pack: PackConfig = configFile ? (parseJsonFile(configFile) as PackConfig) : {};
    const objects = readTarget(targets[0]!, readStdin);
    const findings = evaluate({ objects, charts: [] }, pack);
    const mandatory = findings.some((finding) => finding.enforcementLevel === "mandatory");
    const stdout = json
      ? `${JSON.stringify({ violations: findings.map(publicFinding) }, null, 2)}\n`
      : report(findings, objects.length);
    return { exitCode: mandatory ? 1 : 0, stdout, stderr: "" };
  } catch (error) {
    if (error instanceof InputError) return { exitCode: 2, stdout: "", stderr: `${error.message}\n` };
    throw error;
  }
}

function publicFinding(finding: Finding) {
  return {
    policy: finding.policy,
    enforcementLevel: finding.enforcementLevel,
    kind: finding.kind ?? null,
    name: finding.name ?? null,
    namespace: finding.namespace ?? null,
    message: finding.message,
  };
}

function report(findings: readonly Finding[], objectCount: number): string {
  if (findings.length === 0) return `${objectCount} objects checked: no violations.\n`;
  const groups = new Map<string, Finding[]>();
  for (const finding of findings) {
    const key =
      `${finding.kind ?? "Stack"} ${finding.namespace ? `${finding.namespace}/` : ""}${finding.name ?? ""}`.trim();
    groups.set(key, [...(groups.get(key) ?? []), finding]);
  }
  const lines: string[] = [];
  for (const [object, list] of groups) {
    lines.push(object);
    for (const finding of list)
      lines.push(`  [${finding.enforcementLevel}] ${finding.policy}: ${finding.message}`);
  }
  const mandatory = findings.filter((finding) => finding.enforcementLevel === "mandatory").length;
  lines.push("", `${objectCount} objects checked: ${findings.length} violations (${mandatory} mandatory).`);
  return `${lines.join("\n")}\n`;
}

function readTarget(target: string, readStdin: () => string): K8sObject[] {
  if (target === "-") return parseManifests(readStdin(), "<stdin>");
  let info;
  try {
    info = statSync(target);
  } catch {
    throw new InputError(`${target}: no such file or directory`);
  }
  if (!info.isDirectory()) return parseManifests(readText(target), target);
  return listFiles(target).flatMap((file) => parseManifests(readText(file), file));
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory() ? listFiles(path.join(dir, entry.name)) : [path.join(dir, entry.name)],
    )
    .filter((file) => /\.(ya?ml|json)$/.test(file))
    .sort();
}

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new InputError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

function parseJsonFile(file: string): unknown {
  const text = readText(file);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`${file}: not valid JSON (${(error as Error).message})`);
  }
}

/** Multi-document YAML (JSON is YAML); `kind: List` is unpacked. */
export function parseManifests(text: string, source: string): K8sObject[] {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter });
  const objects: K8sObject[] = [];
  for (const document of Array.isArray(documents) ? documents : [documents]) {
    const error = document.errors[0];
    if (error) {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      throw new InputError(`${source}:${line}:${col}: ${error.message.split("\n")[0]}`);
    }
    const value = document.toJS() as unknown;
    if (value === null || value === undefined) continue;
    if (typeof value !== "object" || Array.isArray(value))
      throw new InputError(`${source}: a document is not a Kubernetes object`);
    const object = value as K8sObject;
    if (object.kind === "List" && Array.isArray(object.items)) objects.push(...(object.items as K8sObject[]));
    else objects.push(object);
  }
  return objects;
}

if (require.main === module) {
  const result = runCheck(process.argv.slice(2));
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.exitCode;
}
