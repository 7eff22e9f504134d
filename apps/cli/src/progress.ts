/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal.
 */
import type { Progress } from '@clipchat/capture';

export interface ProgressBar {
  update(p: Progress): void;
  done(): void;
}

export function progressBar(label: string, enabled = Boolean(process.stderr.isTTY)): ProgressBar {
  let last = '';
  let lastAt = 0;
  const width = 28;
  return {
    update(p) {
      if (!enabled) return;
      const f = Math.max(0, Math.min(1, p.fraction));
      const now = Date.now();
      if (now - lastAt < 50 && f < 1) return; // ~20 redraws a second at most
      lastAt = now;
      const filled = Math.round(f * width);
      const line = `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(f * 100)).padStart(3)}% ${p.stage}${p.message ? ` ${p.message}` : ''}`;
      if (line === last) return;
      last = line;
      process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns || 100) - 1)}`);
    },
    done() {
      if (enabled && last) process.stderr.write('\r\x1b[2K');
      last = '';
    },
  };
}
