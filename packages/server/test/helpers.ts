/** Test helpers: a real server on port 0 over a backend, HTTP calls, WebSocket clients. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { createServer, type ClipchatServer } from '../src/index';
import type { ServerConfig } from '../src/config';
import type { Backend } from './backends';

export interface Running {
  server: ClipchatServer;
  url: string;
  dataDir: string;
  close(): Promise<void>;
}

export async function start(backend: Backend, extra: Partial<ServerConfig> = {}): Promise<Running> {
  const dataDir = mkdtempSync(join(tmpdir(), 'clipchat-test-'));
  const store = await backend.makeStore(dataDir);
  const bus = backend.makeBus ? await backend.makeBus() : undefined;
  const server = await createServer({
    dataDir,
    store,
    bus,
    logger: false,
    rateLimits: false,
    // Push-back reads the event loop's lateness; a loaded test machine must not trip it in
    // tests about other things. overload.test.ts turns it on.
    overload: { maxLagMs: 0, maxQueuedMs: 0 },
    ...extra,
  });
  const url = await server.listen({ port: 0 });
  return {
    server,
    url,
    dataDir,
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Res<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** JSON request; `token` goes as bearer. */
export async function api<T = any>(
  url: string,
  method: string,
  path: string,
  opts: {
    token?: string;
    json?: unknown;
    body?: string | Uint8Array;
    headers?: Record<string, string>;
  } = {},
): Promise<Res<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body = opts.body;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  const r = await fetch(url + path, { method, headers, body });
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* raw */
  }
  return { status: r.status, body: parsed as T, headers: r.headers };
}

export interface TestUser {
  id: string;
  username: string;
  token: string;
  csrfToken: string;
  cookie: string;
}

let n = 0;
export async function register(url: string, name = `user${process.pid}x${n++}`): Promise<TestUser> {
  const r = await fetch(`${url}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: name, password: 'correct horse' }),
  });
  if (r.status !== 201) throw new Error(`register ${r.status} ${await r.text()}`);
  const b = (await r.json()) as {
    user: { id: string; username: string };
    token: string;
    csrfToken: string;
  };
  const cookie = r.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  return { ...b.user, token: b.token, csrfToken: b.csrfToken, cookie };
}

/** A WebSocket client that records frames and can wait for one. */
export class Client {
  frames: any[] = [];
  #waiters: { pred: (f: any) => boolean; resolve: (f: any) => void }[] = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const f = JSON.parse(String(d));
      this.frames.push(f);
      this.#waiters = this.#waiters.filter((w) => (w.pred(f) ? (w.resolve(f), false) : true));
    });
  }
  static async open(url: string, token: string): Promise<Client> {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/ws', {
      headers: { authorization: `Bearer ${token}` },
    });
    const c = new Client(ws);
    await c.next((f) => f.type === 'hello');
    return c;
  }
  send(f: unknown): void {
    this.ws.send(typeof f === 'string' ? f : JSON.stringify(f));
  }
  /** Resolves with the first frame (already received or future) matching `pred`. */
  next(pred: (f: any) => boolean, timeoutMs = 5000): Promise<any> {
    const have = this.frames.find(pred);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () =>
          reject(
            new Error(`timeout waiting for a frame; got ${JSON.stringify(this.frames.slice(-5))}`),
          ),
        timeoutMs,
      );
      this.#waiters.push({
        pred,
        resolve: (f) => {
          clearTimeout(t);
          resolve(f);
        },
      });
    });
  }
  /** Resolves once `pred()` holds (polled), rejects after `timeoutMs`. */
  async until(pred: () => boolean, timeoutMs = 5000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > end)
        throw new Error(`condition not met; last frames ${JSON.stringify(this.frames.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  messages(conversationId?: string): any[] {
    return this.frames
      .filter(
        (f) =>
          f.type === 'message' && (!conversationId || f.message.conversationId === conversationId),
      )
      .map((f) => f.message);
  }
  close(): Promise<void> {
    return new Promise((r) => {
      if (this.ws.readyState === WebSocket.CLOSED) r();
      else {
        this.ws.once('close', () => r());
        this.ws.close();
      }
    });
  }
}
