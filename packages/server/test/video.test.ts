// Shared videos: tus 1.0 resumable uploads with tus-js-client against a real server, the
// ffprobe check of `POST /api/media {uploadId}`, and playback by HTTP Range on both backends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tus from 'tus-js-client';
import { backends } from './backends';
import { api, register, start, type Running, type TestUser } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'clipchat-video-'));
const ff = (args: string[]) => execFileSync('ffmpeg', ['-v', 'error', '-y', ...args]);
let mp4: Buffer;
let webm: Buffer;
let m4a: Buffer;
let truncated: Buffer;
let other: Buffer;

beforeAll(() => {
  // Lossless, so the file is big enough (~1.7 MB) to be cut mid-request.
  ff([
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=640x360:rate=30',
    '-t',
    '3',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-qp',
    '0',
    '-pix_fmt',
    'yuv420p',
    '-movflags',
    '+faststart',
    join(dir, 'a.mp4'),
  ]);
  ff([
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=320x240:rate=25',
    '-t',
    '2',
    '-c:v',
    'libvpx-vp9',
    '-b:v',
    '200k',
    '-deadline',
    'realtime',
    join(dir, 'b.webm'),
  ]);
  ff(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'aac', join(dir, 'c.m4a')]);
  ff([
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=320x240:rate=25',
    '-t',
    '2',
    '-c:v',
    'libvpx-vp9',
    '-b:v',
    '150k',
    '-deadline',
    'realtime',
    join(dir, 'd.webm'),
  ]);
  mp4 = readFileSync(join(dir, 'a.mp4'));
  webm = readFileSync(join(dir, 'b.webm'));
  m4a = readFileSync(join(dir, 'c.m4a'));
  truncated = mp4.subarray(0, Math.floor(mp4.length * 0.6));
  other = readFileSync(join(dir, 'd.webm'));
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Uploads `data` with tus-js-client; resolves with the upload URL. */
function tusUpload(
  url: string,
  user: TestUser,
  data: Buffer,
  opts: Partial<tus.UploadOptions> = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const up = new tus.Upload(data, {
      endpoint: `${url}/api/uploads`,
      headers: { authorization: `Bearer ${user.token}` },
      metadata: { filename: 'clip.mp4' },
      retryDelays: [],
      ...opts,
      onError: reject,
      onSuccess: () => resolve(up.url!),
    });
    up.start();
  });
}

const idOf = (uploadUrl: string) => uploadUrl.split('/').pop()!;

describe.each(backends)('shared videos ($name)', (backend) => {
  let s: Running;
  let alice: TestUser;
  let bob: TestUser;
  let eve: TestUser;
  beforeAll(async () => {
    s = await start(backend, { video: { quotaBytes: 8 * 1024 * 1024, maxBytes: 4 * 1024 * 1024 } });
    [alice, bob, eve] = await Promise.all([register(s.url), register(s.url), register(s.url)]);
  });
  afterAll(async () => s?.close());
  const uploadFiles = () => readdirSync(join(s.dataDir, 'uploads'));

  it('resumes an upload cut mid-request from the offset HEAD gives, and stores the same bytes', async () => {
    // Create the upload, then send half of it in a PATCH that promises the whole and is cut.
    const created = await fetch(`${s.url}/api/uploads`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${alice.token}`,
        'tus-resumable': '1.0.0',
        'upload-length': String(mp4.length),
        'upload-metadata': `filename ${Buffer.from('a.mp4').toString('base64')}`,
      },
    });
    expect(created.status).toBe(201);
    const location = new URL(created.headers.get('location')!, s.url).href;
    const half = Math.floor(mp4.length / 2);
    await new Promise<void>((resolve) => {
      const req = request(location, {
        method: 'PATCH',
        headers: {
          authorization: `Bearer ${alice.token}`,
          'tus-resumable': '1.0.0',
          'upload-offset': '0',
          'content-type': 'application/offset+octet-stream',
          'content-length': String(mp4.length),
        },
      });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.write(mp4.subarray(0, half), () => setTimeout(() => req.destroy(), 300));
    });
    // The server keeps what arrived; HEAD says how much.
    let offset = 0;
    for (let i = 0; i < 50; i++) {
      const head = await fetch(location, {
        method: 'HEAD',
        headers: { authorization: `Bearer ${alice.token}`, 'tus-resumable': '1.0.0' },
      });
      expect(head.status).toBe(200);
      expect(head.headers.get('upload-length')).toBe(String(mp4.length));
      offset = Number(head.headers.get('upload-offset'));
      if (offset === half) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThan(mp4.length);
    // Someone else cannot see or continue it; anonymous cannot either.
    expect(
      (
        await fetch(location, {
          method: 'HEAD',
          headers: { authorization: `Bearer ${bob.token}`, 'tus-resumable': '1.0.0' },
        })
      ).status,
    ).toBe(404);
    expect(
      (await fetch(location, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } })).status,
    ).toBe(401);
    // Not finished: the check refuses it.
    const early = await api(s.url, 'POST', '/api/media', {
      token: alice.token,
      json: { uploadId: idOf(location) },
    });
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('ERR_UPLOAD_INCOMPLETE');
    // tus-js-client resumes from the offset (it asks HEAD itself) and sends only the rest.
    let firstProgress = -1;
    await tusUpload(s.url, alice, mp4, {
      uploadUrl: location,
      onProgress: (sent) => {
        if (firstProgress < 0) firstProgress = sent;
      },
    });
    expect(firstProgress).toBeGreaterThanOrEqual(offset);
    const fin = await api(s.url, 'POST', '/api/media', {
      token: alice.token,
      json: { uploadId: idOf(location) },
    });
    expect(fin.status).toBe(201);
    expect(fin.body).toMatchObject({
      id: sha(mp4),
      mime: 'video/mp4',
      width: 640,
      height: 360,
      codec: 'h264',
      bytes: mp4.length,
      url: `/media/${sha(mp4)}`,
    });
    expect(fin.body.duration).toBeCloseTo(3, 1);
    expect(fin.body.poster.url).toBe(`/media/${fin.body.poster.id}`);
    // The whole file reads back byte for byte; the upload itself is gone.
    const whole = await fetch(`${s.url}/media/${fin.body.id}`, {
      headers: { authorization: `Bearer ${alice.token}` },
    });
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(sha(Buffer.from(await whole.arrayBuffer()))).toBe(sha(mp4));
    // A range across the 1 MiB boundary of PostgreSQL's chunks, and one inside the second chunk.
    for (const [start, end] of [
      [1024 * 1024 - 1000, 1024 * 1024 + 999],
      [1024 * 1024 + 5, mp4.length - 1],
    ]) {
      const r = await fetch(`${s.url}/media/${fin.body.id}`, {
        headers: { authorization: `Bearer ${alice.token}`, range: `bytes=${start}-${end}` },
      });
      expect(r.status).toBe(206);
      expect(
        Buffer.compare(Buffer.from(await r.arrayBuffer()), mp4.subarray(start, end! + 1)),
      ).toBe(0);
    }
    expect(uploadFiles()).toEqual([]);
    // Used up: a second check finds nothing.
    expect(
      (
        await api(s.url, 'POST', '/api/media', {
          token: alice.token,
          json: { uploadId: idOf(location) },
        })
      ).body.error.code,
    ).toBe('ERR_UPLOAD_NOT_FOUND');
  }, 60_000);

  it('plays by Range for members only, poster included; outsiders get 404', async () => {
    const up = await tusUpload(s.url, alice, webm);
    const fin = await api(s.url, 'POST', '/api/media', {
      token: alice.token,
      json: { uploadId: idOf(up) },
    });
    expect(fin.status).toBe(201);
    expect(fin.body).toMatchObject({ mime: 'video/webm', width: 320, height: 240, codec: 'vp9' });
    const id = fin.body.id as string;
    const conv = await api(s.url, 'POST', '/api/conversations', {
      token: alice.token,
      json: { members: [bob.username] },
    });
    // A video message needs a video; a video is not a still.
    expect(
      (
        await api(s.url, 'POST', `/api/conversations/${conv.body.id}/messages`, {
          token: alice.token,
          json: { clientId: 'x1', kind: 'still', mediaId: id },
        })
      ).status,
    ).toBe(400);
    const sent = await api(s.url, 'POST', `/api/conversations/${conv.body.id}/messages`, {
      token: alice.token,
      json: { clientId: 'v1', kind: 'video', mediaId: id },
    });
    expect(sent.status).toBe(201);
    expect(sent.body.message.media).toMatchObject({
      id,
      duration: fin.body.duration,
      codec: 'vp9',
      poster: fin.body.poster,
    });
    const history = await api(s.url, 'GET', `/api/conversations/${conv.body.id}/messages`, {
      token: bob.token,
    });
    expect(history.body.messages.at(-1).media.poster.id).toBe(fin.body.poster.id);

    const get = (token: string, range?: string) =>
      fetch(`${s.url}/media/${id}`, {
        headers: { authorization: `Bearer ${token}`, ...(range ? { range } : {}) },
      });
    const n = webm.length;
    for (const [range, start, end] of [
      ['bytes=0-99', 0, 99],
      [`bytes=${n - 10}-`, n - 10, n - 1],
      ['bytes=-5', n - 5, n - 1],
      [`bytes=100-${n + 5000}`, 100, n - 1],
    ] as const) {
      const r = await get(bob.token, range);
      expect(r.status, range).toBe(206);
      expect(r.headers.get('content-range')).toBe(`bytes ${start}-${end}/${n}`);
      expect(r.headers.get('content-length')).toBe(String(end - start + 1));
      expect(
        Buffer.compare(Buffer.from(await r.arrayBuffer()), webm.subarray(start, end + 1)),
      ).toBe(0);
    }
    for (const bad of [
      `bytes=${n}-`,
      `bytes=${n + 10}-${n + 20}`,
      'bytes=abc',
      'bytes=0-1,5-9',
      'items=0-1',
      `bytes=${'9'.repeat(300)}-`,
    ]) {
      const r = await get(bob.token, bad);
      expect(r.status, bad).toBe(416);
      expect(r.headers.get('content-range')).toBe(`bytes */${n}`);
      expect(((await r.json()) as any).error.code).toBe('ERR_RANGE_NOT_SATISFIABLE');
    }
    expect(
      (
        await fetch(`${s.url}${fin.body.poster.url}`, {
          headers: { authorization: `Bearer ${bob.token}` },
        })
      ).headers.get('content-type'),
    ).toBe('image/jpeg');
    // Eve is in no conversation with it: neither the video nor its poster.
    expect((await get(eve.token, 'bytes=0-1')).status).toBe(404);
    expect(
      (
        await fetch(`${s.url}${fin.body.poster.url}`, {
          headers: { authorization: `Bearer ${eve.token}` },
        })
      ).status,
    ).toBe(404);
    expect((await fetch(`${s.url}/media/${id}`)).status).toBe(401);
    // A capture's source may point at it (it leads back to the moment), only for those who may see it.
    const still = await api(s.url, 'POST', `/api/conversations/${conv.body.id}/messages`, {
      token: bob.token,
      json: {
        clientId: 's1',
        kind: 'text',
        text: 'x',
        source: { video: 'b.webm', mediaId: id, at: 1 },
      },
    });
    expect(still.status).toBe(201);
    expect(still.body.message.source).toEqual({ video: 'b.webm', mediaId: id, at: 1 });
    const eveConv = await api(s.url, 'POST', '/api/conversations', {
      token: eve.token,
      json: { members: [bob.username] },
    });
    const forged = await api(s.url, 'POST', `/api/conversations/${eveConv.body.id}/messages`, {
      token: eve.token,
      json: {
        clientId: 's2',
        kind: 'text',
        text: 'x',
        source: { video: 'b.webm', mediaId: id, at: 1 },
      },
    });
    expect(forged.status).toBe(404);
  }, 60_000);

  it('deleting the last message that shows a video removes the video and its poster; no upload files stay', async () => {
    const up = await tusUpload(s.url, alice, other);
    const fin = await api(s.url, 'POST', '/api/media', {
      token: alice.token,
      json: { uploadId: idOf(up) },
    });
    expect(fin.status).toBe(201);
    const id = fin.body.id as string;
    const posterId = fin.body.poster.id as string;
    expect(uploadFiles()).toEqual([]);
    const conv = await api(s.url, 'POST', '/api/conversations', {
      token: alice.token,
      json: { members: [bob.username] },
    });
    const post = async (clientId: string) =>
      (
        await api(s.url, 'POST', `/api/conversations/${conv.body.id}/messages`, {
          token: alice.token,
          json: { clientId, kind: 'video', mediaId: id },
        })
      ).body.message.id as string;
    const [m1, m2] = [await post('del-1'), await post('del-2')];
    /** What is left of the video and its poster: metadata, bytes readable, files on disk (SQLite keeps them there). */
    const left = async () => {
      const onDisk = (mid: string) => existsSync(join(s.dataDir, 'media', mid.slice(0, 2), mid));
      const readable = async (mid: string) =>
        (await s.server.store.openMedia(mid, { start: 0, end: 0 })) !== null;
      return {
        video: !!(await s.server.store.getMedia(id)),
        poster: !!(await s.server.store.getMedia(posterId)),
        videoBytes: await readable(id),
        posterBytes: await readable(posterId),
        files: backend.name === 'sqlite' ? [onDisk(id), onDisk(posterId)] : [false, false],
      };
    };
    const all = {
      video: true,
      poster: true,
      videoBytes: true,
      posterBytes: true,
      files: backend.name === 'sqlite' ? [true, true] : [false, false],
    };
    expect(await left()).toEqual(all);
    // One of two messages showing it goes: both stay, and bob still plays it.
    expect((await api(s.url, 'DELETE', `/api/messages/${m1}`, { token: alice.token })).status).toBe(
      200,
    );
    expect(await left()).toEqual(all);
    expect(
      (
        await fetch(`${s.url}/media/${posterId}`, {
          headers: { authorization: `Bearer ${bob.token}` },
        })
      ).status,
    ).toBe(200);
    // The last one goes: the video, its poster and their bytes with it.
    const del = await api(s.url, 'DELETE', `/api/messages/${m2}`, { token: alice.token });
    expect(del.status).toBe(200);
    expect(del.body.message.media).toBeNull();
    expect(await left()).toEqual({
      video: false,
      poster: false,
      videoBytes: false,
      posterBytes: false,
      files: [false, false],
    });
    expect(
      (
        await fetch(`${s.url}/media/${posterId}`, {
          headers: { authorization: `Bearer ${alice.token}` },
        })
      ).status,
    ).toBe(404);
    expect(
      (await fetch(`${s.url}/media/${id}`, { headers: { authorization: `Bearer ${alice.token}` } }))
        .status,
    ).toBe(404);
    expect(uploadFiles()).toEqual([]);
  }, 60_000);

  it('refuses a text file, an audio-only file and a truncated MP4, leaving nothing behind', async () => {
    const before = await s.server.store.uploadedBytes(bob.id);
    for (const [data, code] of [
      [Buffer.from('just some text, not a video at all\n'.repeat(50)), 'ERR_UNSUPPORTED_MEDIA'],
      [m4a, 'ERR_UNSUPPORTED_MEDIA'],
      [truncated, 'ERR_CORRUPT_MEDIA'],
    ] as const) {
      const up = await tusUpload(s.url, bob, data);
      const r = await api(s.url, 'POST', '/api/media', {
        token: bob.token,
        json: { uploadId: idOf(up) },
      });
      expect(r.status, code).toBe(code === 'ERR_CORRUPT_MEDIA' ? 422 : 415);
      expect(r.body.error.code).toBe(code);
      expect(r.body.error.message).toMatch(
        code === 'ERR_CORRUPT_MEDIA' ? /truncated/ : /MP4, WebM, MKV or MOV/,
      );
      expect(uploadFiles()).toEqual([]);
      expect(await s.server.store.getMedia(sha(data))).toBeNull();
    }
    expect(await s.server.store.uploadedBytes(bob.id)).toBe(before);
    const bad = await api(s.url, 'POST', '/api/media', {
      token: bob.token,
      json: { uploadId: 'nope', extra: 1 },
    });
    expect(bad.status).toBe(400);
  }, 60_000);

  it('refuses over the cap and the quota before storing, and anonymous clients at once', async () => {
    const create = (token: string | null, length: number) =>
      fetch(`${s.url}/api/uploads`, {
        method: 'POST',
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          'tus-resumable': '1.0.0',
          'upload-length': String(length),
        },
      });
    const anon = await create(null, 1000);
    expect(anon.status).toBe(401);
    const over = await create(eve.token, 4 * 1024 * 1024 + 1);
    expect(over.status).toBe(413);
    expect(((await over.json()) as any).error.code).toBe('ERR_PAYLOAD_TOO_LARGE');
    // Quota 8 MiB: two 3.5 MiB reservations fit, a third does not (reserved bytes count before a byte arrives).
    const size = 3.5 * 1024 * 1024;
    expect((await create(eve.token, size)).status).toBe(201);
    expect((await create(eve.token, size)).status).toBe(201);
    const third = await create(eve.token, size);
    expect(third.status).toBe(413);
    const body = JSON.parse(await third.text());
    expect(body.error.code).toBe('ERR_QUOTA_EXCEEDED');
    expect(body.error.message).toMatch(/quota of 8 MiB/);
    // Deferred lengths would dodge both checks: refused.
    const deferred = await fetch(`${s.url}/api/uploads`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${eve.token}`,
        'tus-resumable': '1.0.0',
        'upload-defer-length': '1',
      },
    });
    expect(deferred.status).toBe(400);
    // Cancelling (tus DELETE) gives the reservation back.
    const ids = uploadFiles().filter((f) => !f.endsWith('.json'));
    expect(ids).toHaveLength(2);
    for (const id of ids) {
      const del = await fetch(`${s.url}/api/uploads/${id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${eve.token}`, 'tus-resumable': '1.0.0' },
      });
      expect(del.status).toBe(204);
    }
    expect(uploadFiles()).toEqual([]);
    expect((await create(eve.token, size)).status).toBe(201);
  }, 60_000);

  it('caps the requests sending bytes at once per user (2): a third gets 429 before its body is read', async () => {
    const mk = async () => {
      const r = await fetch(`${s.url}/api/uploads`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${bob.token}`,
          'tus-resumable': '1.0.0',
          'upload-length': '100000',
        },
      });
      expect(r.status).toBe(201);
      return new URL(r.headers.get('location')!, s.url).href;
    };
    const urls = [await mk(), await mk(), await mk()];
    // Two PATCHes that promise 100 000 bytes and trickle: both held open by the server.
    const held = urls.slice(0, 2).map((u) => {
      const req = request(u, {
        method: 'PATCH',
        headers: {
          authorization: `Bearer ${bob.token}`,
          'tus-resumable': '1.0.0',
          'upload-offset': '0',
          'content-type': 'application/offset+octet-stream',
          'content-length': '100000',
        },
      });
      req.on('error', () => {});
      req.write(Buffer.alloc(10));
      return req;
    });
    const offsetOf = async (u: string) =>
      Number(
        (
          await fetch(u, {
            method: 'HEAD',
            headers: { authorization: `Bearer ${bob.token}`, 'tus-resumable': '1.0.0' },
          })
        ).headers.get('upload-offset'),
      );
    try {
      // Both are admitted and writing once their first bytes are on disk. (Not asked by HEAD:
      // a request for an upload makes tus end the PATCH holding it, which is how a resume takes over.)
      const onDisk = (u: string) => statSync(join(s.dataDir, 'uploads', u.split('/').pop()!)).size;
      await expect
        .poll(() => [onDisk(urls[0]!), onDisk(urls[1]!)], { timeout: 15_000 })
        .toEqual([10, 10]);
      const third = await fetch(urls[2]!, {
        method: 'PATCH',
        headers: {
          authorization: `Bearer ${bob.token}`,
          'tus-resumable': '1.0.0',
          'upload-offset': '0',
          'content-type': 'application/offset+octet-stream',
        },
        body: Buffer.alloc(10),
      });
      expect(third.status).toBe(429);
      expect(await offsetOf(urls[2]!)).toBe(0);
      expect(((await third.json()) as any).error.code).toBe('ERR_RATE_LIMITED');
    } finally {
      for (const r of held) r.destroy();
    }
    // Once they are gone, bob sends again.
    await expect
      .poll(
        async () =>
          (
            await fetch(urls[2]!, {
              method: 'HEAD',
              headers: { authorization: `Bearer ${bob.token}`, 'tus-resumable': '1.0.0' },
            })
          ).status,
      )
      .toBe(200);
    for (const u of urls)
      await fetch(u, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${bob.token}`, 'tus-resumable': '1.0.0' },
      });
  }, 60_000);
});
