/**
 * The capture view's words: a failure that begins with the person's file name keeps the
 * name as spelled (only other sentences get a capital), and a one-frame range says
 * "1 frame", not "1 frames".
 */
import { describe, expect, it } from 'vitest';
import { explain, rangeSummary } from '../src/capture/words';

const fail = (message: string, code?: string) => Object.assign(new Error(message), { code });

describe('explain', () => {
  it('keeps a file name that begins the message as spelled', () => {
    expect(
      explain(
        fail(
          'holiday.mp4 is not a playable video (no known video container inside)',
          'ERR_NOT_VIDEO',
        ),
        'holiday.mp4',
      ),
    ).toBe('holiday.mp4 is not a playable video (no known video container inside)');
    expect(explain(fail('holiday.mp4 has no video track', 'ERR_NO_VIDEO'), 'holiday.mp4')).toBe(
      'holiday.mp4 has no video track',
    );
    // The engine's message does not say what failed: the lead is added, the name still kept.
    expect(explain(fail('iPhone clip.mov: decoder said no', 'ERR_CODEC'), 'iPhone clip.mov')).toBe(
      'iPhone clip.mov: decoder said no — cannot decode.',
    );
  });

  it('capitalises a sentence that does not begin with the file name', () => {
    expect(explain(fail('the worker stopped'), 'holiday.mp4')).toBe('The worker stopped');
    expect(explain(fail('holiday.mp4 is not a playable video', 'ERR_NOT_VIDEO'))).toBe(
      'Holiday.mp4 is not a playable video',
    );
    expect(explain('out of memory', 'a.mp4')).toBe('Out of memory');
  });
});

describe('rangeSummary', () => {
  it('says "1 frame" for one frame and "frames" otherwise', () => {
    expect(rangeSummary(2, 2.02, 50)).toBe('0:02 – 0:02.02 · 0.02 s · 1 frame at 50 fps');
    expect(rangeSummary(4, 4.04, 50)).toBe('0:04 – 0:04.04 · 0.04 s · 2 frames at 50 fps');
    // A range shorter than one sample still makes one frame.
    expect(rangeSummary(1, 1.001, 10)).toMatch(/· 1 frame at 10 fps$/);
  });
});
