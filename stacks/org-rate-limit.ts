import { orgLimitProblem, podBudget } from "../app/src/shared/rate-budget";
import { chartPathOf, chartValueAt } from "../app/src/shared/settings";
import { PROJECT, type StackSettings } from "./settings";

/** A policy-pack config (`--policy-pack-config`): rule name → level or thresholds. */
export type PolicyPackConfig = Readonly<Record<string, unknown>>;

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The most replicas the chart will run: the HPA's maximum while autoscaling is on, else the fixed count. */
function mostReplicas(values: StackSettings["values"]): number | undefined {
  const autoscaling = isMap(values.autoscaling) ? values.autoscaling : {};
  const most = autoscaling.enabled === false ? values.replicaCount : autoscaling.maxReplicas;
  return typeof most === "number" ? most : undefined;
}

/**
 * The stack's side of the rate budget (app/src/shared/rate-budget.ts): prod must state the
 * organisation's limit, and the most replicas × token pool × per-token limit of the stack's
 * values is held to it. Exceeding it is a warning here (more pods only draw 429s; nothing breaks)
 * and a violation of the hpa-sane policy, mandatory in prod, which reads the same limit from the
 * pack config (`withOrgLimit`).
 */
export function orgLimitFindings(settings: StackSettings): {
  readonly error?: { readonly propertyPath: string; readonly reason: string };
  readonly warning?: string;
} {
  const limit = settings.orgRequestsPerMinute;
  if (limit === undefined)
    return settings.environment === "prod"
      ? {
          error: {
            propertyPath: `${PROJECT}:orgRequestsPerMinute`,
            reason:
              "is required in prod: the organisation's rate limit across all tokens, requests a minute (GET /api/v2/organizations/limits/namespaces/platform.api, or ask Genesys), which the most replicas × genesys.tokenPoolSize × genesys.rateLimitPerMinute must stay within. Set it with `pulumi config set orgRequestsPerMinute <n>` and in policies/config/prod.json (hpa-sane)",
          },
        }
      : {};
  const replicas = mostReplicas(settings.values);
  if (replicas === undefined) return {};
  const problem = orgLimitProblem({
    ...podBudget((setting) => chartValueAt(settings.values, chartPathOf(setting))),
    replicas,
    orgLimitPerMinute: limit,
  });
  return problem ? { warning: `${PROJECT}:values.autoscaling: ${problem}` } : {};
}

/**
 * The policy-pack config with the stack's `orgRequestsPerMinute` handed to hpa-sane: what
 * policies/config/<stack>.json must hold (a test fails while it does not).
 */
export function withOrgLimit(pack: PolicyPackConfig, settings: StackSettings): PolicyPackConfig {
  const hpaSane: Record<string, unknown> = { ...(isMap(pack["hpa-sane"]) ? pack["hpa-sane"] : {}) };
  if (settings.orgRequestsPerMinute === undefined) delete hpaSane.orgRequestsPerMinute;
  else hpaSane.orgRequestsPerMinute = settings.orgRequestsPerMinute;
  return { ...pack, "hpa-sane": hpaSane };
}
