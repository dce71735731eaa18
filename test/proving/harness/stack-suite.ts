import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Proof } from "./proofs";
import { ProvingCluster, type ProvingStackName } from "./proving-cluster";

/** Per-proof limit: the S3 outage waits for pgBackRest's own timeouts, a few minutes at worst. */
const PROOF_TIMEOUT_MS = 600_000;

/**
 * One vitest suite per stack: the stack's program captured under mocks, its containers run as
 * its platform runs them (PID 1, namespaces, paths, memory limits), the primary deployed in
 * beforeAll, one `it` per proof in order, and everything stopped and removed in afterAll, also
 * when a proof failed.
 */
export function defineStackProofs(stack: ProvingStackName, proofs: readonly Proof[]): void {
  describe(`${stack} stack, each member run as its platform runs it, against real PostgreSQL 15, pgBackRest and S3`, () => {
    let cluster: ProvingCluster | undefined;

    beforeAll(async () => {
      cluster = await ProvingCluster.prepare(stack);
      await cluster.startPrimary();
    }, 300_000);

    afterAll(async () => {
      await cluster?.dispose();
    }, 120_000);

    for (const proof of proofs) {
      it(
        `proof ${proof.id}: ${proof.title}`,
        async () => {
          if (!cluster) throw new Error("the stack was not deployed");
          const result = await proof.run(cluster);
          expect(result.figure.length).toBeGreaterThan(0);
        },
        PROOF_TIMEOUT_MS,
      );
    }
  });
}
