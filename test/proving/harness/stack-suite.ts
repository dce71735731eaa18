import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, type ProvingStackName, prepareLocalStack } from "./local-stack";
import type { Proof } from "./proofs";
import { ProvingCluster } from "./proving-cluster";

/** Per-proof limit: the S3 outage waits for pgBackRest's own timeouts, a few minutes at worst. */
const PROOF_TIMEOUT_MS = 600_000;

/**
 * One vitest suite per stack: the stack's rendered configuration laid out locally, the primary
 * started in beforeAll, one `it` per proof in order, and everything stopped by PID and removed in
 * afterAll, also when a proof failed.
 */
export function defineStackProofs(stack: ProvingStackName, proofs: readonly Proof[]): void {
  describe(`${stack} stack, run against real PostgreSQL 15, pgBackRest and S3`, () => {
    let local: LocalStack | undefined;
    let cluster: ProvingCluster;

    beforeAll(async () => {
      local = await prepareLocalStack(stack);
      cluster = new ProvingCluster(local);
      await cluster.startPrimary();
    }, 300_000);

    afterAll(async () => {
      await local?.dispose();
    }, 120_000);

    for (const proof of proofs) {
      it(
        `proof ${proof.id}: ${proof.title}`,
        async () => {
          const result = await proof.run(cluster);
          expect(result.figure.length).toBeGreaterThan(0);
        },
        PROOF_TIMEOUT_MS,
      );
    }
  });
}
