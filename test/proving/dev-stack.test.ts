import { PROOFS } from "./harness/proofs";
import { defineStackProofs } from "./harness/stack-suite";

// Pulumi.dev.yaml as deployed to Docker: every proof, with local paths, ports, hosts and S3.
defineStackProofs("dev", PROOFS);
