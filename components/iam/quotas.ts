/**
 * The AWS quotas the documents are measured against: their defaults, the
 * most each can be raised to, and the check of a configured override. Both
 * sides use them (the registry's pull roles and repositories, the cluster
 * account's roles), so they live with the documents, not with either side.
 */
import { POLICY_LIMITS } from "./policies";
import { asRecord, checkIntegerInRange, checkKnownKeys, Problems } from "../validation";

/** AWS quotas the plan is measured against; defaults from docs/aws-facts.md, raise them for accounts that raised theirs. */
export interface QuotaLimits {
    /** IAM role trust policy length: 2,048 by default, 4,096 with quota L-C07B4B0D. */
    readonly trustPolicy: number;
    /** Inline policies of a role, together: 10,240. */
    readonly rolePolicy: number;
    /** ECR repository policy text: 10,240. */
    readonly repositoryPolicy: number;
    /** ECR lifecycle policy text: 30,720. */
    readonly lifecyclePolicy: number;
    /** IAM OIDC providers per account: 100 by default, 700 raised. */
    readonly oidcProviders: number;
    /** IAM roles per account: 1,000 by default, 5,000 raised. */
    readonly roles: number;
}

export const DEFAULT_LIMITS: QuotaLimits = {
    trustPolicy: POLICY_LIMITS.trustPolicy,
    rolePolicy: POLICY_LIMITS.inlineRolePolicies,
    repositoryPolicy: POLICY_LIMITS.repositoryPolicy,
    lifecyclePolicy: POLICY_LIMITS.lifecyclePolicy,
    oidcProviders: 100,
    roles: 1000,
};

/**
 * The most each quota can be raised to (docs/aws-facts.md, "Limits"): a configured
 * limit above it would plan documents that IAM or ECR refuses at deploy.
 */
export const MAXIMUM_LIMITS: QuotaLimits = {
    trustPolicy: 4096,
    rolePolicy: POLICY_LIMITS.inlineRolePolicies,
    repositoryPolicy: POLICY_LIMITS.repositoryPolicy,
    lifecyclePolicy: POLICY_LIMITS.lifecyclePolicy,
    oidcProviders: 700,
    roles: 5000,
};

/** Where each maximum comes from, for the message that refuses a higher limit. */
const MAXIMUM_SOURCES: Record<keyof QuotaLimits, string> = {
    trustPolicy: 'with the quota increase "Role trust policy length" (L-C07B4B0D)',
    rolePolicy: "for a role's inline policies together; not adjustable",
    repositoryPolicy: "for an ECR repository policy; not adjustable",
    lifecyclePolicy: "for an ECR lifecycle policy; not adjustable",
    oidcProviders: "OIDC providers per account with a quota increase",
    roles: "roles per account with a quota increase",
};

/**
 * Checks quota overrides: known keys (`keys`: the quotas the caller plans
 * against), whole numbers from 1 to the most AWS allows for that quota.
 */
export function checkLimits(
    problems: Problems,
    path: string,
    value: unknown,
    keys: readonly (keyof QuotaLimits)[] = Object.keys(DEFAULT_LIMITS) as (keyof QuotaLimits)[],
): void {
    if (value === undefined) {
        return;
    }
    const limits = asRecord(problems, path, value, keys.join(", "));
    if (!limits) {
        return;
    }
    checkKnownKeys(problems, path, limits, keys);
    for (const key of keys) {
        const limit = limits[key];
        if (limit === undefined) {
            continue;
        }
        if (typeof limit === "number" && Number.isInteger(limit) && limit > MAXIMUM_LIMITS[key]) {
            problems.add(
                `${path}.${key}`,
                limit,
                `is more than AWS allows (${MAXIMUM_LIMITS[key]}, ${MAXIMUM_SOURCES[key]}): documents planned against it would be refused at deploy. Use at most ${MAXIMUM_LIMITS[key]}.`,
            );
        } else {
            checkIntegerInRange(problems, `${path}.${key}`, limit, 1, MAXIMUM_LIMITS[key]);
        }
    }
}
