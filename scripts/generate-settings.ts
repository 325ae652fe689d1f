import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { generatedFiles, REGENERATE, ROOT } from "./settings-files";

/**
 * `npm run settings:generate`: writes the files that follow from the settings table
 * (app/src/shared/settings.ts). With --check, writes nothing and exits 1 naming each stale file.
 */
async function main(): Promise<void> {
  const check = process.argv.includes("--check");
  const stale: string[] = [];
  for (const { file, content } of await generatedFiles()) {
    const target = path.join(ROOT, file);
    if (readFileSync(target, "utf8") === content) continue;
    stale.push(file);
    if (!check) writeFileSync(target, content);
  }
  if (check && stale.length > 0) {
    console.error(`stale, regenerate with \`${REGENERATE}\`: ${stale.join(", ")}`);
    process.exit(1);
  }
  console.log(stale.length === 0 ? "generated files are up to date" : `wrote ${stale.join(", ")}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(2);
});
