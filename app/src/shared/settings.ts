/**
 * Every setting of the service, described once. From this table come the service's schema and
 * the types and mapping of its configuration (app/src/config.ts), the chart's values.yaml defaults
 * and `## @param` lines, the settings part of values.schema.json, the ConfigMap, the Deployment's
 * Secret and pod-field env entries, and the variable table of docs/configuration.md
 * (`npm run settings:generate` writes them; `npm test` fails while any of them is stale). The stack
 * passes these settings under their chart keys, and the policy pack reads its bounds and chart
 * paths from here. Rules between settings sit beside it, in setting-rules.ts.
 *
 * To add a setting: docs/development.md.
 */

export type SettingType = "string" | "url" | "integer" | "number" | "boolean" | "enum" | "list";

/** How the chart sets a variable. */
export type ChartSource =
  /** From `.Values.<value>` through the ConfigMap. `declaredBy: "chart"`: the value is the chart's own (values.yaml declares it by hand, other templates use it too). */
  | { readonly value: string; readonly declaredBy?: "chart"; readonly when?: string }
  /**
   * From the Secret named by existingSecret.name, under the key `.Values.existingSecret.<secretKey>`,
   * whose default is `keyName` (the key the stack writes). Optional in the Secret unless the
   * setting is required or switched on by `when`.
   */
  | { readonly secretKey: string; readonly keyName: string; readonly when?: string }
  /** From the pod itself (the downward API). */
  | { readonly fieldRef: string }
  /** Not set by the chart; why. */
  | { readonly unset: string };

export interface SettingDescriptor {
  /** The environment variable: the service's contract. */
  readonly env: string;
  /**
   * Where the parsed value lands in the service's configuration (`import.bulk.allowClear`);
   * undefined for a setting the service reads another way (the region, the proxies, switches).
   */
  readonly config?: string;
  /** Other spellings the service accepts (lower-case proxy variables). */
  readonly aliases?: readonly string[];
  readonly type: SettingType;
  /** One line: what it does (values.yaml's `@param`, docs/configuration.md's table). */
  readonly doc: string;
  readonly unit?: "seconds" | "milliseconds" | "bytes" | "hours" | "requests" | "rows";
  /** The service's default; undefined when it has none. */
  readonly default?: string | number | boolean | readonly string[];
  /** Where the chart's default differs from the service's (leader election is on in a cluster). */
  readonly chartDefault?: string | number | boolean | readonly string[] | null;
  /** The default column of docs/configuration.md, when the default is not a literal ("from the region"). */
  readonly defaultText?: string;
  /** Required: the message that says what to set. */
  readonly required?: string;
  readonly min?: number;
  readonly max?: number;
  /** The minimum itself is not allowed (a positive number of seconds). */
  readonly exclusiveMin?: boolean;
  readonly choices?: readonly string[];
  /** The message when the value does not parse (a URL, a number). */
  readonly invalid?: string;
  /** A pattern the value must match, and the message when it does not. */
  readonly pattern?: { readonly regex: string; readonly message: string };
  /** Also readable from the file named by `<env>_FILE`; never in values or the ConfigMap. */
  readonly secret?: boolean;
  readonly chart: ChartSource;
  /** Extra JSON-schema keywords for the chart value (stricter than the service, which also serves loopback tests). */
  readonly chartSchema?: Readonly<Record<string, unknown>>;
}

/** Chart values that are switches for a group of settings, not variables themselves. */
export interface ChartSwitch {
  readonly value: string;
  readonly doc: string;
  readonly default: boolean;
}

const WHEN_CONSOLE = "console.enabled";

export const SETTINGS = [
  // Genesys Cloud connection
  {
    env: "GENESYS_REGION",
    type: "string",
    doc: "Genesys Cloud region: AWS key (eu-west-1) or domain (mypurecloud.ie)",
    chartDefault: "eu-west-1",
    defaultText: "(none: set it, or both base URLs)",
    chart: { value: "genesys.region" },
  },
  {
    env: "GENESYS_API_BASE_URL",
    type: "string",
    doc: "Overrides the API base URL (proxy, private endpoint, the simulator); https except on loopback",
    defaultText: "from the region",
    chart: { value: "genesys.apiBaseUrl" },
    chartSchema: { pattern: "^(https://.+)?$" },
  },
  {
    env: "GENESYS_LOGIN_BASE_URL",
    type: "string",
    doc: "Overrides the login base URL; https except on loopback",
    defaultText: "from the region",
    chart: { value: "genesys.loginBaseUrl" },
    chartSchema: { pattern: "^(https://.+)?$" },
  },
  {
    env: "GENESYS_APPS_BASE_URL",
    type: "string",
    doc: "Overrides the bulk contact-list upload base URL (inbox/bulk/, inbox/replace/); https except on loopback",
    defaultText: "from an overridden API base URL, else apps.<domain> of the region",
    chart: { value: "genesys.appsBaseUrl" },
    chartSchema: { pattern: "^(https://.+)?$" },
  },
  {
    env: "GENESYS_CLIENT_ID",
    config: "clientId",
    type: "string",
    doc: "OAuth client id (Client Credentials grant); not a secret",
    required:
      "GENESYS_CLIENT_ID is required: the OAuth client id (Client Credentials grant) from Genesys Cloud Admin > OAuth",
    chart: { value: "genesys.clientId" },
  },
  {
    env: "GENESYS_CLIENT_SECRET",
    config: "clientSecret",
    type: "string",
    secret: true,
    doc: "The OAuth client's secret",
    required:
      "GENESYS_CLIENT_SECRET is required: set it, or GENESYS_CLIENT_SECRET_FILE to the path of a mounted Secret file",
    chart: { secretKey: "clientSecretKey", keyName: "client-secret" },
  },
  {
    env: "GENESYS_CONTACT_LIST_ID",
    config: "contactListId",
    type: "string",
    doc: "Outbound contact list that imported contacts go to",
    required: "GENESYS_CONTACT_LIST_ID is required: the outbound contact list that imported contacts go to",
    chart: { value: "genesys.contactListId" },
  },
  {
    env: "GENESYS_TOKEN_POOL_SIZE",
    config: "tokenPoolSize",
    type: "integer",
    doc: "Access tokens each replica holds at once; Genesys counts the rate limit per token, so each adds its own budget",
    default: 1,
    min: 1,
    max: 50,
    chart: { value: "genesys.tokenPoolSize" },
  },
  {
    env: "GENESYS_RATE_LIMIT_PER_WINDOW",
    config: "rateLimit.requestsPerWindow",
    type: "integer",
    unit: "requests",
    doc: "Requests per token per window the client paces to (Genesys: 300 a minute per token)",
    default: 300,
    min: 1,
    chart: { value: "genesys.rateLimitPerMinute" },
  },
  {
    env: "GENESYS_RATE_LIMIT_WINDOW_MS",
    config: "rateLimit.windowMs",
    type: "integer",
    unit: "milliseconds",
    doc: "The window the rate limit counts over (Genesys: one minute); rateLimitPerMinute is per this window",
    default: 60_000,
    min: 1,
    chart: { value: "genesys.rateLimitWindowMs" },
  },
  {
    env: "GENESYS_RATE_LIMIT_MARGIN_MS",
    config: "rateLimit.safetyMarginMs",
    type: "integer",
    unit: "milliseconds",
    doc: "Added to the window before a request slot is reused, because Genesys counts arrivals",
    defaultText: "max(250, 1 % of the window)",
    min: 0,
    chart: { value: "genesys.rateLimitMarginMs" },
  },
  {
    env: "GENESYS_MAX_RETRY_AFTER_SECONDS",
    config: "maxRetryAfterSeconds",
    type: "integer",
    unit: "seconds",
    doc: "A longer Retry-After hands the batch back, to be sent after the wait",
    default: 180,
    min: 1,
    chart: { value: "genesys.maxRetryAfterSeconds" },
  },
  {
    env: "GENESYS_REQUEST_TIMEOUT_SECONDS",
    config: "requestTimeoutSeconds",
    type: "integer",
    unit: "seconds",
    doc: "Gives up on one API attempt whose answer has not started (or stalls) this long, then retries it as transient; raise it behind a slow proxy",
    default: 30,
    min: 1,
    max: 300,
    chart: { value: "genesys.requestTimeoutSeconds" },
  },
  {
    env: "POLLING_INTERVAL_SECONDS",
    config: "pollingIntervalSeconds",
    type: "integer",
    unit: "seconds",
    doc: "How often the leader polls conversation results",
    default: 300,
    min: 1,
    chart: { value: "genesys.pollingIntervalSeconds" },
  },
  {
    env: "TOKEN_REFRESH_BUFFER_SECONDS",
    config: "tokenRefreshBufferSeconds",
    type: "number",
    unit: "seconds",
    doc: "Fetch the next token this long before the current one expires (at most half a short token's lifetime is used)",
    default: 60,
    min: 30,
    max: 3600,
    chart: { value: "auth.tokenRefreshBufferSeconds" },
  },
  // Outbound network
  {
    env: "HTTPS_PROXY",
    aliases: ["https_proxy"],
    type: "string",
    doc: "Forward proxy for Genesys token and API requests, http(s)://host:port without credentials; unset, HTTP_PROXY is used",
    defaultText: "(direct)",
    chart: { value: "proxy.httpsProxy" },
    chartSchema: { $ref: "#/$defs/proxyUrl" },
  },
  {
    env: "HTTP_PROXY",
    aliases: ["http_proxy"],
    type: "string",
    doc: "Proxy for http:// base URLs, and for https:// too when HTTPS_PROXY is unset (undici's rule); no credentials",
    defaultText: "(direct)",
    chart: { value: "proxy.httpProxy" },
    chartSchema: { $ref: "#/$defs/proxyUrl" },
  },
  {
    env: "NO_PROXY",
    aliases: ["no_proxy"],
    type: "list",
    doc: "Hosts reached directly: host (and its subdomains), an IP address, host:port, or *; CIDR ranges are not matched. The Lease API never uses the proxy",
    defaultText: "(none)",
    chart: { value: "proxy.noProxy" },
    chartSchema: {
      items: {
        type: "string",
        pattern: "^[^\\s,/]+$",
        description: "host, .domain, IP or host:port; no CIDR ranges (never matched)",
      },
    },
  },
  // The process
  {
    env: "SYNC_DATA_DIR",
    config: "dataDir",
    type: "string",
    doc: "The shared volume's mount path",
    required: "SYNC_DATA_DIR is required: the shared volume's mount path (for example /data)",
    chart: { value: "persistence.mountPath", declaredBy: "chart" },
  },
  {
    env: "PORT",
    config: "port",
    type: "integer",
    doc: "HTTP port: /healthz, /readyz, /metrics, the webhook and the console (0: any free port)",
    default: 8080,
    min: 0,
    max: 65_535,
    chart: { value: "containerPort", declaredBy: "chart" },
  },
  {
    env: "HOST",
    config: "host",
    type: "string",
    doc: "Address the HTTP server listens on",
    default: "0.0.0.0",
    chart: { unset: "a pod listens on all its interfaces" },
  },
  {
    env: "LOG_LEVEL",
    config: "logLevel",
    type: "enum",
    doc: "Log level (JSON on stdout)",
    choices: ["fatal", "error", "warn", "info", "debug", "trace", "silent"],
    default: "info",
    chart: { value: "logLevel" },
  },
  {
    env: "SHUTDOWN_GRACE_SECONDS",
    config: "shutdownGraceSeconds",
    type: "integer",
    unit: "seconds",
    doc: "After SIGTERM, exit within this; keep it below the pod's terminationGracePeriodSeconds",
    default: 20,
    min: 1,
    chart: { value: "shutdownGraceSeconds" },
  },
  // Contact import
  {
    env: "IMPORT_ID_COLUMN",
    config: "import.idColumn",
    type: "string",
    doc: "Column holding the stable contact id: importing again is an upsert",
    default: "id",
    chart: { value: "import.idColumn" },
  },
  {
    env: "IMPORT_PHONE_COLUMNS",
    config: "import.phoneColumns",
    type: "list",
    doc: "Columns holding phone numbers, normalised to E.164",
    default: ["phone"],
    chart: { value: "import.phoneColumns" },
    chartSchema: { minItems: 1 },
  },
  {
    env: "IMPORT_DEFAULT_COUNTRY",
    config: "import.defaultCountry",
    type: "string",
    doc: "ISO 3166 country for numbers written without + and a country code",
    default: "US",
    pattern: {
      regex: "^[A-Z]{2}$",
      message: "IMPORT_DEFAULT_COUNTRY must be a two-letter ISO 3166 code such as IE or US",
    },
    chart: { value: "import.defaultCountry" },
  },
  {
    env: "IMPORT_COLUMNS",
    config: "import.columns",
    type: "list",
    doc: "The contact list's columns; a file with other columns is refused (empty: any)",
    default: [],
    defaultText: "(any)",
    chart: { value: "import.columns" },
  },
  {
    env: "IMPORT_ROUTES_FILE",
    config: "import.routesFile",
    type: "string",
    doc: "A JSON file of import routes (other contact lists, each fed from inbox/<route>/, and internal DNC lists, each fed from dnc/<route>/); unset: the default route alone",
    defaultText: "(none: files directly in inbox/ only)",
    chart: {
      unset:
        "the chart sets it itself when `routes` is given, to the routes.json it mounts from the ConfigMap",
    },
  },
  {
    env: "IMPORT_SCAN_INTERVAL_SECONDS",
    config: "import.scanIntervalSeconds",
    type: "number",
    unit: "seconds",
    doc: "How often inbox/ is scanned (no inotify: it misses other NFS clients)",
    default: 5,
    min: 0,
    exclusiveMin: true,
    chart: { value: "import.scanIntervalSeconds" },
  },
  {
    env: "IMPORT_CLAIM_TIMEOUT_SECONDS",
    config: "import.claimTimeoutSeconds",
    type: "number",
    unit: "seconds",
    doc: "A claim not heartbeated this long is taken over",
    default: 300,
    min: 0,
    exclusiveMin: true,
    chart: { value: "import.claimTimeoutSeconds" },
  },
  {
    env: "IMPORT_SETTLE_SECONDS",
    config: "import.settleSeconds",
    type: "number",
    unit: "seconds",
    doc: "A file in inbox/ younger than this, or still growing, waits for the next scan",
    default: 5,
    min: 0,
    chart: { value: "import.settleSeconds" },
  },
  {
    env: "IMPORT_BATCHES_IN_FLIGHT",
    config: "import.batchesInFlight",
    type: "integer",
    doc: "Batches sent at once per replica (the client still paces them)",
    default: 4,
    min: 1,
    max: 64,
    chart: { value: "import.batchesInFlight" },
  },
  {
    env: "IMPORT_MAX_RECORD_BYTES",
    config: "import.maxRecordBytes",
    type: "integer",
    unit: "bytes",
    doc: "Longest row accepted",
    default: 1_048_576,
    min: 1,
    chart: { value: "import.maxRecordBytes" },
  },
  {
    env: "IMPORT_MAX_REJECTED_ROWS",
    config: "import.maxRejectedRows",
    type: "integer",
    unit: "rows",
    doc: "Rows listed in one file's rejects report; past this they are only counted, and a file whose rejected rows pass half of those read is stopped as mostly bad",
    default: 50_000,
    min: 1,
    chart: { value: "import.maxRejectedRows" },
  },
  {
    env: "IMPORT_REMOVAL_RETRY_SECONDS",
    config: "import.removalRetrySeconds",
    type: "number",
    unit: "seconds",
    doc: "The first wait before contacts a campaign kept are removed again; the second and third are 4 and 10 times it (default 30 s, 2 min, 5 min). The route's other files on that replica wait meanwhile",
    default: 30,
    min: 0,
    exclusiveMin: true,
    chart: { value: "import.removalRetrySeconds" },
  },
  {
    env: "IMPORT_BULK_ALLOW_CLEAR",
    config: "import.bulk.allowClear",
    type: "boolean",
    doc: "Files in inbox/replace/ clear the list before their bulk load (clearing cancels scheduled callbacks); off, such files are refused",
    default: false,
    chart: { value: "import.bulkAllowClear" },
  },
  {
    env: "IMPORT_BULK_UPLOAD_TIMEOUT_SECONDS",
    config: "import.bulk.uploadTimeoutSeconds",
    type: "number",
    unit: "seconds",
    doc: "Longest one bulk upload may take to send its file",
    default: 900,
    min: 0,
    exclusiveMin: true,
    chart: { value: "import.bulkUploadTimeoutSeconds" },
  },
  {
    env: "IMPORT_BULK_UNSEEN_SECONDS",
    config: "import.bulk.unseenSeconds",
    type: "number",
    unit: "seconds",
    doc: "After a crash, or a connection broken once the whole file was sent: how long the list's import status must show no sign of the upload before it is sent again",
    default: 120,
    min: 0,
    chart: { value: "import.bulkUnseenSeconds" },
  },
  {
    env: "IMPORT_BULK_POLL_MAX_SECONDS",
    config: "import.bulk.pollMaxSeconds",
    type: "number",
    unit: "seconds",
    doc: "Longest wait between two reads of the list's import status (from 2 s, backing off)",
    default: 30,
    min: 1,
    chart: { value: "import.bulkPollMaxSeconds" },
  },
  // Results export
  {
    env: "EXPORT_ENABLED",
    config: "export.enabled",
    type: "boolean",
    doc: "Poll conversation results into outbox/ (one replica polls: see leader election)",
    default: true,
    chart: { value: "export.enabled" },
  },
  {
    env: "EXPORT_CONTACT_LIST_IDS",
    config: "export.contactListIds",
    type: "list",
    doc: "Contact lists whose conversations are exported",
    default: [],
    defaultText: "the import's list",
    chart: { value: "export.contactListIds" },
  },
  {
    env: "EXPORT_OVERLAP_SECONDS",
    config: "export.overlapSeconds",
    type: "integer",
    unit: "seconds",
    doc: "Each poll re-reads this much before the watermark, for late-arriving conversations",
    default: 900,
    min: 1,
    chart: { value: "export.overlapSeconds" },
  },
  {
    env: "EXPORT_INITIAL_LOOKBACK_SECONDS",
    config: "export.initialLookbackSeconds",
    type: "integer",
    unit: "seconds",
    doc: "How far back the very first poll reaches (older: --backfill)",
    default: 3600,
    min: 1,
    chart: { value: "export.initialLookbackSeconds" },
  },
  {
    env: "EXPORT_JOB_THRESHOLD_SECONDS",
    config: "export.jobThresholdSeconds",
    type: "integer",
    unit: "seconds",
    doc: "A longer window (first run, after an outage) goes through the async jobs API",
    default: 21_600,
    min: 1,
    chart: { value: "export.jobThresholdSeconds" },
  },
  {
    env: "EXPORT_PAGE_SIZE",
    config: "export.pageSize",
    type: "integer",
    doc: "Conversation details query page size (Genesys allows at most 100)",
    default: 100,
    min: 1,
    max: 100,
    chart: { value: "export.pageSize" },
  },
  {
    env: "EXPORT_EVENT_SEGMENT_SECONDS",
    config: "export.eventSegmentSeconds",
    type: "integer",
    unit: "seconds",
    doc: "Pushed webhook events are published in outbox/ at least this often",
    default: 60,
    min: 1,
    chart: { value: "export.eventSegmentSeconds" },
  },
  {
    env: "EXPORT_REREAD_WINDOW_HOURS",
    config: "export.rereadWindowHours",
    type: "integer",
    unit: "hours",
    doc: "Exported conversations are re-read until this long after they end; a changed one is written again as a correction (0: off)",
    default: 48,
    min: 0,
    max: 168,
    chart: { value: "export.rereadWindowHours" },
  },
  {
    env: "EXPORT_REREAD_INTERVAL_SECONDS",
    config: "export.rereadIntervalSeconds",
    type: "integer",
    unit: "seconds",
    doc: "Each conversation in the re-read window is read again about this often",
    default: 21_600,
    min: 60,
    chart: { value: "export.rereadIntervalSeconds" },
  },
  {
    env: "EXPORT_REREAD_MAX_REQUESTS_PER_MINUTE",
    config: "export.rereadMaxRequestsPerMinute",
    type: "integer",
    unit: "requests",
    doc: "Ceiling of the re-read (100 conversations a request); it also waits while the rate budget is over half used",
    default: 5,
    min: 1,
    max: 300,
    chart: { value: "export.rereadMaxRequestsPerMinute" },
  },
  // Contact-list snapshots (export/snapshots.ts): each route's list as Genesys' own export CSV
  {
    env: "EXPORT_LIST_SNAPSHOT_INTERVAL_SECONDS",
    config: "export.listSnapshotIntervalSeconds",
    type: "integer",
    unit: "seconds",
    doc: "The leader publishes each route's contact list (Genesys' export: its columns and the dialer's system columns) as outbox/lists/<route>-<UTC time>.csv this often (0: off); or set listSnapshotDailyAt",
    default: 0,
    min: 0,
    chart: { value: "export.listSnapshotIntervalSeconds" },
  },
  {
    env: "EXPORT_LIST_SNAPSHOT_DAILY_AT",
    config: "export.listSnapshotDailyAt",
    type: "string",
    doc: "Publish the snapshots once a day at this UTC time, HH:MM (unset: off); or set listSnapshotIntervalSeconds",
    defaultText: "(off)",
    pattern: {
      regex: "^([01]\\d|2[0-3]):[0-5]\\d$",
      message: "EXPORT_LIST_SNAPSHOT_DAILY_AT must be a UTC time of day as HH:MM, such as 02:30",
    },
    chart: { value: "export.listSnapshotDailyAt" },
    chartSchema: { pattern: "^(([01]\\d|2[0-3]):[0-5]\\d)?$" },
  },
  {
    env: "EXPORT_LIST_SNAPSHOT_KEEP",
    config: "export.listSnapshotKeep",
    type: "integer",
    doc: "Snapshots kept per route in outbox/lists/; a new one removes the oldest beyond this",
    default: 7,
    min: 1,
    max: 1000,
    chart: { value: "export.listSnapshotKeep" },
  },
  {
    env: "EXPORT_LIST_SNAPSHOT_READY_TIMEOUT_SECONDS",
    config: "export.listSnapshotReadyTimeoutSeconds",
    type: "integer",
    unit: "seconds",
    doc: "How long a list's export may take to be ready before that snapshot fails (tried again at the next one)",
    default: 1800,
    min: 10,
    max: 86_400,
    chart: { value: "export.listSnapshotReadyTimeoutSeconds" },
  },
  {
    env: "EXPORT_LIST_SNAPSHOT_DOWNLOAD_HOSTS",
    config: "export.listSnapshotDownloadHosts",
    type: "list",
    doc: "Hosts (host or host:port) a snapshot's signed download URL may point at besides the region's api-downloads.<domain>; every other host is refused",
    default: [],
    defaultText: "(none: the region's download host only)",
    chart: { value: "export.listSnapshotDownloadHosts" },
    chartSchema: {
      items: {
        type: "string",
        pattern: "^[A-Za-z0-9.-]+(:\\d+)?$",
        description: "a host name or host:port, no scheme or path",
      },
    },
  },
  // Webhook
  {
    env: "WEBHOOK_USERNAME",
    config: "webhook.username",
    type: "string",
    doc: "Basic-auth user of POST /webhooks/genesys; with the password, or neither (off)",
    defaultText: "(off)",
    chart: { secretKey: "webhookUsernameKey", keyName: "webhook-username" },
  },
  {
    env: "WEBHOOK_PASSWORD",
    config: "webhook.password",
    type: "string",
    secret: true,
    doc: "Basic-auth password of the webhook, 16 characters or more",
    defaultText: "(off)",
    chart: { secretKey: "webhookPasswordKey", keyName: "webhook-password" },
  },
  {
    env: "WEBHOOK_MAX_BODY_BYTES",
    config: "webhook.maxBodyBytes",
    type: "integer",
    unit: "bytes",
    doc: "Larger webhook bodies get 413",
    default: 65_536,
    min: 1,
    max: 1_048_576,
    chart: { value: "webhook.maxBodyBytes" },
  },
  {
    env: "WEBHOOK_REPLAY_WINDOW_SECONDS",
    config: "webhook.replayWindowSeconds",
    type: "integer",
    unit: "seconds",
    doc: "A replayed event id is stored once within this long, whichever replica it reaches, across restarts",
    default: 86_400,
    min: 60,
    chart: { value: "webhook.replayWindowSeconds" },
  },
  {
    env: "WEBHOOK_REPLAY_MAX_IDS",
    config: "webhook.replayMaxIds",
    type: "integer",
    doc: "Most event ids remembered (a small file each in state/); beyond it the oldest are forgotten first",
    default: 100_000,
    min: 256,
    max: 10_000_000,
    chart: { value: "webhook.replayMaxIds" },
  },
  // Leader election
  {
    env: "LEADER_ELECTION_ENABLED",
    type: "boolean",
    doc: "Elect the one poller through a coordination.k8s.io/v1 Lease (the chart grants rights on leases only); off, this process polls",
    default: false,
    chartDefault: true,
    chart: { value: "leaderElection.enabled" },
  },
  {
    env: "LEADER_ELECTION_LEASE_NAME",
    config: "leaderElection.leaseName",
    type: "string",
    doc: "The Lease, in the pod's namespace",
    default: "genesys-sync-poller",
    chart: { value: "leaderElection.leaseName" },
  },
  {
    env: "LEADER_ELECTION_LEASE_DURATION_SECONDS",
    config: "leaderElection.leaseDurationSeconds",
    type: "integer",
    unit: "seconds",
    doc: "Followers take over a Lease not renewed for this long",
    default: 15,
    min: 1,
    max: 3600,
    chart: { value: "leaderElection.leaseDurationSeconds" },
  },
  {
    env: "LEADER_ELECTION_RENEW_DEADLINE_SECONDS",
    config: "leaderElection.renewDeadlineSeconds",
    type: "integer",
    unit: "seconds",
    doc: "A leader that cannot renew for this long stops polling (below the lease duration)",
    default: 10,
    min: 1,
    max: 3600,
    chart: { value: "leaderElection.renewDeadlineSeconds" },
  },
  {
    env: "LEADER_ELECTION_RETRY_PERIOD_SECONDS",
    config: "leaderElection.retryPeriodSeconds",
    type: "integer",
    unit: "seconds",
    doc: "How often to acquire or renew (below the renew deadline)",
    default: 2,
    min: 1,
    max: 3600,
    chart: { value: "leaderElection.retryPeriodSeconds" },
  },
  {
    env: "LEADER_ELECTION_API_URL",
    type: "url",
    doc: "Another Kubernetes API address, e.g. http://127.0.0.1:8001 behind kubectl proxy",
    defaultText: "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT",
    invalid: "LEADER_ELECTION_API_URL must be a URL such as http://127.0.0.1:8001",
    chart: { unset: "in a pod the in-cluster address is right" },
  },
  {
    env: "LEADER_ELECTION_SERVICE_ACCOUNT_DIR",
    config: "leaderElection.serviceAccountDir",
    type: "string",
    doc: "Where the service account's token (re-read on every call), ca.crt and namespace are",
    default: "/var/run/secrets/kubernetes.io/serviceaccount",
    chart: { unset: "the kubelet mounts the token there" },
  },
  {
    env: "POD_NAME",
    config: "podName",
    type: "string",
    doc: "Identity in the Lease",
    defaultText: "the hostname",
    chart: { fieldRef: "metadata.name" },
  },
  {
    env: "POD_NAMESPACE",
    type: "string",
    doc: "Namespace of the Lease",
    defaultText: "the service account's namespace",
    chart: { fieldRef: "metadata.namespace" },
  },
  // Operator console
  {
    env: "OIDC_ISSUER_URL",
    config: "console.issuerUrl",
    type: "url",
    doc: "The identity provider's issuer URL (https; http only on loopback); setting it turns the console on",
    defaultText: "(console off)",
    invalid: "OIDC_ISSUER_URL must be the identity provider's issuer URL",
    chart: { value: "console.issuerUrl", when: WHEN_CONSOLE },
    // The service also takes http on loopback (tests, a local provider); a pod never has one there.
    chartSchema: { pattern: "^(https://.+)?$" },
  },
  {
    env: "OIDC_CLIENT_ID",
    config: "console.clientId",
    type: "string",
    doc: "The client registered at the provider, with redirect URI <publicUrl>/console/callback",
    defaultText: "required with the console",
    chart: { value: "console.clientId", when: WHEN_CONSOLE },
  },
  {
    env: "OIDC_CLIENT_SECRET",
    config: "console.clientSecret",
    type: "string",
    secret: true,
    doc: "That client's secret",
    defaultText: "required with the console",
    chart: { secretKey: "oidcClientSecretKey", keyName: "oidc-client-secret", when: WHEN_CONSOLE },
  },
  {
    env: "CONSOLE_PUBLIC_URL",
    config: "console.publicUrl",
    type: "url",
    doc: "The console's address as browsers see it (https)",
    defaultText: "required with the console",
    invalid: "CONSOLE_PUBLIC_URL must be a URL such as https://sync.example.com",
    chart: { value: "console.publicUrl", when: WHEN_CONSOLE },
    // The session cookie is Secure; the service takes http only on loopback, which no pod serves.
    chartSchema: { pattern: "^(https://.+)?$" },
  },
  {
    env: "CONSOLE_ALLOWED_GROUPS",
    config: "console.allowedGroups",
    type: "list",
    doc: "Groups (or roles) allowed in; anyone else gets 403",
    default: [],
    defaultText: "required with the console",
    chart: { value: "console.allowedGroups", when: WHEN_CONSOLE },
  },
  {
    env: "CONSOLE_GROUPS_CLAIM",
    config: "console.groupsClaim",
    type: "string",
    doc: "The claim holding groups or roles (ID token, else userinfo)",
    default: "groups",
    chart: { value: "console.groupsClaim", when: WHEN_CONSOLE },
  },
  {
    env: "OIDC_SCOPES",
    config: "console.scopes",
    type: "string",
    doc: "Scopes asked for; add groups where the provider releases groups only with that scope",
    default: "openid profile email",
    chart: { value: "console.scopes", when: WHEN_CONSOLE },
  },
  {
    env: "CONSOLE_SESSION_SECRET",
    config: "console.sessionSecret",
    type: "string",
    secret: true,
    doc: "32+ random characters, the same on every replica: it seals the session cookie",
    defaultText: "required with the console",
    chart: { secretKey: "consoleSessionSecretKey", keyName: "console-session-secret", when: WHEN_CONSOLE },
  },
  {
    env: "CONSOLE_SESSION_HOURS",
    config: "console.sessionHours",
    type: "integer",
    unit: "hours",
    doc: "Console session lifetime",
    default: 8,
    min: 1,
    max: 24,
    chart: { value: "console.sessionHours", when: WHEN_CONSOLE },
  },
] as const satisfies readonly SettingDescriptor[];

type Described = (typeof SETTINGS)[number];

/** The name of a described setting (its environment variable). */
export type SettingName = Described["env"];
type ValueOf<D> = D extends { aliases: readonly string[] }
  ? string
  : D extends { type: "integer" | "number" }
    ? number
    : D extends { type: "boolean" }
      ? boolean
      : D extends { type: "list" }
        ? string[]
        : string;
type Always<D> = D extends { default: unknown } ? true : D extends { required: string } ? true : false;
type Alias<D> = D extends { aliases: readonly (infer A extends string)[] } ? A : never;

type ValueFor<D> = Always<D> extends true ? ValueOf<D> : ValueOf<D> | undefined;
type Placed = Extract<Described, { config: string }>;
/** The field a setting lands in, within the config section `P` (`import.` or "" for the top). */
type FieldIn<D, P extends string> = D extends { config: `${P}${infer K}` }
  ? K extends `${string}.${string}`
    ? never
    : K
  : never;

/**
 * One section of the service's configuration, typed from the table: the settings whose `config`
 * is `<P><field>` (P = "import.bulk.", or "" for the top level), each of its parsed type.
 */
export type ConfigSection<P extends string> = {
  readonly [D in Placed as FieldIn<D, P>]: ValueFor<D>;
};

/** A section whose optional settings have all been checked to be there (the webhook's credentials). */
export type Present<T> = { readonly [K in keyof T]-?: Exclude<T[K], undefined> };

/**
 * The section `prefix` of the configuration from the parsed settings (by variable name): the
 * generic mapper behind ConfigSection, so loadConfig writes no field by hand.
 */
export function configSection<P extends string>(
  prefix: P,
  values: Readonly<Record<string, unknown>>,
): ConfigSection<P> {
  const section: Record<string, unknown> = {};
  for (const setting of SETTINGS as readonly SettingDescriptor[]) {
    const field = setting.config?.startsWith(prefix) ? setting.config.slice(prefix.length) : undefined;
    // An unset optional setting leaves its field out, as an optional property would be.
    if (field !== undefined && !field.includes(".") && values[setting.env] !== undefined)
      section[field] = values[setting.env];
  }
  return section as ConfigSection<P>;
}

/** The parsed settings, typed from the table: a setting with a default or required is always there. */
export type SettingValues = {
  -readonly [D in Described as D["env"]]: Always<D> extends true ? ValueOf<D> : ValueOf<D> | undefined;
} & { -readonly [A in Alias<Described>]: string | undefined };

/** Chart values that switch a group of settings on, declared with them. */
export const CHART_SWITCHES: readonly ChartSwitch[] = [
  {
    value: "console.enabled",
    doc: "Serve /console behind OpenID Connect; off, there is no console at all",
    default: false,
  },
];

/** The chart value naming the Secret that the `secretKey` settings come from. */
export const SECRET_REFERENCE: Omit<ChartSwitch, "default"> & { readonly default: string } = {
  value: "existingSecret.name",
  doc: "Secret holding the client secret and the other credentials (created by the Pulumi program or by you)",
  default: "genesys-integration-secrets",
};

/** The settings by variable name. */
export const SETTING = Object.freeze(
  Object.fromEntries(SETTINGS.map((setting) => [setting.env, setting])),
) as Readonly<Record<Described["env"], SettingDescriptor>>;

/** The setting named `env`, looked up in the table as it is now (a test adds scratch settings). */
function describedAs(env: string): SettingDescriptor | undefined {
  return (SETTINGS as readonly SettingDescriptor[]).find((setting) => setting.env === env);
}

/**
 * The chart value path that sets `env` (`genesys.tokenPoolSize` for GENESYS_TOKEN_POOL_SIZE). Throws
 * when the chart does not set it from values, so a reader of chart values (the policy pack) fails
 * its tests on a renamed or removed key instead of silently falling back to defaults.
 */
export function chartPathOf(env: SettingName): string {
  const chart = describedAs(env)?.chart;
  if (chart === undefined || !("value" in chart))
    throw new Error(`${env} is not set from chart values: no chart path to read it from`);
  return chart.value;
}

/** The value at a dotted chart path (`genesys.tokenPoolSize`) of a chart's values; undefined when absent. */
export function chartValueAt(values: Readonly<Record<string, unknown>>, dotted: string): unknown {
  let cursor: unknown = values;
  for (const key of dotted.split(".")) {
    if (typeof cursor !== "object" || cursor === null || Array.isArray(cursor)) return undefined;
    cursor = (cursor as Record<string, unknown>)[key];
  }
  return cursor;
}

/**
 * The Secret's keys by their chart value (`clientSecretKey: "client-secret"`): what the stack
 * writes in the Secret and passes to the chart, and what values.yaml defaults to.
 */
export const SECRET_KEYS: Readonly<Record<string, string>> = Object.fromEntries(
  (SETTINGS as readonly SettingDescriptor[]).flatMap((setting) =>
    "secretKey" in setting.chart ? [[setting.chart.secretKey, setting.chart.keyName]] : [],
  ),
);

/** The key in the Secret that holds `env` (`client-secret` for GENESYS_CLIENT_SECRET); throws for a setting not from the Secret. */
export function secretKeyOf(env: SettingName): string {
  const chart = describedAs(env)?.chart;
  if (chart === undefined || !("secretKey" in chart)) throw new Error(`${env} is not read from the Secret`);
  return chart.keyName;
}

/** The variables that hold secrets (also readable from `<NAME>_FILE`). */
export const SECRET_SETTINGS: readonly string[] = (SETTINGS as readonly SettingDescriptor[])
  .filter((setting) => setting.secret)
  .map((setting) => setting.env);
