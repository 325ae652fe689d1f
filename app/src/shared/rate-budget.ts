import { SETTING, type SettingName } from "./settings";

/**
 * The Genesys Cloud rate budget, stated once. Genesys counts the limit per client-credentials
 * token (300 requests a minute by default), not per OAuth client, so more tokens buy more
 * budget: Genesys' own Terraform provider pools up to 50. Each replica holds its own pool of
 * `tokenPoolSize` tokens and paces every token to its limit (`tokenPacing`). A replica's budget
 * is therefore per token × pool size (`replicaBudgetPerWindow`), and the deployment's is that ×
 * replicas, up to whatever limit the organisation has on top (some orgs and endpoints do), which
 * only the operator knows: the stack's `orgRequestsPerMinute` (`rateBudget`, `orgLimitProblem`).
 *
 * Its readers: the client's pacers and the budget it reports (genesys/client.ts), the console's
 * budget-in-use figure and chart, the re-read's "busy" check (service.ts), the stack's plan()
 * and the `hpa-sane` policy.
 */

/** How one token is paced: the Genesys limit it keeps to, and the client's own caution. */
export interface TokenPacing {
  /** Requests one token may send per window; default 300 (Genesys `token.rate.per.minute`). */
  readonly requestsPerWindow: number;
  /** The budget window in milliseconds; default 60,000. Tests and benchmarks may scale it. */
  readonly windowMs: number;
  /** Pause while rate-limit headers report less than this share remaining; default 0.1. */
  readonly lowWaterRatio: number;
  /**
   * Added to the window when counting sends, because the server counts arrivals and arrival
   * delays vary; default max(250 ms, 1 % of the window). Without it, sends paced exactly at the
   * budget still draw occasional 429s at window edges.
   */
  readonly safetyMarginMs: number;
}

/** One token's pacing: the settings given, Genesys' limit and the client's defaults for the rest. */
export function tokenPacing(given: Partial<TokenPacing> = {}): TokenPacing {
  const windowMs = given.windowMs ?? (SETTING.GENESYS_RATE_LIMIT_WINDOW_MS.default as number);
  return {
    requestsPerWindow: given.requestsPerWindow ?? (SETTING.GENESYS_RATE_LIMIT_PER_WINDOW.default as number),
    windowMs,
    lowWaterRatio: given.lowWaterRatio ?? 0.1,
    safetyMarginMs: given.safetyMarginMs ?? Math.max(250, windowMs / 100),
  };
}

/** What one replica may send per window: every token of its pool, each to its own limit. */
export function replicaBudgetPerWindow(
  pacing: Pick<TokenPacing, "requestsPerWindow">,
  tokenPoolSize: number,
): number {
  return pacing.requestsPerWindow * tokenPoolSize;
}

/** A replica's budget at one moment, as the client reports it. */
export interface BudgetInUse {
  /** Requests its pacers counted in the current window. */
  readonly rateBudgetInUse: number;
  /** What its pool may send per window (`replicaBudgetPerWindow`). */
  readonly rateBudgetPerWindow: number;
}

/** The share of a replica's budget in use, 0..1 (0 when it has none): the console's figure. */
export function budgetShareInUse(budget: BudgetInUse): number {
  return budget.rateBudgetPerWindow > 0 ? budget.rateBudgetInUse / budget.rateBudgetPerWindow : 0;
}

/** Above this share of the budget in use, work that can wait (the re-read) sends nothing. */
export const BUDGET_IN_DEMAND_SHARE = 0.5;

/** True while others need the budget: more than BUDGET_IN_DEMAND_SHARE of it is in use. */
export function budgetInDemand(budget: BudgetInUse): boolean {
  return budget.rateBudgetInUse > budget.rateBudgetPerWindow * BUDGET_IN_DEMAND_SHARE;
}

/** What each pod may send: its pool size and the per-token rate scaled to a minute. */
export interface PodBudget {
  readonly tokenPoolSize: number;
  readonly perTokenPerMinute: number;
}

/** The settings a pod's budget follows. */
type BudgetSetting = Extract<
  SettingName,
  "GENESYS_TOKEN_POOL_SIZE" | "GENESYS_RATE_LIMIT_PER_WINDOW" | "GENESYS_RATE_LIMIT_WINDOW_MS"
>;

/**
 * A pod's budget from its settings as a reader finds them (ConfigMap data, chart values): `read`
 * returns a setting's value, or undefined where it is not set and the service's default applies.
 */
export function podBudget(read: (setting: BudgetSetting) => unknown): PodBudget {
  const value = (setting: BudgetSetting) => {
    const found = read(setting);
    const parsed = Number(found);
    return found !== undefined && found !== null && found !== "" && Number.isFinite(parsed)
      ? parsed
      : (SETTING[setting].default as number);
  };
  return {
    tokenPoolSize: value("GENESYS_TOKEN_POOL_SIZE"),
    perTokenPerMinute: perMinute(
      value("GENESYS_RATE_LIMIT_PER_WINDOW"),
      value("GENESYS_RATE_LIMIT_WINDOW_MS"),
    ),
  };
}

export interface RateBudgetInput extends PodBudget {
  readonly replicas: number;
  /** The organisation's own ceiling across all tokens, when it has one. */
  readonly orgLimitPerMinute?: number;
}

export interface RateBudget {
  /** What one replica may send a minute: per token × pool size. */
  readonly perReplicaPerMinute: number;
  /** What all replicas together may send a minute: per replica × replicas. */
  readonly totalPerMinute: number;
  /** True when the replicas together could send more than the organisation's limit. */
  readonly exceedsOrgLimit: boolean;
  /** The most replicas whose budget stays within the organisation's limit (undefined: no limit given). */
  readonly maxReplicasWithinOrgLimit: number | undefined;
}

export function rateBudget(input: RateBudgetInput): RateBudget {
  const perReplicaPerMinute = input.perTokenPerMinute * input.tokenPoolSize;
  const totalPerMinute = perReplicaPerMinute * input.replicas;
  const org = input.orgLimitPerMinute;
  return {
    perReplicaPerMinute,
    totalPerMinute,
    exceedsOrgLimit: org !== undefined && totalPerMinute > org,
    maxReplicasWithinOrgLimit:
      org === undefined || perReplicaPerMinute === 0 ? undefined : Math.floor(org / perReplicaPerMinute),
  };
}

/**
 * Why `maxReplicas` replicas would outgrow the organisation's limit, in the words the stack and
 * the `hpa-sane` policy both use; undefined when they stay within it (or no limit is given).
 */
export function orgLimitProblem(input: RateBudgetInput): string | undefined {
  const budget = rateBudget(input);
  if (!budget.exceedsOrgLimit) return undefined;
  return `maxReplicas ${input.replicas} × ${input.tokenPoolSize} token(s) per pod × ${input.perTokenPerMinute} requests/min per token = ${budget.totalPerMinute}/min, above the organisation's limit of ${input.orgLimitPerMinute}/min (orgRequestsPerMinute): scaling out would only draw 429s. Lower maxReplicas to ${budget.maxReplicasWithinOrgLimit} or the token pool size, or raise orgRequestsPerMinute if your org allows more.`;
}

/** Requests per window scaled to a minute (the limit Genesys states is per minute). */
export function perMinute(requestsPerWindow: number, windowMs: number): number {
  return (requestsPerWindow * 60_000) / windowMs;
}
