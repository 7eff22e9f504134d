/**
 * How close a sticker looks to its frames: a block SSIM (8×8 windows) over Y, Cb and Cr,
 * averaged like ffmpeg's `ssim` "All". Fitting uses it to choose between a full-size
 * sticker at low quality and a smaller one at higher quality: which is better depends on
 * the content (film shrinks well; noise does not).
 */
import type { RgbaImage } from '../types';
import { decodeGif } from './decode';

const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;

function planes(img: RgbaImage): [Float32Array, Float32Array, Float32Array] {
  const n = img.width * img.height;
  const y = new Float32Array(n);
  const u = new Float32Array(n);
  const v = new Float32Array(n);
  const d = img.data;
  for (let i = 0; i < n; i++) {
    const r = d[i * 4];
    const g = d[i * 4 + 1];
    const b = d[i * 4 + 2];
    y[i] = 0.299 * r + 0.587 * g + 0.114 * b;
    u[i] = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
    v[i] = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
  }
  return [y, u, v];
}

function planeSsim(a: Float32Array, b: Float32Array, w: number, h: number): number {
  let sum = 0;
  let count = 0;
  for (let by = 0; by + 8 <= h; by += 8) {
    for (let bx = 0; bx + 8 <= w; bx += 8) {
      let sa = 0;
      let sb = 0;
      let saa = 0;
      let sbb = 0;
      let sab = 0;
      for (let y = by; y < by + 8; y++) {
        for (let x = bx; x < bx + 8; x++) {
          const p = a[y * w + x];
          const q = b[y * w + x];
          sa += p;
          sb += q;
          saa += p * p;
          sbb += q * q;
          sab += p * q;
        }
      }
      const ma = sa / 64;
      const mb = sb / 64;
      const va = saa / 64 - ma * ma;
      const vb = sbb / 64 - mb * mb;
      const cov = sab / 64 - ma * mb;
      sum += ((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
      count++;
    }
  }
  return count ? sum / count : 1;
}

/** Block SSIM between two images of the same size (mean of Y, Cb, Cr). */
export function blockSsim(ref: RgbaImage, test: RgbaImage): number {
  const [ay, au, av] = planes(ref);
  const [by, bu, bv] = planes(test);
  const { width: w, height: h } = ref;
  return (planeSsim(ay, by, w, h) + planeSsim(au, bu, w, h) + planeSsim(av, bv, w, h)) / 3;
}

/** Bilinear resize (for comparing a shrunk sticker with full-size frames). */
export function resizeBilinear(img: RgbaImage, width: number, height: number): RgbaImage {
  if (img.width === width && img.height === height) return img;
  const out = new Uint8ClampedArray(width * height * 4);
  const sx = img.width / width;
  const sy = img.height / height;
  const d = img.data;
  for (let y = 0; y < height; y++) {
    const fy = Math.max(0, Math.min(img.height - 1, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(img.height - 1, y0 + 1);
    const ty = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.max(0, Math.min(img.width - 1, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(img.width - 1, x0 + 1);
      const tx = fx - x0;
      for (let c = 0; c < 4; c++) {
        const a =
          d[(y0 * img.width + x0) * 4 + c] * (1 - tx) + d[(y0 * img.width + x1) * 4 + c] * tx;
        const b =
          d[(y1 * img.width + x0) * 4 + c] * (1 - tx) + d[(y1 * img.width + x1) * 4 + c] * tx;
        out[(y * width + x) * 4 + c] = a * (1 - ty) + b * ty;
      }
    }
  }
  return { width, height, data: out };
}

/**
 * Scores a GIF against reference frames (full size, with their delays in ms): each
 * reference frame is compared with what the GIF shows at the middle of that frame's time,
 * scaled up if the GIF is smaller. 1 = identical.
 */
export function scoreGif(
  bytes: Uint8Array,
  frames: readonly RgbaImage[],
  delaysMs: readonly number[],
): number {
  const gif = decodeGif(bytes);
  const ends: number[] = [];
  let t = 0;
  for (const d of gif.delaysCs) ends.push((t += d * 10));
  let sum = 0;
  let start = 0;
  let j = 0;
  const scaled = new Map<number, RgbaImage>();
  for (let k = 0; k < frames.length; k++) {
    const mid = start + delaysMs[k] / 2;
    start += delaysMs[k];
    while (j + 1 < gif.frames.length && ends[j] <= mid) j++;
    let shown = scaled.get(j);
    if (!shown) {
      shown = resizeBilinear(gif.frames[j], frames[k].width, frames[k].height);
      scaled.clear();
      scaled.set(j, shown);
    }
    sum += blockSsim(frames[k], shown);
  }
  return sum / frames.length;
}
