// The pack's entry point, run by `pulumi preview --policy-pack policies`. Constructing the pack
// starts the analyzer's gRPC server, so nothing else lives here: the rules are plain modules
// under rules/, which the tests and the offline plan import directly.
import { PolicyPack } from "@pulumi/policy";
import { PACK_ENFORCEMENT, PACK_NAME, pgstackPolicies } from "./rules/catalog";

new PolicyPack(PACK_NAME, {
  enforcementLevel: PACK_ENFORCEMENT,
  description: "pgstack: production-grade PostgreSQL on Docker and Kubernetes with its archive in S3.",
  policies: [...pgstackPolicies],
});
