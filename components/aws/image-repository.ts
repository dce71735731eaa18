import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface ImageRepositoryArgs {
  /** Repository name, e.g. `pgstack-prod/postgres`. */
  readonly name: string;
  readonly region: pulumi.Input<string>;
  readonly tags: Readonly<Record<string, string>>;
}

/** Images kept; each deploy pushes one, and a rollback needs the ones before it. */
export const KEPT_IMAGES = 50;
/** Days an untagged image (the remains of an interrupted push) is kept. */
export const UNTAGGED_IMAGE_DAYS = 14;

/**
 * The ECR repository the prod nodes pull pgstack's image from (built from image/Dockerfile by the
 * deploy workflow). Tags are immutable, so a tag once deployed can never name another image;
 * every push is scanned for known vulnerabilities; a lifecycle policy keeps the last images and
 * drops the remains of interrupted pushes. EKS nodes pull from ECR with their node role: no pull
 * secret exists. Protected: deleting it would leave the running pods unable to restart.
 */
export class ImageRepository extends pulumi.ComponentResource {
  readonly repositoryUrl: pulumi.Output<string>;
  readonly repositoryArn: pulumi.Output<string>;

  constructor(name: string, args: ImageRepositoryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pgstack:aws:ImageRepository", name, {}, opts);
    const keep: pulumi.CustomResourceOptions = { parent: this, protect: true, retainOnDelete: true };
    const repository = new aws.ecr.Repository(
      `${name}-repository`,
      {
        name: args.name,
        region: args.region,
        imageTagMutability: "IMMUTABLE",
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfigurations: [{ encryptionType: "KMS" }],
        forceDelete: false,
        tags: { ...args.tags },
      },
      keep,
    );
    new aws.ecr.LifecyclePolicy(
      `${name}-lifecycle`,
      {
        repository: repository.name,
        region: args.region,
        policy: JSON.stringify(imageLifecycle()),
      },
      keep,
    );
    this.repositoryUrl = repository.repositoryUrl;
    this.repositoryArn = repository.arn;
    this.registerOutputs({ repositoryUrl: this.repositoryUrl, repositoryArn: this.repositoryArn });
  }
}

/** ECR lifecycle rules: the "any" rule must have the highest rulePriority number. */
export function imageLifecycle() {
  return {
    rules: [
      {
        rulePriority: 1,
        description: `untagged images (interrupted pushes) after ${UNTAGGED_IMAGE_DAYS} days`,
        selection: {
          tagStatus: "untagged",
          countType: "sinceImagePushed",
          countUnit: "days",
          countNumber: UNTAGGED_IMAGE_DAYS,
        },
        action: { type: "expire" },
      },
      {
        rulePriority: 2,
        description: `keep the last ${KEPT_IMAGES} images`,
        selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: KEPT_IMAGES },
        action: { type: "expire" },
      },
    ],
  };
}
