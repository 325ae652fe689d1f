import { randomUUID } from "node:crypto";

/**
 * Genesys' error body (`ErrorBody` in the SDKs' API description): `message`, a stable `code`,
 * `status`, a `contextId` for support, and empty `details` and `errors`. Every API answer other
 * than 2xx that the simulator sends is one of these, so each module builds them here.
 */
export type Answer = [status: number, body: unknown, headers?: Record<string, string>];

export function apiError(status: number, code: string, message: string, extra: object = {}): Answer {
  return [status, { message, code, status, ...extra, contextId: randomUUID(), details: [], errors: [] }];
}

export function notFound(message: string): Answer {
  return apiError(404, "not.found", message);
}

export function badRequest(message: string): Answer {
  return apiError(400, "bad.request", message);
}
