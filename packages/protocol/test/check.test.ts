/**
 * Frame and body checks give the same answers with TypeBox's compiled checks (the server)
 * and where code generation is forbidden (the web app under its CSP, which has no
 * 'unsafe-eval'): there the checker falls back to TypeBox's interpreter.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FrameError, parseClientFrame } from '../src/index';

const SRC = fileURLToPath(new URL('../src/index.ts', import.meta.url));

const FRAMES = [
  JSON.stringify({ type: 'send', conversationId: 'c1', clientId: 'k1', kind: 'text', text: 'hi' }),
  JSON.stringify({ type: 'send', conversationId: 'c1', clientId: 'k1', kind: 'text', text: 42 }),
  JSON.stringify({
    type: 'send',
    conversationId: 'c1',
    clientId: 'k1',
    kind: 'text',
    text: 'hi',
    extra: 1,
  }),
  JSON.stringify({ type: 'sync', since: 'yesterday' }),
  JSON.stringify({ type: 'nope' }),
  '{"type":',
];

/** What parseClientFrame makes of each frame: "ok" or the error's code and message. */
function outcomes(parse: (raw: string) => unknown): string[] {
  return FRAMES.map((f) => {
    try {
      parse(f);
      return 'ok';
    } catch (e) {
      return e instanceof FrameError ? `${e.code}: ${e.message}` : `thrown: ${String(e)}`;
    }
  });
}

describe('protocol checks', () => {
  it('answer the same with code generation forbidden (a CSP without unsafe-eval)', () => {
    const here = outcomes(parseClientFrame);
    expect(here[0]).toBe('ok');
    expect(here.slice(1).every((o) => o.startsWith('ERR_'))).toBe(true);
    const script = `
      const { parseClientFrame, FrameError } = await import(${JSON.stringify(SRC)});
      let blocked = false; try { new Function('return 1'); } catch { blocked = true; }
      const frames = ${JSON.stringify(FRAMES)};
      const out = frames.map((f) => { try { parseClientFrame(f); return 'ok'; } catch (e) { return e instanceof FrameError ? e.code + ': ' + e.message : 'thrown: ' + String(e); } });
      process.stdout.write(JSON.stringify({ blocked, out }));`;
    const res = JSON.parse(
      execFileSync(
        process.execPath,
        [
          '--disallow-code-generation-from-strings',
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          script,
        ],
        { encoding: 'utf8' },
      ),
    ) as { blocked: boolean; out: string[] };
    expect(res.blocked).toBe(true);
    expect(res.out).toEqual(here);
  });
});
