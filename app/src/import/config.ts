/**
 * What the import needs from the service's configuration, owned here so that import/ never reads
 * the top-level config.ts: config.ts builds an ImportConfig from the settings and hands it down.
 */
export interface ImportConfig {
  /** Column holding the stable contact id (posting again is an upsert). */
  readonly idColumn: string;
  /** Columns holding phone numbers, normalised to E.164. */
  readonly phoneColumns: readonly string[];
  /** ISO 3166 country for numbers written without an international prefix. */
  readonly defaultCountry: string;
  /** The contact list's columns; a file with other columns is refused. Empty: accept any. */
  readonly columns: readonly string[];
  /** A JSON file of import routes (shared/routes.ts), read at start; undefined: the default route alone. */
  readonly routesFile?: string;
  readonly scanIntervalSeconds: number;
  /** A claim whose holder stopped heartbeating this long ago is taken over. */
  readonly claimTimeoutSeconds: number;
  /** A file in inbox/ younger than this, or still growing, is left for the next scan. */
  readonly settleSeconds: number;
  readonly batchesInFlight: number;
  readonly maxRecordBytes: number;
  /** The first wait before contacts a campaign kept are removed again (then 4× and 10× it); default 30. */
  readonly removalRetrySeconds?: number;
  /** Rows listed in one file's rejects report; past it they are only counted. */
  readonly maxRejectedRows: number;
  /** Whole-list loads through Genesys' bulk upload (inbox/bulk/, inbox/replace/). */
  readonly bulk: BulkImportConfig;
}

export interface BulkImportConfig {
  /** Files in inbox/replace/ clear the list first; false refuses them (clearing cancels callbacks). */
  readonly allowClear: boolean;
  readonly uploadTimeoutSeconds: number;
  /** How long an upload of unknown fate must stay invisible in the import status before it is sent again. */
  readonly unseenSeconds: number;
  readonly pollMaxSeconds: number;
}
