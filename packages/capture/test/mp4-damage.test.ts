/**
 * A truncated MP4 is called truncated or damaged — by the browser's source (mediabunny's
 * demuxer, which runs in Node too: the failure comes before any decoding) and by the box
 * walk it asks — not "has no video track".
 */
import { openAsBlob } from 'node:fs';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SourceError } from '../src/errors';
import { mp4Damage } from '../src/source/mp4-boxes';
import { ensureFixtures } from './helpers';

const reader = (bytes: Uint8Array) => async (o: number, n: number) => bytes.subarray(o, o + n);

describe('truncated MP4', () => {
  it('says it is truncated or damaged, naming the file as it is spelled', async () => {
    const fx = await ensureFixtures();
    // Loaded by path: the browser file is typed against the DOM, which Node's tests are not.
    const browserSource = '../src/source/mediabunny.browser';
    const { MediabunnyFrameSource } = (await import(browserSource)) as {
      MediabunnyFrameSource: { open(file: Blob, name: string): Promise<unknown> };
    };
    let err: unknown;
    try {
      await MediabunnyFrameSource.open(await openAsBlob(fx.truncated), 'Holiday Clip.MP4');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).code).toBe('ERR_TRUNCATED');
    expect((err as SourceError).message).toMatch(
      /^Holiday Clip\.MP4 is truncated or damaged: it ends inside its mdat box/,
    );

    const whole = readFileSync(fx.h264);
    expect(await mp4Damage(reader(whole), whole.length)).toBeUndefined();
    expect(await mp4Damage(reader(whole.subarray(0, 3000)), 3000)).toMatch(
      /ends inside its mdat box/,
    );
    // Cut right after a whole mdat: the index never came.
    const boxes: Array<[string, number]> = [];
    for (let o = 0; o < whole.length;) {
      const n = whole.readUInt32BE(o);
      boxes.push([whole.toString('latin1', o + 4, o + 8), o + n]);
      o += n;
    }
    const mdatEnd = boxes.find(([t]) => t === 'mdat')![1];
    if (boxes.findIndex(([t]) => t === 'moov') > boxes.findIndex(([t]) => t === 'mdat')) {
      expect(await mp4Damage(reader(whole.subarray(0, mdatEnd)), mdatEnd)).toBe(
        'its index (moov box) is missing',
      );
    }
    // Not an MP4 at all: no verdict (it is then "not a video").
    const text = Buffer.from('hello, this is not a video at all');
    expect(await mp4Damage(reader(text), text.length)).toBeUndefined();
  });
});
