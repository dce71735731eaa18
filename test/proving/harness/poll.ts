/**
 * Waits for a condition by asking again, never by sleeping a guessed time: `probe` returns the
 * observed value when the condition holds and undefined otherwise. On timeout the error names
 * what was awaited and the last thing seen, so a failed proof says why.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: {
    readonly timeoutMs?: number;
    readonly intervalMs?: number;
    readonly describe?: () => Promise<string>;
    /** Stops waiting at once, with this reason, when it returns one (the process died). */
    readonly abortIf?: () => string | undefined;
  } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const abort = options.abortIf?.();
    if (abort !== undefined) throw new Error(`gave up waiting for ${what}: ${abort}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const seen = options.describe ? await options.describe().catch((e) => String(e)) : undefined;
      const detail = [
        lastError
          ? `last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`
          : undefined,
        seen ? `last seen: ${seen}` : undefined,
      ]
        .filter(Boolean)
        .join("; ");
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail ? ` (${detail})` : ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
