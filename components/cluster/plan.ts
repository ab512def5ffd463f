/**
 * What a cluster account needs for its workloads, computed from plain values
 * without creating anything: each ServiceAccount with its annotation, the
 * cluster-account role of each chained or Pod Identity grant with its
 * documents, the AWS config a chained workload mounts, and the Pod Identity
 * associations. The `ClusterPullAccess` component turns it into resources.
 */
import { WorkloadExport } from "../contract/stack-outputs";
import { WorkloadSpec } from "./spec";
import {
    AccessPath,
    clusterArn,
    clusterRoleName,
    DEFAULT_ACCESS_PATH,
    oidcProviderArn,
    partitionOfRegion,
    pullRoleArnForCluster,
    serviceAccountSubject,
} from "../iam/names";
import { chainedAwsConfig, podSettingsFor, WorkloadPodSettings } from "./pod-settings";
import { assumePullRolePolicy, podIdentityServiceTrustPolicy, policySize, serializePolicy, webIdentityTrustPolicy } from "../iam/policies";
import { nodePullTagKey, NODE_PULL_TAG_VALUE, orgRolePath } from "../iam/org-scope";

/** The annotation EKS's IRSA webhook reads to inject web-identity credentials: federated service accounts only. */
export const ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn";

export interface ClusterIdentity {
    readonly registryAccountId: string;
    readonly clusterAccountId: string;
    readonly region: string;
    readonly clusterName: string;
}

export interface ServiceAccountPlan {
    readonly namespace: string;
    readonly name: string;
    readonly grant: string;
    readonly path: AccessPath;
    /** The IRSA role annotation for `federation`; empty for `chaining` (see pod-settings.ts) and Pod Identity. */
    readonly annotations: Readonly<Record<string, string>>;
}

export interface ClusterRolePlan {
    readonly grant: string;
    readonly path: "chaining" | "podIdentity";
    readonly roleName: string;
    /** `/` or, for an organization-scoped grant, `/ecrpull/<grant>/`: the path the registry's trust recognises. */
    readonly rolePath: string;
    readonly roleArn: string;
    readonly pullRoleArn: string;
    readonly serviceAccounts: readonly { readonly namespace: string; readonly name: string }[];
    /** The role's only permission: assume the pull role. */
    readonly rolePolicy: string;
}

export interface AwsConfigPlan {
    readonly namespace: string;
    readonly grant: string;
    /** ConfigMap name. */
    readonly name: string;
    /** An AWS shared config file chaining the IRSA role into the pull role. */
    readonly content: string;
}

export interface ClusterPlan {
    readonly partition: string;
    readonly clusterArn: string;
    readonly serviceAccounts: readonly ServiceAccountPlan[];
    readonly clusterRoles: readonly ClusterRolePlan[];
    readonly awsConfigs: readonly AwsConfigPlan[];
    /** The `workloads` stack output. */
    readonly workloads: readonly WorkloadExport[];
    /** What a pod of each workload needs, by `<namespace>/<serviceAccount>`: the `podSpecs` stack output. */
    readonly podSettings: Readonly<Record<string, WorkloadPodSettings>>;
}

const byKey =
    <T>(key: (item: T) => string) =>
    (a: T, b: T) =>
        key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

/**
 * Plans a validated workload list (see `validateWorkloads`).
 * `orgScopedGrants` names the grants defined with a scope: their roles here
 * go at IAM path `/ecrpull/<grant>/`, which the registry's trust recognises.
 */
export function planClusterAccess(workloads: readonly WorkloadSpec[], identity: ClusterIdentity, orgScopedGrants: readonly string[] = []): ClusterPlan {
    const partition = partitionOfRegion(identity.region);
    const thisClusterArn = clusterArn(partition, identity.region, identity.clusterAccountId, identity.clusterName);
    const shardsOf = new Map(workloads.map((w) => [w.grant, w.shards ?? 1]));
    const arnOfPullRole = (grant: string) =>
        pullRoleArnForCluster({
            partition,
            registryAccountId: identity.registryAccountId,
            grant,
            shards: shardsOf.get(grant) ?? 1,
            clusterArn: thisClusterArn,
        });
    const sorted = [...workloads].sort(byKey((w) => `${w.namespace}/${w.serviceAccount}`));
    const pathOf = (w: WorkloadSpec) => (w.path ?? DEFAULT_ACCESS_PATH) as AccessPath;

    const clusterRoles: ClusterRolePlan[] = [];
    for (const w of sorted) {
        const path = pathOf(w);
        if (path === "federation") {
            continue;
        }
        let role = clusterRoles.find((r) => r.grant === w.grant && r.path === path);
        if (!role) {
            const roleName = clusterRoleName(path, w.grant, identity.region, identity.clusterName);
            const rolePath = orgScopedGrants.includes(w.grant) ? orgRolePath(w.grant) : "/";
            role = {
                grant: w.grant,
                path,
                roleName,
                rolePath,
                roleArn: `arn:${partition}:iam::${identity.clusterAccountId}:role${rolePath}${roleName}`,
                pullRoleArn: arnOfPullRole(w.grant),
                serviceAccounts: [],
                rolePolicy: serializePolicy(assumePullRolePolicy(arnOfPullRole(w.grant), path === "podIdentity")),
            };
            clusterRoles.push(role);
        }
        (role.serviceAccounts as { namespace: string; name: string }[]).push({ namespace: w.namespace, name: w.serviceAccount });
    }
    clusterRoles.sort(byKey((r) => `${r.grant}/${r.path}`));
    const roleOf = (w: WorkloadSpec) => clusterRoles.find((r) => r.grant === w.grant && r.path === pathOf(w));

    const serviceAccounts: ServiceAccountPlan[] = sorted.map((w) => {
        const path = pathOf(w);
        // Only federation is annotated: the webhook's variables would make the Go and Java SDKs skip a chained profile.
        const annotations: Record<string, string> = path === "federation" ? { [ROLE_ARN_ANNOTATION]: arnOfPullRole(w.grant) } : {};
        return { namespace: w.namespace, name: w.serviceAccount, grant: w.grant, path, annotations };
    });

    const awsConfigs: AwsConfigPlan[] = [];
    for (const w of sorted.filter((x) => pathOf(x) === "chaining")) {
        if (!awsConfigs.some((c) => c.namespace === w.namespace && c.grant === w.grant)) {
            const role = roleOf(w)!;
            awsConfigs.push({
                namespace: w.namespace,
                grant: w.grant,
                name: `ecr-pull-${w.grant}`,
                content: chainedAwsConfig(w.grant, identity.region, role.roleArn, role.pullRoleArn),
            });
        }
    }

    return {
        partition,
        clusterArn: thisClusterArn,
        serviceAccounts,
        clusterRoles,
        awsConfigs,
        workloads: sorted.map((w) => ({
            namespace: w.namespace,
            serviceAccount: w.serviceAccount,
            grant: w.grant,
            path: pathOf(w),
            roleArn: arnOfPullRole(w.grant),
            clusterRoleArn: roleOf(w)?.roleArn ?? "",
        })),
        podSettings: Object.fromEntries(
            sorted.map((w) => [
                `${w.namespace}/${w.serviceAccount}`,
                podSettingsFor(
                    { namespace: w.namespace, serviceAccount: w.serviceAccount, grant: w.grant, path: pathOf(w) },
                    awsConfigs.find((c) => c.namespace === w.namespace && c.grant === w.grant)?.name,
                ),
            ]),
        ),
    };
}

/**
 * The tags a cluster's node roles carry so that the repositories of these
 * organization-scoped grants admit their kubelets' pulls (see org-scope.ts).
 */
export function nodePullTags(grants: readonly string[]): Record<string, string> {
    return Object.fromEntries([...new Set(grants)].sort().map((grant) => [nodePullTagKey(grant), NODE_PULL_TAG_VALUE]));
}

/**
 * The trust of a cluster-account role, once the issuer is known:
 * - chaining: the cluster's own OIDC provider (in the cluster account), `sub`
 *   and `aud` pinned to the grant's service accounts of this cluster;
 * - Pod Identity: the EKS Pod Identity service of this account, for sessions
 *   tagged with this cluster and those service accounts.
 */
export function clusterRoleTrustPolicy(role: ClusterRolePlan, plan: ClusterPlan, identity: ClusterIdentity, issuerUrl: string): string {
    if (role.path === "chaining") {
        return serializePolicy(
            webIdentityTrustPolicy([
                {
                    providerArn: oidcProviderArn(plan.partition, identity.clusterAccountId, issuerUrl),
                    issuerUrl,
                    subjects: role.serviceAccounts.map((sa) => serviceAccountSubject(sa.namespace, sa.name)),
                },
            ]),
        );
    }
    return serializePolicy(podIdentityServiceTrustPolicy(identity.clusterAccountId, { clusterArn: plan.clusterArn, serviceAccounts: role.serviceAccounts }));
}

/**
 * An issuer URL as long as every EKS issuer of the region
 * (`https://oidc.eks.<region>.amazonaws.com/id/` and 32 hex digits), to
 * measure trust policies before a new cluster exists: EKS issuers differ only
 * in their ID, which is always that long.
 */
export function eksIssuerStandIn(region: string): string {
    return `https://oidc.eks.${region}.amazonaws.com/id/${"0".repeat(32)}`;
}

/** The quotas a cluster account's documents are measured against (see `QuotaLimits`). */
export interface ClusterLimits {
    /** IAM role trust policy length: 2,048 by default, at most 4,096 (quota L-C07B4B0D). */
    readonly trustPolicy: number;
    /** A role's inline policies together: 10,240. */
    readonly rolePolicy: number;
}

export interface ClusterDocumentSize {
    readonly kind: "trust policy" | "role policy";
    /** The cluster-account role. */
    readonly owner: string;
    readonly grant: string;
    readonly path: "chaining" | "podIdentity";
    readonly size: number;
    readonly limit: number;
    readonly serviceAccounts: number;
}

/**
 * Every document the cluster account gets, measured against its limit: the
 * trust and the policy of each chained or Pod Identity role. A chained role's
 * trust grows by about 50 characters per service account, so a grant with
 * many of them can outgrow IAM's quota on this side alone.
 */
export function clusterDocumentSizes(plan: ClusterPlan, identity: ClusterIdentity, issuerUrl: string, limits: ClusterLimits): ClusterDocumentSize[] {
    return plan.clusterRoles.flatMap((role) => {
        const common = { owner: role.roleName, grant: role.grant, path: role.path, serviceAccounts: role.serviceAccounts.length };
        return [
            { ...common, kind: "trust policy" as const, size: policySize(clusterRoleTrustPolicy(role, plan, identity, issuerUrl)), limit: limits.trustPolicy },
            { ...common, kind: "role policy" as const, size: policySize(role.rolePolicy), limit: limits.rolePolicy },
        ];
    });
}

/** A message for each cluster-account document over its limit, with the numbers and what would make it fit. */
export function oversizedClusterDocuments(sizes: readonly ClusterDocumentSize[]): string[] {
    return sizes
        .filter((s) => s.size > s.limit)
        .map((s) => {
            const remedy =
                s.kind === "trust policy"
                    ? `move some of its ${s.serviceAccounts} service accounts to another grant (each adds about ${s.path === "chaining" ? 50 : 60} characters), or raise the IAM quota "Role trust policy length" (L-C07B4B0D) to at most 4,096 and set ecrpull:limits.trustPolicy to match`
                    : "this policy has one statement; report it as a bug";
            return `the ${s.kind} of the cluster-account role ${s.owner} (grant "${s.grant}", path ${s.path}) is ${s.size} characters; IAM allows ${s.limit}: ${remedy}.`;
        });
}
