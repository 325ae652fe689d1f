import { chartPathOf, type SettingName } from "./settings";

/**
 * Rules between settings, declared once beside the table (settings.ts). Each becomes the service's
 * check (app/src/config.ts), a `fail` message of the chart (the generated
 * templates/_setting-rules.tpl) and a `plan()` message of the stack (stacks/), in the same words:
 * only the names differ, the service saying the variable (LEADER_ELECTION_RENEW_DEADLINE_SECONDS),
 * the chart and the stack the chart value (leaderElection.renewDeadlineSeconds).
 *
 * The tests are data, not code, because the chart's copy is a Go template generated from them.
 */
export type RuleTest =
  /** The subject must be set (not empty, not an empty list). */
  | { readonly kind: "required" }
  /** The subject must be below `than` (both numbers; either unset: nothing to check). */
  | { readonly kind: "below"; readonly than: SettingName }
  /** The subject must not be set (empty, an empty list) while the gate is open: two ways to say one thing. */
  | { readonly kind: "unset" };

/**
 * When a rule applies: while `env` is on, that is true, or a number above 0, or other text than ""
 * (in the chart and the stack: while `chartSwitch` is on).
 */
export interface RuleGate {
  readonly env: SettingName;
  /** The chart value that turns the feature on, when it is not `env`'s own. */
  readonly chartSwitch?: string;
}

export interface SettingRule {
  /** Kebab-case, stable: tests and docs name rules by it. */
  readonly id: string;
  /** The setting the message is about. */
  readonly subject: SettingName;
  readonly test: RuleTest;
  readonly when?: RuleGate;
  /** What follows the subject's name: `{than}` and `{gate}` are replaced by those settings' names. */
  readonly problem: string;
}

const CONSOLE: RuleGate = { env: "OIDC_ISSUER_URL", chartSwitch: "console.enabled" };
const LEADER_ELECTION: RuleGate = { env: "LEADER_ELECTION_ENABLED" };
const SNAPSHOT_INTERVAL: RuleGate = { env: "EXPORT_LIST_SNAPSHOT_INTERVAL_SECONDS" };

export const RULES: readonly SettingRule[] = [
  {
    id: "console-needs-issuer",
    subject: "OIDC_ISSUER_URL",
    test: { kind: "required" },
    when: CONSOLE,
    problem: "is required for the console: the identity provider's issuer URL, https",
  },
  {
    id: "console-needs-client-id",
    subject: "OIDC_CLIENT_ID",
    test: { kind: "required" },
    when: CONSOLE,
    problem:
      "is required for the console: the client registered at the identity provider (its secret goes in the Secret)",
  },
  {
    id: "console-needs-public-url",
    subject: "CONSOLE_PUBLIC_URL",
    test: { kind: "required" },
    when: CONSOLE,
    problem:
      "is required for the console: its address as browsers see it (https://...), registered at the provider with /console/callback",
  },
  {
    id: "console-needs-allowed-groups",
    subject: "CONSOLE_ALLOWED_GROUPS",
    test: { kind: "required" },
    when: CONSOLE,
    problem:
      "is required for the console: the groups (or roles) allowed in; the console is never open to every signed-in user",
  },
  {
    id: "renew-deadline-below-lease-duration",
    subject: "LEADER_ELECTION_RENEW_DEADLINE_SECONDS",
    test: { kind: "below", than: "LEADER_ELECTION_LEASE_DURATION_SECONDS" },
    when: LEADER_ELECTION,
    problem: "must be shorter than {than}: a leader must stop polling before another replica may take over",
  },
  {
    id: "retry-period-below-renew-deadline",
    subject: "LEADER_ELECTION_RETRY_PERIOD_SECONDS",
    test: { kind: "below", than: "LEADER_ELECTION_RENEW_DEADLINE_SECONDS" },
    when: LEADER_ELECTION,
    problem: "must be shorter than {than}: several renewal attempts must fit in the deadline",
  },
  {
    id: "list-snapshot-one-schedule",
    subject: "EXPORT_LIST_SNAPSHOT_DAILY_AT",
    test: { kind: "unset" },
    when: SNAPSHOT_INTERVAL,
    problem:
      "must be unset while {gate} is above 0: contact-list snapshots run on one schedule, every interval or once a day, not both",
  },
];

/** Whether a gate's setting is on: true, a number above 0, a text or list that is not empty. */
export function gateOn(value: unknown): boolean {
  if (typeof value === "number") return value > 0;
  return (
    value === true ||
    (typeof value === "string" && value !== "") ||
    (Array.isArray(value) && value.length > 0)
  );
}

/** The settings a rule reads: its subject, the other side of a comparison, its gate. */
export function ruleReads(rule: SettingRule): SettingName[] {
  return [
    rule.subject,
    ...(rule.test.kind === "below" ? [rule.test.than] : []),
    ...(rule.when ? [rule.when.env] : []),
  ];
}

/** How a rule names a setting: by variable (the service) or by chart value (the chart, the stack). */
export type NameOf = (env: SettingName) => string;

export const byVariable: NameOf = (env) => env;
export const byChartValue: NameOf = (env) => chartPathOf(env);

/** The rule's message after the subject, with the other names filled in. */
export function ruleProblem(rule: SettingRule, nameOf: NameOf): string {
  return rule.problem
    .replace("{than}", rule.test.kind === "below" ? nameOf(rule.test.than) : "")
    .replace("{gate}", rule.when ? nameOf(rule.when.env) : "");
}

const isSet = (value: unknown) =>
  value !== undefined && value !== null && value !== "" && !(Array.isArray(value) && value.length === 0);

/**
 * Whether `values` (by variable name) break the rule; `on` says whether its gate is open (the
 * service asks its variable, the chart and the stack their switch).
 */
export function breaks(rule: SettingRule, values: (env: SettingName) => unknown, on: boolean): boolean {
  if (rule.when !== undefined && !on) return false;
  const subject = values(rule.subject);
  if (rule.test.kind === "required") return !isSet(subject);
  if (rule.test.kind === "unset") return isSet(subject);
  const than = values(rule.test.than);
  return typeof subject === "number" && typeof than === "number" && subject >= than;
}

/**
 * The HPA's CPU target range: the chart's schema (and through it the stack's plan()) and the
 * hpa-sane policy's defaults all read it.
 */
export const HPA_CPU_TARGET_PERCENT = {
  min: 50,
  max: 90,
  why: "the guide's 20-30 % scales on every blip, and more pods do not buy more Genesys budget",
} as const;
