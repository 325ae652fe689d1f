import type { ExportStatus } from "../export/export-service";
import type { ClientState } from "../genesys/client";
import type { ImportStatus } from "../import/import-service";
import type { RouteStatus } from "../import/route-set";

/**
 * What the console needs of the service's parts, and no more: it shows their state and flips
 * their pause switches. The service passes its Genesys client, import and export; a test passes
 * plain objects.
 */
export interface GenesysView {
  state(): ClientState;
}

export interface ImportControl {
  status(): ImportStatus & { readonly routes?: readonly RouteStatus[] };
  pause(): void;
  resume(): void;
}

export interface ExportControl {
  status(): ExportStatus;
  /** Results before it are in the outbox; undefined before the first poll. */
  watermarkMs(): Promise<number | undefined>;
  pause(): void;
  resume(): void;
}
