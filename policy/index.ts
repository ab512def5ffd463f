/**
 * The `ecrpull-guardrails` policy pack, for any Pulumi program:
 *
 *   pulumi preview --policy-pack <path to this directory>
 *
 * Starting a PolicyPack starts the policy server, so this file only does
 * that; the policies live in `policies.ts` and their checks in `checks.ts`.
 */
import { PolicyPack } from "@pulumi/policy";
import { GUARDRAIL_POLICIES } from "./policies";

new PolicyPack("ecrpull-guardrails", {
    description:
        "Guardrails for cross-account ECR pulls: pinned web-identity trust, pull-only cross-account grants, no public principal outside an organization, policies within their quotas.",
    provider: "aws",
    tags: ["aws", "iam", "ecr"],
    policies: GUARDRAIL_POLICIES,
});
