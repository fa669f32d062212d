/** A row of an invariant table: what was checked, what it must be, what was found. */
export interface CheckRow {
  readonly check: string;
  /** What the invariant requires; `undefined` for a measurement with no fixed answer. */
  readonly expected: number | string | undefined;
  readonly actual: number | string;
  /** Why a measurement is what it is, or which ids broke an invariant (a few). */
  readonly note?: string | undefined;
}

export const passed = (row: CheckRow): boolean =>
  row.expected === undefined || String(row.expected) === String(row.actual);

/** A plain-text table (also valid Markdown), one line per row. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export function formatChecks(rows: readonly CheckRow[]): string {
  return formatTable(
    ['invariant', 'expected', 'actual', 'ok', 'note'],
    rows.map((r) => [
      r.check,
      r.expected === undefined ? '(measured)' : String(r.expected),
      String(r.actual),
      r.expected === undefined ? '' : passed(r) ? 'yes' : 'NO',
      r.note ?? '',
    ]),
  );
}
