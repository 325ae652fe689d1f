import { CLUSTER_ERROR_CODES } from "../app/src/cluster/errors";
import { CONSOLE_ERROR_CODES } from "../app/src/console/errors";
import { DNC_ERROR_CODES } from "../app/src/dnc/errors";
import { EXPORT_ERROR_CODES } from "../app/src/export/errors";
import { GENESYS_ERROR_CODES } from "../app/src/genesys/errors";
import { IMPORT_ERROR_CODES } from "../app/src/import/errors";
import { SHARED_ERROR_CODES, type ErrorCodeDoc } from "../app/src/shared/errors";

/** The page the one list of error codes is rendered into. */
export const TROUBLESHOOTING_PAGE = "docs/troubleshooting.md";

/** Every module's list of codes, in the order the page shows them. */
export const ERROR_CODE_LISTS: ReadonlyArray<{
  readonly title: string;
  readonly source: string;
  readonly codes: Readonly<Record<string, ErrorCodeDoc>>;
}> = [
  { title: "Configuration and the service", source: "app/src/shared/errors.ts", codes: SHARED_ERROR_CODES },
  { title: "The Genesys Cloud client", source: "app/src/genesys/errors.ts", codes: GENESYS_ERROR_CODES },
  { title: "The contact import", source: "app/src/import/errors.ts", codes: IMPORT_ERROR_CODES },
  { title: "The DNC routes", source: "app/src/dnc/errors.ts", codes: DNC_ERROR_CODES },
  {
    title: "The results export and the webhook",
    source: "app/src/export/errors.ts",
    codes: EXPORT_ERROR_CODES,
  },
  {
    title: "Leader election and the Lease API",
    source: "app/src/cluster/errors.ts",
    codes: CLUSTER_ERROR_CODES,
  },
  { title: "The operator console", source: "app/src/console/errors.ts", codes: CONSOLE_ERROR_CODES },
];

const BEGIN =
  "<!-- >>> error codes: generated from each module's errors.ts by `npm run settings:generate` -->";
const END = "<!-- <<< error codes -->";

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** The error-code section of the troubleshooting page: one table per module, code, meaning, what to do. */
export function renderErrorCodes(): string {
  const lines = [BEGIN, ""];
  for (const { title, source, codes } of ERROR_CODE_LISTS) {
    lines.push(
      `### ${title}`,
      "",
      `From \`${source}\`.`,
      "",
      "| code | what it means | what to do |",
      "| --- | --- | --- |",
    );
    for (const [code, doc] of Object.entries(codes))
      lines.push(`| \`${code}\` | ${cell(doc.meaning)} | ${cell(doc.action)} |`);
    lines.push("");
  }
  lines.push(END);
  return lines.join("\n");
}

/** The troubleshooting page with its error-code section as the lists say now (appended when missing). */
export function renderTroubleshootingPage(current: string): string {
  const from = current.indexOf(BEGIN);
  const to = current.indexOf(END);
  if (from < 0 || to < 0)
    return `${current.trimEnd()}\n\n## Error codes\n\nEvery error the service raises on purpose carries one of these codes (\`code\` in its log line).\n\n${renderErrorCodes()}\n`;
  return `${current.slice(0, from)}${renderErrorCodes()}${current.slice(to + END.length)}`;
}
