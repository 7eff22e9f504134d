/** Entry point of the `clipchat` command. Returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  process.stderr.write(`clipchat: not implemented yet (${argv.join(' ')})\n`);
  return 2;
}
