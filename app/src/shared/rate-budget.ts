/**
 * The Genesys Cloud rate budget, stated once. Genesys counts the limit per client-credentials
 * token (300 requests a minute by default), not per OAuth client, so more tokens buy more
 * budget: Genesys' own Terraform provider pools up to 50. Each replica holds its own pool of
 * `tokenPoolSize` tokens and paces every token to `perTokenPerMinute`. The deployment's budget is
 * therefore per token × pool size × replicas, up to whatever limit the organisation has on top
 * (some orgs and endpoints do), which only the operator knows: `orgLimitPerMinute`.
 *
 * The client paces from this model, the chart's docs and the `hpa-sane` policy quote it.
 */
export interface RateBudgetInput {
  /** Requests a minute Genesys allows each token (GENESYS_RATE_LIMIT_PER_WINDOW over a one-minute window). */
  readonly perTokenPerMinute: number;
  /** Tokens each replica holds (GENESYS_TOKEN_POOL_SIZE). */
  readonly tokenPoolSize: number;
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

/** Requests per window scaled to a minute (the limit Genesys states is per minute). */
export function perMinute(requestsPerWindow: number, windowMs: number): number {
  return (requestsPerWindow * 60_000) / windowMs;
}
