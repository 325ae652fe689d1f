import type { ClusterErrorCode } from "./errors";
import type { Logger } from "pino";
import { ServiceError } from "../shared/errors";
import type { Clock, Random } from "../time/clock";
import { LeaseApiError, LeaseConflictError, type Lease, type LeaseApi } from "./lease-api";

export interface ElectionSettings {
  /** This replica's name in the Lease (the pod name). */
  readonly identity: string;
  readonly namespace: string;
  readonly leaseName: string;
  /** How long followers wait, from the last change they saw, before taking the lease; default 15 s. */
  readonly leaseDurationMs: number;
  /** A leader that could not renew for this long steps down; below the lease duration; default 10 s. */
  readonly renewDeadlineMs: number;
  /** How often to try to acquire or renew; default 2 s. */
  readonly retryPeriodMs: number;
}

/** The one replica that polls. Outside a cluster, the single process leads. */
export interface Leadership {
  isLeader(): boolean;
  /** Called with true when this replica becomes the leader and false when it stops being it. */
  onChange(listener: (leading: boolean) => void): void;
}

/** Settings under which a leader could not step down before a follower takes over. */
export class ElectionSettingsError extends ServiceError<ClusterErrorCode> {
  constructor(settings: Pick<ElectionSettings, "leaseDurationMs" | "renewDeadlineMs">) {
    super(
      "ELECTION_SETTINGS_INVALID",
      `the renew deadline (${settings.renewDeadlineMs} ms) must be shorter than the lease duration (${settings.leaseDurationMs} ms): a leader that cannot renew must step down before a follower may take the Lease; lower LEADER_ELECTION_RENEW_DEADLINE_SECONDS or raise LEADER_ELECTION_LEASE_DURATION_SECONDS`,
    );
  }
}

export class SoleLeader implements Leadership {
  isLeader(): boolean {
    return true;
  }
  onChange(): void {}
}

/**
 * A Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. The API server refuses
 * any other precision (HTTP 400), so milliseconds are padded.
 */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, the way client-go's leaderelection does it:
 * followers never compare the holder's renewTime with their own clock (clocks differ); they note
 * when they last saw the Lease change and take it only once it has stood still for the lease
 * duration. Every write carries the resourceVersion read, so of two replicas trying at once the
 * API server lets exactly one win (409 for the other). A leader that cannot renew steps down
 * after the renew deadline, before any follower may take over.
 */
export class LeaderElector implements Leadership {
  private leading = false;
  private lastRenewMs = 0;
  private observedVersion: string | undefined;
  private observedAtMs = 0;
  private readonly listeners: Array<(leading: boolean) => void> = [];
  private loop: Promise<void> | undefined;

  constructor(
    private readonly api: LeaseApi,
    private readonly settings: ElectionSettings,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly random: Random = Math.random,
  ) {
    if (settings.renewDeadlineMs >= settings.leaseDurationMs) throw new ElectionSettingsError(settings);
  }

  isLeader(): boolean {
    return this.leading;
  }

  onChange(listener: (leading: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** One round: read the Lease, then create it, renew it, take it over, or leave it. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    const { namespace, leaseName, identity } = this.settings;
    const spec = (previous: Lease["spec"] | undefined): Lease["spec"] => {
      const ours = previous?.holderIdentity === identity;
      return {
        holderIdentity: identity,
        leaseDurationSeconds: Math.ceil(this.settings.leaseDurationMs / 1000),
        acquireTime: ours && previous?.acquireTime ? previous.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: (previous?.leaseTransitions ?? 0) + (ours || previous === undefined ? 0 : 1),
      };
    };
    try {
      const current = await this.api.get(namespace, leaseName);
      if (!current) {
        const created = await this.api.create(namespace, {
          metadata: { name: leaseName, namespace },
          spec: spec(undefined),
        });
        return this.won(created);
      }
      if (current.metadata.resourceVersion !== this.observedVersion) {
        this.observedVersion = current.metadata.resourceVersion;
        this.observedAtMs = now;
      }
      const holder = current.spec.holderIdentity;
      const durationMs = (current.spec.leaseDurationSeconds ?? this.settings.leaseDurationMs / 1000) * 1000;
      if (holder && holder !== identity && this.observedAtMs + durationMs > now) {
        this.lost(`held by ${holder}`);
        return false;
      }
      const updated = await this.api.replace(namespace, { ...current, spec: spec(current.spec) });
      return this.won(updated);
    } catch (error) {
      if (error instanceof LeaseConflictError) {
        this.lost("another replica wrote the Lease first");
        return false;
      }
      // The API is unreachable: a leader keeps leading until its renew deadline, then steps down.
      if (this.leading && now - this.lastRenewMs >= this.settings.renewDeadlineMs) {
        this.lost(
          `could not renew for ${Math.round((now - this.lastRenewMs) / 1000)} s (${(error as Error).message})`,
        );
      } else if (error instanceof LeaseApiError && !error.retryable) {
        // 401, 403, 400, 422: the next round asks again, but only a fix to the token, the Role or
        // this client makes it pass.
        this.logger.error(
          { err: { message: error.message, code: error.code, status: error.status } },
          "leader election: the API server refuses this replica's Lease calls",
        );
      } else {
        this.logger.warn(
          {
            err: {
              message: (error as Error).message,
              ...(error instanceof ServiceError ? { code: error.code } : {}),
            },
          },
          "leader election: the Lease could not be read or written",
        );
      }
      return this.leading;
    }
  }

  /** Tries every retry period (with a little jitter, as client-go does) until the signal aborts. */
  start(signal: AbortSignal): void {
    this.loop ??= (async () => {
      while (!signal.aborted) {
        await this.tryAcquireOrRenew();
        const waitMs = this.leading
          ? this.settings.retryPeriodMs
          : this.settings.retryPeriodMs * (1 + 0.2 * this.random());
        await this.clock.sleep(waitMs, signal).catch(() => undefined);
      }
    })();
  }

  /** Stops the loop and, if leading, hands the Lease back so a follower takes over at once. */
  async release(): Promise<void> {
    await this.loop;
    if (!this.leading) return;
    const { namespace, leaseName, identity } = this.settings;
    try {
      const current = await this.api.get(namespace, leaseName);
      if (current && current.spec.holderIdentity === identity) {
        await this.api.replace(namespace, {
          ...current,
          spec: {
            ...current.spec,
            holderIdentity: "",
            leaseDurationSeconds: 1,
            renewTime: microTime(this.clock.now()),
          },
        });
      }
      this.logger.info({ lease: `${namespace}/${leaseName}` }, "leader election: released the Lease");
    } catch (error) {
      this.logger.warn(
        { err: { message: (error as Error).message } },
        "leader election: could not release the Lease; it expires by itself",
      );
    }
    this.setLeading(false);
  }

  private won(lease: Lease): boolean {
    this.observedVersion = lease.metadata.resourceVersion;
    this.observedAtMs = this.clock.now();
    this.lastRenewMs = this.clock.now();
    if (!this.leading) {
      this.logger.info(
        { lease: `${this.settings.namespace}/${this.settings.leaseName}`, identity: this.settings.identity },
        "leader election: this replica now leads (it runs the results poller)",
      );
    }
    this.setLeading(true);
    return true;
  }

  private lost(why: string): void {
    if (this.leading) this.logger.warn({ why }, "leader election: this replica no longer leads");
    this.setLeading(false);
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    for (const listener of this.listeners) listener(leading);
  }
}
