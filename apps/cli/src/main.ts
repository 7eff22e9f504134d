/**
 * Entry point of the `clipchat` command: `grab`, `clip` and `serve`. Every failure is
 * one line on stderr and a non-zero exit code (2 for bad input, 1 for a failed run, 130
 * when cancelled); set CLIPCHAT_DEBUG=1 to see stack traces.
 */
import { describeError } from './report.ts';

const USAGE = `usage: clipchat <command> [options]
  grab <video> --at <time> -o <file>              a frame-exact still (png, jpeg, webp, avif, gif, bmp, tiff)
  clip <video> --from <time> --to <time> -o <file> a sticker (gif, webp, webm) within a byte budget
  serve [--port N] [--data DIR]                    run the Clipchat server and web app
Run clipchat <command> --help for the options of each.`;

type Command = { run(args: string[]): Promise<number> };

async function load(name: string): Promise<Command | null> {
  switch (name) {
    case 'grab':
      return import('./commands/grab.ts');
    case 'clip':
      return import('./commands/clip.ts');
    case 'serve':
      try {
        return await import('./commands/serve.ts');
      } catch (e) {
        if (process.env.CLIPCHAT_DEBUG) console.error(e);
        process.stderr.write('clipchat: serve is not available in this installation\n');
        return null;
      }
    default:
      return null;
  }
}

/** Runs the command line `argv` (without node and the script). Returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    (name === undefined ? process.stderr : process.stdout).write(USAGE + '\n');
    return name === undefined ? 2 : 0;
  }
  if (!['grab', 'clip', 'serve'].includes(name)) {
    process.stderr.write(
      `clipchat: unknown command ${JSON.stringify(name)}; commands: grab, clip, serve\n`,
    );
    return 2;
  }
  // A closed pipe (e.g. `| head`) is not an error worth a trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  try {
    const cmd = await load(name);
    if (!cmd) return 1;
    return await cmd.run(rest);
  } catch (e) {
    if (process.env.CLIPCHAT_DEBUG) console.error(e);
    const { code, message } = describeError(e);
    process.stderr.write(`clipchat ${name}: ${message}\n`);
    return code;
  }
}
