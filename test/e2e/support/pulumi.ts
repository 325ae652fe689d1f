import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parse, stringify } from "yaml";

export const ROOT = path.resolve(__dirname, "../../..");

export interface PulumiResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The real Pulumi CLI on PATH, on a local file backend with the passphrase secrets provider, as
 * the e2e tier runs it (.ci/run, docs/e2e.md). One workspace per test run: its
 * state, its PULUMI_HOME and the stacks' config files live under `dir`, never in the checkout.
 */
export class PulumiWorkspace {
  readonly env: NodeJS.ProcessEnv;

  constructor(readonly dir: string) {
    mkdirSync(path.join(dir, "state"), { recursive: true });
    mkdirSync(path.join(dir, "home"), { recursive: true });
    this.env = {
      ...process.env,
      PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
      PULUMI_HOME: process.env.E2E_PULUMI_HOME ?? path.join(dir, "home"),
      PULUMI_CONFIG_PASSPHRASE: "e2e-only-passphrase",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_SKIP_CONFIRMATIONS: "true",
      // The type-check is npm test's job; here it would only add half a minute to every run.
      PULUMI_NODEJS_TRANSPILE_ONLY: "true",
      NO_COLOR: "1",
    };
  }

  /** A stack of the project in `projectDir` whose config file lives in this workspace. */
  stack(projectDir: string, name: string): PulumiStack {
    return new PulumiStack(
      this,
      projectDir,
      name,
      path.join(this.dir, `Pulumi.${path.basename(projectDir)}.${name}.yaml`),
    );
  }

  run(args: readonly string[], cwd: string, timeoutMs = 15 * 60_000): Promise<PulumiResult> {
    return new Promise((resolve, reject) => {
      const child = spawn("pulumi", [...args, "--non-interactive"], { cwd, env: this.env });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
      child.on("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          error.code === "ENOENT"
            ? new Error(
                "pulumi is not on PATH: bash ../shared/cluster-kit/tools.sh, then PATH=$KIT_HOME/bin:$PATH",
              )
            : error,
        );
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? 1, stdout, stderr });
      });
    });
  }
}

export class PulumiStack {
  constructor(
    readonly workspace: PulumiWorkspace,
    readonly projectDir: string,
    readonly name: string,
    readonly configFile: string,
  ) {}

  /** Only the engine's commands take --config-file; the others need just the stack. */
  private args(command: readonly string[]): string[] {
    const engine = ["up", "preview", "destroy", "refresh"].includes(command[0] ?? "");
    return [...command, "--stack", this.name, ...(engine ? ["--config-file", this.configFile] : [])];
  }

  async run(command: readonly string[], timeoutMs?: number): Promise<PulumiResult> {
    return this.workspace.run(this.args(command), this.projectDir, timeoutMs);
  }

  /** Runs a command that must succeed; the error carries Pulumi's own output. */
  async must(command: readonly string[], timeoutMs?: number): Promise<PulumiResult> {
    const result = await this.run(command, timeoutMs);
    if (result.code !== 0)
      throw new Error(
        `pulumi ${command.join(" ")} exited ${result.code}:\n${tail(result.stdout, 120)}\n${tail(result.stderr, 60)}`,
      );
    return result;
  }

  /**
   * `stack init` writes the passphrase's salt into Pulumi.<stack>.yaml beside the project; it
   * moves into this workspace at once, so the checkout keeps no trace of the run.
   */
  async init(): Promise<void> {
    await this.must(["stack", "init", "--secrets-provider", "passphrase"]);
    const written = path.join(this.projectDir, `Pulumi.${this.name}.yaml`);
    if (existsSync(written)) renameSync(written, this.configFile);
  }

  /** Replaces the stack's config (keeps the passphrase salt that `stack init` wrote). */
  writeConfig(config: Record<string, unknown>): void {
    let salt: string | undefined;
    try {
      salt = (parse(readFileSync(this.configFile, "utf8")) as { encryptionsalt?: string } | null)
        ?.encryptionsalt;
    } catch {
      salt = undefined;
    }
    writeFileSync(this.configFile, stringify({ ...(salt ? { encryptionsalt: salt } : {}), config }));
  }

  async up(): Promise<PulumiResult> {
    return this.must(["up", "--yes", "--skip-preview", "--diff"]);
  }

  /** `pulumi preview --json`: the engine's planned steps (and policy violations, when a pack runs). */
  async previewJson(
    extra: readonly string[] = [],
  ): Promise<{ code: number; plan: PreviewPlan; raw: PulumiResult }> {
    const raw = await this.run(["preview", "--json", ...extra]);
    let plan: PreviewPlan = { steps: [], diagnostics: [], changeSummary: {} };
    try {
      plan = JSON.parse(raw.stdout) as PreviewPlan;
    } catch {
      // Not JSON: the caller reports raw output.
    }
    return { code: raw.code, plan, raw };
  }

  async outputs(showSecrets = false): Promise<Record<string, unknown>> {
    const result = await this.must(["stack", "output", "--json", ...(showSecrets ? ["--show-secrets"] : [])]);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  }

  async exportState(): Promise<string> {
    return (await this.must(["stack", "export"])).stdout;
  }

  async destroy(): Promise<PulumiResult> {
    return this.must(["destroy", "--yes", "--skip-preview"]);
  }

  async remove(): Promise<void> {
    await this.run(["stack", "rm", "--yes", "--force"]);
  }
}

export interface PreviewStep {
  readonly op: string;
  readonly urn: string;
  readonly diffReasons?: string[];
  readonly detailedDiff?: Record<string, unknown>;
  readonly newState?: { type?: string };
  readonly oldState?: { type?: string };
}

export interface PreviewPlan {
  readonly steps: PreviewStep[];
  readonly diagnostics: Array<{ message?: string; severity?: string; urn?: string }>;
  readonly changeSummary: Record<string, number>;
  readonly policyPacks?: Record<string, string>;
}

export function tail(text: string, lines: number): string {
  return text.split("\n").slice(-lines).join("\n");
}
