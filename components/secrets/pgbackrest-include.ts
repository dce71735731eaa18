import * as pulumi from "@pulumi/pulumi";
import { renderPgbackrestSecretInclude } from "../render/pgbackrest-conf";
import type { ClusterModel } from "../spec/build-cluster-spec";

/** Static S3 credentials pgBackRest signs requests with (the local store's key, or an AWS key). */
export interface S3Credentials {
  readonly accessKeyId: pulumi.Output<string>;
  readonly secretAccessKey: pulumi.Output<string>;
}

/**
 * pgBackRest's secret include file (cipher pass, S3 keys) as a secret Output: the renderer
 * decides which keys it holds; each platform only stores the text in a secret (a Docker upload,
 * a Kubernetes Secret).
 */
export function pgbackrestSecretInclude(
  model: ClusterModel,
  repoCipherPass: pulumi.Output<string>,
  s3: S3Credentials | undefined,
): pulumi.Output<string> {
  return pulumi.secret(
    pulumi
      .all([repoCipherPass, s3?.accessKeyId, s3?.secretAccessKey])
      .apply(([cipherPass, accessKeyId, secretAccessKey]) =>
        renderPgbackrestSecretInclude(model, {
          "repo1-cipher-pass": cipherPass,
          "repo1-s3-key": accessKeyId,
          "repo1-s3-key-secret": secretAccessKey,
        }),
      ),
  );
}
