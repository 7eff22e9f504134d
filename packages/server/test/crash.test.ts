import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { backends } from './backends';
import { api, Client, register } from './helpers';

const CHILD = fileURLToPath(new URL('./child-server.ts', import.meta.url));

function startChild(
  dataDir: string,
  env: Record<string, string>,
): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout });
    rl.once('line', (l) => resolve({ proc, url: (JSON.parse(l) as { url: string }).url }));
    proc.once('exit', (code) => reject(new Error(`server exited early (${code})`)));
  });
}

const killed = (p: ChildProcess) =>
  new Promise<void>((r) => {
    if (p.exitCode !== null || p.signalCode) r();
    else p.once('exit', () => r());
  });

// eslint-disable-next-line @typescript-eslint/unbound-method -- vitest's describe.each is called as a method
describe.each(backends.filter((b) => b.name === 'sqlite' || b.env))(
  'crash safety over $name',
  (backend) => {
    const dirs: string[] = [];
    afterAll(() => {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    it('an acked message survives kill -9 and a restart; sessions survive too', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'clipchat-crash-'));
      dirs.push(dataDir);
      const env = backend.env?.(dataDir) ?? {};
      let { proc, url } = await startChild(dataDir, env);
      const alice = await register(url);
      const bob = await register(url);
      const cid = (
        await api(url, 'POST', '/api/conversations', {
          token: alice.token,
          json: { members: [bob.username] },
        })
      ).body.id;
      const c = await Client.open(url, alice.token);
      // A burst, then kill -9 the moment the last ack arrives.
      const N = 200;
      for (let i = 0; i < N; i++)
        c.send({
          type: 'send',
          clientId: `k${i}`,
          conversationId: cid,
          kind: 'text',
          text: `before the crash ${i}`,
        });
      await c.next((f) => f.type === 'ack' && f.clientId === `k${N - 1}`, 15_000);
      proc.kill('SIGKILL');
      await killed(proc);
      const acked = c.frames.filter((f) => f.type === 'ack');
      expect(acked).toHaveLength(N);
      await c.close().catch(() => undefined);

      ({ proc, url } = await startChild(dataDir, env));
      try {
        // The old bearer token still works: sessions live in the database.
        const hist = await api(url, 'GET', `/api/conversations/${cid}/messages?limit=200`, {
          token: bob.token,
        });
        expect(hist.status).toBe(200);
        expect(hist.body.messages.map((m: any) => m.clientId)).toEqual(
          acked.map((a) => a.clientId),
        );
        expect(hist.body.messages.map((m: any) => m.seq)).toEqual(acked.map((a) => a.seq));
        // Resending after the restart is still harmless, and numbering continues.
        const again = await api(url, 'POST', `/api/conversations/${cid}/messages`, {
          token: alice.token,
          json: { clientId: 'k0', kind: 'text', text: 'x' },
        });
        expect(again.body.duplicate).toBe(true);
        const next = await api(url, 'POST', `/api/conversations/${cid}/messages`, {
          token: alice.token,
          json: { clientId: 'after', kind: 'text', text: 'after' },
        });
        expect(next.body.message.seq).toBe(N + 1);
      } finally {
        proc.kill('SIGKILL');
        await killed(proc);
      }
    });
  },
);
