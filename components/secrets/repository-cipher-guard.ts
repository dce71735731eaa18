import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { ClusterSpec } from "../spec/cluster-spec";

/**
 * A fingerprint of the cipher pass a repository was created with, kept in Pulumi state, and the
 * refusal of any other pass for that repository at preview time.
 *
 * pgBackRest encrypts the repository with `repo1-cipher-pass` and cannot change it: with another
 * pass every archive-push and backup fails (and the members would already have been restarted
 * with it). So the first `pulumi up` records SHA-256(pass) in a random.RandomId's `keepers`,
 * `ignoreChanges` keeps that first value in state for good, and the program compares it with the
 * configured pass before any container receives it. The resource is named after the repository:
 * a new `archivePrefix` (a new, empty repository) gets a new record, created with the current pass.
 */
export function repositoryFingerprintName(resourceName: string, spec: ClusterSpec): string {
  const repository = `s3://${spec.archive.bucket}${spec.archive.path}`;
  return `${resourceName}-${createHash("sha256").update(repository).digest("hex").slice(0, 12)}`;
}

/** SHA-256 of the pass, namespaced so it matches no other hash of it. */
export function cipherFingerprint(pass: string): string {
  return createHash("sha256").update(`pgstack repo1-cipher-pass\0${pass}`).digest("hex");
}

/** Why the configured pass is refused for `repository` (recorded and current fingerprints), if it is. */
export function cipherPassRefusal(
  repository: string,
  recorded: string | undefined,
  current: string,
): string | undefined {
  if (recorded === undefined || recorded === current) return undefined;
  return (
    `pgstack:repoCipherPass differs from the pass the repository ${repository} was created with; ` +
    "pgBackRest cannot re-encrypt a repository, so every archive-push and backup would fail. " +
    "Fix: set pgstack:repoCipherPass back to its previous value (pulumi config set --secret pgstack:repoCipherPass <previous>), " +
    "or, to start a new repository with the new pass, set pgstack:archivePrefix to a new path " +
    "(the old backups stay readable with the old pass)."
  );
}

/**
 * The configured cipher pass, once checked against the one the repository was created with.
 * Everything that hands the pass to a container must use this Output, so a refused change stops
 * the update before anything is replaced.
 */
export function checkedRepositoryCipherPass(
  resourceName: string,
  spec: ClusterSpec,
  cipherPass: pulumi.Output<string>,
  parent: pulumi.Resource,
): pulumi.Output<string> {
  const repository = `s3://${spec.archive.bucket}${spec.archive.path}`;
  const fingerprint = cipherPass.apply(cipherFingerprint);
  const record = new random.RandomId(
    repositoryFingerprintName(resourceName, spec),
    {
      byteLength: 8,
      keepers: pulumi.secret(pulumi.all({ repository, cipherSha256: fingerprint })),
    },
    {
      parent,
      // The pass the repository was created with stays in state whatever the config says now.
      ignoreChanges: ["keepers"],
      additionalSecretOutputs: ["keepers"],
      protect: spec.protect,
    },
  );
  const checked = pulumi.all([record.keepers, fingerprint, cipherPass]).apply(([kept, current, pass]) => {
    const refusal = cipherPassRefusal(
      repository,
      (kept as Record<string, string> | undefined)?.cipherSha256,
      current,
    );
    if (refusal !== undefined) throw new Error(refusal);
    return pass;
  });
  return pulumi.secret(checked);
}
