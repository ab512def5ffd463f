/**
 * Fleets for the independent-evaluator tests (tests/evaluator.test.ts):
 *
 * - a plain model of a fleet (clusters, their workloads, grants, repositories),
 *   read from the stacks' config or generated at random;
 * - the ORACLE: who may do what, computed from that model alone, never from
 *   the documents the package writes;
 * - the documents the package writes for the fleet, collected from the two
 *   programs run on the mock engine, or from the pure planners;
 * - the matrix: every request of a principal universe against every role and
 *   repository, answered by @cloud-copilot/iam-simulate (./simulate.ts) and
 *   compared with the oracle.
 *
 * The oracle uses the package's naming functions (names.ts): role names,
 * ARNs and the shard a cluster lands on are the contract both stacks share,
 * not an access decision.
 */
import {
    AccessPath,
    clusterArn as clusterArnOf,
    clusterRoleName,
    issuerHostPath,
    oidcProviderArn,
    pullRoleName,
    repositoryArn,
    shardOf,
    STS_AUDIENCE,
} from "../../components/iam/names";
import { clusterRoleTrustPolicy, planClusterAccess } from "../../components/cluster/plan";
import { planRegistry } from "../../components/registry/plan";
import { ClusterSpec, RegistrySpec, validateRegistrySpec } from "../../components/registry/spec";
import { validateWorkloads } from "../../components/cluster/spec";
import { checkWorkloadsAgainstGrants, ReferencedCluster } from "../../components/contract/stack-outputs";
import { argKey, Problems } from "../../components/validation";
import { fakeIssuerId, RecordedResource } from "../../tools/engine/mock-engine";
import { EcrStackRun, EksStackRun, TwoStackRun } from "../../tools/engine/two-stacks";
import fc from "fast-check";
import { IamSimulator, NamedPolicy, providerAdmits } from "./simulate";

// ---- The model ---------------------------------------------------------------

export interface SaRef {
    readonly namespace: string;
    readonly name: string;
}

export interface WorkloadModel {
    readonly namespace: string;
    readonly serviceAccount: string;
    readonly grant: string;
    readonly path: AccessPath;
}

export interface ClusterModel {
    /** The EKS stack's name: how grants refer to the cluster. */
    readonly stack: string;
    readonly account: string;
    readonly region: string;
    readonly name: string;
    readonly issuerUrl: string;
    readonly nodeRoleArns: readonly string[];
    /** Created by the package (its node role and trust are generated) or adopted. */
    readonly created: boolean;
    readonly workloads: readonly WorkloadModel[];
}

export interface GrantModel {
    readonly name: string;
    readonly path: AccessPath;
    readonly shards: number;
    readonly clusters: string[];
    readonly serviceAccounts: SaRef[];
    readonly repositories: string[];
    readonly allowPatterns?: boolean;
}

export interface FleetModel {
    readonly registryAccount: string;
    readonly region: string;
    readonly clusters: readonly ClusterModel[];
    readonly grants: readonly GrantModel[];
    readonly repositories: readonly string[];
}

const PARTITION = "aws";
export const FOREIGN_ACCOUNT = "999988887777";
export const FOREIGN_ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF";
export const PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];
/** What pulling an image calls: its manifest and its layers. */
export const PULL_CALLS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];
/** What AWS's AmazonEC2ContainerRegistryPullOnly (v1) grants on ECR repositories: not BatchCheckLayerAvailability. */
const PULL_ONLY_REPOSITORY_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchImportUpstreamImage"];
export const WRITE_ACTIONS = ["ecr:PutImage", "ecr:BatchDeleteImage", "ecr:SetRepositoryPolicy", "ecr:DeleteRepository", "ecr:InitiateLayerUpload"];
export const TOKEN_ACTION = "ecr:GetAuthorizationToken";
const STS_ACTIONS = ["sts:AssumeRole", "sts:TagSession"] as const;
const AUDIENCES = [STS_AUDIENCE, "https://kubernetes.default.svc"];
const POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com";
const EC2_SERVICE = "ec2.amazonaws.com";

/** Reads a fleet from the stacks' config; only what AWS or EKS makes up (a new cluster's issuer and node role) comes from the run. */
export function modelFromStacks(eksStacks: readonly EksStackRun[], ecr: EcrStackRun, run: TwoStackRun): FleetModel {
    const clusters = eksStacks.map((stack, i): ClusterModel => {
        const cluster = stack.config["ecrpull:cluster"] as { name: string; create: boolean; nodeRoleArns?: string[] };
        const workloads = (stack.config["ecrpull:workloads"] as { namespace: string; serviceAccount: string; grant: string; path?: AccessPath }[]) ?? [];
        const outputs = run.eks[i].outputs as unknown as { oidcIssuerUrl: string; nodeRoleArns: string[] };
        return {
            stack: stack.name,
            account: stack.accountId,
            region: stack.region,
            name: cluster.name,
            issuerUrl: cluster.create ? outputs.oidcIssuerUrl : stack.existingClusters![cluster.name].issuerUrl,
            nodeRoleArns: cluster.create ? outputs.nodeRoleArns : (cluster.nodeRoleArns ?? []),
            created: cluster.create,
            workloads: workloads.map((w) => ({ namespace: w.namespace, serviceAccount: w.serviceAccount, grant: w.grant, path: w.path ?? "federation" })),
        };
    });
    const grants = (ecr.config["ecrpull:grants"] as (Omit<GrantModel, "path" | "shards"> & { path?: AccessPath; shards?: number })[]).map((g): GrantModel => ({
        ...g,
        path: g.path ?? "federation",
        shards: g.shards ?? 1,
    }));
    const repositories = (ecr.config["ecrpull:repositories"] as { name: string }[]).map((r) => r.name);
    return { registryAccount: ecr.accountId, region: ecr.region, clusters, grants, repositories };
}

// ---- The oracle: who may do what, from the model alone -------------------------

type RoleKind =
    | { readonly kind: "pull"; readonly grant: GrantModel; readonly shard: number }
    | { readonly kind: "chain" | "podid"; readonly grant: GrantModel; readonly cluster: ClusterModel; readonly serviceAccounts: readonly SaRef[] }
    | { readonly kind: "node"; readonly cluster: ClusterModel }
    /** A cluster-account administrator with sts:* and ecr:* on *: not granted anything by the config. */
    | { readonly kind: "admin"; readonly account: string }
    /** A role of another account with the same name and policies as a granted one. */
    | { readonly kind: "impostor"; readonly of: string };

export interface CatalogRole {
    readonly arn: string;
    readonly account: string;
    readonly role: RoleKind;
    /** The cluster the role belongs to, for chain, podid and node roles. */
    readonly cluster?: ClusterModel;
}

const glob = (pattern: string, value: string) =>
    new RegExp(
        `^${pattern
            .replace(/[.+^${}()|[\]\\]/g, "\\$&")
            .replace(/\*/g, ".*")
            .replace(/\?/g, ".")}$`,
    ).test(value);

export class Oracle {
    readonly roles = new Map<string, CatalogRole>();
    private readonly clusters: Map<string, ClusterModel>;

    constructor(readonly model: FleetModel) {
        this.clusters = new Map(model.clusters.map((c) => [c.stack, c]));
        for (const grant of model.grants) {
            for (const shard of new Set(grant.clusters.map((c) => this.shard(grant, this.cluster(c))))) {
                this.add({ arn: this.pullRoleArn(grant.name, shard), account: model.registryAccount, role: { kind: "pull", grant, shard } });
            }
        }
        for (const cluster of model.clusters) {
            for (const grant of model.grants) {
                for (const path of ["chaining", "podIdentity"] as const) {
                    const workloads = cluster.workloads.filter((w) => w.grant === grant.name && w.path === path);
                    if (workloads.length > 0) {
                        this.add({
                            arn: `arn:${PARTITION}:iam::${cluster.account}:role/${clusterRoleName(path, grant.name, cluster.region, cluster.name)}`,
                            account: cluster.account,
                            cluster,
                            role: {
                                kind: path === "chaining" ? "chain" : "podid",
                                grant,
                                cluster,
                                serviceAccounts: workloads.map((w) => ({ namespace: w.namespace, name: w.serviceAccount })),
                            },
                        });
                    }
                }
            }
            for (const arn of cluster.nodeRoleArns) {
                this.add({ arn, account: cluster.account, cluster, role: { kind: "node", cluster } });
            }
        }
    }

    private add(role: CatalogRole) {
        if (this.roles.has(role.arn)) {
            throw new Error(`oracle: two roles share the ARN ${role.arn}`);
        }
        this.roles.set(role.arn, role);
    }

    cluster(stack: string): ClusterModel {
        const cluster = this.clusters.get(stack);
        if (!cluster) {
            throw new Error(`oracle: unknown cluster ${stack}`);
        }
        return cluster;
    }

    clusterArn(cluster: ClusterModel): string {
        return clusterArnOf(PARTITION, cluster.region, cluster.account, cluster.name);
    }

    /** Which of the grant's roles serves the cluster: jump hash of its ARN (README, "Splitting a grant across roles"). */
    shard(grant: GrantModel, cluster: ClusterModel): number {
        return grant.shards === 1 ? 0 : shardOf(this.clusterArn(cluster), grant.shards);
    }

    pullRoleArn(grant: string, shard: number): string {
        return `arn:${PARTITION}:iam::${this.model.registryAccount}:role/${pullRoleName(grant, shard)}`;
    }

    repositoryArn(name: string): string {
        return repositoryArn(PARTITION, this.model.region, this.model.registryAccount, name);
    }

    /** A grant admits a service account by its exact name, or by StringLike patterns where it allows them. */
    static admits(grant: GrantModel, namespace: string, name: string): boolean {
        return grant.serviceAccounts.some((sa) => glob(sa.namespace, namespace) && glob(sa.name, name));
    }

    /** Roles the documents must contain a trust policy for: pull roles, cluster-account roles, node roles the package creates. */
    rolesWithTrust(): CatalogRole[] {
        return [...this.roles.values()].filter((r) => r.role.kind !== "node" || r.role.cluster.created);
    }

    /** (a) May this token, presented to the provider in the role's account, assume the role? */
    webIdentity(target: CatalogRole, issuerUrl: string, providerArn: string, sa: SaRef, audience: string): boolean {
        if (audience !== STS_AUDIENCE) {
            return false;
        }
        const role = target.role;
        if (role.kind === "pull" && role.grant.path === "federation") {
            return (
                providerArn === oidcProviderArn(PARTITION, this.model.registryAccount, issuerUrl) &&
                role.grant.clusters.some((c) => this.cluster(c).issuerUrl === issuerUrl && this.shard(role.grant, this.cluster(c)) === role.shard) &&
                Oracle.admits(role.grant, sa.namespace, sa.name)
            );
        }
        if (role.kind === "chain") {
            return (
                issuerUrl === role.cluster.issuerUrl &&
                providerArn === oidcProviderArn(PARTITION, role.cluster.account, issuerUrl) &&
                role.serviceAccounts.some((w) => w.namespace === sa.namespace && w.name === sa.name)
            );
        }
        return false;
    }

    /** (b) May a session of `principal` (with these session tags) call `action` on the target role? */
    roleSession(principal: CatalogRole, action: string, target: CatalogRole, tags: PodTags | undefined): boolean {
        const role = target.role;
        const who = principal.role;
        if (role.kind !== "pull") {
            return false;
        }
        if (role.grant.path === "chaining") {
            return (
                action === "sts:AssumeRole" && who.kind === "chain" && who.grant.name === role.grant.name && this.shard(role.grant, who.cluster) === role.shard
            );
        }
        if (role.grant.path === "podIdentity") {
            return (
                who.kind === "podid" &&
                who.grant.name === role.grant.name &&
                this.shard(role.grant, who.cluster) === role.shard &&
                tags !== undefined &&
                tags.clusterArn === this.clusterArn(who.cluster) &&
                Oracle.admits(role.grant, tags.namespace, tags.serviceAccount)
            );
        }
        return false;
    }

    /** (b) May an AWS service, acting for `sourceAccount`, call `action` on the target role? */
    service(service: string, sourceAccount: string, action: string, target: CatalogRole, tags: PodTags | undefined): boolean {
        const role = target.role;
        if (role.kind === "podid") {
            return (
                service === POD_IDENTITY_SERVICE &&
                sourceAccount === role.cluster.account &&
                tags !== undefined &&
                tags.clusterArn === this.clusterArn(role.cluster) &&
                role.serviceAccounts.some((w) => w.namespace === tags.namespace && w.name === tags.serviceAccount)
            );
        }
        if (role.kind === "node") {
            return service === EC2_SERVICE && action === "sts:AssumeRole";
        }
        return false;
    }

    /**
     * (c) May a session of `principal` call `action` on the repository? With
     * `identity` "guard" the principal's own policies allow everything, so
     * only the registry's documents decide.
     */
    ecr(principal: CatalogRole, action: string, repository: string, identity: "actual" | "guard" = "actual"): boolean {
        if (!PULL_ACTIONS.includes(action)) {
            return false;
        }
        const who = principal.role;
        if (who.kind === "pull") {
            return who.grant.repositories.includes(repository);
        }
        if (who.kind === "node") {
            // A node role's own policy is AWS's PullOnly, which does not grant every action the grants carry.
            const ownPolicyAllows = identity === "guard" || PULL_ONLY_REPOSITORY_ACTIONS.includes(action);
            return ownPolicyAllows && this.model.grants.some((g) => g.clusters.includes(who.cluster.stack) && g.repositories.includes(repository));
        }
        return false;
    }

    /** ecr:GetAuthorizationToken (identity policy only): pull roles and node roles. */
    token(principal: CatalogRole): boolean {
        return principal.role.kind === "pull" || principal.role.kind === "node";
    }

    /** End to end: the repositories a pod with this service account in this cluster may pull, by any path. */
    pullable(cluster: ClusterModel, sa: SaRef): string[] {
        const repositories = new Set<string>();
        for (const grant of this.model.grants.filter((g) => g.clusters.includes(cluster.stack))) {
            const reaches =
                grant.path === "federation"
                    ? Oracle.admits(grant, sa.namespace, sa.name)
                    : cluster.workloads.some(
                          (w) => w.grant === grant.name && w.path === grant.path && w.namespace === sa.namespace && w.serviceAccount === sa.name,
                      );
            if (reaches) {
                grant.repositories.forEach((r) => repositories.add(r));
            }
        }
        return [...repositories].sort();
    }
}

// ---- The documents the package writes -------------------------------------------

export interface RoleDocuments {
    readonly arn: string;
    readonly trust: string;
    readonly inline: NamedPolicy[];
    /** Managed policy ARNs attached to the role. */
    readonly attached: string[];
}

export interface FleetDocuments {
    readonly roles: Map<string, RoleDocuments>;
    /** By repository name; `policy` absent when the repository has none. */
    readonly repositories: Map<string, { readonly arn: string; readonly policy?: string }>;
    /** IAM OIDC providers the registry stack creates. */
    readonly providers: { readonly arn: string; readonly url: string; readonly clientIds: readonly string[] }[];
}

const statement = (actions: string[], resource: string | string[] = "*") => ({ Effect: "Allow", Action: actions, Resource: resource });
const policyJson = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });

/**
 * AWS managed policies the package attaches, as the simulator sees them.
 * AmazonEC2ContainerRegistryPullOnly is AWS's (v1): ecr:GetAuthorizationToken,
 * BatchGetImage, GetDownloadUrlForLayer and BatchImportUpstreamImage on `*`; the two EKS node policies hold no ECR or
 * STS action (a subset of their EC2/EKS actions is kept so they are real documents).
 */
export const MANAGED_POLICIES: Readonly<Record<string, string>> = {
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly": policyJson(statement([TOKEN_ACTION, ...PULL_ONLY_REPOSITORY_ACTIONS])),
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy": policyJson(
        statement([
            "ec2:DescribeInstances",
            "ec2:DescribeRouteTables",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcs",
            "eks:DescribeCluster",
            "eks-auth:AssumeRoleForPodIdentity",
        ]),
    ),
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy": policyJson(
        statement([
            "ec2:AssignPrivateIpAddresses",
            "ec2:AttachNetworkInterface",
            "ec2:CreateNetworkInterface",
            "ec2:DeleteNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:UnassignPrivateIpAddresses",
        ]),
        statement(["ec2:CreateTags"], "arn:aws:ec2:*:*:network-interface/*"),
    ),
};
/** Node roles of adopted clusters are not the package's: modelled with the policy docs/aws-facts.md says they carry. */
const ADOPTED_NODE_POLICY: NamedPolicy = {
    name: "AmazonEC2ContainerRegistryPullOnly",
    json: MANAGED_POLICIES["arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly"],
};
/** What a cluster account's administrators may hold, and what the registry's documents must guard against. */
export const BROAD_POLICY: NamedPolicy = { name: "broad", json: policyJson(statement(["sts:*", "ecr:*"])) };

/** The resource types that carry IAM or ECR policy and are modelled here; any other one fails the collection. */
const KNOWN_TYPES = new Set([
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    "aws:ecr/repository:Repository",
    "aws:ecr/repositoryPolicy:RepositoryPolicy",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy",
]);

/** Every trust, role policy, attachment, repository policy and OIDC provider both programs registered. */
export function documentsFromRuns(run: TwoStackRun, eksStacks: readonly EksStackRun[], ecr: EcrStackRun): FleetDocuments {
    const documents: FleetDocuments = { roles: new Map(), repositories: new Map(), providers: [] };
    const programs: [readonly RecordedResource[], string][] = [
        ...run.eks.map((e, i) => [e.resources, eksStacks[i].accountId] as [readonly RecordedResource[], string]),
        [run.ecr.resources, ecr.accountId],
    ];
    for (const [resources, account] of programs) {
        const unknown = resources.filter((r) => /^aws:(iam|ecr|organizations)\//.test(r.type) && !KNOWN_TYPES.has(r.type));
        if (unknown.length > 0) {
            throw new Error(`documents: unmodelled policy-bearing resources ${unknown.map((r) => r.type).join(", ")}`);
        }
        const roleByName = new Map<string, RoleDocuments>();
        for (const r of resources.filter((x) => x.type === "aws:iam/role:Role")) {
            // The name the mock engine gives an unnamed role, as AWS would auto-name it.
            const name: string = r.inputs.name ?? `${r.name}-${fakeIssuerId(r.name).slice(0, 7).toLowerCase()}`;
            const role: RoleDocuments = { arn: `arn:${PARTITION}:iam::${account}:role/${name}`, trust: r.inputs.assumeRolePolicy, inline: [], attached: [] };
            roleByName.set(name, role);
            documents.roles.set(role.arn, role);
        }
        const roleOf = (r: RecordedResource) => {
            const role = roleByName.get(r.inputs.role);
            if (!role) {
                throw new Error(`documents: ${r.type} ${r.name} names an unknown role ${r.inputs.role}`);
            }
            return role;
        };
        for (const r of resources.filter((x) => x.type === "aws:iam/rolePolicy:RolePolicy")) {
            roleOf(r).inline.push({ name: `${r.inputs.role}/${r.inputs.name}`, json: r.inputs.policy });
        }
        for (const r of resources.filter((x) => x.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment")) {
            roleOf(r).attached.push(r.inputs.policyArn);
        }
        const region = account === ecr.accountId ? ecr.region : "";
        for (const r of resources.filter((x) => x.type === "aws:ecr/repository:Repository")) {
            documents.repositories.set(r.inputs.name, { arn: repositoryArn(PARTITION, region, account, r.inputs.name) });
        }
        for (const r of resources.filter((x) => x.type === "aws:ecr/repositoryPolicy:RepositoryPolicy")) {
            const repository = documents.repositories.get(r.inputs.repository);
            if (!repository) {
                throw new Error(`documents: a repository policy for unknown repository ${r.inputs.repository}`);
            }
            documents.repositories.set(r.inputs.repository, { ...repository, policy: r.inputs.policy });
        }
        for (const r of resources.filter((x) => x.type === "aws:iam/openIdConnectProvider:OpenIdConnectProvider")) {
            documents.providers.push({ arn: oidcProviderArn(PARTITION, account, r.inputs.url), url: r.inputs.url, clientIds: r.inputs.clientIdLists ?? [] });
        }
    }
    return documents;
}

/**
 * The same documents from the pure planners (planClusterAccess and
 * planRegistry), for fleets made up by the property test. The fleet is
 * first put through the stacks' own validation, so only valid fleets count.
 */
export function documentsFromPlans(model: FleetModel): FleetDocuments {
    const documents: FleetDocuments = { roles: new Map(), repositories: new Map(), providers: [] };
    const problems = new Problems(argKey);
    const referenced: ReferencedCluster[] = [];
    for (const cluster of model.clusters) {
        const shardsOf = (grant: string) => model.grants.find((g) => g.name === grant)?.shards ?? 1;
        const workloads = cluster.workloads.map((w) => ({ ...w, shards: shardsOf(w.grant) }));
        validateWorkloads(workloads, problems, `${cluster.stack}.workloads`);
        const identity = { registryAccountId: model.registryAccount, clusterAccountId: cluster.account, region: cluster.region, clusterName: cluster.name };
        const plan = planClusterAccess(workloads, identity);
        for (const role of plan.clusterRoles) {
            documents.roles.set(role.roleArn, {
                arn: role.roleArn,
                trust: clusterRoleTrustPolicy(role, plan, identity, cluster.issuerUrl),
                inline: [{ name: `${role.roleName}/assume-ecr-pull-role`, json: role.rolePolicy }],
                attached: [],
            });
        }
        const spec: ClusterSpec = {
            name: cluster.stack,
            accountId: cluster.account,
            issuerUrl: cluster.issuerUrl,
            nodeRoleArns: [...cluster.nodeRoleArns],
            clusterArn: plan.clusterArn,
            clusterRoles: plan.clusterRoles.map((r) => ({ grant: r.grant, path: r.path, roleArn: r.roleArn })),
        };
        referenced.push({ cluster: spec, region: cluster.region, clusterName: cluster.name, workloads: plan.workloads });
    }
    const spec: RegistrySpec = {
        clusters: referenced.map((r) => r.cluster),
        repositories: model.repositories.map((name) => ({ name })),
        grants: model.grants.map((g) => ({ ...g })),
    };
    validateRegistrySpec(spec, problems);
    const oracle = new Oracle(model);
    checkWorkloadsAgainstGrants(
        referenced,
        spec.grants,
        (grant, cluster) =>
            oracle.pullRoleArn(
                grant.name,
                oracle.shard(
                    model.grants.find((g) => g.name === grant.name)!,
                    oracle.cluster(cluster.name),
                ),
            ),
        problems,
    );
    if (problems.list.length > 0) {
        throw new Error(`documents: the generated fleet is not valid:\n${problems.list.join("\n")}`);
    }
    const plan = planRegistry(spec, { registryAccountId: model.registryAccount, region: model.region, partition: PARTITION });
    for (const role of plan.roles) {
        documents.roles.set(role.roleArn, {
            arn: role.roleArn,
            trust: role.trustPolicy,
            inline: [{ name: `${role.roleName}/ecr-pull`, json: role.rolePolicy }],
            attached: [],
        });
    }
    for (const repository of plan.repositories) {
        documents.repositories.set(repository.settings.name, { arn: repository.arn, policy: repository.repositoryPolicy });
    }
    // RegistryAccess creates each provider with the client ID sts.amazonaws.com.
    documents.providers.push(...plan.providers.map((p) => ({ arn: p.arn, url: p.issuerUrl, clientIds: [STS_AUDIENCE] })));
    return documents;
}

/** A copy of the documents, for mutation tests. */
export function cloneDocuments(documents: FleetDocuments): FleetDocuments {
    return {
        roles: new Map([...documents.roles].map(([arn, r]) => [arn, { ...r, inline: r.inline.map((p) => ({ ...p })), attached: [...r.attached] }])),
        repositories: new Map([...documents.repositories].map(([name, r]) => [name, { ...r }])),
        providers: documents.providers.map((p) => ({ ...p, clientIds: [...p.clientIds] })),
    };
}

/** Every document with the kind of policy it is, for @cloud-copilot/iam-policy's validators. */
export function allDocuments(documents: FleetDocuments): { kind: "trust" | "identity" | "resource"; owner: string; json: string }[] {
    return [
        ...[...documents.roles.values()].flatMap((r) => [
            { kind: "trust" as const, owner: `trust of ${r.arn}`, json: r.trust },
            ...r.inline.map((p) => ({ kind: "identity" as const, owner: `role policy ${p.name}`, json: p.json })),
        ]),
        ...[...documents.repositories].flatMap(([name, r]) =>
            r.policy ? [{ kind: "resource" as const, owner: `repository policy of ${name}`, json: r.policy }] : [],
        ),
    ];
}

// ---- The principal universe -------------------------------------------------------

export interface PodTags {
    readonly clusterArn: string;
    readonly clusterName: string;
    readonly namespace: string;
    readonly serviceAccount: string;
}

const tagsOf = (t: PodTags): Record<string, string> => ({
    "eks-cluster-arn": t.clusterArn,
    "eks-cluster-name": t.clusterName,
    "kubernetes-namespace": t.namespace,
    "kubernetes-service-account": t.serviceAccount,
});
const tagKey = (t: PodTags | undefined) => (t ? `${t.clusterArn}|${t.namespace}/${t.serviceAccount}` : "-");

/** A pattern made concrete: `*` and `?` replaced by letters the pattern admits. */
const instance = (pattern: string) => pattern.replace(/\*/g, "any").replace(/\?/g, "q");

/**
 * The service accounts every request is tried with: each granted one (a
 * pattern by an instance of it), each workload, and others: a stranger in
 * each namespace, each name in `default` and in a look-alike namespace
 * (`ci-x` next to `ci`), default/default and kube-system/aws-node.
 */
export function serviceAccountUniverse(model: FleetModel, lean = false): SaRef[] {
    const granted: SaRef[] = [
        ...model.grants.flatMap((g) => g.serviceAccounts.map((sa) => ({ namespace: instance(sa.namespace), name: instance(sa.name) }))),
        ...model.clusters.flatMap((c) => c.workloads.map((w) => ({ namespace: w.namespace, name: w.serviceAccount }))),
    ];
    const namespaces = [...new Set(granted.map((s) => s.namespace))];
    const names = [...new Set(granted.map((s) => s.name))];
    const all = [
        ...granted,
        ...namespaces.map((namespace) => ({ namespace, name: "intruder" })),
        ...namespaces.map((namespace) => ({ namespace: `${namespace}-x`, name: names[0] })),
        ...(lean ? [] : names.map((name) => ({ namespace: "default", name }))),
        { namespace: "default", name: "default" },
        ...(lean ? [] : [{ namespace: "kube-system", name: "aws-node" }]),
    ];
    const seen = new Set<string>();
    return all.filter((s) => !seen.has(`${s.namespace}/${s.name}`) && seen.add(`${s.namespace}/${s.name}`));
}

// ---- The matrix -------------------------------------------------------------------

export interface MatrixResult {
    /** Requests simulated and compared with the oracle, by kind. */
    readonly counts: Record<string, number>;
    /** Of those, how many the config grants (so the check is not vacuous), by kind. */
    readonly granted: Record<string, number>;
    readonly checked: number;
    /** Every disagreement between the simulator and the oracle (or a missing document). */
    readonly mismatches: string[];
}

const MAX_TAG_CLUSTERS = 4;

export type Section = "web identity" | "role session" | "service" | "ecr" | "provider" | "end to end";

export interface CheckOptions {
    /** Only these parts of the matrix (default: all; "end to end" needs all the others). */
    readonly sections?: readonly Section[];
    /** Stop at the first disagreement (for mutation tests). */
    readonly stopAtFirst?: boolean;
    /**
     * A smaller universe, for the many fleets of the property test: fewer
     * look-alike service accounts; Pod Identity session tags with every
     * service account only for the caller's own cluster and only on sessions
     * of Pod Identity roles (and their impostors) and on EKS Pod Identity
     * itself, every other cluster with each grant's first service account
     * only; every other caller tries no tags and one set of tags.
     */
    readonly lean?: boolean;
}

class Stop extends Error {}

/**
 * Simulates every request of the universe against every role and repository
 * the documents hold and compares each answer with the oracle:
 * - (a) web identity: each issuer of the fleet and a foreign one x each
 *   service account x two audiences x each role with a trust policy;
 * - (b) role sessions: each role of the fleet (pull, cluster-account, node),
 *   a cluster-account administrator per account and impostors (the same role
 *   names in a foreign account) x no tags or Pod Identity session tags for
 *   each cluster (of a fleet over 4 clusters: the caller's own, the first
 *   and the last), one outside the fleet, and each service account x
 *   sts:AssumeRole, sts:TagSession x each role; EKS Pod Identity and EC2 as
 *   services, with each cluster account and a foreign one as source;
 * - (c) ECR: each of those principals x each repository x the three pull
 *   actions and five write actions, and ecr:GetAuthorizationToken;
 * - each cross-account principal again with an identity policy that allows
 *   sts:* and ecr:* ("guard"): the registry's trust and repository policies
 *   alone must then still admit exactly what the config grants, whatever the
 *   cluster account gives its roles;
 * - end to end: which repositories a pod of each cluster and service account
 *   can pull by any chain of the allowed requests.
 */
export async function checkFleet(model: FleetModel, documents: FleetDocuments, simulator: IamSimulator, options: CheckOptions = {}): Promise<MatrixResult> {
    const counts: Record<string, number> = {};
    const granted: Record<string, number> = {};
    const mismatches: string[] = [];
    try {
        await runMatrix(model, documents, simulator, options, counts, granted, mismatches);
    } catch (e) {
        if (!(e instanceof Stop)) {
            throw e;
        }
    }
    return { counts, granted, checked: Object.values(counts).reduce((a, b) => a + b, 0), mismatches };
}

async function runMatrix(
    model: FleetModel,
    documents: FleetDocuments,
    simulator: IamSimulator,
    options: CheckOptions,
    counts: Record<string, number>,
    granted: Record<string, number>,
    mismatches: string[],
): Promise<void> {
    const oracle = new Oracle(model);
    const runs = (section: Section) => !options.sections || options.sections.includes(section);
    const results = new Map<string, boolean>();
    const compare = (kind: string, key: string, got: boolean, expected: boolean, what: string) => {
        counts[kind] = (counts[kind] ?? 0) + 1;
        granted[kind] = (granted[kind] ?? 0) + (expected ? 1 : 0);
        if (key) {
            results.set(key, got);
        }
        if (got !== expected) {
            mismatches.push(`${kind}: ${what}: simulator says ${got ? "ALLOWED" : "denied"}, the config ${expected ? "grants it" : "does not"}`);
            if (options.stopAtFirst) {
                throw new Stop();
            }
        }
    };

    // Every role the config calls for has its documents, and no other role exists.
    const expectedRoles = oracle
        .rolesWithTrust()
        .map((r) => r.arn)
        .sort();
    const generatedRoles = [...documents.roles.keys()].sort();
    for (const arn of expectedRoles.filter((a) => !documents.roles.has(a))) {
        mismatches.push(`roles: the config calls for ${arn}, and no document creates it`);
    }
    for (const arn of generatedRoles.filter((a) => !oracle.roles.has(a))) {
        mismatches.push(`roles: the documents create ${arn}, which the config does not call for`);
    }
    const expectedRepositories = [...model.repositories].sort();
    if (JSON.stringify([...documents.repositories.keys()].sort()) !== JSON.stringify(expectedRepositories)) {
        mismatches.push(`repositories: documents ${[...documents.repositories.keys()].sort().join(", ")}, config ${expectedRepositories.join(", ")}`);
    }
    const targets = oracle.rolesWithTrust().filter((r) => documents.roles.has(r.arn));

    // Principals: the fleet's roles, an administrator per cluster account, impostors.
    const accounts = [...new Set(model.clusters.map((c) => c.account))].sort();
    const principals: CatalogRole[] = [...oracle.roles.values()];
    principals.push(
        ...accounts.map((account) => ({ arn: `arn:${PARTITION}:iam::${account}:role/platform-admin`, account, role: { kind: "admin" as const, account } })),
    );
    for (const kind of ["chain", "podid", "node", "pull"] as const) {
        const original = [...oracle.roles.values()].find((r) => r.role.kind === kind);
        if (original) {
            principals.push({
                arn: original.arn.replace(/::\d{12}:/, `::${FOREIGN_ACCOUNT}:`),
                account: FOREIGN_ACCOUNT,
                role: { kind: "impostor", of: original.arn },
            });
        }
    }
    const identityOf = (p: CatalogRole): NamedPolicy[] => {
        if (p.role.kind === "admin") {
            return [BROAD_POLICY];
        }
        const arn = p.role.kind === "impostor" ? p.role.of : p.arn;
        const role = documents.roles.get(arn);
        if (role) {
            return [
                ...role.inline,
                ...role.attached.map((policyArn) => {
                    const json = MANAGED_POLICIES[policyArn];
                    if (!json) {
                        throw new Error(`matrix: no model of the managed policy ${policyArn}`);
                    }
                    return { name: policyArn, json };
                }),
            ];
        }
        const original = oracle.roles.get(arn);
        if (original?.role.kind === "node") {
            return [ADOPTED_NODE_POLICY];
        }
        throw new Error(`matrix: no identity policy for ${p.arn}`);
    };
    /** Cross-account principals are also tried with a broad identity, so the registry's documents are checked on their own. */
    const modes = (p: CatalogRole, targetAccount: string): ("actual" | "guard")[] =>
        p.account !== targetAccount && p.role.kind !== "admin" ? ["actual", "guard"] : ["actual"];
    const identityIn = (p: CatalogRole, mode: "actual" | "guard") => (mode === "guard" ? [BROAD_POLICY] : identityOf(p));

    const sas = serviceAccountUniverse(model, options.lean);
    const foreignCluster = { arn: clusterArnOf(PARTITION, model.region, accounts[0] ?? FOREIGN_ACCOUNT, "not-in-fleet"), name: "not-in-fleet" };
    /** Clusters whose ARN Pod Identity tags name: every cluster of a small fleet, else the principal's own and the first and last; and one outside the fleet. */
    const tagClusters = (own: readonly ClusterModel[]): { arn: string; name: string }[] => {
        const fleet = model.clusters.length <= MAX_TAG_CLUSTERS ? model.clusters : [...own, model.clusters[0], model.clusters[model.clusters.length - 1]];
        const unique = [...new Map(fleet.map((c) => [c.stack, c])).values()];
        return [...unique.map((c) => ({ arn: oracle.clusterArn(c), name: c.name })), foreignCluster];
    };
    /** In a lean run, clusters other than the caller's own are tagged only with each grant's first service account. */
    const probes = options.lean
        ? model.grants.map((g) => ({ namespace: instance(g.serviceAccounts[0].namespace), name: instance(g.serviceAccounts[0].name) }))
        : sas;
    const tagSets = (own: readonly ClusterModel[], every = true): (PodTags | undefined)[] => [
        undefined,
        ...tagClusters(own).flatMap((c) =>
            (every && (!options.lean || own.some((o) => oracle.clusterArn(o) === c.arn)) ? sas : probes).map((sa) => ({
                clusterArn: c.arn,
                clusterName: c.name,
                namespace: sa.namespace,
                serviceAccount: sa.name,
            })),
        ),
    ];

    // (a) Web identity.
    const issuers = [...new Set([...model.clusters.map((c) => c.issuerUrl), FOREIGN_ISSUER])];
    for (const target of runs("web identity") ? targets : []) {
        const trust = documents.roles.get(target.arn)!.trust;
        for (const issuerUrl of issuers) {
            const providerArn = oidcProviderArn(PARTITION, target.account, issuerUrl);
            for (const sa of sas) {
                for (const audience of AUDIENCES) {
                    const got = await simulator.webIdentity({
                        roleArn: target.arn,
                        trustPolicy: trust,
                        providerArn,
                        issuerHostPath: issuerHostPath(issuerUrl),
                        namespace: sa.namespace,
                        serviceAccount: sa.name,
                        audience,
                    });
                    compare(
                        "web identity",
                        `wi|${target.arn}|${issuerUrl}|${sa.namespace}/${sa.name}|${audience}`,
                        got,
                        oracle.webIdentity(target, issuerUrl, providerArn, sa, audience),
                        `token of ${sa.namespace}/${sa.name} (aud ${audience}) from ${issuerUrl} via ${providerArn} -> ${target.arn}`,
                    );
                }
            }
        }
    }

    // (b) Role sessions, with and without Pod Identity session tags.
    const everyTag = (p: CatalogRole) =>
        !options.lean || p.role.kind === "podid" || (p.role.kind === "impostor" && oracle.roles.get(p.role.of)?.role.kind === "podid");
    for (const principal of runs("role session") ? principals : []) {
        const sessionTags = tagSets(principal.cluster ? [principal.cluster] : [], everyTag(principal));
        for (const tags of everyTag(principal) ? sessionTags : sessionTags.slice(0, 2)) {
            for (const target of targets) {
                const trust = documents.roles.get(target.arn)!.trust;
                for (const action of STS_ACTIONS) {
                    for (const mode of modes(principal, target.account)) {
                        const got = await simulator.roleSession({
                            principalRoleArn: principal.arn,
                            identityPolicies: identityIn(principal, mode),
                            action,
                            roleArn: target.arn,
                            trustPolicy: trust,
                            sessionTags: tags ? tagsOf(tags) : undefined,
                        });
                        compare(
                            mode === "guard" ? "role session (guard)" : "role session",
                            mode === "actual" ? `rs|${principal.arn}|${target.arn}|${action}|${tagKey(tags)}` : "",
                            got,
                            oracle.roleSession(principal, action, target, tags),
                            `${principal.arn}${mode === "guard" ? " (identity sts:*, ecr:*)" : ""} ${action} ${target.arn} tags ${tagKey(tags)}`,
                        );
                    }
                }
            }
        }
    }

    // (b) Services: EKS Pod Identity (source: each cluster account, a foreign one) and EC2.
    const sources = [...accounts, FOREIGN_ACCOUNT];
    for (const target of runs("service") ? targets : []) {
        const trust = documents.roles.get(target.arn)!.trust;
        for (const sourceAccount of sources) {
            for (const tags of tagSets(model.clusters.filter((c) => c.account === sourceAccount))) {
                for (const action of STS_ACTIONS) {
                    const got = await simulator.service({
                        service: POD_IDENTITY_SERVICE,
                        sourceAccount,
                        sourceArn: tags?.clusterArn,
                        action,
                        roleArn: target.arn,
                        trustPolicy: trust,
                        sessionTags: tags ? tagsOf(tags) : undefined,
                    });
                    compare(
                        "service",
                        `svc|${POD_IDENTITY_SERVICE}|${sourceAccount}|${target.arn}|${action}|${tagKey(tags)}`,
                        got,
                        oracle.service(POD_IDENTITY_SERVICE, sourceAccount, action, target, tags),
                        `${POD_IDENTITY_SERVICE} for ${sourceAccount} ${action} ${target.arn} tags ${tagKey(tags)}`,
                    );
                }
            }
            for (const action of STS_ACTIONS) {
                const got = await simulator.service({ service: EC2_SERVICE, sourceAccount, action, roleArn: target.arn, trustPolicy: trust });
                compare(
                    "service",
                    "",
                    got,
                    oracle.service(EC2_SERVICE, sourceAccount, action, target, undefined),
                    `${EC2_SERVICE} for ${sourceAccount} ${action} ${target.arn}`,
                );
            }
        }
    }

    // (c) ECR.
    for (const principal of runs("ecr") ? principals : []) {
        for (const [name, repository] of documents.repositories) {
            for (const action of [...PULL_ACTIONS, ...WRITE_ACTIONS]) {
                for (const mode of modes(principal, model.registryAccount)) {
                    const got = await simulator.ecr({
                        principalRoleArn: principal.arn,
                        identityPolicies: identityIn(principal, mode),
                        action,
                        repositoryArn: repository.arn,
                        repositoryPolicy: repository.policy,
                    });
                    compare(
                        mode === "guard" ? "ecr (guard)" : "ecr",
                        mode === "actual" ? `ecr|${principal.arn}|${name}|${action}` : "",
                        got,
                        oracle.ecr(principal, action, name, mode),
                        `${principal.arn}${mode === "guard" ? " (identity sts:*, ecr:*)" : ""} ${action} ${name}`,
                    );
                }
            }
        }
        if (principal.role.kind !== "admin" && principal.role.kind !== "impostor") {
            const got = await simulator.ecr({ principalRoleArn: principal.arn, identityPolicies: identityOf(principal), action: TOKEN_ACTION });
            compare("ecr", `ecr|${principal.arn}|*|${TOKEN_ACTION}`, got, oracle.token(principal), `${principal.arn} ${TOKEN_ACTION} *`);
        }
    }

    // Every Federated principal a trust names is a provider that exists, for the STS audience.
    for (const role of runs("provider") ? documents.roles.values() : []) {
        for (const s of JSON.parse(role.trust).Statement as { Principal?: { Federated?: string | string[] } }[]) {
            for (const providerArn of [s.Principal?.Federated ?? []].flat()) {
                const ownProvider = model.clusters.some((c) => oidcProviderArn(PARTITION, c.account, c.issuerUrl) === providerArn);
                const exists = providerArn.includes(`::${model.registryAccount}:`)
                    ? providerAdmits(documents.providers, providerArn, STS_AUDIENCE)
                    : ownProvider;
                compare("provider", "", exists, true, `trust of ${role.arn} names the provider ${providerArn}`);
            }
        }
    }

    // End to end: what a pod of each cluster and service account can reach by any chain of allowed requests.
    const allowed = (key: string) => results.get(key) === true;
    for (const cluster of options.sections ? [] : model.clusters) {
        for (const sa of sas) {
            const held = new Set<string>();
            // IRSA: the token, at the provider for this cluster's issuer in each role's account (where one exists).
            for (const target of targets) {
                const providerArn = oidcProviderArn(PARTITION, target.account, cluster.issuerUrl);
                const providerExists = target.account === cluster.account || providerAdmits(documents.providers, providerArn, STS_AUDIENCE);
                if (providerExists && allowed(`wi|${target.arn}|${cluster.issuerUrl}|${sa.namespace}/${sa.name}|${STS_AUDIENCE}`)) {
                    held.add(target.arn);
                }
            }
            // Pod Identity: EKS assumes an association role with the pod's tags, then the target role with the same tags.
            const podTags = tagKey({ clusterArn: oracle.clusterArn(cluster), clusterName: cluster.name, namespace: sa.namespace, serviceAccount: sa.name });
            for (const association of targets) {
                const key = (action: string) => `svc|${POD_IDENTITY_SERVICE}|${cluster.account}|${association.arn}|${action}|${podTags}`;
                if (allowed(key("sts:AssumeRole")) && allowed(key("sts:TagSession"))) {
                    for (const target of targets) {
                        const hop = (action: string) => `rs|${association.arn}|${target.arn}|${action}|${podTags}`;
                        if (allowed(hop("sts:AssumeRole")) && allowed(hop("sts:TagSession"))) {
                            held.add(target.arn);
                        }
                    }
                }
            }
            // Then any role a held role may assume, with no tags or with any tags it chooses.
            const tagChoices = [...new Set(tagSets([cluster]).map(tagKey))];
            for (let grew = true; grew;) {
                grew = false;
                for (const from of [...held]) {
                    for (const target of targets) {
                        const hop = (action: string, tags: string) => `rs|${from}|${target.arn}|${action}|${tags}`;
                        const can =
                            allowed(hop("sts:AssumeRole", "-")) ||
                            tagChoices.some((t) => allowed(hop("sts:AssumeRole", t)) && allowed(hop("sts:TagSession", t)));
                        if (can && !held.has(target.arn)) {
                            held.add(target.arn);
                            grew = true;
                        }
                    }
                }
            }
            const pullable = [...documents.repositories.keys()]
                .filter((repository) =>
                    [...held].some(
                        (role) => allowed(`ecr|${role}|*|${TOKEN_ACTION}`) && PULL_CALLS.every((action) => allowed(`ecr|${role}|${repository}|${action}`)),
                    ),
                )
                .sort();
            const expected = oracle.pullable(cluster, sa);
            for (const repository of documents.repositories.keys()) {
                compare(
                    "end to end",
                    "",
                    pullable.includes(repository),
                    expected.includes(repository),
                    `pod ${sa.namespace}/${sa.name} of ${cluster.stack} pulls ${repository} (holding ${[...held].join(", ") || "no role"})`,
                );
            }
        }
    }
}

// ---- Fleets ---------------------------------------------------------------------

/** Like tests/fleet.test.ts: ten adopted clusters, two per account, one federated grant split over 8 shards. */
export function shardedFleet(clusters = 10, shards = 8): { eks: EksStackRun[]; ecr: EcrStackRun } {
    const region = "eu-west-1";
    const registryAccount = "111122223333";
    const stackName = (i: number) => `acme/ecrpull/eks-${i}`;
    const accountOf = (i: number) => String(300000000000 + Math.floor(i / 2));
    const issuerOf = (i: number) => `https://oidc.eks.${region}.amazonaws.com/id/${String(i).padStart(32, "0")}`;
    const stacks = Array.from({ length: clusters }, (_, i) => stackName(i));
    return {
        eks: Array.from({ length: clusters }, (_, i) => ({
            name: stackName(i),
            accountId: accountOf(i),
            region,
            existingClusters: { [`c${i}`]: { issuerUrl: issuerOf(i) } },
            config: {
                "ecrpull:registryAccountId": registryAccount,
                "ecrpull:cluster": { name: `c${i}`, create: false, nodeRoleArns: [`arn:aws:iam::${accountOf(i)}:role/nodes-c${i}`] },
                "ecrpull:oidcThumbprint": "omit",
                "ecrpull:workloads": [{ namespace: "platform", serviceAccount: "puller", grant: "platform", shards }],
            },
        })),
        ecr: {
            accountId: registryAccount,
            region,
            config: {
                "ecrpull:clusterStacks": stacks,
                "ecrpull:repositories": [{ name: "platform/base" }, { name: "platform/tools" }],
                "ecrpull:grants": [
                    {
                        name: "platform",
                        shards,
                        clusters: stacks,
                        serviceAccounts: [{ namespace: "platform", name: "puller" }],
                        repositories: ["platform/base"],
                    },
                ],
            },
        },
    };
}

/**
 * Patterns on every path: `ci/*` federated (the README's example), `ml/*` by
 * Pod Identity and `ops/deploy-*` by chaining, over two adopted clusters in
 * two accounts.
 */
export function patternFleet(): { eks: EksStackRun[]; ecr: EcrStackRun } {
    const region = "eu-west-1";
    const registryAccount = "111122223333";
    const issuer = (c: string) => `https://oidc.eks.${region}.amazonaws.com/id/${c.repeat(32)}`;
    const cluster = (i: number, account: string, workloads: unknown[]): EksStackRun => ({
        name: `acme/ecrpull/pat-${i}`,
        accountId: account,
        region,
        existingClusters: { [`pat-${i}`]: { issuerUrl: issuer(String(i + 1)), addons: ["eks-pod-identity-agent"] } },
        config: {
            "ecrpull:registryAccountId": registryAccount,
            "ecrpull:cluster": { name: `pat-${i}`, create: false, nodeRoleArns: [`arn:aws:iam::${account}:role/pat-${i}-nodes`] },
            "ecrpull:oidcThumbprint": "omit",
            "ecrpull:workloads": workloads,
        },
    });
    const eks = [
        cluster(0, "410000000001", [
            { namespace: "ci", serviceAccount: "builder", grant: "ci-all" },
            { namespace: "ml", serviceAccount: "trainer", grant: "ml-any", path: "podIdentity" },
            { namespace: "ops", serviceAccount: "deploy-api", grant: "ops", path: "chaining" },
        ]),
        cluster(1, "420000000002", [
            { namespace: "ml", serviceAccount: "notebook", grant: "ml-any", path: "podIdentity" },
            { namespace: "ops", serviceAccount: "deploy-web", grant: "ops", path: "chaining" },
        ]),
    ];
    const stacks = eks.map((e) => e.name);
    return {
        eks,
        ecr: {
            accountId: registryAccount,
            region,
            config: {
                "ecrpull:clusterStacks": stacks,
                "ecrpull:repositories": [{ name: "ci/cache" }, { name: "ml/models" }, { name: "ops/charts" }, { name: "secret/vault" }],
                "ecrpull:grants": [
                    { name: "ci-all", allowPatterns: true, clusters: stacks, serviceAccounts: [{ namespace: "ci", name: "*" }], repositories: ["ci/cache"] },
                    {
                        name: "ml-any",
                        path: "podIdentity",
                        allowPatterns: true,
                        clusters: stacks,
                        serviceAccounts: [{ namespace: "ml", name: "*" }],
                        repositories: ["ml/models", "ci/cache"],
                    },
                    {
                        name: "ops",
                        path: "chaining",
                        allowPatterns: true,
                        clusters: stacks,
                        serviceAccounts: [{ namespace: "ops", name: "deploy-*" }],
                        repositories: ["ops/charts"],
                    },
                ],
            },
        },
    };
}

// ---- Random valid fleets (property test) --------------------------------------------

const RANDOM_ACCOUNTS = ["210000000001", "220000000002", "230000000003"];
const NAMESPACES = ["ci", "ml", "apps"];
const bits = (mask: number, count: number) => Array.from({ length: count }, (_, i) => i).filter((i) => (mask >> i) & 1);

/**
 * Random VALID fleets: 1-4 adopted clusters in 1-3 accounts (and two
 * regions), 1-4 repositories, 1-4 grants each with a random path, 1-3 shards,
 * 1-3 service accounts (across namespaces, or a `w<i>*` pattern with
 * allowPatterns), and random cluster, repository and workload membership.
 * Chained and Pod Identity grants get at least one workload in each of their
 * clusters, as the stacks require; documentsFromPlans runs the stacks' own
 * validation on every fleet.
 */
export const randomFleet = fc
    .record({
        accounts: fc.integer({ min: 1, max: 3 }),
        clusters: fc.array(
            fc.record({ account: fc.nat({ max: 2 }), region: fc.constantFrom("eu-west-1", "us-east-1"), nodeRoles: fc.integer({ min: 0, max: 2 }) }),
            { minLength: 1, maxLength: 4 },
        ),
        repositories: fc.integer({ min: 1, max: 4 }),
        grants: fc.array(
            fc.record({
                path: fc.constantFrom<AccessPath>("federation", "chaining", "podIdentity"),
                shards: fc.integer({ min: 1, max: 3 }),
                clusterMask: fc.integer({ min: 0, max: 15 }),
                repositoryMask: fc.integer({ min: 0, max: 15 }),
                namespace: fc.nat({ max: 2 }),
                serviceAccounts: fc.integer({ min: 1, max: 3 }),
                pattern: fc.boolean(),
                workloadMask: fc.nat({ max: 255 }),
            }),
            { minLength: 1, maxLength: 4 },
        ),
    })
    .map((raw): FleetModel => {
        const accounts = RANDOM_ACCOUNTS.slice(0, raw.accounts);
        const repositories = Array.from({ length: raw.repositories }, (_, i) => `team/repo-${i}`);
        const clusterShapes = raw.clusters.map((c, i) => ({
            stack: `acme/ecrpull/rnd-${i}`,
            account: accounts[c.account % accounts.length],
            region: c.region,
            name: `k${i}`,
            issuerUrl: `https://oidc.eks.${c.region}.amazonaws.com/id/${fakeIssuerId(`random-${i}`)}`,
            nodeRoles: c.nodeRoles,
        }));
        const workloads: WorkloadModel[][] = clusterShapes.map(() => []);
        const grants = raw.grants.map((g, i): GrantModel => {
            const name = `g${i}`;
            const clusters = bits(g.clusterMask, clusterShapes.length);
            const members = clusters.length > 0 ? clusters : [i % clusterShapes.length];
            const pickedRepositories = bits(g.repositoryMask, repositories.length);
            const namespaceOf = (j: number) => NAMESPACES[(g.namespace + j) % NAMESPACES.length];
            const serviceAccounts = g.pattern
                ? [{ namespace: namespaceOf(0), name: `w${i}*` }]
                : Array.from({ length: g.serviceAccounts }, (_, j) => ({ namespace: namespaceOf(j), name: `w${i}${j}` }));
            // The concrete service accounts workloads may use: the listed ones, or two the pattern admits.
            const concrete = g.pattern ? [`w${i}a`, `w${i}b`].map((n) => ({ namespace: namespaceOf(0), name: n })) : serviceAccounts;
            members.forEach((c, k) => {
                let chosen = concrete.filter((_, j) => (g.workloadMask >> ((k * 2 + j) % 8)) & 1);
                if (chosen.length === 0 && g.path !== "federation") {
                    chosen = [concrete[k % concrete.length]];
                }
                workloads[c].push(...chosen.map((sa) => ({ namespace: sa.namespace, serviceAccount: sa.name, grant: name, path: g.path })));
            });
            return {
                name,
                path: g.path,
                shards: g.shards,
                clusters: members.map((c) => clusterShapes[c].stack),
                serviceAccounts,
                repositories: (pickedRepositories.length > 0 ? pickedRepositories : [i % repositories.length]).map((r) => repositories[r]),
                ...(g.pattern ? { allowPatterns: true } : {}),
            };
        });
        const clusters = clusterShapes.map((c, i): ClusterModel => ({
            stack: c.stack,
            account: c.account,
            region: c.region,
            name: c.name,
            issuerUrl: c.issuerUrl,
            nodeRoleArns: Array.from({ length: c.nodeRoles }, (_, j) => `arn:aws:iam::${c.account}:role/${c.name}-nodes-${j}`),
            created: false,
            workloads: workloads[i],
        }));
        return { registryAccount: "111122223333", region: "eu-west-1", clusters, grants, repositories };
    });
