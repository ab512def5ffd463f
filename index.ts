/**
 * The package's public API (package.json `main`, and the entry point the
 * Pulumi plugin serves to other languages, PulumiPlugin.yaml):
 *
 * - the components, each with its args;
 * - the pod settings of a workload and the helpers that add them to a pod
 *   spec;
 * - four namespaces for computing without creating anything: `policies`
 *   (the IAM and ECR documents), `names` (role names and ARNs both stacks
 *   derive), `plans` (what each account needs, with its checks) and
 *   `contract` (the outputs the EKS stack exports and the ECR stack reads).
 *
 * The stack programs are `ecrpull/stacks`; the `ecrpull` command (plan,
 * audit, doctor) is the package's `bin`. This file only re-exports.
 */

// The registry account's side.
export { RegistryAccess, RegistryAccessArgs } from "./components/registry/registry-access";
export { PullRole, PullRoleArgs } from "./components/registry/pull-role";
export { PullRepository, PullRepositoryArgs } from "./components/registry/pull-repository";
export { ClusterSpec, ClusterRoleSpec, GrantSpec, RepositorySpec, ServiceAccountRef } from "./components/registry/spec";
export { AdoptSpec } from "./components/registry/adopt";
export { OrganizationScope } from "./components/iam/org-scope";

// The cluster account's side.
export { ClusterPullAccess, ClusterPullAccessArgs, POD_IDENTITY_AGENT_ADDON, OWNER_TAG } from "./components/cluster/cluster-pull-access";
export { ManagedCluster, ManagedClusterArgs } from "./components/cluster/managed-cluster";
export { ExistingCluster, ExistingClusterArgs } from "./components/cluster/existing-cluster";
export { ClusterSource } from "./components/cluster/source";
export { WorkloadSpec } from "./components/cluster/spec";
export { ClusterLimits } from "./components/cluster/plan";

// What a pod of a workload needs, and the helpers that add it to a pod spec.
export {
    withPullAccess,
    withPullAccessInTemplate,
    applyPodSettings,
    PodSpecConflictError,
    WorkloadPodSettings,
    PodSpecLike,
    ContainerLike,
    ApplyOptions,
    EnvVar,
    Volume,
    VolumeMount,
    KeyToPath,
    ConfigMapVolumeSource,
    ProjectedVolumeSource,
    VolumeProjection,
    ServiceAccountTokenProjection,
} from "./components/cluster/pod-settings";

// Quotas; the collector the pure checks report into, and the one error every check throws.
export { QuotaLimits } from "./components/iam/quotas";
export { Problems, ValidationError } from "./components/validation";

// Computing without creating anything.
export * as policies from "./components/iam/policies";
export * as names from "./components/iam/names";
export * as plans from "./components/plans";
export * as contract from "./components/contract/stack-outputs";
