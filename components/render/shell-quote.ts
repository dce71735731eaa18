/** Characters that never need quoting in a POSIX shell word. */
const SAFE_WORD = /^[A-Za-z0-9_./:=@%+,-]+$/;

/** One argument as a POSIX shell word: as is when safe, else single-quoted ('\'' for a quote). */
export function shellQuote(argument: string): string {
  if (SAFE_WORD.test(argument)) return argument;
  return `'${argument.replaceAll("'", `'\\''`)}'`;
}

/** An argv as one line a person can paste into a shell. */
export function shellCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}
