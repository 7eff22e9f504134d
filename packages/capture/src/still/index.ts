/** Still encoders available everywhere (pure TypeScript). */
export * from './encoder';
export { encodePng, pngEncoder } from './png';
export { encodeBmp, bmpEncoder } from './bmp';
export { gifStillEncoder } from './gif';
