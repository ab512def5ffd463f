/**
 * What the registry account needs, computed from a validated `RegistrySpec`
 * without creating anything: OIDC providers, pull roles with their trust and
 * permission documents, repositories with their policies, and the size of
 * every document against its AWS limit.
 *
 * Every ARN a document names is derived from names (docs/aws-facts.md: the repository
 * policy uses account roots and `aws:PrincipalArn`), so the whole plan is a
 * pure function: the component only turns it into resources, `npm run plan`
 * prints it, and tests read it directly.
 */
import {
    chainingTrustPolicy,
    orgChainingTrustPolicy,
    orgPodIdentityTargetTrustPolicy,
    FederatedTrustEntry,
    PolicyDocument,
    podIdentityTargetTrustPolicy,
    lifecyclePolicy,
    policySize,
    pullRolePolicy,
    repositoryPullPolicy,
    serializePolicy,
    webIdentityTrustPolicy,
} from "../iam/policies";
import {
    accountIdOfArn,
    AccessPath,
    DEFAULT_ACCESS_PATH,
    MAX_SHARDS,
    oidcProviderArn,
    pullRoleArn,
    pullRoleName,
    repositoryArn,
    serviceAccountSubject,
    shardOf,
} from "../iam/names";
import { ClusterSpec, clusterRegion, GrantSpec, RegistrySpec, REPLICATION_LIMITS, ResolvedRepositorySpec, withRepositoryDefaults } from "./spec";
import { DEFAULT_LIMITS, QuotaLimits } from "../iam/quotas";
import {
    describeScope,
    NODE_PULL_TAG_PREFIX,
    nodePullTagKey,
    NODE_PULL_TAG_VALUE,
    ORG_ROLE_PATH_PREFIX,
    OrganizationScope,
    orgRolePath,
} from "../iam/org-scope";

export interface RegistryContext {
    readonly registryAccountId: string;
    readonly region: string;
    readonly partition: string;
    /** Quotas to plan against. Default `DEFAULT_LIMITS`. */
    readonly limits?: Partial<QuotaLimits>;
    /**
     * Whom repository policies name for node pulls: `roles` (default: exactly
     * the node roles, by ARN), or `accounts`: a repository whose policy would
     * not fit naming each node role names the node roles' accounts instead
     * (any principal there with ECR permissions may then pull it); every
     * repository whose policy fits keeps naming each node role.
     */
    readonly nodePullScope?: string;
}

export interface OidcProviderPlan {
    readonly issuerUrl: string;
    readonly arn: string;
    /** Sorted; empty lets IAM verify the issuer's chain against the CAs it trusts. */
    readonly thumbprints: readonly string[];
    /** Clusters that share this issuer (normally one). */
    readonly clusters: readonly string[];
}

export interface PullRolePlan {
    readonly grant: string;
    readonly path: AccessPath;
    /** Which of the grant's roles this is (see `shardOf`), and how many it has. */
    readonly shard: number;
    readonly shards: number;
    /** The clusters this role serves. */
    readonly clusters: readonly string[];
    readonly roleName: string;
    readonly roleArn: string;
    readonly trustPolicy: string;
    readonly rolePolicy: string;
    /** Issuers the trust names: the role must be created after their providers. */
    readonly issuerUrls: readonly string[];
    /** For an organization-scoped grant: its scope; the role then names no cluster (`clusters` is empty). */
    readonly scope?: OrganizationScope;
}

/** How far a repository policy was widened for node pulls (nodePullScope `accounts`), to say so. */
export interface NodePullWidening {
    /** The accounts named instead of the node roles. */
    readonly accounts: readonly string[];
    /** How many node roles they stand for. */
    readonly nodeRoles: number;
    /** The size the policy naming each node role would have had. */
    readonly exactSize: number;
}

export interface RepositoryPlan {
    readonly settings: ResolvedRepositorySpec;
    readonly arn: string;
    /** Absent when no grant names the repository: nobody outside the account may pull. */
    readonly repositoryPolicy?: string;
    /** Set when the policy names the node roles' accounts instead of the roles (see `RegistryContext.nodePullScope`). */
    readonly nodePullWidening?: NodePullWidening;
    readonly lifecyclePolicy: string;
    readonly grants: readonly string[];
    /** Its copy in each replica region, sorted by region. */
    readonly replicas: readonly ReplicaPlan[];
}

/**
 * A repository's replica in another region of the registry account: same
 * name and settings, its own ARN, and a policy that admits only what pulls
 * in that region (the node roles of clusters there, the pull roles of their
 * grants).
 */
export interface ReplicaPlan {
    readonly region: string;
    readonly arn: string;
    readonly repositoryPolicy?: string;
    readonly nodePullWidening?: NodePullWidening;
    /** The replica's KMS key (of its own region), for a KMS-encrypted repository. */
    readonly kmsKeyArn?: string;
}

export type PolicyKind = "trust policy" | "role policy" | "repository policy" | "lifecycle policy";

export interface PolicySize {
    readonly kind: PolicyKind;
    /** For trust policies: the path of the grant, which decides the remedy. */
    readonly path?: AccessPath;
    /** The role or repository the document belongs to. */
    readonly owner: string;
    readonly size: number;
    readonly limit: number;
}

export interface QuotaCount {
    readonly count: number;
    readonly limit: number;
}

export interface RegistryPlan {
    readonly providers: readonly OidcProviderPlan[];
    readonly roles: readonly PullRolePlan[];
    readonly repositories: readonly RepositoryPlan[];
    /** The regions repositories replicate to (sorted), and the replication rules' repository filters. */
    readonly replication: { readonly regions: readonly string[]; readonly rules: readonly (readonly string[])[] };
    readonly sizes: readonly PolicySize[];
    /** What this plan spends of the registry account's IAM quotas. */
    readonly counts: { readonly oidcProviders: QuotaCount; readonly roles: QuotaCount };
    /** Every document or count over its quota, with the number, the limit and what would make it fit. */
    readonly overBudget: readonly string[];
    /** What the preview says of each repository policy widened to accounts: which accounts, for how many node roles. */
    readonly widenings: readonly string[];
    /** What the preview says of each organization-scoped grant: exactly whom its trust and repository policies admit. */
    readonly admissions: readonly string[];
}

/** A grant with its cluster list: empty for an organization-scoped grant. */
type ListedGrant = GrantSpec & { readonly clusters: string[] };

const byKey =
    <T>(key: (item: T) => string) =>
    (a: T, b: T) =>
        key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

export function planRegistry(given: RegistrySpec, context: RegistryContext): RegistryPlan {
    const { partition, registryAccountId, region } = context;
    // An organization-scoped grant lists no cluster: every cluster-indexed rule below skips it.
    const spec: Omit<RegistrySpec, "grants"> & { grants: ListedGrant[] } = {
        ...given,
        grants: given.grants.map((g) => ({ ...g, clusters: g.scope ? [] : (g.clusters ?? []) })),
    };
    const clustersByName = new Map(spec.clusters.map((c) => [c.name, c]));

    const pathOf = (grant: GrantSpec) => (grant.path ?? DEFAULT_ACCESS_PATH) as AccessPath;

    // One provider per issuer, however many clusters or grants use it: IAM
    // refuses a second provider for the same URL. Only federated grants need
    // one; chaining and Pod Identity spend none of the registry's 100.
    const federatedClusters = new Set(spec.grants.filter((g) => pathOf(g) === "federation").flatMap((g) => g.clusters));
    const issuers = new Map<string, { thumbprints: Set<string>; clusters: string[] }>();
    for (const cluster of spec.clusters.filter((c) => federatedClusters.has(c.name))) {
        const entry = issuers.get(cluster.issuerUrl) ?? { thumbprints: new Set<string>(), clusters: [] };
        if (cluster.thumbprint) {
            entry.thumbprints.add(cluster.thumbprint);
        }
        entry.clusters.push(cluster.name);
        issuers.set(cluster.issuerUrl, entry);
    }
    const providers: OidcProviderPlan[] = [...issuers.entries()]
        .map(([issuerUrl, entry]) => ({
            issuerUrl,
            arn: oidcProviderArn(partition, registryAccountId, issuerUrl),
            thumbprints: [...entry.thumbprints].sort(),
            clusters: [...entry.clusters].sort(),
        }))
        .sort(byKey((p) => p.issuerUrl));
    const providerArnOf = new Map(providers.map((p) => [p.issuerUrl, p.arn]));

    const repositoryArnOf = (name: string) => repositoryArn(partition, region, registryAccountId, name);
    // Clusters in a replica region pull from the replica there; the others from the source region.
    const replicaRegions = [...new Set(spec.replicaRegions ?? [])].sort();
    const replicaRegionOf = (cluster: ClusterSpec) => {
        const own = clusterRegion(cluster);
        return own !== undefined && replicaRegions.includes(own) ? own : undefined;
    };
    // An organization-scoped grant may have clusters in any region: it reaches every replica.
    const replicaRegionsOf = (grant: ListedGrant) =>
        grant.scope
            ? replicaRegions
            : [...new Set(grant.clusters.map((c) => replicaRegionOf(clustersByName.get(c)!)).filter((r): r is string => r !== undefined))].sort();

    const limits: QuotaLimits = { ...DEFAULT_LIMITS, ...context.limits };
    const overBudget: string[] = [];
    const trustOf = (grant: GrantSpec, clusters: readonly ClusterSpec[]) => {
        if (grant.scope) {
            const trust =
                pathOf(grant) === "podIdentity"
                    ? orgPodIdentityTargetTrustPolicy(partition, grant.name, grant.scope, grant.serviceAccounts)
                    : orgChainingTrustPolicy(partition, grant.name, grant.scope);
            return { issuerUrls: [], trustPolicy: serializePolicy(trust) };
        }
        const issuerUrls = pathOf(grant) === "federation" ? [...new Set(clusters.map((c) => c.issuerUrl))].sort() : [];
        return { issuerUrls, trustPolicy: serializePolicy(pullRoleTrust(grant, pathOf(grant), clusters, issuerUrls, providerArnOf, partition)) };
    };

    const roles: PullRolePlan[] = [];
    for (const grant of [...spec.grants].sort(byKey((g) => g.name))) {
        const shards = grant.scope ? 1 : (grant.shards ?? 1);
        // The grant's repositories in the source region, and their replicas where the grant has clusters.
        const replicaArns = replicaRegionsOf(grant).flatMap((region) =>
            grant.repositories.map((name) => repositoryArn(partition, region, registryAccountId, name)),
        );
        const rolePolicy = serializePolicy(pullRolePolicy([...grant.repositories.map(repositoryArnOf), ...replicaArns]));
        const byShard: [number, ClusterSpec[]][] = grant.scope ? [[0, []]] : shardClusters(grant, shards, clustersByName);
        let oversized = false;
        for (const [shard, clusters] of byShard) {
            const { issuerUrls, trustPolicy } = trustOf(grant, clusters);
            oversized ||= policySize(trustPolicy) > limits.trustPolicy;
            roles.push({
                grant: grant.name,
                path: pathOf(grant),
                shard,
                shards,
                clusters: clusters.map((c) => c.name).sort(),
                roleName: pullRoleName(grant.name, shard),
                roleArn: pullRoleArn({ partition, registryAccountId, grant: grant.name, shard }),
                trustPolicy,
                rolePolicy,
                issuerUrls,
                ...(grant.scope ? { scope: grant.scope } : {}),
            });
        }
        if (oversized) {
            overBudget.push(
                ...oversizedTrustMessages(
                    grant,
                    roles.filter((r) => r.grant === grant.name),
                    clustersByName,
                    limits,
                    (clusters) => trustOf(grant, clusters).trustPolicy,
                ),
            );
        }
    }
    const roleArnsOf = (grant: string) => roles.filter((r) => r.grant === grant).map((r) => r.roleArn);

    // Each node role by ARN; only a policy that would not fit so, and only with nodePullScope
    // "accounts", names the roles' accounts instead, and the plan says how much wider that is.
    // Per policy owner: how many node roles and accounts a widening would trade, for the remedy text.
    const nodeRolesOf = new Map<string, { roles: number; accounts: number }>();
    const nodePullPolicy = (
        owner: string,
        grantRoleArns: readonly string[],
        nodeRoleArns: readonly string[],
        orgGrants: readonly GrantSpec[],
    ): { policy?: string; widening?: NodePullWidening } => {
        nodeRolesOf.set(owner, { roles: new Set(nodeRoleArns).size, accounts: new Set(nodeRoleArns.map((arn) => accountIdOfArn(arn))).size });
        const orgNodePulls = orgGrants.map((g) => ({ grant: g.name, scope: g.scope! }));
        const exact = repositoryPullPolicy({ partition, grantRoleArns, nodeRoleArns, nodeScope: "roles", orgNodePulls });
        const exactText = exact ? serializePolicy(exact) : undefined;
        if (!exactText || context.nodePullScope !== "accounts" || policySize(exactText) <= limits.repositoryPolicy) {
            return { policy: exactText };
        }
        const wide = repositoryPullPolicy({ partition, grantRoleArns, nodeRoleArns, nodeScope: "accounts", orgNodePulls })!;
        return {
            policy: serializePolicy(wide),
            widening: {
                accounts: [...new Set(nodeRoleArns.map((arn) => accountIdOfArn(arn)!))].sort(),
                nodeRoles: new Set(nodeRoleArns).size,
                exactSize: policySize(exactText),
            },
        };
    };

    const repositories: RepositoryPlan[] = spec.repositories
        .map((repository) => {
            const grants = spec.grants.filter((g) => g.repositories.includes(repository.name));
            const nodeRoleArns = grants.flatMap((g) => g.clusters.flatMap((c) => clustersByName.get(c)!.nodeRoleArns));
            const { policy, widening } = nodePullPolicy(
                repository.name,
                grants.flatMap((g) => roleArnsOf(g.name)),
                nodeRoleArns,
                grants.filter((g) => g.scope),
            );
            const settings = withRepositoryDefaults(repository);
            const replicas = replicaRegions.map((replicaRegion): ReplicaPlan => {
                // Only what pulls in that region: node roles of clusters there, and the roles serving them.
                const here = (name: string) => replicaRegionOf(clustersByName.get(name)!) === replicaRegion;
                const grantsHere = grants.filter((g) => g.scope || g.clusters.some(here));
                const { policy: replicaPolicy, widening: replicaWidening } = nodePullPolicy(
                    `${repository.name} (${replicaRegion})`,
                    grantsHere.flatMap((g) => roles.filter((r) => r.grant === g.name && (r.scope || r.clusters.some(here))).map((r) => r.roleArn)),
                    grantsHere.flatMap((g) => g.clusters.filter(here).flatMap((c) => clustersByName.get(c)!.nodeRoleArns)),
                    grantsHere.filter((g) => g.scope),
                );
                return {
                    region: replicaRegion,
                    arn: repositoryArn(partition, replicaRegion, registryAccountId, repository.name),
                    repositoryPolicy: replicaPolicy,
                    ...(replicaWidening ? { nodePullWidening: replicaWidening } : {}),
                    kmsKeyArn: settings.replicaKmsKeyArns?.[replicaRegion],
                };
            });
            return {
                settings,
                arn: repositoryArnOf(repository.name),
                repositoryPolicy: policy,
                ...(widening ? { nodePullWidening: widening } : {}),
                lifecyclePolicy: lifecyclePolicy(settings),
                grants: grants.map((g) => g.name).sort(),
                replicas,
            };
        })
        .sort(byKey((r) => r.settings.name));

    const sizes: PolicySize[] = [
        ...roles.flatMap((r) => [
            { kind: "trust policy" as const, path: r.path, owner: r.roleName, size: policySize(r.trustPolicy), limit: limits.trustPolicy },
            { kind: "role policy" as const, owner: r.roleName, size: policySize(r.rolePolicy), limit: limits.rolePolicy },
        ]),
        ...repositories.flatMap((r) => [
            ...(r.repositoryPolicy
                ? [{ kind: "repository policy" as const, owner: r.settings.name, size: policySize(r.repositoryPolicy), limit: limits.repositoryPolicy }]
                : []),
            { kind: "lifecycle policy" as const, owner: r.settings.name, size: policySize(r.lifecyclePolicy), limit: limits.lifecyclePolicy },
            ...r.replicas
                .filter((replica) => replica.repositoryPolicy)
                .map((replica) => ({
                    kind: "repository policy" as const,
                    owner: `${r.settings.name} (${replica.region})`,
                    size: policySize(replica.repositoryPolicy!),
                    limit: limits.repositoryPolicy,
                })),
        ]),
    ];
    // One replication configuration per registry: its rules' prefix filters name every repository.
    const names = repositories.map((r) => r.settings.name);
    const rules = replicaRegions.length === 0 ? [] : chunk(names, REPLICATION_LIMITS.filtersPerRule);
    if (rules.length > REPLICATION_LIMITS.rules) {
        overBudget.push(
            `replicating ${names.length} repositories needs ${rules.length} replication rules of ${REPLICATION_LIMITS.filtersPerRule} repository filters; ECR allows ${REPLICATION_LIMITS.rules} rules per registry: replicate at most ${REPLICATION_LIMITS.rules * REPLICATION_LIMITS.filtersPerRule} repositories from one registry.`,
        );
    }
    for (const s of sizes) {
        if (s.size > s.limit && s.kind !== "trust policy") {
            const nodes = s.kind === "repository policy" ? nodeRolesOf.get(s.owner) : undefined;
            const width = nodes && nodes.roles > 0 ? ` (here ${nodes.accounts} accounts instead of ${nodes.roles} node roles)` : "";
            overBudget.push(`the ${s.kind} of ${s.owner} is ${s.size} characters; AWS allows ${s.limit}: ${REMEDIES[s.kind]}${width}.`);
        }
    }

    const counts = {
        oidcProviders: { count: providers.length, limit: limits.oidcProviders },
        roles: { count: roles.length, limit: limits.roles },
    };
    if (counts.oidcProviders.count > counts.oidcProviders.limit) {
        const federated = spec.grants
            .filter((g) => pathOf(g) === "federation")
            .map((g) => g.name)
            .sort();
        overBudget.push(
            `the registry account would hold ${counts.oidcProviders.count} OIDC providers (one per cluster of a federated grant); the quota is ${counts.oidcProviders.limit}: raise the IAM quota "OpenID Connect providers per account" (up to 700) and set limits.oidcProviders, or switch grants to path "chaining" or "podIdentity", which need none (federated: ${listSome(federated)}).`,
        );
    }
    if (counts.roles.count > counts.roles.limit) {
        overBudget.push(
            `the registry account would hold ${counts.roles.count} pull roles of this stack; the quota is ${counts.roles.limit}: raise the IAM quota "Roles per account" (up to 5,000) and set limits.roles, or merge grants or lower their shards.`,
        );
    }
    const widenings = repositories.flatMap((r) => [
        ...(r.nodePullWidening ? [wideningMessage(r.settings.name, r.nodePullWidening, limits.repositoryPolicy)] : []),
        ...r.replicas
            .filter((x) => x.nodePullWidening)
            .map((x) => wideningMessage(`${r.settings.name} (${x.region})`, x.nodePullWidening!, limits.repositoryPolicy)),
    ]);
    const admissions = organizationAdmissions(spec.grants, partition);
    return { providers, roles, repositories, replication: { regions: replicaRegions, rules }, sizes, counts, overBudget, widenings, admissions };
}

/**
 * What the preview says of the organization-scoped grants: one message per
 * scope and path, so that a fleet of a hundred scoped grants reads as one
 * paragraph, not a hundred.
 */
export function organizationAdmissions(grants: readonly GrantSpec[], partition: string): string[] {
    const pathOf = (grant: GrantSpec) => (grant.path ?? DEFAULT_ACCESS_PATH) as AccessPath;
    const groups = new Map<string, GrantSpec[]>();
    for (const grant of grants.filter((g) => g.scope).sort(byKey((g) => g.name))) {
        const key = `${describeScope(grant.scope!)}|${pathOf(grant)}`;
        groups.set(key, [...(groups.get(key) ?? []), grant]);
    }
    return [...groups.values()].map((group) => admissionMessage(group, pathOf(group[0]), partition));
}

/**
 * Exactly whom organization-scoped grants of one scope and path admit, for
 * the preview: the principals their trust and repository policies name by
 * pattern, what stays pinned, and what closes the rest.
 */
export function admissionMessage(grants: readonly GrantSpec[], path: AccessPath, partition: string): string {
    const scope = describeScope(grants[0].scope!);
    const one = grants.length === 1;
    const names = one ? `grant "${grants[0].name}"` : `grants ${listSome(grants.map((g) => JSON.stringify(g.name)))}`;
    const accounts = (g: GrantSpec) => g.serviceAccounts.map((sa) => `${sa.namespace}/${sa.name}`).join(", ");
    const grant = one ? grants[0].name : "<grant>";
    const rolePath = one ? orgRolePath(grant) : `${ORG_ROLE_PATH_PREFIX}<grant>/`;
    const tagKey = one ? nodePullTagKey(grant) : `${NODE_PULL_TAG_PREFIX}<grant>`;
    const pinned =
        path === "podIdentity"
            ? `for Pod Identity sessions tagged with ${one ? `service account ${accounts(grants[0])}` : "one of the grant's service accounts"} (any cluster)`
            : `whose own trust is then the only check of the service account (the package writes it for ${one ? accounts(grants[0]) : "the grant's service accounts"} of its cluster)`;
    return `${names} (scope: ${scope}, path ${path}): ${one ? "its pull role" : "each pull role"} ${pullRoleName(grant)} trusts any role at IAM path ${rolePath} in any account of ${scope} (aws:PrincipalArn arn:${partition}:iam::*:role${rolePath}*), ${pinned}; ${one ? "its" : "the grant's"} repositories admit the node roles tagged ${tagKey}=${NODE_PULL_TAG_VALUE} there. So any principal of that scope allowed to create a role at that path, change such a role's trust, or tag a role with that key gets the grant's pulls: attach the service control policy policy/ecrpull-org-scope.scp.json to the organization (or those OUs) to keep that to your deployers.`;
}

/** The grant's clusters by shard, for the shards that serve any; sorted by shard. */
function shardClusters(grant: ListedGrant, shards: number, clustersByName: ReadonlyMap<string, ClusterSpec>): [number, ClusterSpec[]][] {
    const byShard = new Map<number, ClusterSpec[]>();
    for (const name of grant.clusters) {
        const cluster = clustersByName.get(name)!;
        const shard = shards === 1 ? 0 : shardOf(cluster.clusterArn!, shards);
        byShard.set(shard, [...(byShard.get(shard) ?? []), cluster]);
    }
    return [...byShard.entries()].sort((a, b) => a[0] - b[0]);
}

/** At most five names, then how many more. */
function chunk<T>(items: readonly T[], size: number): T[][] {
    return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

function listSome(names: readonly string[]): string {
    return names.length <= 5 ? names.join(", ") : `${names.slice(0, 5).join(", ")} and ${names.length - 5} more`;
}

/**
 * Messages for a grant whose trust does not fit: where more shards would make
 * every shard fit, which count, and which clusters that moves to another role
 * (their workloads' role ARN changes); otherwise the path's remedies.
 */
function oversizedTrustMessages(
    grant: ListedGrant,
    roles: readonly PullRolePlan[],
    clustersByName: ReadonlyMap<string, ClusterSpec>,
    limits: QuotaLimits,
    trustFor: (clusters: readonly ClusterSpec[]) => string,
): string[] {
    const shards = grant.shards ?? 1;
    let suggestion = "";
    const canShard = grant.clusters.length > 1 && grant.clusters.every((c) => clustersByName.get(c)!.clusterArn);
    // Shards beyond the number of clusters are allowed: a hashed split is not
    // perfectly even, and an empty shard creates no role.
    for (let more = shards + 1; canShard && more <= MAX_SHARDS; more++) {
        const fits = shardClusters({ ...grant, shards: more }, more, clustersByName).every(
            ([, clusters]) => policySize(trustFor(clusters)) <= limits.trustPolicy,
        );
        if (fits) {
            const moved = grant.clusters.filter((c) => {
                const arn = clustersByName.get(c)!.clusterArn!;
                return (shards === 1 ? 0 : shardOf(arn, shards)) !== shardOf(arn, more);
            });
            suggestion = `set shards: ${more} on grant "${grant.name}" (in ecrpull:grants, and on its workloads in each cluster's ecrpull:workloads), which moves the workloads of ${moved.length} of its ${grant.clusters.length} clusters to another pull role (${listSome([...moved].sort())}); or `;
            break;
        }
    }
    return roles
        .filter((r) => policySize(r.trustPolicy) > limits.trustPolicy)
        .map(
            (r) =>
                `the trust policy of ${r.roleName} (grant "${r.grant}", ${r.clusters.length} clusters) is ${policySize(r.trustPolicy)} characters; AWS allows ${limits.trustPolicy}: ${suggestion}${TRUST_REMEDIES[r.path]}.`,
        );
}

/** The pull role's trust for the grant's path (docs/aws-facts.md, paths 2 to 4). */
function pullRoleTrust(
    grant: GrantSpec,
    path: AccessPath,
    clusters: readonly ClusterSpec[],
    issuerUrls: readonly string[],
    providerArnOf: ReadonlyMap<string, string>,
    partition: string,
): PolicyDocument {
    const roleOf = (cluster: ClusterSpec) => cluster.clusterRoles!.find((r) => r.grant === grant.name && r.path === path)!.roleArn;
    switch (path) {
        case "federation": {
            const subjects = grant.serviceAccounts.map((sa) => serviceAccountSubject(sa.namespace, sa.name));
            const entries: FederatedTrustEntry[] = issuerUrls.map((issuerUrl) => ({ providerArn: providerArnOf.get(issuerUrl)!, issuerUrl, subjects }));
            return webIdentityTrustPolicy(entries);
        }
        case "chaining":
            return chainingTrustPolicy(partition, clusters.map(roleOf));
        case "podIdentity":
            return podIdentityTargetTrustPolicy(
                partition,
                clusters.map((cluster) => ({ clusterArn: cluster.clusterArn!, roleArns: [roleOf(cluster)], serviceAccounts: grant.serviceAccounts })),
            );
    }
}

const RAISE_TRUST_QUOTA = 'raise the IAM quota "Role trust policy length" (L-C07B4B0D) to 4,096';

/** Remedies for a trust policy over its quota, by the grant's path: each path grows differently. */
const TRUST_REMEDIES: Record<AccessPath, string> = {
    federation: `list fewer clusters or service accounts in the grant, split it into two grants, switch it to path "chaining" (one short statement for all clusters), or ${RAISE_TRUST_QUOTA}`,
    podIdentity: `list fewer clusters or namespaces in the grant (one statement each), split it into two grants, switch it to path "chaining" (one short statement for all clusters), give the grant an organization scope (one trust for any number of clusters, which admits any role at IAM path /ecrpull/<grant>/ in the organization or OUs: docs/organization-scope.md), or ${RAISE_TRUST_QUOTA}`,
    chaining: `split the grant's clusters into two grants, give the grant an organization scope (one trust for any number of clusters, which admits any role at IAM path /ecrpull/<grant>/ in the organization or OUs: docs/organization-scope.md), or ${RAISE_TRUST_QUOTA}`,
};

/** Remedies, by kind, for the other documents over their quota (trust policies take TRUST_REMEDIES). */
/** What the preview says of a repository whose node pulls were widened to accounts. */
function wideningMessage(repository: string, widening: NodePullWidening, limit: number): string {
    const shown = widening.accounts.slice(0, 5).join(", ") + (widening.accounts.length > 5 ? `, and ${widening.accounts.length - 5} more` : "");
    return `repository ${repository}: naming each of its ${widening.nodeRoles} node roles would make its policy ${widening.exactSize.toLocaleString("en-US")} characters (limit ${limit.toLocaleString("en-US")}), so with nodePullScope "accounts" it names their ${widening.accounts.length} accounts instead (${shown}): every principal of those accounts with ECR permissions may pull it, not only those node roles. The repositories whose policies fit still name each node role.`;
}

const REMEDIES: Record<Exclude<PolicyKind, "trust policy">, string> = {
    "role policy": "split the grant's repositories into two grants",
    "repository policy":
        "name the repository in fewer grants, give its grants an organization scope (node roles are then admitted by their tag for the grant, and those of every cluster of the organization or OUs that carries it: docs/organization-scope.md), or set ecrpull:nodePullScope to \"accounts\": then this repository's policy (and only the policies that do not fit) names the node roles' accounts instead of each node role, which widens its node pulls to every principal of those accounts with ECR permissions",
    "lifecycle policy": "shorten the lifecycle rules",
};

/** Messages for every document and count over its limit, each with the number, the limit and a remedy. */
export function oversizedPolicies(plan: RegistryPlan): string[] {
    return [...plan.overBudget];
}
