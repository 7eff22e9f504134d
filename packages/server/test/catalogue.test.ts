import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERRORS } from '@clipchat/protocol';

describe('error catalogue', () => {
  it('docs/api.md lists exactly the codes of the catalogue, with the same statuses', () => {
    const md = readFileSync(
      fileURLToPath(new URL('../../../docs/api.md', import.meta.url)),
      'utf8',
    );
    const section = md.slice(md.indexOf('## Error catalogue'));
    const rows = [...section.matchAll(/^\| `(ERR_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [
      m[1],
      Number(m[2]),
    ]);
    expect(Object.fromEntries(rows)).toEqual(
      Object.fromEntries(Object.entries(ERRORS).map(([k, v]) => [k, v.status])),
    );
  });

  it('every code the server source throws is in the catalogue', () => {
    const root = fileURLToPath(new URL('../src/', import.meta.url));
    const files: string[] = [];
    const walk = (d: string) => {
      for (const f of readdirSync(d)) {
        const p = d + f;
        if (statSync(p).isDirectory()) walk(p + '/');
        else if (p.endsWith('.ts')) files.push(p);
      }
    };
    walk(root);
    const used = new Set<string>();
    for (const f of files)
      for (const m of readFileSync(f, 'utf8').matchAll(/'(ERR_[A-Z_]+)'/g)) used.add(m[1]!);
    const unknown = [...used].filter((c) => !(c in ERRORS));
    expect(unknown).toEqual([]);
  });
});
