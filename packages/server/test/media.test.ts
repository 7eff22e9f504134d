import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backends } from './backends';
import { api, Client, register, start, type Running, type TestUser } from './helpers';

const W = 40;
const H = 30;
const base = () =>
  sharp({ create: { width: W, height: H, channels: 3, background: { r: 200, g: 40, b: 90 } } });

/** Two-frame animation as a vertical strip (sharp's multi-page layout). */
async function animated(format: 'gif' | 'webp'): Promise<Buffer> {
  const strip = await sharp({
    create: {
      width: W,
      height: H * 2,
      channels: 4,
      background: { r: 10, g: 200, b: 30, alpha: 1 },
    },
  })
    .composite([
      {
        input: await base().ensureAlpha().raw().toBuffer(),
        raw: { width: W, height: H, channels: 4 },
        top: 0,
        left: 0,
      },
    ])
    .raw()
    .toBuffer();
  const img = sharp(strip, { raw: { width: W, height: H * 2, channels: 4, pageHeight: H } as any });
  return format === 'gif'
    ? img.gif({ loop: 0, delay: [100, 100] }).toBuffer()
    : img.webp({ loop: 0, delay: [100, 100] }).toBuffer();
}

function ffmpeg(args: string[], out: string): Buffer {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args, out]);
  return readFileSync(out);
}

/** A GIF whose logical screen and image claim 65535×65535 (a decompression bomb header). */
function bombGif(): Buffer {
  const b = Buffer.from([
    0x47,
    0x49,
    0x46,
    0x38,
    0x39,
    0x61,
    0xff,
    0xff,
    0xff,
    0xff,
    0x80,
    0x00,
    0x00, // header, screen 65535², GCT 2 colours
    0,
    0,
    0,
    255,
    255,
    255,
    0x2c,
    0,
    0,
    0,
    0,
    0xff,
    0xff,
    0xff,
    0xff,
    0x00, // image descriptor 65535²
    0x02,
    0x02,
    0x4c,
    0x01,
    0x00,
    0x3b,
  ]);
  return b;
}

describe.each(backends)('media over $name', (backend) => {
  let s: Running;
  let tmp: string;
  let alice: TestUser;
  let bob: TestUser;
  let eve: TestUser;
  let cid: string;
  const files: Record<string, { bytes: Buffer; mime: string; frames: number }> = {};

  beforeAll(async () => {
    s = await start(backend);
    tmp = mkdtempSync(join(tmpdir(), 'clipchat-media-'));
    alice = await register(s.url);
    bob = await register(s.url);
    eve = await register(s.url);
    cid = (
      await api(s.url, 'POST', '/api/conversations', {
        token: alice.token,
        json: { members: [bob.username] },
      })
    ).body.id;
    files.png = { bytes: await base().png().toBuffer(), mime: 'image/png', frames: 1 };
    files.jpeg = { bytes: await base().jpeg().toBuffer(), mime: 'image/jpeg', frames: 1 };
    files.webp = { bytes: await base().webp().toBuffer(), mime: 'image/webp', frames: 1 };
    files.avif = { bytes: await base().avif().toBuffer(), mime: 'image/avif', frames: 1 };
    files.gif = { bytes: await base().gif().toBuffer(), mime: 'image/gif', frames: 1 };
    files.tiff = { bytes: await base().tiff().toBuffer(), mime: 'image/tiff', frames: 1 };
    files.bmp = {
      bytes: ffmpeg(
        ['-f', 'lavfi', '-i', `testsrc=size=${W}x${H}:rate=1`, '-frames:v', '1'],
        join(tmp, 'a.bmp'),
      ),
      mime: 'image/bmp',
      frames: 1,
    };
    files.animGif = { bytes: await animated('gif'), mime: 'image/gif', frames: 2 };
    files.animWebp = { bytes: await animated('webp'), mime: 'image/webp', frames: 2 };
    files.webm = {
      bytes: ffmpeg(
        [
          '-f',
          'lavfi',
          '-i',
          `testsrc=size=${W * 2}x${H * 2}:rate=10`,
          '-t',
          '1',
          '-c:v',
          'libvpx-vp9',
          '-b:v',
          '100k',
        ],
        join(tmp, 'a.webm'),
      ),
      mime: 'video/webm',
      frames: 10,
    };
  });
  afterAll(async () => {
    await s?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const upload = (user: TestUser, body: Buffer, type = 'application/octet-stream') =>
    api(s.url, 'POST', '/api/media', {
      token: user.token,
      body,
      headers: { 'content-type': type },
    });

  it('accepts each format, judged by content, content-addressed, served only to those allowed', async () => {
    for (const [name, f] of Object.entries(files)) {
      // The declared type is deliberately wrong: only the bytes count.
      const r = await upload(alice, f.bytes, 'text/plain');
      expect(r.status, `${name}: ${JSON.stringify(r.body)}`).toBe(201);
      expect(r.body.mime, name).toBe(f.mime);
      expect(r.body.frames, name).toBe(f.frames);
      expect(r.body.bytes).toBe(f.bytes.length);
      expect(r.body.id).toMatch(/^[0-9a-f]{64}$/);
      const again = await upload(alice, f.bytes);
      expect(again.body.id).toBe(r.body.id);
    }
    const png = (await upload(alice, files.png!.bytes)).body;
    expect(png).toMatchObject({ width: W, height: H });
    const webm = (await upload(alice, files.webm!.bytes)).body;
    expect(webm).toMatchObject({ width: W * 2, height: H * 2 });

    // Uploader sees it; bob and eve do not until it is posted to bob's conversation.
    const get = (u: TestUser, id: string) =>
      fetch(`${s.url}/media/${id}`, { headers: { authorization: `Bearer ${u.token}` } });
    const mine = await get(alice, png.id);
    expect(mine.status).toBe(200);
    expect(mine.headers.get('content-type')).toBe('image/png');
    expect(mine.headers.get('x-content-type-options')).toBe('nosniff');
    expect(mine.headers.get('cache-control')).toContain('private');
    expect(Buffer.from(await mine.arrayBuffer()).equals(files.png!.bytes)).toBe(true);
    expect((await get(bob, png.id)).status).toBe(404);

    const cb = await Client.open(s.url, bob.token);
    const sent = await api(s.url, 'POST', `/api/conversations/${cid}/messages`, {
      token: alice.token,
      json: {
        clientId: 'still-1',
        kind: 'still',
        mediaId: png.id,
        source: { video: 'film.mp4', at: 12.5 },
      },
    });
    expect(sent.status).toBe(201);
    const live = await cb.next((f) => f.type === 'message' && f.message.clientId === 'still-1');
    expect(live.message.media).toMatchObject({
      id: png.id,
      mime: 'image/png',
      url: `/media/${png.id}`,
    });
    expect(live.message.source).toEqual({ video: 'film.mp4', at: 12.5 });
    expect((await get(bob, png.id)).status).toBe(200);
    expect((await get(eve, png.id)).status).toBe(404);
    // Eve cannot send media she has never seen, even knowing its id.
    const eveConv = (
      await api(s.url, 'POST', '/api/conversations', {
        token: eve.token,
        json: { members: [alice.username] },
      })
    ).body.id;
    const steal = await api(s.url, 'POST', `/api/conversations/${eveConv}/messages`, {
      token: eve.token,
      json: { clientId: 'x', kind: 'still', mediaId: png.id },
    });
    expect(steal.status).toBe(404);
    expect(steal.body.error.code).toBe('ERR_MEDIA_NOT_FOUND');
    expect((await get(eve, png.id)).status).toBe(404);
    await cb.close();
  });

  it('refuses corrupt, fake, bomb and oversized uploads with catalogue errors', async () => {
    const cases: [string, Buffer, number, string][] = [
      [
        'truncated PNG',
        files.png!.bytes.subarray(0, files.png!.bytes.length - 40),
        422,
        'ERR_CORRUPT_MEDIA',
      ],
      [
        'text named .png',
        Buffer.from('just some text, not an image at all\n'),
        415,
        'ERR_UNSUPPORTED_MEDIA',
      ],
      ['GIF claiming 65535×65535', bombGif(), 422, 'ERR_MEDIA_LIMITS'],
      [
        'SVG',
        Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        415,
        'ERR_UNSUPPORTED_MEDIA',
      ],
      ['truncated WebM', files.webm!.bytes.subarray(0, 600), 422, 'ERR_CORRUPT_MEDIA'],
      ['truncated BMP', files.bmp!.bytes.subarray(0, 200), 422, 'ERR_CORRUPT_MEDIA'],
      [
        'JPEG cut in half',
        files.jpeg!.bytes.subarray(0, files.jpeg!.bytes.length >> 1),
        422,
        'ERR_CORRUPT_MEDIA',
      ],
    ];
    for (const [name, body, status, code] of cases) {
      const r = await upload(alice, body, 'image/png');
      expect(r.status, `${name}: ${JSON.stringify(r.body)}`).toBe(status);
      expect(r.body.error.code, name).toBe(code);
    }
    const big = await upload(alice, Buffer.alloc(8 * 1024 * 1024 + 1, 1));
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('ERR_PAYLOAD_TOO_LARGE');
    const empty = await upload(alice, Buffer.alloc(0));
    expect(empty.status).toBe(400);
    const anon = await api(s.url, 'POST', '/api/media', { body: files.png!.bytes });
    expect(anon.status).toBe(401);
    expect(
      (await api(s.url, 'GET', '/media/../../etc/passwd', { token: alice.token })).status,
    ).toBe(404);
    expect(
      (await api(s.url, 'GET', `/media/${'0'.repeat(64)}`, { token: alice.token })).body.error.code,
    ).toBe('ERR_MEDIA_NOT_FOUND');
    // The server is still fine.
    expect((await api(s.url, 'GET', '/healthz')).status).toBe(200);
  });

  it('keeps a sticker library: save mine or a received one without re-upload, tag, rename, send, delete', async () => {
    const gif = (await upload(alice, files.animGif!.bytes)).body;
    const saved = await api(s.url, 'POST', '/api/stickers', {
      token: alice.token,
      json: { mediaId: gif.id, name: 'wave', tags: ['hi', 'hi', ' hello '] },
    });
    expect(saved.status).toBe(201);
    expect(saved.body).toMatchObject({
      name: 'wave',
      tags: ['hi', 'hello'],
      media: { id: gif.id, frames: 2 },
    });
    // Bob cannot save it before receiving it…
    expect(
      (await api(s.url, 'POST', '/api/stickers', { token: bob.token, json: { mediaId: gif.id } }))
        .status,
    ).toBe(404);
    // …alice sends it from her library, and then bob can keep it without uploading.
    const sent = await api(s.url, 'POST', `/api/conversations/${cid}/messages`, {
      token: alice.token,
      json: { clientId: 'stk-1', kind: 'sticker', stickerId: saved.body.id },
    });
    expect(sent.status).toBe(201);
    expect(sent.body.message.media.id).toBe(gif.id);
    const bobSaved = await api(s.url, 'POST', '/api/stickers', {
      token: bob.token,
      json: { mediaId: gif.id, name: 'from alice' },
    });
    expect(bobSaved.status).toBe(201);
    const webp = (await upload(alice, files.animWebp!.bytes)).body;
    const second = await api(s.url, 'POST', '/api/stickers', {
      token: alice.token,
      json: { mediaId: webp.id },
    });
    const list = await api(s.url, 'GET', '/api/stickers', { token: alice.token });
    expect(list.body.stickers.map((x: any) => x.id)).toEqual([second.body.id, saved.body.id]);
    const renamed = await api(s.url, 'PATCH', `/api/stickers/${saved.body.id}`, {
      token: alice.token,
      json: { name: 'big wave', tags: ['sea'] },
    });
    expect(renamed.body).toMatchObject({ name: 'big wave', tags: ['sea'] });
    expect(
      (
        await api(s.url, 'PATCH', `/api/stickers/${saved.body.id}`, {
          token: bob.token,
          json: { name: 'mine' },
        })
      ).status,
    ).toBe(404);
    expect(
      (await api(s.url, 'DELETE', `/api/stickers/${saved.body.id}`, { token: bob.token })).status,
    ).toBe(404);
    expect(
      (await api(s.url, 'DELETE', `/api/stickers/${saved.body.id}`, { token: alice.token })).status,
    ).toBe(204);
    expect(
      (await api(s.url, 'GET', '/api/stickers', { token: alice.token })).body.stickers,
    ).toHaveLength(1);
    const gone = await api(s.url, 'POST', `/api/conversations/${cid}/messages`, {
      token: alice.token,
      json: { clientId: 'stk-2', kind: 'sticker', stickerId: saved.body.id },
    });
    expect(gone.body.error.code).toBe('ERR_STICKER_NOT_FOUND');
  });
});
