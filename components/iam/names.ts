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
import { Problems, quoteHint } from "../validation";

/** Every pull role's name starts with this, which keeps them easy to find and to match with `ArnLike`. */
export const PULL_ROLE_NAME_PREFIX = "ecr-pull-";

/** IAM API reference: role names are at most 64 characters of `[\w+=,.@-]`. */
export const IAM_ROLE_NAME_MAX_LENGTH = 64;

/** The audience EKS projects into service-account tokens meant for STS. */
export const STS_AUDIENCE = "sts.amazonaws.com";

/** The AWS partition a region belongs to; ARNs differ between partitions. */
/** The AWS partitions, for ARNs. */
export const PARTITIONS = ["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f"] as const;

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

/** The most roles one grant may be split across. */
export const MAX_SHARDS = 64;

/**
 * The name of the registry-account role that a grant's workloads assume to
 * pull: `ecr-pull-<grant>`, and `ecr-pull-<grant>.<shard>` for the further
 * shards of a grant split across several roles. The dot keeps shard names
 * apart from other grants' (grant names have no dots).
 */
export function pullRoleName(grant: string, shard = 0): string {
    return shard === 0 ? `${PULL_ROLE_NAME_PREFIX}${grant}` : `${PULL_ROLE_NAME_PREFIX}${grant}.${shard}`;
}

export interface PullRoleArnArgs {
    readonly partition: string;
    readonly registryAccountId: string;
    readonly grant: string;
    /** Which of the grant's roles; see `shardOf`. Default 0. */
    readonly shard?: number;
}

/** The ARN of a grant's pull role: what the EKS stack writes into `eks.amazonaws.com/role-arn`. */
export function pullRoleArn(args: PullRoleArnArgs): string {
    return `arn:${args.partition}:iam::${args.registryAccountId}:role/${pullRoleName(args.grant, args.shard ?? 0)}`;
}

/** The pull role a cluster's workloads of a grant split into `shards` roles use. */
export function pullRoleArnForCluster(args: Omit<PullRoleArnArgs, "shard"> & { readonly shards: number; readonly clusterArn: string }): string {
    return pullRoleArn({ ...args, shard: args.shards === 1 ? 0 : shardOf(args.clusterArn, args.shards) });
}

/**
 * Which of a grant's `shards` roles serves a cluster, from the cluster's ARN
 * alone, so that both stacks compute it without reading each other. Jump
 * consistent hashing (Lamping and Veach, 2014): going from n to n + 1 shards
 * moves only the clusters that land on the new shard, about 1 in n + 1, and
 * adding or removing a cluster moves no other cluster.
 */
export function shardOf(clusterArn: string, shards: number): number {
    let key = BigInt(`0x${createHash("sha256").update(clusterArn).digest("hex").slice(0, 16)}`);
    let bucket = -1;
    let next = 0;
    while (next < shards) {
        bucket = next;
        key = (key * 2862933555777941757n + 1n) & 0xffffffffffffffffn;
        next = Math.floor((bucket + 1) * (2 ** 31 / (Number(key >> 33n) + 1)));
    }
    return bucket;
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
 * How a grant's workloads reach the pull role (docs/aws-facts.md, paths 2 to 4):
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

// ---- Checks of the names that end up in IAM ---------------------------------

/** A grant name becomes part of a role name and of Pulumi names: keep it plain. */
export const GRANT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A grant name must also fit in the pull role's name (IAM: 64 characters). */
export function checkGrantName(problems: Problems, path: string, value: unknown): void {
    if (quoteHint(problems, path, value, "grant name")) {
        return;
    }
    if (typeof value !== "string" || !GRANT_NAME.test(value)) {
        problems.add(
            path,
            value,
            "is not a valid grant name: use lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. \"team-a\").",
        );
        return;
    }
    const roleName = pullRoleName(value);
    if (roleName.length > IAM_ROLE_NAME_MAX_LENGTH) {
        problems.add(
            path,
            value,
            `makes the role name "${roleName}" ${roleName.length} characters long; IAM allows ${IAM_ROLE_NAME_MAX_LENGTH}: use a grant name of at most ${IAM_ROLE_NAME_MAX_LENGTH - (roleName.length - value.length)} characters.`,
        );
    }
}

/** IAM API reference, CreateRole `RoleName`. */
const IAM_ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

export function checkRoleName(problems: Problems, path: string, value: unknown): void {
    if (quoteHint(problems, path, value, "role name")) {
        return;
    }
    if (typeof value !== "string" || !IAM_ROLE_NAME.test(value)) {
        const length = typeof value === "string" ? ` (${value.length} characters)` : "";
        problems.add(path, value, `is not an IAM role name${length}: use 1 to ${IAM_ROLE_NAME_MAX_LENGTH} letters, digits and + = , . @ _ -.`);
    }
}
