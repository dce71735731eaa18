// The offline plan: `npm run plan -- --stack dev|prod [--out dir] [--config-file file] [--policy-config file]`.
// Reads Pulumi.<stack>.yaml without the CLI, builds the spec and writes what it renders (part
// one), then runs the real program under Pulumi's mock runtime and the policy pack's rules over
// what it registers (part two). No Pulumi CLI, Docker or cloud is needed.
// Exit codes: 0 planned, 1 mandatory policy violation, 2 bad configuration or usage, 3 a pgstack bug
// (one line; the stack trace with PGSTACK_DEBUG=1).
import { join } from "node:path";
import { describeFailure } from "../components/config/failure-report";
import { UsageError } from "./plan/plan-options";
import { EXIT, runPlan } from "./plan/run-plan";

// An error inside an Output's apply surfaces as an unhandled rejection: without this, Node
// would print its trace and exit 1, which means "policy violation" here.
const programBug = (error: unknown) => {
  process.stderr.write(`the program failed under the mock runtime: ${describeFailure(error)}\n`);
  process.exit(EXIT.program);
};
process.on("unhandledRejection", programBug);
process.on("uncaughtException", programBug);

runPlan(process.argv.slice(2), {
  projectDir: join(__dirname, ".."),
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
}).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`${error instanceof UsageError ? error.message : describeFailure(error)}\n`);
    process.exit(error instanceof UsageError ? EXIT.config : EXIT.program);
  },
);
