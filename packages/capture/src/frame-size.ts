/**
 * Where a sticker's pixels come from and where they go: the crop checked against the
 * frame, the region read from the video, the size it is scaled to, and (for a square
 * `contain` sticker) where that picture sits on the transparent square. One function, so
 * the engine, estimates in the web app and tests all do the same arithmetic.
 */
import type { CaptureSettings, FrameSize, SquareFit } from './config';
import { InvalidSettingError } from './errors';
import type { FrameShape, Rect } from './types';

/**
 * Refuses a crop that is not whole pixels inside a `width`×`height` frame, for stills and
 * stickers alike (a crop past the edge would read pixels that are not there). `still`
 * picks the still pipeline's wording of `message`.
 * @throws InvalidSettingError on field `crop`.
 */
export function checkCropInside(crop: Rect, width: number, height: number, still = false): void {
  const ok =
    Number.isInteger(crop.x) &&
    Number.isInteger(crop.y) &&
    Number.isInteger(crop.width) &&
    Number.isInteger(crop.height) &&
    crop.x >= 0 &&
    crop.y >= 0 &&
    crop.width >= 1 &&
    crop.height >= 1 &&
    crop.x + crop.width <= width &&
    crop.y + crop.height <= height;
  if (!ok) {
    // `message` keeps the wording each pipeline has always given (scripts match it); the
    // words people read (`plain`) are the same for stills and stickers.
    throw new InvalidSettingError(
      'crop',
      still
        ? `crop ${crop.x},${crop.y},${crop.width},${crop.height} (x,y,width,height) must lie inside the ${width}x${height} frame`
        : `crop ${crop.x},${crop.y},${crop.width},${crop.height} must lie inside the ${width}×${height} frame`,
      `The crop ${crop.x}, ${crop.y}, ${crop.width}×${crop.height} reaches outside the ${width}×${height} video: keep it inside the frame`,
    );
  }
}

/** A sticker's geometry (see {@link stickerGeometry}). */
export interface StickerGeometry {
  /** Region read from the video (video pixels), or null for the whole frame. */
  crop: Rect | null;
  /** Size the region is scaled to: the picture. */
  width: number;
  height: number;
  /** Size of the sticker: the picture's, or the square it is letterboxed into. */
  canvasWidth: number;
  canvasHeight: number;
  /** Where the picture's top-left corner sits on the canvas. */
  x: number;
  y: number;
  /** True when the size is the platform's: budget fitting must not shrink it. */
  fixed: boolean;
}

/** A `side`×`side` square around the centre of `r`, moved (not shrunk) to lie inside the frame. */
function squareAround(r: Rect, side: number, width: number, height: number): Rect {
  const cx = r.x + r.width / 2,
    cy = r.y + r.height / 2;
  const x = Math.max(0, Math.min(width - side, Math.round(cx - side / 2)));
  const y = Math.max(0, Math.min(height - side, Math.round(cy - side / 2)));
  return { x, y, width: side, height: side };
}

/**
 * The geometry of a sticker of a `width`×`height` video under `settings`:
 * - `frameSize` `max` (default): the (cropped) frame scaled down so its longest side is at
 *   most `maxSide` (and its width at most `askedWidth`), never up;
 * - `side`: scaled (up or down) so its longest side is exactly `maxSide`;
 * - `square`: exactly `maxSide`×`maxSide`. With `fit` `contain` (default) the whole (cropped)
 *   frame is scaled to fit and centred, the rest of the square left transparent; with
 *   `cover` the region is first extended to a square around its centre (the crop, or the
 *   whole frame), moved to lie inside the video, and when the video is too narrow for that,
 *   the largest square the video holds around the same centre.
 * @throws InvalidSettingError for a crop outside the frame, or a width asked of a fixed size.
 */
export function stickerGeometry(
  width: number,
  height: number,
  settings: Pick<CaptureSettings, 'maxSide' | 'crop' | 'frameSize' | 'fit'>,
  crop: Rect | null = settings.crop,
  askedWidth?: number,
): StickerGeometry {
  if (crop) checkCropInside(crop, width, height);
  const mode: FrameSize = settings.frameSize ?? 'max';
  const S = settings.maxSide;
  const region: Rect = crop ?? { x: 0, y: 0, width, height };
  if (mode !== 'max' && askedWidth !== undefined) {
    throw new InvalidSettingError(
      'width',
      `width cannot be chosen for a sticker of fixed size (frameSize ${mode}, maxSide ${S}), got ${askedWidth}`,
      `A ${mode === 'square' ? `square ${S}×${S}` : `${S} px`} sticker has a fixed size: leave the width out`,
    );
  }
  /** Scale that makes the region's longest side `S`, and the picture's size. */
  const toSide = (r: Rect): { width: number; height: number } => {
    const k = S / Math.max(r.width, r.height);
    return {
      width: Math.max(1, Math.min(S, Math.round(r.width * k))),
      height: Math.max(1, Math.min(S, Math.round(r.height * k))),
    };
  };
  if (mode === 'max') {
    let k = Math.min(1, S / Math.max(region.width, region.height));
    if (askedWidth !== undefined) {
      if (!(askedWidth >= 1))
        throw new InvalidSettingError(
          'width',
          `width must be a positive number of pixels, got ${askedWidth}`,
        );
      k = Math.min(k, askedWidth / region.width);
    }
    const w = Math.max(1, Math.round(region.width * k)),
      h = Math.max(1, Math.round(region.height * k));
    return { crop, width: w, height: h, canvasWidth: w, canvasHeight: h, x: 0, y: 0, fixed: false };
  }
  if (mode === 'side') {
    const p = toSide(region);
    return { crop, ...p, canvasWidth: p.width, canvasHeight: p.height, x: 0, y: 0, fixed: true };
  }
  const fit: SquareFit = settings.fit ?? 'contain';
  if (fit === 'cover') {
    const side = Math.min(Math.max(region.width, region.height), width, height);
    const sq = squareAround(region, side, width, height);
    const whole = sq.x === 0 && sq.y === 0 && sq.width === width && sq.height === height;
    return {
      crop: whole ? null : sq,
      width: S,
      height: S,
      canvasWidth: S,
      canvasHeight: S,
      x: 0,
      y: 0,
      fixed: true,
    };
  }
  const p = toSide(region);
  return {
    crop,
    ...p,
    canvasWidth: S,
    canvasHeight: S,
    x: Math.floor((S - p.width) / 2),
    y: Math.floor((S - p.height) / 2),
    fixed: true,
  };
}

/** The shape a sticker's frames are first decoded at: {@link stickerShape}. */
export type StickerShape = Required<Pick<FrameShape, 'width' | 'height'>> &
  Pick<FrameShape, 'crop'>;

/**
 * The shape `makeSticker` first asks the source for (the region of
 * {@link stickerGeometry} scaled to its picture size, before any fitting): an estimate
 * that decodes this shape decodes the very frames the sticker then starts from.
 */
export function stickerShape(
  width: number,
  height: number,
  settings: Pick<CaptureSettings, 'maxSide' | 'crop' | 'frameSize' | 'fit'>,
  crop: Rect | null = settings.crop,
  askedWidth?: number,
): StickerShape {
  const g = stickerGeometry(width, height, settings, crop, askedWidth);
  return g.crop
    ? { width: g.width, height: g.height, crop: g.crop }
    : { width: g.width, height: g.height };
}
