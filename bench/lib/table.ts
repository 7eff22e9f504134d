/** Markdown tables (readable in a terminal, pasteable into docs/benchmarks.md). */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  return [line(head), `| ${w.map((n) => '-'.repeat(n)).join(' | ')} |`, ...rows.map(line)].join(
    '\n',
  );
}

export const kib = (n: number) =>
  n >= 1024 * 1024 ? `${+(n / 1048576).toFixed(2)} MiB` : `${+(n / 1024).toFixed(1)} KiB`;
export const fixed = (n: number | undefined, d: number) =>
  n === undefined || Number.isNaN(n) ? '—' : Number.isFinite(n) ? n.toFixed(d) : '∞';
export const signed = (n: number | undefined, d: number) =>
  n === undefined ? '—' : `${n >= 0 ? '+' : ''}${n.toFixed(d)}`;
