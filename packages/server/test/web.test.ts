import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backends } from './backends';
import { api, start, type Running } from './helpers';

describe('serving the built web app', () => {
  let s: Running;
  let web: string;
  beforeAll(async () => {
    web = mkdtempSync(join(tmpdir(), 'clipchat-web-'));
    mkdirSync(join(web, 'assets'));
    writeFileSync(
      join(web, 'index.html'),
      '<!doctype html><title>Clipchat</title><script type="module" src="/assets/app-1234.js"></script>',
    );
    writeFileSync(join(web, 'assets', 'app-1234.js'), 'console.log("hi")');
    s = await start(backends[0]!, { webRoot: web });
  });
  afterAll(async () => {
    await s?.close();
    rmSync(web, { recursive: true, force: true });
  });

  it('serves files, falls back to index.html for app routes, and never shadows the API', async () => {
    const index = await fetch(`${s.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    const js = await fetch(`${s.url}/assets/app-1234.js`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(js.headers.get('cache-control')).toContain('immutable');
    const route = await fetch(`${s.url}/c/some-conversation`);
    expect(await route.text()).toContain('<title>Clipchat</title>');
    expect((await fetch(`${s.url}/assets/missing.js`)).status).toBe(404);
    expect((await fetch(`${s.url}/%2e%2e/%2e%2e/etc/passwd`)).status).toBeGreaterThanOrEqual(200);
    expect(await (await fetch(`${s.url}/%2e%2e/%2e%2e/etc/passwd`)).text()).not.toContain('root:');
    const badUri = await api(s.url, 'GET', '/%E0%A4%A');
    expect(badUri.status).toBeGreaterThanOrEqual(400);
    expect(badUri.status).toBeLessThan(500);
    expect(badUri.body.error.code).toMatch(/^ERR_/);
    const apiMiss = await api(s.url, 'GET', '/api/unknown');
    expect(apiMiss.body.error.code).toBe('ERR_NOT_FOUND');
  });
});
