import type { EnforcementLevel, K8sObject, PolicyInput, Rule } from "./lib";
import { RULES } from "./rules";

/**
 * A policy-pack config, the format of `pulumi preview --policy-pack-config`: `all` sets every
 * rule's level; a rule's own entry sets its level and its thresholds.
 */
export type PackConfig = Record<
  string,
  EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)
>;

export interface Finding {
  readonly policy: string;
  readonly enforcementLevel: EnforcementLevel;
  readonly kind: string | undefined;
  readonly name: string | undefined;
  readonly namespace: string | undefined;
  readonly message: string;
  /** The object at fault, for adapters that map it back (a Pulumi URN, a file). */
  readonly object?: K8sObject;
}

export function ruleSettings<C extends object>(
  rule: Rule<C>,
  pack: PackConfig,
): { level: EnforcementLevel; config: C } {
  const all = pack.all;
  let level: EnforcementLevel = typeof all === "string" ? all : (all?.enforcementLevel ?? "mandatory");
  const own = pack[rule.name];
  let config = { ...rule.defaults };
  if (typeof own === "string") level = own;
  else if (own) {
    const { enforcementLevel, ...thresholds } = own;
    if (enforcementLevel) level = enforcementLevel;
    config = { ...config, ...thresholds };
  }
  return { level, config };
}

/** Runs every enabled rule over the input. */
export function evaluate(input: PolicyInput, pack: PackConfig = {}, rules = RULES): Finding[] {
  const findings: Finding[] = [];
  for (const rule of rules) {
    const { level, config } = ruleSettings(rule, pack);
    if (level === "disabled") continue;
    for (const violation of rule.check(input, config)) {
      findings.push({
        policy: rule.name,
        enforcementLevel: level,
        kind: violation.object?.kind ?? (violation.chart ? "HelmChart" : undefined),
        name: violation.object?.metadata?.name ?? violation.chart,
        namespace: violation.object?.metadata?.namespace,
        message: violation.message,
        ...(violation.object ? { object: violation.object } : {}),
      });
    }
  }
  return findings;
}
