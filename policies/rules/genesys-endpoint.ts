import {
  GENESYS_BASE_URL_HOSTS,
  isRegionHost,
  regionDomain,
  type GenesysHostDescription,
} from "../../app/src/shared/regions";
import { isRegionDownloadHost } from "../../app/src/shared/download-hosts";
import { chartPathOf, chartValueAt, SETTINGS, type SettingDescriptor } from "../../app/src/shared/settings";
import { configuredValues, defineRule, type K8sObject, type Violation } from "../lib";

/**
 * The base URLs to check, one per host the service calls (app/src/shared/regions.ts), each under
 * its chart key and the variable the settings table sets from it.
 */
const BASE_URLS = GENESYS_BASE_URL_HOSTS.map((host) => {
  const chartKey = `genesys.${host.baseUrl.setting}`;
  const setting = (SETTINGS as readonly SettingDescriptor[]).find(
    (candidate) => "value" in candidate.chart && candidate.chart.value === chartKey,
  );
  // A renamed chart key would silently leave the URL unchecked.
  if (setting === undefined) throw new Error(`genesys-endpoint: no setting is set from ${chartKey}`);
  return { host, chartKey, env: setting.env };
});

/** The extra hosts a snapshot's signed download URL may point at (shared/download-hosts.ts). */
const DOWNLOAD_HOSTS_ENV = "EXPORT_LIST_SNAPSHOT_DOWNLOAD_HOSTS";
const DOWNLOAD_HOSTS_CHART = chartPathOf(DOWNLOAD_HOSTS_ENV);

/** The guide's `genesys.environment_uri` is where it fetched tokens from: the login host. */
const LOGIN = GENESYS_BASE_URL_HOSTS.find((host) => host.prefix === "login")!;

type Where = { object?: K8sObject; chart?: string };

export default defineRule<{ allowedOverrideHosts: string[] }>({
  name: "genesys-endpoint",
  description:
    "Checks that configured Genesys Cloud API, login and bulk upload (apps.) URLs are HTTPS and belong to a known region, and that extra export download hosts are a region's api-downloads. host, unless the host is an allowed override.",
  configSchema: {
    properties: { allowedOverrideHosts: { type: "array", items: { type: "string" }, default: [] } },
  },
  defaults: { allowedOverrideHosts: [] },
  check(input, config) {
    const violations: Violation[] = [];
    const checkUrl = (where: Where, name: string, value: string, expected: GenesysHostDescription) => {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        violations.push({
          ...where,
          message: `${name} "${value}" is not a URL; write https://${expected.prefix}.<region domain>.`,
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
      if (!isRegionHost(expected, url.hostname)) {
        violations.push({
          ...where,
          message: `${name} points at ${url.hostname}, which is not ${expected.prefix}.<domain> of a Genesys Cloud region (tokens come from login., the API from api., bulk uploads go to apps.; the guide's https://api.../oauth/token is wrong). Fix the URL, or allow the proxy host in allowedOverrideHosts.`,
        });
      }
    };
    // A contact-list snapshot fetches its signed URL from these hosts with no token: each one is
    // a place contact data comes from, so only a region's download host passes unless allowed.
    const checkDownloadHost = (where: Where, name: string, raw: string) => {
      const host = raw.trim().toLowerCase();
      if (host === "") return;
      const hostname = host.replace(/:\d+$/, "");
      if (!/^[a-z0-9.-]+$/.test(hostname)) {
        violations.push({
          ...where,
          message: `${name} lists "${raw}", which is not a host name: write the host alone (api-downloads.<region domain>), without scheme or path.`,
        });
        return;
      }
      if (config.allowedOverrideHosts.includes(hostname) || isRegionDownloadHost(hostname)) return;
      violations.push({
        ...where,
        message: `${name} lets contact-list snapshots download from ${hostname}, which is not api-downloads.<domain> of a Genesys Cloud region (where Genesys serves export files): contact data would be fetched from it. Remove it, or allow it in allowedOverrideHosts once you know Genesys serves your exports there.`,
      });
    };
    const checkRegion = (where: Where, value: string) => {
      if (regionDomain(value) === undefined) {
        violations.push({
          ...where,
          message: `GENESYS_REGION "${value}" is not a Genesys Cloud region; use an AWS region key such as eu-west-1 or a domain such as mypurecloud.ie.`,
        });
      }
    };
    for (const { object, name, value } of configuredValues(input.objects)) {
      const baseUrl = BASE_URLS.find((candidate) => candidate.env === name);
      if (baseUrl !== undefined && value !== "") checkUrl({ object }, name, value, baseUrl.host);
      if (name === "GENESYS_REGION" && value !== "") checkRegion({ object }, value);
      if (name === DOWNLOAD_HOSTS_ENV)
        for (const host of value.split(",")) checkDownloadHost({ object }, name, host);
    }
    for (const chart of input.charts) {
      const genesys = (chart.values.genesys ?? {}) as Record<string, unknown>;
      for (const { host, chartKey } of BASE_URLS) {
        const value = genesys[host.baseUrl.setting];
        if (typeof value === "string" && value !== "") checkUrl({ chart: chart.name }, chartKey, value, host);
      }
      if (typeof genesys.region === "string" && genesys.region !== "")
        checkRegion({ chart: chart.name }, genesys.region);
      const downloadHosts = chartValueAt(chart.values, DOWNLOAD_HOSTS_CHART);
      if (Array.isArray(downloadHosts))
        for (const host of downloadHosts)
          checkDownloadHost({ chart: chart.name }, DOWNLOAD_HOSTS_CHART, String(host));
      if (typeof genesys.environment_uri === "string")
        checkUrl({ chart: chart.name }, "genesys.environment_uri", genesys.environment_uri, LOGIN);
    }
    return violations;
  },
});
