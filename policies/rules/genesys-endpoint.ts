import { GENESYS_REGIONS, regionDomain } from "../../app/src/shared/regions";
import { configuredValues, defineRule, type K8sObject, type Violation } from "../lib";

const DOMAINS = new Set(Object.values(GENESYS_REGIONS));

export default defineRule<{ allowedOverrideHosts: string[] }>({
  name: "genesys-endpoint",
  description:
    "Checks that configured Genesys Cloud API, login and bulk upload (apps.) URLs are HTTPS and belong to a known region, unless the host is an allowed override.",
  configSchema: {
    properties: { allowedOverrideHosts: { type: "array", items: { type: "string" }, default: [] } },
  },
  defaults: { allowedOverrideHosts: [] },
  check(input, config) {
    const violations: Violation[] = [];
    const checkUrl = (
      where: { object?: K8sObject; chart?: string },
      name: string,
      value: string,
      expected: "api" | "login" | "apps",
    ) => {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        violations.push({
          ...where,
          message: `${name} "${value}" is not a URL; write https://${expected}.<region domain>.`,
        });
        return;
      }
      if (url.protocol !== "https:") {
        violations.push({
          ...where,
          message: `${name} uses ${url.protocol.replace(":", "")}: tokens and contacts would cross the network unencrypted. Use https://.`,
        });
      }
      if (config.allowedOverrideHosts.includes(url.hostname)) return;
      const [prefix, ...rest] = url.hostname.split(".");
      if (prefix !== expected || !DOMAINS.has(rest.join("."))) {
        violations.push({
          ...where,
          message: `${name} points at ${url.hostname}, which is not ${expected}.<domain> of a Genesys Cloud region (tokens come from login., the API from api., bulk uploads go to apps.; the guide's https://api.../oauth/token is wrong). Fix the URL, or allow the proxy host in allowedOverrideHosts.`,
        });
      }
    };
    const checkRegion = (where: { object?: K8sObject; chart?: string }, value: string) => {
      if (regionDomain(value) === undefined) {
        violations.push({
          ...where,
          message: `GENESYS_REGION "${value}" is not a Genesys Cloud region; use an AWS region key such as eu-west-1 or a domain such as mypurecloud.ie.`,
        });
      }
    };
    for (const { object, name, value } of configuredValues(input.objects)) {
      if (name === "GENESYS_API_BASE_URL" && value !== "") checkUrl({ object }, name, value, "api");
      if (name === "GENESYS_LOGIN_BASE_URL" && value !== "") checkUrl({ object }, name, value, "login");
      if (name === "GENESYS_APPS_BASE_URL" && value !== "") checkUrl({ object }, name, value, "apps");
      if (name === "GENESYS_REGION" && value !== "") checkRegion({ object }, value);
    }
    for (const chart of input.charts) {
      const genesys = (chart.values.genesys ?? {}) as Record<string, unknown>;
      if (typeof genesys.apiBaseUrl === "string" && genesys.apiBaseUrl !== "")
        checkUrl({ chart: chart.name }, "genesys.apiBaseUrl", genesys.apiBaseUrl, "api");
      if (typeof genesys.loginBaseUrl === "string" && genesys.loginBaseUrl !== "")
        checkUrl({ chart: chart.name }, "genesys.loginBaseUrl", genesys.loginBaseUrl, "login");
      if (typeof genesys.appsBaseUrl === "string" && genesys.appsBaseUrl !== "")
        checkUrl({ chart: chart.name }, "genesys.appsBaseUrl", genesys.appsBaseUrl, "apps");
      if (typeof genesys.region === "string" && genesys.region !== "")
        checkRegion({ chart: chart.name }, genesys.region);
      if (typeof genesys.environment_uri === "string")
        checkUrl({ chart: chart.name }, "genesys.environment_uri", genesys.environment_uri, "login");
    }
    return violations;
  },
});
