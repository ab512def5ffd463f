/**
 * What the registry account needs, computed from a validated `RegistrySpec`
 * without creating anything: OIDC providers, pull roles with their trust and
 * permission documents, repositories with their policies, and the size of
 * every document against its AWS limit.
 *
 * Every ARN a document names is derived from names (facts.md: the repository
 * policy uses account roots and `aws:PrincipalArn`), so the whole plan is a
 * pure function: the component only turns it into resources, `npm run plan`
 * prints it, and tests read it directly.
 */
import {
    chainingTrustPolicy,
    FederatedTrustEntry,
    PolicyDocument,
    podIdentityTargetTrustPolicy,
    lifecyclePolicy,
    POLICY_LIMITS,
    policySize,
    pullRolePolicy,
    repositoryPullPolicy,
    serializePolicy,
    webIdentityTrustPolicy,
} from "./policies";
import { AccessPath, DEFAULT_ACCESS_PATH, oidcProviderArn, pullRoleArn, pullRoleName, repositoryArn, serviceAccountSubject } from "./names";
import { ClusterSpec, GrantSpec, RegistrySpec, ResolvedRepositorySpec, withRepositoryDefaults } from "./registry-spec";

export interface RegistryContext {
    readonly registryAccountId: string;
    readonly region: string;
    readonly partition: string;
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
    readonly roleName: string;
    readonly roleArn: string;
    readonly trustPolicy: string;
    readonly rolePolicy: string;
    /** Issuers the trust names: the role must be created after their providers. */
    readonly issuerUrls: readonly string[];
}

export interface RepositoryPlan {
    readonly settings: ResolvedRepositorySpec;
    readonly arn: string;
    /** Absent when no grant names the repository: nobody outside the account may pull. */
    readonly repositoryPolicy?: string;
    readonly lifecyclePolicy: string;
    readonly grants: readonly string[];
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

export interface RegistryPlan {
    readonly providers: readonly OidcProviderPlan[];
    readonly roles: readonly PullRolePlan[];
    readonly repositories: readonly RepositoryPlan[];
    readonly sizes: readonly PolicySize[];
}

const byKey = <T>(key: (item: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

export function planRegistry(spec: RegistrySpec, context: RegistryContext): RegistryPlan {
    const { partition, registryAccountId, region } = context;
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

    const roles: PullRolePlan[] = spec.grants
        .map((grant) => {
            const path = pathOf(grant);
            const clusters = grant.clusters.map((name) => clustersByName.get(name)!);
            const issuerUrls = path === "federation" ? [...new Set(clusters.map((c) => c.issuerUrl))].sort() : [];
            return {
                grant: grant.name,
                path,
                roleName: pullRoleName(grant.name),
                roleArn: pullRoleArn({ partition, registryAccountId, grant: grant.name }),
                trustPolicy: serializePolicy(pullRoleTrust(grant, path, clusters, issuerUrls, providerArnOf, partition)),
                rolePolicy: serializePolicy(pullRolePolicy(grant.repositories.map(repositoryArnOf))),
                issuerUrls,
            };
        })
        .sort(byKey((r) => r.grant));
    const roleArnOf = new Map(roles.map((r) => [r.grant, r.roleArn]));

    const repositories: RepositoryPlan[] = spec.repositories
        .map((repository) => {
            const grants = spec.grants.filter((g) => g.repositories.includes(repository.name));
            const nodeRoleArns = grants.flatMap((g) => g.clusters.flatMap((c) => clustersByName.get(c)!.nodeRoleArns));
            const policy = repositoryPullPolicy({
                partition,
                grantRoleArns: grants.map((g) => roleArnOf.get(g.name)!),
                nodeRoleArns,
            });
            const settings = withRepositoryDefaults(repository);
            return {
                settings,
                arn: repositoryArnOf(repository.name),
                repositoryPolicy: policy ? serializePolicy(policy) : undefined,
                lifecyclePolicy: lifecyclePolicy(settings),
                grants: grants.map((g) => g.name).sort(),
            };
        })
        .sort(byKey((r) => r.settings.name));

    const sizes: PolicySize[] = [
        ...roles.flatMap((r) => [
            { kind: "trust policy" as const, path: r.path, owner: r.roleName, size: policySize(r.trustPolicy), limit: POLICY_LIMITS.trustPolicy },
            { kind: "role policy" as const, owner: r.roleName, size: policySize(r.rolePolicy), limit: POLICY_LIMITS.inlineRolePolicies },
        ]),
        ...repositories.flatMap((r) => [
            ...(r.repositoryPolicy
                ? [{ kind: "repository policy" as const, owner: r.settings.name, size: policySize(r.repositoryPolicy), limit: POLICY_LIMITS.repositoryPolicy }]
                : []),
            { kind: "lifecycle policy" as const, owner: r.settings.name, size: policySize(r.lifecyclePolicy), limit: POLICY_LIMITS.lifecyclePolicy },
        ]),
    ];
    return { providers, roles, repositories, sizes };
}

/** The pull role's trust for the grant's path (facts.md, paths 2 to 4). */
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

const RAISE_TRUST_QUOTA = "raise the IAM quota \"Role trust policy length\" (L-C07B4B0D) to 4,096";

/** Remedies for a trust policy over its quota, by the grant's path: each path grows differently. */
const TRUST_REMEDIES: Record<AccessPath, string> = {
    federation: `list fewer clusters or service accounts in the grant, split it into two grants, switch it to path "chaining" (one short statement for all clusters), or ${RAISE_TRUST_QUOTA}`,
    podIdentity: `list fewer clusters or namespaces in the grant (one statement each), split it into two grants, switch it to path "chaining" (one short statement for all clusters), or ${RAISE_TRUST_QUOTA}`,
    chaining: `split the grant's clusters into two grants, or ${RAISE_TRUST_QUOTA}`,
};

/** Remedies, by kind, for a document over its quota. */
const REMEDIES: Record<PolicyKind, string> = {
    "trust policy": TRUST_REMEDIES.federation,
    "role policy": "split the grant's repositories into two grants",
    "repository policy": "name the repository in fewer grants, or give clusters fewer node roles",
    "lifecycle policy": "shorten the lifecycle rules",
};

/** Messages for every document over its limit, each with the number, the limit and a remedy. */
export function oversizedPolicies(plan: RegistryPlan): string[] {
    return plan.sizes
        .filter((s) => s.size > s.limit)
        .map((s) => `the ${s.kind} of ${s.owner} is ${s.size} characters; AWS allows ${s.limit}: ${s.path ? TRUST_REMEDIES[s.path] : REMEDIES[s.kind]}.`);
}
