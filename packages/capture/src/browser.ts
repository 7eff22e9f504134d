/**
 * @clipchat/capture/browser — the browser-only parts of the capture engine: frame sources
 * over WebCodecs (mediabunny) and the `<video>` element, still encoders over the canvas
 * (plus a pure-TypeScript TIFF), and the WebCodecs WebM and canvas-backed WebP sticker
 * writers. Nothing here runs on import, so a bundler keeps only what a chunk uses.
 */
export { MediabunnyFrameSource } from './source/mediabunny.browser';
export { VideoElementFrameSource } from './source/video-element.browser';
export { canvasCanTry, encodeStillWithCanvas } from './still/canvas.browser';
export { encodeTiff } from './still/tiff.browser';
export { BrowserWebmWriter } from './webm/writer.browser';
export { BrowserWebpWriter } from './webp/writer.browser';
