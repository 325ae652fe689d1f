import type { Logger } from "pino";
import type { Clock } from "../time/clock";
import type { Claim, ClaimCheck } from "./claims";
import type { ImportConfig } from "./config";

/** What holding a claim needs: the service's shutdown signal, the claim timeout, time and a log. */
export interface ClaimHoldDependencies {
  /** Aborted on shutdown. */
  readonly signal: AbortSignal;
  readonly config: Pick<ImportConfig, "claimTimeoutSeconds">;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** One file's hold on its claim: stopped by shutdown, or when the claim is found lost or changed. */
export interface ClaimHold {
  /** Aborts on shutdown, when the claim is lost, deleted or its file changed, and at `end()`. */
  readonly signal: AbortSignal;
  /** True once a heartbeat found the claim taken over by another replica. */
  readonly lost: boolean;
  /** True when a heartbeat found the claim lost, deleted or changed, and so cut the work short. */
  readonly interrupted: boolean;
  /** Stops the heartbeat and lets go of the shutdown signal. */
  end(): Promise<void>;
  /** What the heartbeat found wrong, else a last look at the claim (call after `end()`). */
  verify(): Promise<ClaimCheck>;
}

/**
 * Heartbeats the claim while the file's work runs (renewing the replica's lease and watching the
 * claimed file), and ties that work to the service's shutdown.
 */
export function holdClaim(claim: Claim, deps: ClaimHoldDependencies): ClaimHold {
  const stopping = new AbortController();
  const stop = () => stopping.abort();
  deps.signal.addEventListener("abort", stop, { once: true });
  let found: ClaimCheck | undefined;
  const heartbeat = (async () => {
    const everyMs = Math.max(250, (deps.config.claimTimeoutSeconds * 1000) / 4);
    while (!stopping.signal.aborted) {
      try {
        await deps.clock.sleep(everyMs, stopping.signal);
      } catch {
        return;
      }
      const check = await claim.check().catch((error: unknown) => {
        // The volume hiccuped (a full disk refusing the lease, an NFS timeout): try at the next beat.
        deps.logger.warn({ err: { message: (error as Error).message } }, "claim heartbeat failed");
        return { state: "held" } as const;
      });
      if (check.state !== "held") {
        found = check;
        stopping.abort();
        return;
      }
    }
  })();
  return {
    signal: stopping.signal,
    get lost() {
      return found?.state === "lost";
    },
    get interrupted() {
      return found !== undefined;
    },
    async end() {
      stopping.abort();
      deps.signal.removeEventListener("abort", stop);
      await heartbeat;
    },
    async verify() {
      if (found) return found;
      return claim.check();
    },
  };
}
