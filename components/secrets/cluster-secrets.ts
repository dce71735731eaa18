import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { NAMESPACE } from "../config/parse-stack-config";

/** Passwords and keys of one cluster, always as secret Outputs. */
export interface ClusterSecretValues {
  readonly superuserPassword: pulumi.Output<string>;
  readonly replicationPassword: pulumi.Output<string>;
  readonly appPassword: pulumi.Output<string>;
  /** pgBackRest repository encryption passphrase (repo1-cipher-pass). */
  readonly repoCipherPass: pulumi.Output<string>;
  /** Static S3 credentials, when the stack gives them (dev against AWS, or s3Access=accessKey). */
  readonly archiveAccessKeyId?: pulumi.Output<string>;
  readonly archiveSecretAccessKey?: pulumi.Output<string>;
}

/**
 * Reads the cluster's secrets from `pulumi config --secret`, generating any that are unset with
 * @pulumi/random (stored encrypted in state, never shown). Generated values are stable across
 * updates because the random resources are.
 */
export class ClusterSecrets extends pulumi.ComponentResource implements ClusterSecretValues {
  readonly superuserPassword: pulumi.Output<string>;
  readonly replicationPassword: pulumi.Output<string>;
  readonly appPassword: pulumi.Output<string>;
  readonly repoCipherPass: pulumi.Output<string>;
  readonly archiveAccessKeyId?: pulumi.Output<string>;
  readonly archiveSecretAccessKey?: pulumi.Output<string>;

  constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
    super("pgstack:secrets:ClusterSecrets", name, {}, opts);
    const config = new pulumi.Config(NAMESPACE);
    const fromConfigOrRandom = (key: string, length: number): pulumi.Output<string> => {
      const given = config.getSecret(key);
      if (given !== undefined) return given;
      // Alphanumeric only: these values land in libpq passfiles and pgBackRest config lines.
      const generated = new random.RandomPassword(
        `${name}-${key}`,
        { length, special: false },
        { parent: this, protect: opts?.protect },
      );
      return pulumi.secret(generated.result);
    };
    this.superuserPassword = fromConfigOrRandom("superuserPassword", 32);
    this.replicationPassword = fromConfigOrRandom("replicationPassword", 32);
    this.appPassword = fromConfigOrRandom("appPassword", 32);
    this.repoCipherPass = fromConfigOrRandom("repoCipherPass", 48);
    this.archiveAccessKeyId = config.getSecret("archiveAccessKeyId");
    this.archiveSecretAccessKey = config.getSecret("archiveSecretAccessKey");
    this.registerOutputs({});
  }
}
