/**
 * The part `grab` and `clip` share once their arguments are checked: open the video with
 * Ctrl-C wired to cancel, run the capture with a progress bar, write the output
 * atomically, print the report, and always release the bar, the signal and ffmpeg.
 */
import { CancelledError, openVideo, type FrameSource, type Progress } from '@clipchat/capture/node';
import { onInterrupt } from './cancel.ts';
import { writeAtomic } from './output.ts';
import { progressBar } from './progress.ts';
import { printReport, withOpen, type JsonReport } from './report.ts';

/** What a capture hands back: the bytes to write and its report less file and timings. */
export interface Captured {
  bytes: Uint8Array;
  timings: { decodeMs: number; encodeMs: number };
  report: {
    format: string;
    width: number;
    height: number;
    frames: number;
    fps: number | null;
    durationMs: number;
    adapted: Record<string, unknown>;
    [extra: string]: unknown;
  };
}

/** Runs one capture from `video` into `out`; returns the exit code (0). */
export async function runCapture(
  label: string,
  video: string,
  out: string,
  json: boolean,
  capture: (
    source: FrameSource,
    signal: AbortSignal,
    onProgress: (p: Progress) => void,
  ) => Promise<Captured>,
): Promise<number> {
  const interrupt = onInterrupt();
  const bar = progressBar(label);
  let source: FrameSource | undefined;
  try {
    const t0 = performance.now();
    source = await openVideo(video, { signal: interrupt.signal });
    const openMs = Math.round(performance.now() - t0);
    const r = await capture(source, interrupt.signal, (p) => bar.update(p));
    if (interrupt.signal.aborted) throw new CancelledError();
    await writeAtomic(out, r.bytes);
    bar.done();
    // Keys in the documented order: file, format, width, height, frames, fps, bytes, durationMs,
    // adapted, timings, extras.
    const { format, width, height, frames, fps, durationMs, adapted, ...extra } = r.report;
    const report: JsonReport = {
      file: out,
      format,
      width,
      height,
      frames,
      fps,
      bytes: r.bytes.length,
      durationMs,
      adapted,
      timings: withOpen(r.timings, openMs, t0),
      ...extra,
    };
    printReport(report, json);
    return 0;
  } finally {
    bar.done();
    interrupt.dispose();
    await source?.close();
  }
}
