import { PROOFS } from "./harness/proofs";
import { defineStackProofs } from "./harness/stack-suite";

// Pulumi.prod.yaml as deployed to Kubernetes (8Gi memory limit, oltp tuning, IRSA): every proof,
// with the local substitutions of harness/local-layout.ts.
defineStackProofs("prod", PROOFS);
