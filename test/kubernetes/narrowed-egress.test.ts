import { beforeAll, describe, expect, it } from "vitest";
import { deployProd, type Json, type ProdStack, unwrap } from "./prod-stack";

// pgstack:awsEgressCidrs names the S3 prefix list's CIDRs and an STS VPC endpoint's subnet, which
// with the VPC CNI lies inside the pod network (10.0.0.0/16 in Pulumi.prod.yaml).
const S3_PREFIX_LIST = ["52.218.0.0/17", "3.5.64.0/21"];
const STS_ENDPOINT_SUBNET = "10.0.96.0/24";

let stack: ProdStack;
beforeAll(async () => {
  stack = await deployProd({ awsEgressCidrs: [...S3_PREFIX_LIST, STS_ENDPOINT_SUBNET] });
});

describe("443 egress narrowed to named AWS endpoints", () => {
  it("lets members and the runner reach exactly those CIDRs on 443, an in-VPC endpoint included", () => {
    const policies = Object.fromEntries(
      stack
        .ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        .map((p) => unwrap(p.inputs) as Json)
        .map((p) => [p.metadata.name, p.spec]),
    );
    for (const name of ["pgstack-prod-database", "pgstack-prod-backup"]) {
      const https = policies[name].egress.filter((rule: Json) => rule.ports[0].port === 443);
      expect(https, name).toEqual([
        {
          to: [...S3_PREFIX_LIST, STS_ENDPOINT_SUBNET].map((cidr) => ({ ipBlock: { cidr } })),
          ports: [{ protocol: "TCP", port: 443 }],
        },
      ]);
    }
  });
});
