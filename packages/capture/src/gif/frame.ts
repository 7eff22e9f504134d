/**
 * Writes one frame of an animation: graphic control extension, image descriptor, LZW
 * data, and what the decoder's screen shows afterwards.
 *
 * A frame after the first normally reserves one index, just after its colours, for
 * transparency, and writes pixels that may stay as they are as that index or their own
 * colour, whichever continues the current LZW string. That wins by far when kept pixels
 * form large areas. On pictures with few colours that change all over (a scrolling
 * automaton: a pixel stays where the row below it had the same colour) the kept pixels
 * are scattered, and the extra symbol breaks up the picture's own repeating strings; with
 * 4, 8, … colours it also widens the first codes. So a frame with few colours is encoded
 * both ways: also with no transparent index, a pixel that may stay written as the entry
 * of the colour the screen already shows (where the palette holds it exactly) or its own
 * colour, and the smaller is written. Such frames also try a frozen LZW table (see
 * `LzwInput.frozen`) when theirs fills.
 */
import { CountingSink } from '../writer';
import type { Palette } from './color';
import type { Area } from './dither';
import type { Canvas } from './diff';
import { tableBits, writeFrameHeader } from './gif89a';
import type { LzwEncoder, LzwInput } from './lzw';

/** LZW minimum code size for a frame whose indices are below `entries`. */
function minCodeSize(entries: number): number {
  return Math.max(2, tableBits(entries));
}

/** One frame to write (indices already chosen; see `encodeGif`). */
export interface FrameInput {
  /** First frame: everything drawn, no transparency. */
  first: boolean;
  area: Area;
  /** Frame palette (local, or the shared one). */
  palette: Palette;
  /** Local colour table (palette plus the transparent slot), or none for the global table. */
  localRgb?: Uint8Array;
  /** Min code size the frame uses with its transparent index. */
  codeSize: number;
  /** Preferred index of each pixel of `area`. */
  index: Uint8Array;
  /** 1 where a pixel may stay as the screen shows it (frames after the first). */
  keep: Uint8Array;
  /** Squared lossy tolerance, per-pixel truth and the palette in its space (see `LzwInput`). */
  lossy: number;
  truth?: Float32Array;
  truthPalette?: Float64Array;
  /** The frame's RGBA source (whole picture). */
  data: Uint8ClampedArray;
}

/** One way of writing a frame, encoded into its own buffer. */
interface Candidate {
  bytes: CountingSink;
  /** Bytes of the local table it needs. */
  table: number;
  transparent: number;
  localRgb?: Uint8Array;
  chosen: Uint8Array;
  /** Indices written as `alt` leave the screen as it was (no transparent index). */
  plain: boolean;
}

/** Frame writer with scratch buffers sized for one picture size. */
export class FrameWriter {
  private chosen: Uint8Array;
  private spare: Uint8Array;
  private readonly alt: Uint8Array;
  private readonly keepPlain: Uint8Array;

  /**
   * `fewColors`: frames with at most this many colours are encoded each way. The gains
   * measured were on 2–8 colours; film (more) and grey noise (often 9–16 levels) take the
   * single pass and pay no extra time.
   */
  constructor(
    private readonly lzw: LzwEncoder,
    private readonly canvas: Canvas,
    private readonly fewColors = 8,
  ) {
    const n = canvas.width * canvas.height;
    this.chosen = new Uint8Array(n);
    this.spare = new Uint8Array(n);
    this.alt = new Uint8Array(n);
    this.keepPlain = new Uint8Array(n);
  }

  /** Writes the frame into `sink`; returns the offset of its delay field. */
  write(sink: CountingSink, f: FrameInput): number {
    const { area, palette } = f;
    const n = area.width * area.height;
    const T = f.first ? -1 : palette.size;
    const base: LzwInput = {
      index: f.index,
      length: n,
      keep: f.first ? undefined : f.keep,
      transparent: T,
      lossy: f.lossy,
      truth: f.truth,
      truthPalette: f.truthPalette,
      palette,
      chosen: this.chosen,
    };
    // The first frame has no transparent index: its codes only need to cover the colours.
    const codeSize = f.first ? minCodeSize(palette.size) : f.codeSize;
    const few = palette.size <= this.fewColors;
    if (!few) {
      const delayAt = writeFrameHeader(sink, {
        ...area,
        transparent: T,
        disposal: 1,
        localRgb: f.localRgb,
      });
      this.lzw.encode(sink, codeSize, base);
      this.canvas.draw(area, this.chosen, T, palette, f.data);
      return delayAt;
    }

    // Each way into its own buffer; the smallest is written (ties keep the earlier way).
    let best: Candidate | undefined;
    const attempt = (
      input: LzwInput,
      size: number,
      c: Omit<Candidate, 'bytes' | 'chosen'>,
    ): void => {
      const bytes = new CountingSink();
      this.lzw.encode(bytes, size, { ...input, chosen: this.spare });
      if (!best || bytes.length + c.table < best.bytes.length + best.table) {
        const chosen = this.spare;
        this.spare = this.chosen;
        this.chosen = chosen;
        best = { ...c, bytes, chosen };
      }
    };
    const tableBytes = (rgb?: Uint8Array): number =>
      rgb ? 3 * (1 << tableBits(Math.max(2, rgb.length / 3))) : 0;
    const withT = {
      table: tableBytes(f.localRgb),
      transparent: T,
      localRgb: f.localRgb,
      plain: false,
    };
    attempt(base, codeSize, withT);
    let filled = this.lzw.filled;
    let input = base;
    let size = codeSize;
    if (!f.first) {
      const { alt, keepPlain } = this;
      this.fillAlt(area, palette, f.keep);
      const localRgb = f.localRgb?.subarray(0, palette.size * 3);
      const plainInput: LzwInput = { ...base, keep: keepPlain, transparent: -1, alt };
      const plainSize = minCodeSize(palette.size);
      const before = best;
      attempt(plainInput, plainSize, {
        table: tableBytes(localRgb),
        transparent: -1,
        localRgb,
        plain: true,
      });
      if (best !== before) {
        filled = this.lzw.filled;
        input = plainInput;
        size = plainSize;
      }
    }
    // The frozen table only for the better way so far (it rarely changes which is better).
    if (filled) attempt({ ...input, frozen: true }, size, best!);
    const b = best!;
    const delayAt = writeFrameHeader(sink, {
      ...area,
      transparent: b.transparent,
      disposal: 1,
      localRgb: b.localRgb,
    });
    sink.bytes(b.bytes.finish());
    const chosen = b.chosen;
    if (b.plain) {
      // Pixels written as the colour they already showed stay what they were drawn from
      // (as transparent ones would): marked with the unused index T, the canvas skips them.
      const { alt, keepPlain } = this;
      for (let i = 0; i < n; i++) if (keepPlain[i] && chosen[i] === alt[i]) chosen[i] = T;
    }
    this.canvas.draw(area, chosen, T, palette, f.data);
    return delayAt;
  }

  /**
   * For the pixels of `area` that may stay, the palette entry holding exactly the colour
   * the screen shows (`alt`); `keepPlain` marks those whose colour the palette holds.
   */
  private fillAlt(area: Area, palette: Palette, keep: Uint8Array): void {
    const entry = new Map<number, number>();
    const rgb = palette.rgb;
    for (let c = palette.size - 1; c >= 0; c--)
      entry.set((rgb[c * 3] << 16) | (rgb[c * 3 + 1] << 8) | rgb[c * 3 + 2], c);
    const shown = this.canvas.shown;
    const w = this.canvas.width;
    const { alt, keepPlain } = this;
    let lastKey = -1;
    let lastEntry = -1;
    for (let y = 0; y < area.height; y++) {
      for (let x = 0; x < area.width; x++) {
        const i = y * area.width + x;
        keepPlain[i] = 0;
        if (!keep[i]) continue;
        const p = ((area.y + y) * w + area.x + x) * 3;
        const key = (shown[p] << 16) | (shown[p + 1] << 8) | shown[p + 2];
        if (key !== lastKey) {
          lastKey = key;
          lastEntry = entry.get(key) ?? -1;
        }
        if (lastEntry >= 0) {
          alt[i] = lastEntry;
          keepPlain[i] = 1;
        }
      }
    }
  }
}
