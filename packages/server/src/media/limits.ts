/** The side/pixel/frame caps of uploads, checked on header numbers before anything decodes. */
import type { MediaLimits } from '../config';
import { ApiError } from '../errors';

/** Refuses a frame size, frame count or pixel total beyond the limits (before any decode). */
export function checkLimits(
  fmt: string,
  w: number,
  h: number,
  frames: number,
  l: MediaLimits,
  largestFrameSide = Math.max(w, h),
): void {
  if (!(w >= 1 && h >= 1))
    throw new ApiError('ERR_CORRUPT_MEDIA', `the ${fmt} header gives no valid size (${w}×${h})`);
  if (w > l.maxSide || h > l.maxSide) {
    throw new ApiError(
      'ERR_MEDIA_LIMITS',
      `the ${fmt} is ${w}×${h} pixels; sides may be at most ${l.maxSide}`,
    );
  }
  if (frames > 1 && Math.max(w, h, largestFrameSide) > l.maxAnimationSide) {
    throw new ApiError(
      'ERR_MEDIA_LIMITS',
      `the animated ${fmt} is ${w}×${h} pixels (largest frame side ${largestFrameSide}); animation sides may be at most ${l.maxAnimationSide}`,
    );
  }
  if (w * h > l.maxPixels)
    throw new ApiError(
      'ERR_MEDIA_LIMITS',
      `the ${fmt} has ${w * h} pixels per frame; at most ${l.maxPixels}`,
    );
  if (frames > l.maxFrames)
    throw new ApiError(
      'ERR_MEDIA_LIMITS',
      `the ${fmt} has ${frames} frames; at most ${l.maxFrames}`,
    );
  if (w * h * frames > l.maxTotalPixels) {
    throw new ApiError(
      'ERR_MEDIA_LIMITS',
      `the ${fmt} has ${w * h * frames} pixels over all frames (${w}×${h} × ${frames}); at most ${l.maxTotalPixels}`,
    );
  }
}
