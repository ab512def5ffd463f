/**
 * What a cluster account needs for its workloads, computed from plain values
 * without creating anything: each ServiceAccount with its annotation, the
 * cluster-account role of each chained or Pod Identity grant with its
 * documents, the AWS config a chained workload mounts, and the Pod Identity
 * associations. The `ClusterPullAccess` component turns it into resources.
 */
import { WorkloadExport } from "./contract";
import { WorkloadSpec } from "./cluster-spec";
import {
    AccessPath,
    clusterArn,
    clusterRoleName,
    DEFAULT_ACCESS_PATH,
    oidcProviderArn,
    partitionOfRegion,
    pullRoleArnForCluster,
    serviceAccountSubject,
} from "./names";
import { assumePullRolePolicy, podIdentityServiceTrustPolicy, serializePolicy, webIdentityTrustPolicy } from "./policies";

/** The annotation EKS's IRSA webhook reads to inject web-identity credentials. */
export const ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn";
/** Where EKS's IRSA webhook mounts the projected service-account token. */
export const IRSA_TOKEN_FILE = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";
/** The profile a chained workload selects with `AWS_PROFILE`. */
export const CHAINED_PROFILE = "ecr-pull";
/** The key of the chained AWS config in its ConfigMap; mount it and point `AWS_CONFIG_FILE` at it. */
export const AWS_CONFIG_KEY = "config";

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
    /** Empty for Pod Identity, which needs no annotation. */
    readonly annotations: Readonly<Record<string, string>>;
}

export interface ClusterRolePlan {
    readonly grant: string;
    readonly path: "chaining" | "podIdentity";
    readonly roleName: string;
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
}

const byKey =
    <T>(key: (item: T) => string) =>
    (a: T, b: T) =>
        key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

/** Plans a validated workload list (see `validateWorkloads`). */
export function planClusterAccess(workloads: readonly WorkloadSpec[], identity: ClusterIdentity): ClusterPlan {
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
            role = {
                grant: w.grant,
                path,
                roleName,
                roleArn: `arn:${partition}:iam::${identity.clusterAccountId}:role/${roleName}`,
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
        const annotation = path === "federation" ? arnOfPullRole(w.grant) : path === "chaining" ? roleOf(w)!.roleArn : undefined;
        const annotations: Record<string, string> = annotation ? { [ROLE_ARN_ANNOTATION]: annotation } : {};
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
                content: chainedAwsConfig(w.grant, role.roleArn, role.pullRoleArn),
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
    };
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
 * An AWS shared config file for a chained workload: the source profile takes
 * the IRSA role with the projected token, the target profile assumes the
 * registry's pull role from it. SDKs and the AWS CLI follow it when
 * `AWS_CONFIG_FILE` points at it and `AWS_PROFILE` is `ecr-pull`.
 */
export function chainedAwsConfig(grant: string, clusterRoleArn: string, targetRoleArn: string): string {
    return [
        `# Grant "${grant}": chain the cluster-account IRSA role into the registry's pull role.`,
        `# Use with AWS_CONFIG_FILE=<mount>/${AWS_CONFIG_KEY} and AWS_PROFILE=${CHAINED_PROFILE}.`,
        `[profile ${CHAINED_PROFILE}-source]`,
        `role_arn = ${clusterRoleArn}`,
        `web_identity_token_file = ${IRSA_TOKEN_FILE}`,
        "",
        `[profile ${CHAINED_PROFILE}]`,
        `role_arn = ${targetRoleArn}`,
        `source_profile = ${CHAINED_PROFILE}-source`,
        "",
    ].join("\n");
}
