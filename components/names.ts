/**
 * Names and ARNs that both stacks must agree on.
 *
 * The EKS stack annotates each ServiceAccount with the ARN of a pull role that
 * lives in the registry account. Rather than reading that ARN back from the
 * ECR stack (a reference cycle: the ECR stack already reads the EKS stack),
 * both stacks derive it from the same pure functions here. The ECR stack
 * creates the role under exactly this name and checks at plan time that the
 * ARNs the EKS stack exported match it.
 */
import { createHash } from "crypto";

/** Every pull role's name starts with this, which keeps them easy to find and to match with `ArnLike`. */
export const PULL_ROLE_NAME_PREFIX = "ecr-pull-";

/** IAM API reference: role names are at most 64 characters of `[\w+=,.@-]`. */
export const IAM_ROLE_NAME_MAX_LENGTH = 64;

/** The audience EKS projects into service-account tokens meant for STS. */
export const STS_AUDIENCE = "sts.amazonaws.com";

/** The AWS partition a region belongs to; ARNs differ between partitions. */
export function partitionOfRegion(region: string): string {
    if (region.startsWith("cn-")) {
        return "aws-cn";
    }
    if (region.startsWith("us-gov-")) {
        return "aws-us-gov";
    }
    if (region.startsWith("us-iso-")) {
        return "aws-iso";
    }
    if (region.startsWith("us-isob-")) {
        return "aws-iso-b";
    }
    if (region.startsWith("eu-isoe-")) {
        return "aws-iso-e";
    }
    if (region.startsWith("us-isof-")) {
        return "aws-iso-f";
    }
    return "aws";
}

/** The name of the registry-account role that a grant's workloads assume to pull. */
export function pullRoleName(grant: string): string {
    return `${PULL_ROLE_NAME_PREFIX}${grant}`;
}

export interface PullRoleArnArgs {
    readonly partition: string;
    readonly registryAccountId: string;
    readonly grant: string;
}

/** The ARN of a grant's pull role: what the EKS stack writes into `eks.amazonaws.com/role-arn`. */
export function pullRoleArn(args: PullRoleArnArgs): string {
    return `arn:${args.partition}:iam::${args.registryAccountId}:role/${pullRoleName(args.grant)}`;
}

/** The `sub` claim of a Kubernetes service-account token, as STS sees it. */
export function serviceAccountSubject(namespace: string, serviceAccount: string): string {
    return `system:serviceaccount:${namespace}:${serviceAccount}`;
}

/**
 * The issuer as IAM writes it in ARNs and condition keys: the URL without
 * `https://` (e.g. `oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE`).
 */
export function issuerHostPath(issuerUrl: string): string {
    return issuerUrl.replace(/^https:\/\//, "");
}

/** The ARN IAM gives an OIDC provider for this issuer in `accountId`. */
export function oidcProviderArn(partition: string, accountId: string, issuerUrl: string): string {
    return `arn:${partition}:iam::${accountId}:oidc-provider/${issuerHostPath(issuerUrl)}`;
}

/** The ARN of an ECR repository. */
export function repositoryArn(partition: string, region: string, accountId: string, repository: string): string {
    return `arn:${partition}:ecr:${region}:${accountId}:repository/${repository}`;
}

/** The principal that stands for a whole account in resource policies. */
export function accountRootArn(partition: string, accountId: string): string {
    return `arn:${partition}:iam::${accountId}:root`;
}

/** The account ID inside an IAM ARN (`arn:aws:iam::123456789012:role/x`), or undefined. */
export function accountIdOfArn(arn: string): string | undefined {
    const match = /^arn:[a-z-]+:iam::(\d{12}):/.exec(arn);
    return match ? match[1] : undefined;
}

/**
 * How a grant's workloads reach the pull role (facts.md, paths 2 to 4):
 * - `federation`: IRSA straight into the registry account (an OIDC provider there per cluster);
 * - `chaining`: an IRSA role in the cluster account assumes the pull role;
 * - `podIdentity`: an EKS Pod Identity association whose target role is the pull role.
 */
export const ACCESS_PATHS = ["federation", "chaining", "podIdentity"] as const;
export type AccessPath = (typeof ACCESS_PATHS)[number];
export const DEFAULT_ACCESS_PATH: AccessPath = "federation";

/** The kind of cluster-account role each path needs, in its role name. */
const CLUSTER_ROLE_KIND: Record<Exclude<AccessPath, "federation">, string> = { chaining: "chain", podIdentity: "podid" };

/** Length of the cluster suffix in cluster-account role names. */
const CLUSTER_SUFFIX_LENGTH = 6;

/**
 * The cluster-account role of a chained or Pod Identity grant:
 * `ecr-<kind>-<grant>-<6 hex of region/cluster>`. IAM names are global to an
 * account, and one account may run several clusters (or one name in two
 * regions), so the name carries a short digest of which cluster it serves.
 */
export function clusterRoleName(path: Exclude<AccessPath, "federation">, grant: string, region: string, clusterName: string): string {
    const digest = createHash("sha256").update(`${region}/${clusterName}`).digest("hex").slice(0, CLUSTER_SUFFIX_LENGTH);
    return `ecr-${CLUSTER_ROLE_KIND[path]}-${grant}-${digest}`;
}

/** The ARN of an EKS cluster. */
export function clusterArn(partition: string, region: string, accountId: string, clusterName: string): string {
    return `arn:${partition}:eks:${region}:${accountId}:cluster/${clusterName}`;
}
