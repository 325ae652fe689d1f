import { ConfigurationError } from "../app/src/shared/errors";
import { collectEndpoints, type GenesysEndpoints } from "../app/src/shared/regions";

/** The few settings the refresh command needs, every problem reported at once. */
export function loadConfigForRefresh(env: NodeJS.ProcessEnv): {
  endpoints: GenesysEndpoints;
  clientId: string;
  clientSecret: string;
  region: string;
} {
  const problems: string[] = [];
  const region = env.IPRANGES_REGION ?? env.GENESYS_REGION ?? "";
  if (region === "")
    problems.push("set GENESYS_REGION (the AWS region key, such as eu-west-1) whose ranges to fetch");
  if (!env.GENESYS_CLIENT_ID)
    problems.push("set GENESYS_CLIENT_ID (an OAuth client allowed to read /api/v2/ipranges)");
  if (!env.GENESYS_CLIENT_SECRET) problems.push("set GENESYS_CLIENT_SECRET");
  const endpoints = collectEndpoints(
    {
      region: env.GENESYS_REGION,
      apiBaseUrl: env.GENESYS_API_BASE_URL,
      loginBaseUrl: env.GENESYS_LOGIN_BASE_URL,
    },
    problems,
  );
  if (problems.length > 0 || !endpoints) throw new ConfigurationError(problems);
  return { endpoints, clientId: env.GENESYS_CLIENT_ID!, clientSecret: env.GENESYS_CLIENT_SECRET!, region };
}
