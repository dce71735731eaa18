import { ConfigError } from "./config-error";

/**
 * How pgstack reports a failure to a user: a configuration problem as its keys, values and
 * fixes; anything else as one line that says it is a bug, where it was raised and where to
 * report it. The stack trace is for maintainers, shown only under PGSTACK_DEBUG=1.
 */

/** Set to 1 to see the stack trace of a pgstack bug. */
export const DEBUG_VARIABLE = "PGSTACK_DEBUG";

export const BUG_REPORT =
  "this is a pgstack bug, not a problem of your configuration: please open an issue in the pgstack repository with this line and the command you ran";

/**
 * What a user sees of an error: a configuration problem as its list of key, value and fix; any
 * other error as one line saying it is a bug, where it was raised and where to report it, with
 * the stack trace only when PGSTACK_DEBUG=1.
 */
export function describeFailure(error: unknown, debug = process.env[DEBUG_VARIABLE] === "1"): string {
  if (error instanceof ConfigError) return error.message;
  const message = error instanceof Error ? `${error.name}: ${error.message.split("\n")[0]}` : String(error);
  const at = error instanceof Error ? firstOwnFrame(error.stack) : undefined;
  const line = `pgstack failed: ${message}${at ? ` (at ${at})` : ""}; ${BUG_REPORT}${debug ? "" : ` (run with ${DEBUG_VARIABLE}=1 for the stack trace)`}`;
  return debug && error instanceof Error && error.stack ? `${line}\n${error.stack}` : line;
}

/** The first frame of the trace inside this project (not node_modules), as file:line. */
function firstOwnFrame(stack: string | undefined): string | undefined {
  for (const frame of stack?.split("\n").slice(1) ?? []) {
    const match = /\(?((?:file:\/\/)?[^()\s]+):(\d+):\d+\)?$/.exec(frame.trim());
    if (match && !match[1].includes("node_modules") && !match[1].startsWith("node:")) {
      const path = match[1].replace(/^file:\/\//, "");
      const root = `${process.cwd()}/`;
      return `${path.startsWith(root) ? path.slice(root.length) : path}:${match[2]}`;
    }
  }
  return undefined;
}
