/// <reference lib="webworker" />
/**
 * The capture worker: decodes the opened file with WebCodecs (mediabunny) and encodes
 * stills and stickers off the main thread, so the page never freezes.
 */
import { MediabunnyFrameSource } from '@clipchat/capture/browser';
import { CaptureEngine } from './engine';
import type { FromWorker, ToWorker } from './shared';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const engine = new CaptureEngine(
  (msg: FromWorker, transfer?: Transferable[]) => scope.postMessage(msg, transfer ?? []),
  (file, name) => MediabunnyFrameSource.open(file, name),
);
scope.onmessage = (ev: MessageEvent<ToWorker>) => void engine.handle(ev.data);
