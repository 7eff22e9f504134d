/**
 * The GIF encoder runs unchanged in a browser Web Worker: bundled with esbuild, run in
 * real Chromium, fed the same frames, it must write the same bytes as in Node.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGif, type GifOptions } from '../src/gif/index';
import type { RgbaImage } from '../src/types';
import { BIG_BUCK_BUNNY } from './helpers';

const gifEntry = fileURLToPath(new URL('../src/gif/index.ts', import.meta.url));
let browser: Browser;
let workerCode = '';

beforeAll(async () => {
  const out = await build({
    stdin: {
      contents: `
        import { encodeGif } from ${JSON.stringify(gifEntry)};
        self.onmessage = async (e) => {
          const { frames, options } = e.data;
          try {
            const r = await encodeGif(frames.map((f) => ({ width: f.width, height: f.height, data: new Uint8ClampedArray(f.data) })), options);
            self.postMessage({ bytes: r.bytes }, [r.bytes.buffer]);
          } catch (err) {
            self.postMessage({ error: String(err && err.stack || err) });
          }
        };`,
      resolveDir: process.cwd(),
      loader: 'ts',
    },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    write: false,
  });
  workerCode = out.outputFiles[0].text;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

/** Encodes in a Worker inside Chromium; frames and result travel as base64. */
async function encodeInBrowser(frames: RgbaImage[], options: GifOptions): Promise<Uint8Array> {
  const page = await browser.newPage();
  try {
    const payload = frames.map((f) => ({ width: f.width, height: f.height, b64: Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength).toString('base64') }));
    const b64 = await page.evaluate(
      async ({ code, payload, options }) => {
        const dec = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
        const frames = payload.map((p) => ({ width: p.width, height: p.height, data: dec(p.b64).buffer }));
        type Reply = { bytes?: Uint8Array; error?: string };
        // Browser globals, typed here because this file is checked with Node's typings.
        const W = (globalThis as unknown as { Worker: new (url: string) => BrowserWorker }).Worker;
        interface BrowserWorker {
          onmessage: (e: { data: Reply }) => void;
          onerror: (e: { message: string }) => void;
          postMessage(m: unknown, transfer: ArrayBuffer[]): void;
          terminate(): void;
        }
        const worker = new W(URL.createObjectURL(new Blob([code], { type: 'text/javascript' })));
        const res = await new Promise<Reply>((resolve) => {
          worker.onmessage = (e) => resolve(e.data);
          worker.onerror = (e) => resolve({ error: e.message });
          worker.postMessage({ frames, options }, frames.map((f) => f.data));
        });
        worker.terminate();
        if (res.error) throw new Error(res.error);
        let s = '';
        const b = res.bytes!;
        for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
        return btoa(s);
      },
      { code: workerCode, payload, options },
    );
    return new Uint8Array(Buffer.from(b64, 'base64'));
  } finally {
    await page.close();
  }
}

function bbb(): RgbaImage[] {
  const [w, h] = [160, 90];
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-ss', '20', '-t', '1.5', '-i', BIG_BUCK_BUNNY, '-vf', `fps=12,scale=${w}:${h}:flags=lanczos`, '-f', 'rawvideo', '-pix_fmt', 'rgba', '-'], { maxBuffer: 1 << 28 });
  const out: RgbaImage[] = [];
  for (let o = 0; o + w * h * 4 <= raw.length; o += w * h * 4) out.push({ width: w, height: h, data: new Uint8ClampedArray(raw.subarray(o, o + w * h * 4)) });
  return out;
}

describe('GIF encoder in a browser worker', () => {
  it('writes byte-identical GIFs in Chromium and in Node, for every dithering and lossiness', async () => {
    const frames = bbb();
    expect(frames.length).toBe(18);
    const delaysMs = frames.map(() => 1000 / 12);
    const cases: GifOptions[] = [
      { delaysMs, quality: 80 },
      { delaysMs, quality: 100, dither: 'diffusion', ditherStrength: 0.8 },
      { delaysMs, quality: 30, colors: 48, dither: 'ordered', ditherStrength: 0.5 },
      { delaysMs, quality: 10 },
    ];
    for (const options of cases) {
      const node = (await encodeGif(frames, options)).bytes;
      const web = await encodeInBrowser(frames, options);
      expect(web.length, JSON.stringify({ ...options, delaysMs: undefined })).toBe(node.length);
      expect(Buffer.compare(Buffer.from(web), Buffer.from(node))).toBe(0);
    }
  }, 120_000);
});
