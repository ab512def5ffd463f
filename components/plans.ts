/**
 * The `plans` namespace of the public API: what each side needs, computed
 * from plain values without creating anything, and the checks the
 * components and stacks run on those values. This file only re-exports.
 */
export {
    planRegistry,
    oversizedPolicies,
    organizationAdmissions,
    RegistryContext,
    RegistryPlan,
    PullRolePlan,
    RepositoryPlan,
    ReplicaPlan,
    NodePullWidening,
    OidcProviderPlan,
    PolicySize,
    PolicyKind,
    QuotaCount,
} from "./registry/plan";
export { resolveAdopted, adoptionTargetsOfPlan, adoptionTargetsOfSpec, AdoptSpec, Adopted, AdoptionTargets } from "./registry/adopt";
export { checkAdoptedResources, AdoptionCheck } from "./registry/preflight";
export { trustChange, TrustChange } from "./iam/trust-change";
export {
    validateRegistrySpec,
    withRepositoryDefaults,
    clusterRegion,
    REPOSITORY_DEFAULTS,
    REPLICATION_LIMITS,
    RegistrySpec,
    ResolvedRepositorySpec,
} from "./registry/spec";
export {
    planClusterAccess,
    nodePullTags,
    clusterRoleTrustPolicy,
    clusterDocumentSizes,
    oversizedClusterDocuments,
    eksIssuerStandIn,
    ClusterIdentity,
    ClusterPlan,
    ClusterRolePlan,
    ServiceAccountPlan,
    AwsConfigPlan,
    ClusterDocumentSize,
} from "./cluster/plan";
export { validateWorkloads } from "./cluster/spec";
export { checkManagedClusterSettings, NODE_GROUP_DEFAULTS, ManagedClusterSettings } from "./cluster/settings";
export { podSettingsFor, chainedAwsConfig } from "./cluster/pod-settings";
export { DEFAULT_LIMITS, MAXIMUM_LIMITS, checkLimits } from "./iam/quotas";
export { checkOrganizationScope, describeScope, orgRolePath, nodePullTagKey, ORG_ROLE_PATH_PREFIX, NODE_PULL_TAG_PREFIX } from "./iam/org-scope";
export { orgScopeServiceControlPolicy, serviceControlPolicyFileText, SCP_MAX_SIZE } from "./iam/org-scp";
