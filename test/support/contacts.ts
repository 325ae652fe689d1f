/** Generated contact files: valid Irish mobile numbers, with bad rows where asked. */
export interface GeneratedFile {
  readonly content: string;
  readonly goodIds: readonly string[];
  /** 1-based line numbers of the bad rows. */
  readonly badLines: readonly number[];
}

export function phoneFor(index: number): string {
  return `085${String(index % 10_000_000).padStart(7, "0")}`;
}

/** CSV with `rows` data rows; every `badEvery`-th row is bad in one of several ways. */
export function generateCsv(
  rows: number,
  options: { badEvery?: number; idPrefix?: string; crlf?: boolean } = {},
): GeneratedFile {
  const eol = options.crlf ? "\r\n" : "\n";
  const prefix = options.idPrefix ?? "c";
  const lines = [`id,phone,firstName,note`];
  const goodIds: string[] = [];
  const badLines: number[] = [];
  for (let index = 0; index < rows; index += 1) {
    const line = index + 2;
    if (options.badEvery && index % options.badEvery === options.badEvery - 1) {
      badLines.push(line);
      const kind = (index / options.badEvery) % 4;
      if (kind < 1) lines.push(`${prefix}${index},not-a-phone,Bad,x`);
      else if (kind < 2) lines.push(`,${phoneFor(index)},NoId,x`);
      else if (kind < 3) lines.push(`${prefix}${index},${phoneFor(index)},Too,many,fields`);
      else lines.push(`${prefix}${index},,NoPhone,x`);
      continue;
    }
    goodIds.push(`${prefix}${index}`);
    lines.push(`${prefix}${index},${phoneFor(index)},"Name, ${index}","said ""hi"""`);
  }
  return { content: lines.join(eol) + eol, goodIds, badLines };
}
