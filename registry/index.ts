// pgstack-registry: the ECR repository a stack's image is pushed to. Its own project because the
// main stack requires the image by digest (pgstack:image) before it declares anything: the
// repository must exist first, then the image is pushed, then the main stack pulls it.
import * as pulumi from "@pulumi/pulumi";
import { ImageRepository } from "../components/aws/image-repository";

const stack = pulumi.getStack();
const images = new ImageRepository(`pgstack-${stack}-image`, {
  name: `pgstack-${stack}/postgres`,
  region: new pulumi.Config("aws").require("region"),
  tags: { "pgstack:stack": stack, "managed-by": "pulumi" },
});

/** Where the deploy workflow pushes, and the prefix of pgstack:image. */
export const repositoryUrl = images.repositoryUrl;
