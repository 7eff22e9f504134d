/**
 * The GIF encoder runs unchanged in a browser Web Worker: bundled with esbuild, run in
 * real Chromium, fed the same frames, it must write the same bytes as in Node.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeGif, encodeGif, type GifOptions } from '../src/gif/index';
import type { RgbaImage } from '../src/types';
import { BIG_BUCK_BUNNY, NO_FOOTAGE, rng } from './helpers';

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
  workerCode = out.outputFiles[0]!.text;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

/** Encodes in a Worker inside Chromium; frames and result travel as base64. */
async function encodeInBrowser(frames: RgbaImage[], options: GifOptions): Promise<Uint8Array> {
  const page = await browser.newPage();
  try {
    const payload = frames.map((f) => ({
      width: f.width,
      height: f.height,
      b64: Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength).toString('base64'),
    }));
    const b64 = await page.evaluate(
      async ({ code, payload, options }) => {
        const dec = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
        const frames = payload.map((p) => ({
          width: p.width,
          height: p.height,
          data: dec(p.b64).buffer,
        }));
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
          worker.postMessage(
            { frames, options },
            frames.map((f) => f.data),
          );
        });
        worker.terminate();
        if (res.error) throw new Error(res.error);
        let s = '';
        const b = res.bytes!;
        for (let i = 0; i < b.length; i += 0x8000)
          s += String.fromCharCode(...b.subarray(i, i + 0x8000));
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
  const raw = execFileSync(
    'ffmpeg',
    [
      '-v',
      'error',
      '-ss',
      '20',
      '-t',
      '1.5',
      '-i',
      BIG_BUCK_BUNNY,
      '-vf',
      `fps=12,scale=${w}:${h}:flags=lanczos`,
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgba',
      '-',
    ],
    { maxBuffer: 1 << 28 },
  );
  const out: RgbaImage[] = [];
  for (let o = 0; o + w * h * 4 <= raw.length; o += w * h * 4)
    out.push({ width: w, height: h, data: new Uint8ClampedArray(raw.subarray(o, o + w * h * 4)) });
  return out;
}

/**
 * A scrolling rule-110 automaton in black and white, 480×270: few colours, every row new
 * each frame, repetitive enough that frames keep a full LZW table and go without a
 * transparent index.
 */
function automaton(n: number): RgbaImage[] {
  const [w, h] = [480, 270];
  const rand = rng(110);
  const rows: Uint8Array[] = [];
  let row = Uint8Array.from({ length: w }, () => (rand() < 0.5 ? 1 : 0));
  for (let y = 0; y < 200 + h + n; y++) {
    rows.push(row);
    const prev = row;
    row = Uint8Array.from(
      { length: w },
      (_, x) => (110 >> ((prev[(x + w - 1) % w]! << 2) | (prev[x]! << 1) | prev[(x + 1) % w]!)) & 1,
    );
  }
  return Array.from({ length: n }, (_, f) => {
    const data = new Uint8ClampedArray(w * h * 4);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        data
          .fill(rows[200 + f + y]![x] ? 255 : 0, (y * w + x) * 4, (y * w + x) * 4 + 3)
          .fill(255, (y * w + x) * 4 + 3, (y * w + x) * 4 + 4);
    return { width: w, height: h, data };
  });
}

/** Every frame as Chromium's own GIF decoder (WebCodecs ImageDecoder) composites it, RGBA. */
async function decodeInChromium(bytes: Uint8Array): Promise<Uint8Array[]> {
  const page = await browser.newPage();
  try {
    // ImageDecoder needs a secure context: serve an empty page on an https origin.
    await page.route('https://clipchat.test/**', (r) =>
      r.fulfill({ body: '<html></html>', contentType: 'text/html' }),
    );
    await page.goto('https://clipchat.test/');
    const frames = await page.evaluate(async (b64) => {
      const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      // Browser globals, typed here because this file is checked with Node's typings.
      interface Frame {
        displayWidth: number;
        displayHeight: number;
        close(): void;
      }
      interface Decoder {
        tracks: { ready: Promise<void>; selectedTrack: { frameCount: number } };
        decode(o: { frameIndex: number }): Promise<{ image: Frame }>;
      }
      interface Ctx {
        drawImage(i: Frame, x: number, y: number): void;
        getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
      }
      const g = globalThis as unknown as {
        ImageDecoder: new (o: { data: Uint8Array; type: string }) => Decoder;
        OffscreenCanvas: new (w: number, h: number) => { getContext(k: '2d'): Ctx };
      };
      const dec = new g.ImageDecoder({ data, type: 'image/gif' });
      await dec.tracks.ready;
      const out: string[] = [];
      for (let i = 0; i < dec.tracks.selectedTrack.frameCount; i++) {
        const { image } = await dec.decode({ frameIndex: i });
        const ctx = new g.OffscreenCanvas(image.displayWidth, image.displayHeight).getContext('2d');
        ctx.drawImage(image, 0, 0);
        const px = ctx.getImageData(0, 0, image.displayWidth, image.displayHeight).data;
        image.close();
        let s = '';
        for (let k = 0; k < px.length; k += 0x8000)
          s += String.fromCharCode(...px.subarray(k, k + 0x8000));
        out.push(btoa(s));
      }
      return out;
    }, Buffer.from(bytes).toString('base64'));
    return frames.map((f) => new Uint8Array(Buffer.from(f, 'base64')));
  } finally {
    await page.close();
  }
}

describe('GIF encoder in a browser worker', () => {
  it('writes byte-identical GIFs of few colours in Chromium and in Node, and Chromium decodes them as we do', async () => {
    // Few colours take their own path: each frame encoded with and without a transparent
    // index, clearing or keeping a full LZW table.
    const frames = automaton(3);
    const delaysMs = frames.map(() => 100);
    const cases: GifOptions[] = [
      { delaysMs, quality: 100 },
      { delaysMs, quality: 20 },
      {
        delaysMs,
        paletteRgb: new Uint8Array([0, 0, 0, 255, 255, 255]),
        lossy: 0,
        diffThreshold: 0,
      },
    ];
    for (const options of cases) {
      const node = (await encodeGif(frames, options)).bytes;
      const web = await encodeInBrowser(frames, options);
      expect(web.length, JSON.stringify({ ...options, delaysMs: undefined })).toBe(node.length);
      expect(Buffer.compare(Buffer.from(web), Buffer.from(node))).toBe(0);
      const theirs = await decodeInChromium(node);
      const mine = decodeGif(node).frames;
      expect(theirs.length).toBe(mine.length);
      for (let f = 0; f < mine.length; f++) {
        let differ = 0;
        const a = theirs[f]!,
          b = mine[f]!.data;
        for (let i = 0; i < a.length; i++) if (i % 4 !== 3 && a[i] !== b[i]) differ++;
        expect(differ, `frame ${f}`).toBe(0);
      }
    }
  }, 120_000);

  it('writes byte-identical GIFs in Chromium and in Node, for every dithering and lossiness', async (ctx) => {
    ctx.skip(NO_FOOTAGE);
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
