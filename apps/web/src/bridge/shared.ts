/**
 * The communication module between the chat UI and the capture engine: every message
 * either way is one of these `{id, type, ...}` unions. `id` pairs a request with its
 * progress, result or error; a `cancel` carries the id of the job to stop.
 */
import type { CaptureSettings, VideoInfo } from '@clipchat/capture';

/** A finished still: encoded bytes of exactly one frame. */
export interface StillResult {
  bytes: Uint8Array;
  mime: string;
  format: string;
  width: number;
  height: number;
  /** Player time of the captured frame's presentation (seconds). */
  frameTime: number;
  /** Time asked for (seconds). */
  at: number;
  /** Milliseconds from request to bytes. */
  ms: number;
  /** Where the frame came from: the player's own picture, or decoding the file. */
  via: 'player' | 'decoder';
}

/** A finished sticker, always within `budget` bytes. */
export interface StickerResult {
  bytes: Uint8Array;
  mime: string;
  format: string;
  width: number;
  height: number;
  frames: number;
  fps: number;
  durationMs: number;
  from: number;
  to: number;
  budget: number;
  /** What budget fitting changed, in plain words (empty when nothing). */
  adapted: string[];
  ms: number;
  /** Where the time went: decoding frames, encoding tries (ms). */
  decodeMs: number;
  encodeMs: number;
}

export type ToWorker =
  | {
      id: number;
      type: 'open';
      /** A local file, or the URL of a shared video (`/media/<id>`, absolute), read by range requests. */
      file: Blob | string;
      name: string;
    }
  | {
      id: number;
      type: 'still';
      at: number;
      settings: CaptureSettings;
      /** The paused player's own picture of the frame at `at`, when it has one (skips decoding). */
      picture?: ImageBitmap;
    }
  | { id: number; type: 'sticker'; from: number; to: number; settings: CaptureSettings }
  | { id: number; type: 'estimate'; from: number; to: number; settings: CaptureSettings }
  | { id: number; type: 'cancel' }
  | { id: number; type: 'close' };

export type FromWorker =
  | {
      id: number;
      type: 'opened';
      info: VideoInfo;
      /** Container time of the first presented frame (player time 0), when known. */
      start?: number;
    }
  | { id: number; type: 'progress'; stage: string; fraction: number }
  | { id: number; type: 'still'; result: StillResult }
  | { id: number; type: 'sticker'; result: StickerResult }
  | { id: number; type: 'estimate'; bytes: number; budget: number }
  | { id: number; type: 'closed' }
  | { id: number; type: 'error'; code: string; message: string; field?: string };

/** A request without its id (the client assigns ids). */
export type Request = ToWorker extends infer T
  ? T extends { id: number }
    ? Omit<T, 'id'>
    : never
  : never;

/** An engine error as it crosses the worker boundary. */
export class BridgeError extends Error {
  readonly code: string;
  readonly field?: string;
  constructor(code: string, message: string, field?: string) {
    super(message);
    this.name = 'BridgeError';
    this.code = code;
    this.field = field;
  }
}
