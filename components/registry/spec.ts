/**
 * The plain-data description of a registry account's cross-account access,
 * and its validation. The `RegistryAccess` component takes this as its args,
 * and the ECR stack builds it from config and stack references; both run the
 * same checks, so a bad value reads the same from either.
 */
import {
    asArray,
    asRecord,
    checkAccountId,
    checkBoolean,
    checkIntegerInRange,
    checkIssuerUrl,
    checkKmsKeyArn,
    checkKnownKeys,
    checkNamespace,
    checkOneOf,
    checkRegion,
    checkRepositoryName,
    checkRoleArn,
    checkServiceAccountName,
    checkUnique,
    pairField,
    Problems,
    stringField,
    stringItem,
} from "../validation";
import {
    accountIdOfArn,
    ACCESS_PATHS,
    checkGrantName,
    partitionOfRegion,
    DEFAULT_ACCESS_PATH,
    IAM_ROLE_NAME_MAX_LENGTH,
    MAX_SHARDS,
    pullRoleName,
} from "../iam/names";
import { checkOrganizationScope, OrganizationScope } from "../iam/org-scope";

/** A Kubernetes service account, by namespace and name. */
export interface ServiceAccountRef {
    /** The service account's namespace (RFC 1123 label), or a pattern when the grant allows patterns. */
    readonly namespace: string;
    /** The service account's name, or a pattern when the grant allows patterns. */
    readonly name: string;
}

/** A cluster whose workloads pull from the registry: what its EKS stack exported. */
export interface ClusterSpec {
    /** How grants refer to the cluster: the EKS stack's name in the ECR stack. */
    readonly name: string;
    /** The cluster's account, which owns its node roles. */
    readonly accountId: string;
    /** `https://oidc.eks.<region>.amazonaws.com/id/<id>` */
    readonly issuerUrl: string;
    /** SHA-1 of the issuer's top CA certificate; empty or absent to let IAM verify the chain itself. */
    readonly thumbprint?: string;
    /** Roles the cluster's kubelets pull images with. */
    readonly nodeRoleArns: string[];
    /** The cluster's ARN: Pod Identity sessions carry it as a tag. Needed by `podIdentity` grants. */
    readonly clusterArn?: string;
    /** The cluster-account roles of its chained and Pod Identity grants. */
    readonly clusterRoles?: ClusterRoleSpec[];
}

/** A cluster-account role that assumes a grant's pull role (chaining) or is its Pod Identity association role. */
export interface ClusterRoleSpec {
    /** The grant whose pull role this role assumes. */
    readonly grant: string;
    /** `chaining` or `podIdentity`. */
    readonly path: string;
    /** The cluster-account role's ARN, as the EKS stack exported it. */
    readonly roleArn: string;
}

/** An ECR repository the registry account owns, with its settings. */
export interface RepositorySpec {
    /** ECR repository name, e.g. `team-a/api`. */
    readonly name: string;
    /**
     * `IMMUTABLE` (default), `MUTABLE`, or `IMMUTABLE_WITH_EXCLUSION` /
     * `MUTABLE_WITH_EXCLUSION`, where the tags that match
     * `imageTagMutabilityExclusionFilters` take the other setting.
     */
    readonly imageTagMutability?: string;
    /**
     * With a `*_WITH_EXCLUSION` mutability: 1 to 5 tag patterns (letters,
     * digits, `._-`, up to two `*`), e.g. `["latest"]` to keep `latest`
     * mutable in an immutable repository.
     */
    readonly imageTagMutabilityExclusionFilters?: string[];
    /** Scan each image on push. Default true. */
    readonly scanOnPush?: boolean;
    /** Encrypt with this KMS key instead of AES-256. Default: AES-256. */
    readonly kmsKeyArn?: string;
    /** Lifecycle: keep at most this many images. Default 200. */
    readonly keepLastImages?: number;
    /** Lifecycle: expire untagged images after this many days. Default 14. */
    readonly untaggedExpiryDays?: number;
    /** Keep the repository in AWS when it leaves the config or the stack is destroyed. Default true. */
    readonly retainOnDelete?: boolean;
    /** Let a delete remove a repository that still holds images. Default false. */
    readonly forceDelete?: boolean;
    /**
     * With `kmsKeyArn` and replica regions: the key of each replica, by
     * region (a KMS key serves its own region only). Required for every
     * replica region of a KMS-encrypted repository.
     */
    readonly replicaKmsKeyArns?: Record<string, string>;
}

/** A tenant: which service accounts of which clusters may pull which repositories. */
export interface GrantSpec {
    /** Lowercase name; the pull role is `ecr-pull-<name>`. */
    readonly name: string;
    /**
     * Names of clusters (see `ClusterSpec.name`). Required, except for a
     * grant with `scope`, which names none: any cluster of its scope joins.
     */
    readonly clusters?: string[];
    /** Exact service accounts; each is admitted in every listed cluster. */
    readonly serviceAccounts: ServiceAccountRef[];
    /** Names of repositories (see `RepositorySpec.name`). */
    readonly repositories: string[];
    /** `federation` (default), `chaining` or `podIdentity`: how the workloads reach the pull role. */
    readonly path?: string;
    /**
     * Split the grant's clusters across this many pull roles when one trust
     * policy cannot hold them all (see `shardOf`). Default 1. Each cluster's
     * workloads of the grant must say the same number.
     */
    readonly shards?: number;
    /** Allow `*` and `?` in serviceAccounts (matched with StringLike). Default false: exact names only. */
    readonly allowPatterns?: boolean;
    /**
     * Organization scope, for `chaining` and `podIdentity`: instead of listed
     * clusters, trust the grant's cluster-side roles (IAM path
     * `/ecrpull/<grant>/`) and tagged node roles anywhere in the organization
     * or its listed OUs. One pull role whatever the number of clusters; a
     * cluster joins with its own EKS stack. See docs/organization-scope.md
     * for whom this admits and the service control policy that closes it.
     */
    readonly scope?: OrganizationScope;
    /** Allow patterns that admit every service account of a cluster (`*` / `*`). Default false. */
    readonly allowEveryServiceAccount?: boolean;
}

export interface RegistrySpec {
    readonly clusters: ClusterSpec[];
    readonly repositories: RepositorySpec[];
    readonly grants: GrantSpec[];
    /**
     * Regions to replicate every repository to (ECR replication within the
     * registry account). Clusters in a replica region are granted on, and
     * pull from, the replica there; the others from the source region.
     */
    readonly replicaRegions?: string[];
}

/** ECR's replication limits (ECR user guide, service quotas): destinations, rules, filters per rule. */
export const REPLICATION_LIMITS = { destinations: 25, rules: 10, filtersPerRule: 100 } as const;

/**
 * A cluster's region: from its ARN, else from its EKS issuer
 * (`https://oidc.eks.<region>.amazonaws.com/...`); undefined when neither says.
 */
export function clusterRegion(cluster: Pick<ClusterSpec, "clusterArn" | "issuerUrl">): string | undefined {
    const fromArn = cluster.clusterArn ? /^arn:aws[a-z-]*:eks:([a-z0-9-]+):/.exec(cluster.clusterArn)?.[1] : undefined;
    return fromArn ?? /^https:\/\/oidc\.eks\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\//.exec(cluster.issuerUrl)?.[1];
}

export const REPOSITORY_DEFAULTS = {
    imageTagMutability: "IMMUTABLE",
    scanOnPush: true,
    keepLastImages: 200,
    untaggedExpiryDays: 14,
    retainOnDelete: true,
    forceDelete: false,
} as const;

export type ResolvedRepositorySpec = Required<Omit<RepositorySpec, "kmsKeyArn" | "imageTagMutabilityExclusionFilters" | "replicaKmsKeyArns">> & {
    readonly kmsKeyArn?: string;
    readonly imageTagMutabilityExclusionFilters?: string[];
    readonly replicaKmsKeyArns?: Record<string, string>;
};

export function withRepositoryDefaults(repository: RepositorySpec): ResolvedRepositorySpec {
    return {
        name: repository.name,
        imageTagMutability: repository.imageTagMutability ?? REPOSITORY_DEFAULTS.imageTagMutability,
        ...(repository.imageTagMutabilityExclusionFilters ? { imageTagMutabilityExclusionFilters: repository.imageTagMutabilityExclusionFilters } : {}),
        ...(repository.replicaKmsKeyArns ? { replicaKmsKeyArns: repository.replicaKmsKeyArns } : {}),
        scanOnPush: repository.scanOnPush ?? REPOSITORY_DEFAULTS.scanOnPush,
        kmsKeyArn: repository.kmsKeyArn,
        keepLastImages: repository.keepLastImages ?? REPOSITORY_DEFAULTS.keepLastImages,
        untaggedExpiryDays: repository.untaggedExpiryDays ?? REPOSITORY_DEFAULTS.untaggedExpiryDays,
        retainOnDelete: repository.retainOnDelete ?? REPOSITORY_DEFAULTS.retainOnDelete,
        forceDelete: repository.forceDelete ?? REPOSITORY_DEFAULTS.forceDelete,
    };
}

const THUMBPRINT = /^[0-9a-f]{40}$/;

const CLUSTER_KEYS = ["name", "accountId", "issuerUrl", "thumbprint", "nodeRoleArns", "clusterArn", "clusterRoles"];
const CLUSTER_ROLE_KEYS = ["grant", "path", "roleArn"];
const EKS_CLUSTER_ARN = /^arn:aws[a-z-]*:eks:[a-z0-9-]+:\d{12}:cluster\/[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
const REPOSITORY_KEYS = [
    "name",
    "imageTagMutability",
    "imageTagMutabilityExclusionFilters",
    "scanOnPush",
    "kmsKeyArn",
    "keepLastImages",
    "untaggedExpiryDays",
    "retainOnDelete",
    "forceDelete",
    "replicaKmsKeyArns",
];
const GRANT_KEYS = ["name", "clusters", "serviceAccounts", "repositories", "path", "shards", "allowPatterns", "allowEveryServiceAccount", "scope"];
/** A namespace or service-account pattern: lowercase RFC 1123 characters and IAM's wildcards. */
const NAMESPACE_PATTERN = /^[a-z0-9*?]([-a-z0-9*?]*[a-z0-9*?])?$/;
const SERVICE_ACCOUNT_PATTERN = /^[a-z0-9*?]([-.a-z0-9*?]*[a-z0-9*?])?$/;
const SERVICE_ACCOUNT_KEYS = ["namespace", "name"];

/**
 * Checks a registry spec whose values may come straight from untyped config.
 * `clusterLabel` says where each cluster came from, since the ECR stack builds
 * them from stack references rather than from a config key;
 * `unreadableClusters` names clusters whose references could not be read.
 */
export function validateRegistrySpec(
    spec: { clusters: unknown; repositories: unknown; grants: unknown; region?: unknown; replicaRegions?: unknown },
    problems: Problems,
    clusterLabel: (index: number) => string = (index) => `clusters[${index}]`,
    unreadableClusters: readonly string[] = [],
): void {
    // Clusters that exist but could not be read (their problems are reported
    // elsewhere) still count as known, so grants naming them add no noise.
    const before = problems.list.length;
    const clusterNames = new Set([...validateClusters(spec.clusters, problems, clusterLabel), ...unreadableClusters]);
    const region = typeof spec.region === "string" ? spec.region : undefined;
    const replicaRegions = validateReplicaRegions(spec.replicaRegions, problems, region);
    const repositoryNames = validateRepositories(spec.repositories, problems, region, replicaRegions);
    validateGrants(spec.grants, problems, clusterNames, repositoryNames);
    // Only a well-formed spec can be checked for what its paths need.
    if (problems.list.length === before) {
        checkPathsAreServed(spec as RegistrySpec, problems);
    }
}

/**
 * A chained or Pod Identity grant needs, from each of its clusters, the
 * cluster-account role the EKS stack created for it (and for Pod Identity the
 * cluster's ARN); without them its pull role could trust nobody there.
 */
function checkPathsAreServed(spec: RegistrySpec, problems: Problems): void {
    const clusters = new Map(spec.clusters.map((c) => [c.name, c]));
    spec.grants.forEach((grant, i) => {
        const path = grant.path ?? DEFAULT_ACCESS_PATH;
        const listed = grant.clusters ?? [];
        listed.forEach((name, j) => {
            const cluster = clusters.get(name);
            if (cluster && (grant.shards ?? 1) > 1 && !cluster.clusterArn) {
                problems.add(
                    `grants[${i}].clusters[${j}]`,
                    name,
                    `has no clusterArn, which grant "${grant.name}" (shards ${grant.shards}) needs to tell which of its roles serves that cluster.`,
                );
            }
        });
        if (path === "federation") {
            return;
        }
        listed.forEach((name, j) => {
            const cluster = clusters.get(name);
            if (!cluster) {
                return; // unreadable: reported with its reference
            }
            const role = cluster.clusterRoles?.find((r) => r.grant === grant.name && r.path === path);
            const otherPath = cluster.clusterRoles?.find((r) => r.grant === grant.name && r.path !== path);
            if (!role && otherPath) {
                problems.add(
                    `grants[${i}].clusters[${j}]`,
                    name,
                    `provides a ${otherPath.path} role for grant "${grant.name}", whose path here is "${path}": set the same path in ecrpull:grants and in that stack's ecrpull:workloads.`,
                );
            } else if (!role) {
                problems.add(
                    `grants[${i}].clusters[${j}]`,
                    name,
                    `provides no ${path} role for grant "${grant.name}": add a workload of grant "${grant.name}" with path "${path}" to that cluster's ecrpull:workloads, so that its stack exports the role (output workloads[].clusterRoleArn; for RegistryAccess args, the cluster's clusterRoles).`,
                );
            }
            if (path === "podIdentity" && !cluster.clusterArn) {
                problems.add(
                    `grants[${i}].clusters[${j}]`,
                    name,
                    `has no clusterArn, which grant "${grant.name}" (path "podIdentity") needs to pin its session tags: deploy that cluster's stack with this release (output clusterArn).`,
                );
            }
        });
    });
}

function validateClusters(value: unknown, problems: Problems, label: (index: number) => string): Set<string> {
    const names = new Set<string>();
    const listPath = label(0).replace(/\[\d+\]$/, "");
    const clusters = asArray(problems, listPath, value, "clusters");
    if (!clusters) {
        return names;
    }
    clusters.forEach((item, i) => {
        const at = label(i);
        const cluster = asRecord(problems, at, item, "name, accountId, issuerUrl, nodeRoleArns");
        if (!cluster) {
            return;
        }
        checkKnownKeys(problems, at, cluster, CLUSTER_KEYS);
        if (typeof cluster.name !== "string" || cluster.name.length === 0) {
            problems.add(`${at}.name`, cluster.name, 'is not a cluster name: use the EKS stack\'s name (e.g. "acme/ecrpull/eks").');
        } else {
            names.add(cluster.name);
        }
        checkAccountId(problems, `${at}.accountId`, cluster.accountId);
        checkIssuerUrl(problems, `${at}.issuerUrl`, cluster.issuerUrl);
        if (cluster.thumbprint !== undefined && cluster.thumbprint !== "" && (typeof cluster.thumbprint !== "string" || !THUMBPRINT.test(cluster.thumbprint))) {
            problems.add(
                `${at}.thumbprint`,
                cluster.thumbprint,
                "is not a thumbprint: use 40 lowercase hex digits (the SHA-1 of the issuer's top CA certificate), or leave it empty.",
            );
        }
        if (
            cluster.clusterArn !== undefined &&
            cluster.clusterArn !== "" &&
            (typeof cluster.clusterArn !== "string" || !EKS_CLUSTER_ARN.test(cluster.clusterArn))
        ) {
            problems.add(`${at}.clusterArn`, cluster.clusterArn, 'is not an EKS cluster ARN: use "arn:aws:eks:<region>:<account>:cluster/<name>".');
        }
        if (cluster.clusterRoles !== undefined) {
            const clusterRoles = asArray(problems, `${at}.clusterRoles`, cluster.clusterRoles, "{ grant, path, roleArn } roles");
            clusterRoles?.forEach((item, j) => {
                const roleAt = `${at}.clusterRoles[${j}]`;
                const role = asRecord(problems, roleAt, item, "grant, path and roleArn");
                if (!role) {
                    return;
                }
                checkKnownKeys(problems, roleAt, role, CLUSTER_ROLE_KEYS);
                checkGrantName(problems, `${roleAt}.grant`, role.grant);
                checkOneOf(problems, `${roleAt}.path`, role.path, ["chaining", "podIdentity"]);
                const before = problems.list.length;
                checkRoleArn(problems, `${roleAt}.roleArn`, role.roleArn);
                // Like node roles, cluster roles live in the cluster's account (docs/aws-facts.md, paths 3 and 4).
                const accountIsValid = typeof cluster.accountId === "string" && /^\d{12}$/.test(cluster.accountId);
                if (problems.list.length === before && accountIsValid && accountIdOfArn(role.roleArn as string) !== cluster.accountId) {
                    problems.add(
                        `${roleAt}.roleArn`,
                        role.roleArn,
                        `is not in the cluster's account ${cluster.accountId}: the cluster-account role of a chained or Pod Identity grant lives in the cluster's account.`,
                    );
                }
            });
            if (clusterRoles) {
                checkUnique(problems, `${at}.clusterRoles`, clusterRoles, (r) => pairField(r, "grant", "path"), "grant and path");
            }
        }
        const roles = asArray(problems, `${at}.nodeRoleArns`, cluster.nodeRoleArns, "node role ARNs");
        roles?.forEach((arn, j) => {
            const before = problems.list.length;
            checkRoleArn(problems, `${at}.nodeRoleArns[${j}]`, arn);
            const account = typeof arn === "string" ? accountIdOfArn(arn) : undefined;
            const accountIsValid = typeof cluster.accountId === "string" && /^\d{12}$/.test(cluster.accountId);
            if (problems.list.length === before && accountIsValid && account !== cluster.accountId) {
                problems.add(
                    `${at}.nodeRoleArns[${j}]`,
                    arn,
                    `is not in the cluster's account ${cluster.accountId}: node roles live in the cluster's account.`,
                );
            }
        });
    });
    checkUnique(problems, listPath, clusters, (c) => stringField(c, "name"), "cluster");
    return names;
}

/**
 * Replica regions: real region codes of the registry's partition, not its
 * own region, each once, and no more than ECR replicates to.
 */
function validateReplicaRegions(value: unknown, problems: Problems, region: string | undefined): string[] {
    if (value === undefined) {
        return [];
    }
    const regions = asArray(problems, "replicaRegions", value, "region codes");
    if (!regions) {
        return [];
    }
    regions.forEach((item, i) => {
        const before = problems.list.length;
        checkRegion(problems, `replicaRegions[${i}]`, item);
        if (problems.list.length > before || region === undefined) {
            return;
        }
        if (item === region) {
            problems.add(`replicaRegions[${i}]`, item, "is the registry's own region, where the repositories are: list only the regions to replicate to.");
        } else if (partitionOfRegion(item as string) !== partitionOfRegion(region)) {
            problems.add(`replicaRegions[${i}]`, item, `is in another partition than the registry's region ${region}: ECR replicates within a partition.`);
        }
    });
    checkUnique(problems, "replicaRegions", regions, stringItem, "region");
    if (regions.length > REPLICATION_LIMITS.destinations) {
        problems.raw("replicaRegions", `lists ${regions.length} regions; ECR replicates to at most ${REPLICATION_LIMITS.destinations} destinations.`);
    }
    return regions.filter((r): r is string => typeof r === "string");
}

function validateRepositories(value: unknown, problems: Problems, region: string | undefined, replicaRegions: readonly string[] = []): Set<string> {
    const names = new Set<string>();
    const repositories = asArray(problems, "repositories", value, "repositories");
    if (!repositories) {
        return names;
    }
    repositories.forEach((item, i) => {
        const at = `repositories[${i}]`;
        const repository = asRecord(problems, at, item, "name and optional settings");
        if (!repository) {
            return;
        }
        checkKnownKeys(problems, at, repository, REPOSITORY_KEYS);
        checkRepositoryName(problems, `${at}.name`, repository.name);
        if (typeof repository.name === "string") {
            names.add(repository.name);
        }
        checkTagMutability(problems, at, repository);
        for (const key of ["scanOnPush", "retainOnDelete", "forceDelete"]) {
            if (repository[key] !== undefined) {
                checkBoolean(problems, `${at}.${key}`, repository[key]);
            }
        }
        if (repository.kmsKeyArn !== undefined) {
            checkKmsKeyArn(problems, `${at}.kmsKeyArn`, repository.kmsKeyArn, region);
        }
        checkReplicaKeys(problems, at, repository, replicaRegions);
        if (repository.keepLastImages !== undefined) {
            checkIntegerInRange(problems, `${at}.keepLastImages`, repository.keepLastImages, 1, 10000);
        }
        if (repository.untaggedExpiryDays !== undefined) {
            checkIntegerInRange(problems, `${at}.untaggedExpiryDays`, repository.untaggedExpiryDays, 1, 3650);
        }
    });
    checkUnique(problems, "repositories", repositories, (r) => stringField(r, "name"), "repository");
    return names;
}

/**
 * A KMS-encrypted repository's replicas each need a key of their own region
 * (a KMS key serves its region only); an AES-256 repository's replicas are
 * AES-256 and take none.
 */
function checkReplicaKeys(problems: Problems, at: string, repository: Record<string, unknown>, replicaRegions: readonly string[]): void {
    const keys = repository.replicaKmsKeyArns;
    const keysAt = `${at}.replicaKmsKeyArns`;
    if (keys !== undefined) {
        const record = asRecord(problems, keysAt, keys, "a KMS key ARN per replica region");
        if (!record) {
            return;
        }
        if (repository.kmsKeyArn === undefined) {
            problems.add(keysAt, keys, "applies only to a KMS-encrypted repository: set kmsKeyArn too, or leave replicaKmsKeyArns out.");
            return;
        }
        for (const [region, arn] of Object.entries(record)) {
            if (!replicaRegions.includes(region)) {
                problems.raw(`${keysAt}.${region}`, `is not a replica region (${replicaRegions.join(", ") || "replicaRegions lists none"}): remove it.`);
            } else {
                checkKmsKeyArn(problems, `${keysAt}.${region}`, arn, region);
            }
        }
    }
    if (repository.kmsKeyArn !== undefined) {
        const given = typeof keys === "object" && keys !== null ? Object.keys(keys) : [];
        const missing = replicaRegions.filter((r) => !given.includes(r));
        if (missing.length > 0) {
            problems.raw(
                keysAt,
                `has no key for ${missing.join(", ")}: the repository is KMS-encrypted and a key serves its own region only, so each replica needs one (e.g. replicaKmsKeyArns: { ${missing[0]}: "arn:aws:kms:${missing[0]}:<account>:key/<id>" }).`,
            );
        }
    }
}

const TAG_MUTABILITIES = ["IMMUTABLE", "MUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"];
/** ECR's ImageTagMutabilityExclusionFilter: 1 to 128 of these characters, at most two `*`, 1 to 5 filters. */
const TAG_FILTER = /^[0-9A-Za-z._*-]{1,128}$/;
const TAG_FILTER_WILDCARDS_MAX = 2;
const TAG_FILTERS_MAX = 5;

/**
 * Tag mutability and its exclusion filters, checked as ECR checks them
 * (ECR API reference, ImageTagMutabilityExclusionFilter): filters come with
 * a `*_WITH_EXCLUSION` setting and only with one.
 */
function checkTagMutability(problems: Problems, at: string, repository: Record<string, unknown>): void {
    const mutability = repository.imageTagMutability;
    const filters = repository.imageTagMutabilityExclusionFilters;
    const filtersAt = `${at}.imageTagMutabilityExclusionFilters`;
    if (mutability !== undefined) {
        checkOneOf(problems, `${at}.imageTagMutability`, mutability, TAG_MUTABILITIES);
    }
    const withExclusion = typeof mutability === "string" && mutability.endsWith("_WITH_EXCLUSION");
    if (filters === undefined) {
        if (withExclusion) {
            problems.raw(filtersAt, `is missing: ${JSON.stringify(mutability)} needs from 1 to ${TAG_FILTERS_MAX} tag filters, e.g. ["latest", "dev-*"].`);
        }
        return;
    }
    if (!withExclusion) {
        problems.add(
            filtersAt,
            filters,
            'applies only with imageTagMutability "IMMUTABLE_WITH_EXCLUSION" or "MUTABLE_WITH_EXCLUSION": set one of those, or leave the filters out.',
        );
        return;
    }
    const list = asArray(problems, filtersAt, filters, "tag filters");
    if (!list) {
        return;
    }
    if (list.length < 1 || list.length > TAG_FILTERS_MAX) {
        problems.raw(filtersAt, `has ${list.length} filters; ECR accepts from 1 to ${TAG_FILTERS_MAX}.`);
    }
    list.forEach((filter, j) => {
        if (typeof filter !== "string" || !TAG_FILTER.test(filter)) {
            problems.add(
                `${filtersAt}[${j}]`,
                filter,
                `is not a tag filter ECR accepts: use 1 to 128 letters, digits and '.', '_', '-', with at most ${TAG_FILTER_WILDCARDS_MAX} '*' wildcards (e.g. "latest", "dev-*").`,
            );
        } else if (filter.split("*").length - 1 > TAG_FILTER_WILDCARDS_MAX) {
            problems.add(
                `${filtersAt}[${j}]`,
                filter,
                `has ${filter.split("*").length - 1} wildcards; ECR allows at most ${TAG_FILTER_WILDCARDS_MAX} "*" in a filter.`,
            );
        }
    });
    checkUnique(problems, filtersAt, list, stringItem, "tag filter");
}

function validateGrants(value: unknown, problems: Problems, clusterNames: Set<string>, repositoryNames: Set<string>): void {
    const grants = asArray(problems, "grants", value, "grants");
    if (!grants) {
        return;
    }
    grants.forEach((item, i) => {
        const at = `grants[${i}]`;
        const grant = asRecord(problems, at, item, "name, clusters, serviceAccounts, repositories");
        if (!grant) {
            return;
        }
        checkKnownKeys(problems, at, grant, GRANT_KEYS);
        checkGrantName(problems, `${at}.name`, grant.name);
        if (grant.path !== undefined) {
            checkOneOf(problems, `${at}.path`, grant.path, ACCESS_PATHS);
        }
        if (grant.shards !== undefined) {
            checkIntegerInRange(problems, `${at}.shards`, grant.shards, 1, MAX_SHARDS);
            if (
                typeof grant.name === "string" &&
                typeof grant.shards === "number" &&
                grant.shards > 1 &&
                pullRoleName(grant.name, grant.shards - 1).length > IAM_ROLE_NAME_MAX_LENGTH
            ) {
                problems.add(
                    `${at}.shards`,
                    grant.shards,
                    `makes the role name "${pullRoleName(grant.name, grant.shards - 1)}" longer than IAM's ${IAM_ROLE_NAME_MAX_LENGTH} characters: use a shorter grant name.`,
                );
            }
        }
        for (const flag of ["allowPatterns", "allowEveryServiceAccount"]) {
            if (grant[flag] !== undefined) {
                checkBoolean(problems, `${at}.${flag}`, grant[flag]);
            }
        }
        if (grant.scope !== undefined) {
            checkScopedGrant(problems, at, grant);
        } else {
            validateReferences(problems, `${at}.clusters`, grant.clusters, clusterNames, "cluster", "clusters");
        }
        validateReferences(problems, `${at}.repositories`, grant.repositories, repositoryNames, "repository", "repositories");
        const accounts = asArray(problems, `${at}.serviceAccounts`, grant.serviceAccounts, "{ namespace, name } service accounts");
        if (accounts) {
            if (accounts.length === 0) {
                problems.raw(`${at}.serviceAccounts`, "is empty: a grant must name at least one service account as { namespace, name }.");
            }
            accounts.forEach((sa, j) => {
                const saAt = `${at}.serviceAccounts[${j}]`;
                const ref = asRecord(problems, saAt, sa, "namespace and name");
                if (!ref) {
                    return;
                }
                checkKnownKeys(problems, saAt, ref, SERVICE_ACCOUNT_KEYS);
                const patterned = [ref.namespace, ref.name].some((v) => typeof v === "string" && /[*?]/.test(v));
                // "ns/name" when both are text; the record itself otherwise, never "[object Object]".
                const shown =
                    typeof ref.namespace === "string" && typeof ref.name === "string"
                        ? `${ref.namespace}/${ref.name}`
                        : { namespace: ref.namespace, name: ref.name };
                if (!patterned) {
                    checkNamespace(problems, `${saAt}.namespace`, ref.namespace);
                    checkServiceAccountName(problems, `${saAt}.name`, ref.name);
                } else if (grant.allowPatterns !== true) {
                    problems.add(
                        saAt,
                        shown,
                        "is a pattern, and patterns admit service accounts nobody listed: name the service accounts exactly, or set allowPatterns: true on the grant to match with StringLike.",
                    );
                } else if (
                    typeof ref.namespace !== "string" ||
                    !NAMESPACE_PATTERN.test(ref.namespace) ||
                    typeof ref.name !== "string" ||
                    !SERVICE_ACCOUNT_PATTERN.test(ref.name)
                ) {
                    problems.add(saAt, shown, "is not a valid pattern: use lowercase letters, digits, '-' (and '.' in names) with the wildcards '*' and '?'.");
                } else if (matchesEveryName(ref.namespace) && matchesEveryName(ref.name) && grant.allowEveryServiceAccount !== true) {
                    problems.add(
                        saAt,
                        shown,
                        "admits every service account of every namespace of the grant's clusters: narrow it, or set allowEveryServiceAccount: true on the grant if that is really meant.",
                    );
                }
            });
            checkUnique(problems, `${at}.serviceAccounts`, accounts, (a) => pairField(a, "namespace", "name"), "service account");
        }
    });
    checkUnique(problems, "grants", grants, (g) => stringField(g, "name"), "grant");
}

/**
 * An organization-scoped grant: a valid scope, a path whose trust can be
 * written by pattern (chaining, Pod Identity; federation needs an OIDC
 * provider per issuer, so it keeps exact scope), no cluster list and one
 * role (the trust does not grow with clusters).
 */
function checkScopedGrant(problems: Problems, at: string, grant: Record<string, unknown>): void {
    checkOrganizationScope(problems, `${at}.scope`, grant.scope);
    const path = grant.path ?? DEFAULT_ACCESS_PATH;
    if (path === "federation") {
        problems.add(
            `${at}.scope`,
            grant.scope,
            'applies to paths "chaining" and "podIdentity" only: "federation" trusts an OIDC provider of each cluster\'s issuer in the registry account, so it keeps exact scope (list its clusters). Set path: chaining or podIdentity to scope the grant to the organization.',
        );
    }
    if (grant.clusters !== undefined && !(Array.isArray(grant.clusters) && grant.clusters.length === 0)) {
        problems.add(
            `${at}.clusters`,
            grant.clusters,
            "lists clusters, but the grant has a scope, which admits every cluster of the scope without a list: remove clusters (a cluster joins by naming the grant in its own ecrpull:workloads or ecrpull:nodePullGrants), or remove scope to keep the list.",
        );
    }
    if (grant.shards !== undefined && grant.shards !== 1) {
        problems.add(`${at}.shards`, grant.shards, "splits a grant with a scope, whose one trust fits any number of clusters: remove shards.");
    }
}

/**
 * Whether an IAM StringLike pattern matches every namespace or every service
 * account name: made of wildcards only, with at least one `*` and at most one
 * `?` (a name has at least one character), so `*`, `**`, `?*` and `*?*` all
 * do, while `??*` misses one-letter names and `a*` misses the rest.
 */
export function matchesEveryName(pattern: string): boolean {
    return /^[*?]+$/.test(pattern) && pattern.includes("*") && (pattern.match(/\?/g) ?? []).length <= 1;
}

function validateReferences(problems: Problems, path: string, value: unknown, known: Set<string>, what: string, plural: string): void {
    const names = asArray(problems, path, value, `${what} names`);
    if (!names) {
        return;
    }
    if (names.length === 0) {
        problems.raw(path, `is empty: a grant must name at least one ${what}.`);
    }
    names.forEach((name, j) => {
        if (typeof name !== "string" || !known.has(name)) {
            const choices = [...known]
                .sort()
                .map((k) => JSON.stringify(k))
                .join(", ");
            problems.add(`${path}[${j}]`, name, `is not a known ${what}: use one of the ${plural} listed (${choices || "none are"}).`);
        }
    });
    checkUnique(problems, path, names, stringItem, what);
}
