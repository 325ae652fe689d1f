import { MockAgent } from "undici";
import type { GenesysEndpoints } from "../../app/src/shared/regions";

/**
 * A scripted Genesys Cloud behind undici's MockAgent, for unit tests that drive time with a fake
 * clock: a real loopback server cannot follow a fake clock, so these tests script answers at the
 * dispatcher, the seam undici provides for it. Behaviour against a real server is covered by the
 * simulator-backed integration tests.
 */
export interface ScriptedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface ScriptedAnswer {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** Fail at the transport (reset, timeout) instead of answering. */
  readonly error?: Error;
}

export type Script = (request: ScriptedRequest) => ScriptedAnswer;

export const SCRIPTED_ENDPOINTS: GenesysEndpoints = {
  domain: undefined,
  apiBaseUrl: "https://api.genesys.test",
  loginBaseUrl: "https://login.genesys.test",
  appsBaseUrl: "https://apps.genesys.test",
};

export class ScriptedGenesys {
  readonly agent = new MockAgent();
  readonly requests: ScriptedRequest[] = [];
  login: Script = () => ({
    status: 200,
    body: { access_token: "token-1", token_type: "bearer", expires_in: 86_400 },
  });
  api: Script = () => ({ status: 200, body: { ok: true } });

  constructor() {
    this.agent.disableNetConnect();
    this.route(SCRIPTED_ENDPOINTS.loginBaseUrl, () => this.login);
    this.route(SCRIPTED_ENDPOINTS.apiBaseUrl, () => this.api);
  }

  tokenRequests(): ScriptedRequest[] {
    return this.requests.filter((request) => request.path === "/oauth/token");
  }

  apiRequests(): ScriptedRequest[] {
    return this.requests.filter((request) => request.path !== "/oauth/token");
  }

  /** A login script that issues token-1, token-2, … with the given lifetime. */
  issueTokens(expiresInSeconds: number): void {
    let issued = 0;
    this.login = () => {
      issued += 1;
      return {
        status: 200,
        body: { access_token: `token-${issued}`, token_type: "bearer", expires_in: expiresInSeconds },
      };
    };
  }

  private route(origin: string, script: () => Script): void {
    const pool = this.agent.get(origin);
    pool
      .intercept({ path: () => true, method: () => true })
      .reply((options) => {
        const headers = normaliseHeaders(options.headers);
        const request: ScriptedRequest = {
          method: options.method,
          path: options.path,
          headers,
          body: typeof options.body === "string" ? options.body : options.body ? String(options.body) : "",
        };
        this.requests.push(request);
        const answer = script()(request);
        // undici turns an error thrown here into a transport failure for this request.
        if (answer.error) throw answer.error;
        return {
          statusCode: answer.status,
          data: answer.body === undefined ? "" : JSON.stringify(answer.body),
          responseOptions: { headers: { "content-type": "application/json", ...(answer.headers ?? {}) } },
        };
      })
      .persist();
  }
}

function normaliseHeaders(headers: unknown): Record<string, string> {
  const result: Record<string, string> = {};
  if (!headers) return result;
  if (typeof (headers as Headers).forEach === "function" && !Array.isArray(headers)) {
    (headers as Headers).forEach((value, key) => {
      result[key.toLowerCase()] = value;
    });
    return result;
  }
  if (Array.isArray(headers)) {
    for (let index = 0; index < headers.length; index += 2)
      result[String(headers[index]).toLowerCase()] = String(headers[index + 1]);
    return result;
  }
  for (const [key, value] of Object.entries(headers as Record<string, string>))
    result[key.toLowerCase()] = String(value);
  return result;
}

/** A transport error like the ones undici raises for a dropped connection. */
export function connectionReset(): Error {
  return Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" });
}
