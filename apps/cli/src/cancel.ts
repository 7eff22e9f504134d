/**
 * Ctrl-C handling: the first SIGINT (or SIGTERM) aborts the running command, which kills
 * its ffmpeg children and removes its temporary file; a second one exits at once.
 */
export interface Interrupt {
  readonly signal: AbortSignal;
  dispose(): void;
}

export function onInterrupt(): Interrupt {
  const ctl = new AbortController();
  const handler = () => {
    if (ctl.signal.aborted) process.exit(130);
    ctl.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: ctl.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
