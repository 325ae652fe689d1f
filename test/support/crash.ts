import type { PublishHooks, PublishStep } from "../../app/src/export/export-state";
import { ServiceError } from "../../app/src/shared/errors";

/** A crash a test stands in for: the next poll or step, as after a restart, finishes the publish. */
export class SimulatedCrashError extends ServiceError {
  readonly point: PublishStep;
  constructor(point: PublishStep) {
    super("TEST_SIMULATED_CRASH", `simulated crash ${point}`, { retryable: true });
    this.point = point;
  }
}

/** Publish hooks that stop the publish at `point`, as a crash there would. */
export function crashAt(point: PublishStep): PublishHooks {
  return {
    afterStep: (step) => {
      if (step === point) throw new SimulatedCrashError(point);
    },
  };
}
