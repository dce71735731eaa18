import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/**
 * IRSA wired explicitly: a projected service-account token with the STS audience, and the two
 * variables pgBackRest's `repo1-s3-key-type=web-id` reads. The EKS pod identity webhook would
 * inject the same, but it depends on the webhook and on automountServiceAccountToken, which
 * pgstack keeps off (no pod talks to the Kubernetes API). The volume has the webhook's own name
 * and path, so where the webhook runs it finds the pod already configured and leaves it alone.
 */
export const WEB_IDENTITY_VOLUME = "aws-iam-token";
export const WEB_IDENTITY_DIR = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
const TOKEN_FILE = "token";
/** The kubelet rotates the token at 80% of its lifetime; STS accepts it for up to a day. */
const TOKEN_SECONDS = 86400;

export interface WebIdentity {
  readonly volume: k8s.types.input.core.v1.Volume;
  readonly mount: k8s.types.input.core.v1.VolumeMount;
  readonly env: k8s.types.input.core.v1.EnvVar[];
}

export function webIdentity(roleArn: pulumi.Input<string>): WebIdentity {
  return {
    volume: {
      name: WEB_IDENTITY_VOLUME,
      projected: {
        sources: [
          {
            serviceAccountToken: {
              audience: "sts.amazonaws.com",
              expirationSeconds: TOKEN_SECONDS,
              path: TOKEN_FILE,
            },
          },
        ],
      },
    },
    mount: { name: WEB_IDENTITY_VOLUME, mountPath: WEB_IDENTITY_DIR, readOnly: true },
    env: [
      // An ARN, not a secret: it names the role; the token proves the pod may assume it.
      { name: "AWS_ROLE_ARN", value: roleArn },
      { name: "AWS_WEB_IDENTITY_TOKEN_FILE", value: `${WEB_IDENTITY_DIR}/${TOKEN_FILE}` },
    ],
  };
}
