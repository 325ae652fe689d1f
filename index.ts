import * as pulumi from "@pulumi/pulumi";
import { resolveEndpoints } from "./app/src/genesys/regions";

/**
 * The Pulumi program's entry point. The components that deploy the chart, the shared volume,
 * the Vault-sourced Secret, the egress policy and the monitoring objects are not built yet
 * (see components/README.md). Until they are, `pulumi up` stops here with a clear message
 * rather than creating an empty stack that looks deployed. The region is still validated, so
 * a bad stack file is caught now.
 */
const config = new pulumi.Config();
const endpoints = resolveEndpoints({ region: config.require("genesysRegion") });

throw new pulumi.RunError(
  `Nothing to deploy yet for region ${endpoints.domain}: the Kubernetes components of this program have not landed. ` +
    "Run the sync service locally with `npm run demo` meanwhile.",
);
