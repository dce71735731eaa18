import type { EnforcementLevel } from "@pulumi/policy";
import { awsPolicies } from "./aws";
import { dockerPolicies } from "./docker";
import { stackIsolation } from "./isolation";
import { kubernetesPolicies } from "./kubernetes";
import { monitoringPolicies } from "./monitoring";
import type { PgstackPolicy } from "./policy-kit";
import { postgresPolicies } from "./postgres";

/** Name of the pack, as `pulumi preview --policy-pack` reports it. */
export const PACK_NAME = "pgstack";

/**
 * Fail closed: without a config file every policy is mandatory with its strictest settings.
 * policies/config/dev.json relaxes that to advisory; policies/config/prod.json keeps it.
 */
export const PACK_ENFORCEMENT: EnforcementLevel = "mandatory";

export const pgstackPolicies: readonly PgstackPolicy[] = [
  ...dockerPolicies,
  ...kubernetesPolicies,
  ...monitoringPolicies,
  ...awsPolicies,
  ...postgresPolicies,
  stackIsolation,
];
