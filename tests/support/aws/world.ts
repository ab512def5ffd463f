/**
 * The AWS (and Kubernetes) state the local endpoint serves, built from the
 * resources real program runs registered: each account's roles, policies and
 * OIDC providers come from the run of the stack that owns that account's
 * resources, never from constants. What no recorded resource shows is taken
 * from where AWS itself would have it:
 * - the IAM OIDC provider @pulumi/eks creates for a cluster it creates
 *   (`createOidcProvider: true`; the remote component hides it): from the EKS
 *   stack's `oidcIssuerUrl` and `accountId` outputs, with the client ID
 *   `sts.amazonaws.com` @pulumi/eks gives it;
 * - the IAM OIDC provider of an adopted cluster's account: present when the
 *   fixture says so (`ExistingClusterFixture.oidcProviderInAccount`, default
 *   true, as the mock engine answers `getOpenIdConnectProvider`);
 * - each issuer's signing key: made here, since the issuer is emulated;
 * - the node roles of an adopted cluster (its stack's `nodeRoleArns`), which
 *   no run creates: a role that EC2 may assume (EKS user guide, "Amazon EKS
 *   node IAM role": its trust names `ec2.amazonaws.com`), with the managed
 *   `AmazonEC2ContainerRegistryPullOnly` attached (as the access report
 *   assumes, tools/report/report.ts ASSUMED_NODE_POLICY) and the tags its
 *   stack requires of it (`nodePullTags` of its `nodePullGrants` output: the
 *   EKS program refuses to deploy when an adopted node role lacks one).
 *   A created cluster's node role is a recorded `aws:iam/role:Role`, with
 *   the tags `ManagedCluster` gave it (`nodeRoleTags`).
 */
import { createHash } from "crypto";
import { ExistingClusterFixture, RecordedResource } from "../../../tools/engine/mock-engine";
import { EksStackRun, TwoStackRun } from "../../../tools/engine/two-stacks";
import { OrganizationFacts } from "../../../tools/report/report";
import { nodePullTags } from "../../../components/cluster/plan";
import { IssuerKey, newIssuerKey } from "./jwt";
import { managedPolicy } from "./managed-policies";

export interface NamedDocument {
    readonly name: string;
    readonly json: string;
}

export interface WorldRole {
    readonly arn: string;
    readonly name: string;
    readonly account: string;
    /** `AROA…`, for AssumedRoleId and GetCallerIdentity's UserId. */
    readonly uniqueId: string;
    readonly trustPolicy: string;
    readonly maxSessionDuration: number;
    /** Inline (`aws:iam/rolePolicy:RolePolicy`) and attached managed policies. */
    readonly identityPolicies: readonly NamedDocument[];
    /** The role's own tags: every session of the role carries them as `aws:PrincipalTag/<key>`. */
    readonly tags: Readonly<Record<string, string>>;
    /** Where it came from: a recorded resource, or what the World assumes of a role no run created (an adopted node role). */
    readonly origin: string;
}

export interface WorldOidcProvider {
    readonly arn: string;
    readonly account: string;
    /** `https://…` */
    readonly url: string;
    readonly clientIds: readonly string[];
    /** Where it came from: a recorded resource, an EKS stack output, an adopted cluster fixture. */
    readonly origin: string;
}

export interface WorldIssuer {
    readonly url: string;
    readonly key: IssuerKey;
}

export interface WorldCluster {
    readonly arn: string;
    readonly name: string;
    readonly account: string;
    readonly region: string;
    readonly issuerUrl: string;
}

export interface WorldImage {
    readonly tags: readonly string[];
    readonly digest: string;
    readonly manifest: string;
    readonly mediaType: string;
    readonly layers: readonly { readonly digest: string; readonly size: number; readonly mediaType: string }[];
}

export interface WorldRepository {
    readonly arn: string;
    readonly name: string;
    readonly account: string;
    readonly region: string;
    /** Absent when the repository has no policy. */
    readonly policy?: string;
    readonly images: WorldImage[];
}

export interface WorldAssociation {
    readonly associationId: string;
    readonly clusterArn: string;
    readonly namespace: string;
    readonly serviceAccount: string;
    readonly roleArn: string;
    readonly targetRoleArn?: string;
    /** `package` for one a program created; anything else names who made it by hand (tests). */
    readonly origin: string;
}

export interface KubeServiceAccount {
    readonly metadata: { readonly name: string; readonly namespace: string; readonly annotations?: Readonly<Record<string, string>> };
}

export interface KubeConfigMap {
    readonly metadata: { readonly name: string; readonly namespace: string };
    readonly data: Readonly<Record<string, string>>;
}

/** What the Kubernetes API of one cluster holds (of what the programs create). */
export interface KubeObjects {
    readonly serviceAccounts: KubeServiceAccount[];
    readonly configMaps: KubeConfigMap[];
}

export interface World {
    readonly partition: string;
    readonly roles: Map<string, WorldRole>;
    readonly providers: WorldOidcProvider[];
    /** By issuer URL. */
    readonly issuers: Map<string, WorldIssuer>;
    readonly clusters: WorldCluster[];
    readonly repositories: WorldRepository[];
    readonly associations: WorldAssociation[];
    /** By cluster ARN. */
    readonly kube: Map<string, KubeObjects>;
    /** The registry stack's outputs, for tests that need its ARNs. */
    readonly registry: {
        readonly accountId: string;
        readonly region: string;
        readonly pullRoleArns: Readonly<Record<string, string>>;
        readonly repositoryUrls: Readonly<Record<string, string>>;
    };
    /** Each EKS stack's outputs by cluster ARN (workloads with their roles). */
    readonly eksOutputs: Map<string, Readonly<Record<string, unknown>>>;
    /**
     * Where the accounts sit in AWS Organizations (the shape `ecrpull audit
     * --org-path` gives the report): the control plane adds
     * `aws:PrincipalOrgID` and `aws:PrincipalOrgPaths` of the caller's
     * account to role-session requests. Absent: no account is in an
     * organization, and no request carries those keys.
     */
    readonly organization?: OrganizationFacts;
}

/** One stack's run, with the account its credentials belonged to. */
export interface StackRunInput {
    readonly accountId: string;
    readonly region: string;
    readonly resources: readonly RecordedResource[];
    readonly outputs: unknown;
    /** Adopted clusters as AWS knows them (the fixture the run was made with). */
    readonly existingClusters?: Readonly<Record<string, ExistingClusterFixture>>;
}

export interface WorldRuns {
    readonly eks: readonly StackRunInput[];
    readonly ecr: StackRunInput;
    /** Where the accounts sit in AWS Organizations (see `World.organization`, and `organizationOf`). */
    readonly organization?: OrganizationFacts;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const hostPath = (url: string) => url.replace(/^https:\/\//, "");
const partitionOf = (region: string) => (region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws");

function ofType(resources: readonly RecordedResource[], type: string): RecordedResource[] {
    return resources.filter((r) => r.type === type);
}

function requireString(value: unknown, what: string): string {
    if (typeof value !== "string" || value === "") {
        throw new Error(`world: ${what} is ${JSON.stringify(value)}, not a known string (was the run a preview?)`);
    }
    return value;
}

/** Roles with their inline and attached policies, from one account's run. */
function rolesOf(run: StackRunInput): WorldRole[] {
    const roles = ofType(run.resources, "aws:iam/role:Role").map((r) => ({
        arn: requireString(r.state.arn, `the ARN of role ${r.name}`),
        name: requireString(r.state.name, `the name of role ${r.name}`),
        account: run.accountId,
        uniqueId: requireString(r.state.uniqueId ?? `AROA${sha256(String(r.state.arn)).slice(0, 17).toUpperCase()}`, `the unique ID of role ${r.name}`),
        trustPolicy: requireString(r.inputs.assumeRolePolicy, `the trust policy of role ${r.name}`),
        maxSessionDuration: typeof r.inputs.maxSessionDuration === "number" ? r.inputs.maxSessionDuration : 3600,
        identityPolicies: [] as NamedDocument[],
        tags: { ...((r.inputs.tags ?? {}) as Record<string, string>) },
        origin: `resource ${r.name}`,
    }));
    const byName = (name: unknown, what: string) => {
        const role = roles.find((r) => r.name === name);
        if (!role) {
            throw new Error(`world: ${what} names role ${JSON.stringify(name)}, which the run of account ${run.accountId} did not create`);
        }
        return role;
    };
    for (const p of ofType(run.resources, "aws:iam/rolePolicy:RolePolicy")) {
        byName(p.inputs.role, `inline policy ${p.name}`).identityPolicies.push({
            name: `${p.inputs.role}/${p.inputs.name ?? p.name}`,
            json: requireString(p.inputs.policy, `the document of inline policy ${p.name}`),
        });
    }
    for (const a of ofType(run.resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")) {
        const arn = requireString(a.inputs.policyArn, `the policy ARN of attachment ${a.name}`);
        byName(a.inputs.role, `attachment ${a.name}`).identityPolicies.push({ name: arn.split("/").pop()!, json: managedPolicy(arn) });
    }
    return roles;
}

/** The trust every EKS node role has: EC2 may assume it for the instances of its instance profile. */
const EC2_NODE_TRUST = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
});
const ASSUMED_NODE_POLICY = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly";

/** An adopted cluster's node role, which no run created: see the header for what is assumed of it, and why. */
function adoptedNodeRole(arn: string, nodePullGrants: readonly string[]): WorldRole {
    const match = /^arn:[^:]+:iam::(\d{12}):role\/(?:[^/]+\/)*([\w+=,.@-]+)$/.exec(arn);
    if (!match) {
        throw new Error(`world: nodeRoleArns names ${JSON.stringify(arn)}, which is not a role ARN`);
    }
    return {
        arn,
        name: match[2],
        account: match[1],
        uniqueId: `AROA${sha256(arn).slice(0, 17).toUpperCase()}`,
        trustPolicy: EC2_NODE_TRUST,
        maxSessionDuration: 3600,
        identityPolicies: [{ name: ASSUMED_NODE_POLICY.split("/").pop()!, json: managedPolicy(ASSUMED_NODE_POLICY) }],
        tags: nodePullTags(nodePullGrants),
        origin: "adopted node role (trust, policy and tags assumed as its stack requires them)",
    };
}

/** A few images per repository, deterministic, with real manifest digests. */
function imagesOf(repository: string): WorldImage[] {
    return [
        ["1.0.0", "stable"],
        ["1.1.0", "latest"],
    ].map((tags, i) => {
        const config = { mediaType: "application/vnd.docker.container.image.v1+json", size: 1469 + i, digest: `sha256:${sha256(`${repository}:config:${i}`)}` };
        const layers = [
            { mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: 2811478 + i, digest: `sha256:${sha256(`${repository}:layer:${i}:0`)}` },
            { mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: 1048576 + i, digest: `sha256:${sha256(`${repository}:layer:${i}:1`)}` },
        ];
        const mediaType = "application/vnd.docker.distribution.manifest.v2+json";
        const manifest = JSON.stringify({ schemaVersion: 2, mediaType, config, layers }, null, 3);
        return { tags, digest: `sha256:${sha256(manifest)}`, manifest, mediaType, layers };
    });
}

/**
 * Builds the World from program runs: each EKS run gives its cluster, its
 * account's roles and providers, its associations and Kubernetes objects; the
 * ECR run gives the registry account's roles, providers and repositories.
 */
export function worldFromRuns(runs: WorldRuns): World {
    const ecrOutputs = runs.ecr.outputs as Record<string, unknown>;
    const partition = partitionOf(runs.ecr.region);
    const world: World = {
        partition,
        roles: new Map(),
        providers: [],
        issuers: new Map(),
        clusters: [],
        repositories: [],
        associations: [],
        kube: new Map(),
        registry: {
            accountId: requireString(ecrOutputs.registryAccountId, "the ECR stack's registryAccountId output"),
            region: requireString(ecrOutputs.region, "the ECR stack's region output"),
            pullRoleArns: (ecrOutputs.pullRoleArns ?? {}) as Record<string, string>,
            repositoryUrls: (ecrOutputs.repositoryUrls ?? {}) as Record<string, string>,
        },
        eksOutputs: new Map(),
        organization: runs.organization,
    };
    const addProvider = (provider: WorldOidcProvider) => {
        if (world.providers.some((p) => p.arn === provider.arn)) {
            // IAM refuses a second provider for the same URL (EntityAlreadyExists): two runs creating one is a fixture error.
            throw new Error(`world: two OIDC providers ${provider.arn} (${provider.origin})`);
        }
        world.providers.push(provider);
    };
    const addIssuer = (url: string) => {
        if (!world.issuers.has(url)) {
            world.issuers.set(url, { url, key: newIssuerKey(`key-${sha256(url).slice(0, 12)}`) });
        }
    };

    for (const run of [...runs.eks, runs.ecr]) {
        for (const role of rolesOf(run)) {
            world.roles.set(role.arn, role);
        }
        for (const p of ofType(run.resources, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")) {
            addProvider({
                arn: requireString(p.state.arn, `the ARN of OIDC provider ${p.name}`),
                account: run.accountId,
                url: requireString(p.inputs.url, `the URL of OIDC provider ${p.name}`),
                clientIds: (p.inputs.clientIdLists ?? []) as string[],
                origin: `resource ${p.name}`,
            });
        }
    }

    for (const run of runs.eks) {
        const outputs = run.outputs as Record<string, unknown>;
        const cluster: WorldCluster = {
            arn: requireString(outputs.clusterArn, "an EKS stack's clusterArn output"),
            name: requireString(outputs.clusterName, "an EKS stack's clusterName output"),
            account: requireString(outputs.accountId, "an EKS stack's accountId output"),
            region: requireString(outputs.region, "an EKS stack's region output"),
            issuerUrl: requireString(outputs.oidcIssuerUrl, "an EKS stack's oidcIssuerUrl output"),
        };
        world.clusters.push(cluster);
        world.eksOutputs.set(cluster.arn, outputs);
        addIssuer(cluster.issuerUrl);
        const providerArn = `arn:${partition}:iam::${cluster.account}:oidc-provider/${hostPath(cluster.issuerUrl)}`;
        const created = ofType(run.resources, "eks:index:Cluster").some((c) => c.inputs.createOidcProvider === true);
        const adopted = run.existingClusters?.[cluster.name];
        if (created) {
            addProvider({
                arn: providerArn,
                account: cluster.account,
                url: cluster.issuerUrl,
                clientIds: ["sts.amazonaws.com"],
                origin: "@pulumi/eks createOidcProvider (EKS stack outputs)",
            });
        } else if (adopted && adopted.oidcProviderInAccount !== false && !world.providers.some((p) => p.arn === providerArn)) {
            addProvider({
                arn: providerArn,
                account: cluster.account,
                url: cluster.issuerUrl,
                clientIds: ["sts.amazonaws.com"],
                origin: "adopted cluster fixture",
            });
        }
        for (const a of ofType(run.resources, "aws:eks/podIdentityAssociation:PodIdentityAssociation")) {
            const clusterName = requireString(a.inputs.clusterName, `the cluster of association ${a.name}`);
            if (clusterName !== cluster.name) {
                throw new Error(`world: association ${a.name} names cluster ${clusterName}, not the stack's ${cluster.name}`);
            }
            world.associations.push({
                associationId: `a-${sha256(`${cluster.arn}/${a.name}`).slice(0, 17)}`,
                clusterArn: cluster.arn,
                namespace: requireString(a.inputs.namespace, `the namespace of association ${a.name}`),
                serviceAccount: requireString(a.inputs.serviceAccount, `the service account of association ${a.name}`),
                roleArn: requireString(a.inputs.roleArn, `the role of association ${a.name}`),
                targetRoleArn: a.inputs.targetRoleArn,
                origin: "package",
            });
        }
        for (const arn of (outputs.nodeRoleArns ?? []) as string[]) {
            if (!world.roles.has(arn)) {
                world.roles.set(arn, adoptedNodeRole(arn, (outputs.nodePullGrants ?? []) as string[]));
            }
        }
        world.kube.set(cluster.arn, {
            serviceAccounts: ofType(run.resources, "kubernetes:core/v1:ServiceAccount").map((r) => ({
                metadata: { name: r.inputs.metadata.name, namespace: r.inputs.metadata.namespace, annotations: { ...(r.inputs.metadata.annotations ?? {}) } },
            })),
            configMaps: ofType(run.resources, "kubernetes:core/v1:ConfigMap").map((r) => ({
                metadata: { name: r.inputs.metadata.name, namespace: r.inputs.metadata.namespace },
                data: { ...(r.inputs.data ?? {}) },
            })),
        });
    }
    for (const provider of world.providers) {
        addIssuer(provider.url);
    }

    const policies = ofType(runs.ecr.resources, "aws:ecr/repositoryPolicy:RepositoryPolicy");
    for (const r of ofType(runs.ecr.resources, "aws:ecr/repository:Repository")) {
        const name = requireString(r.inputs.name, `the name of repository ${r.name}`);
        const policy = policies.find((p) => p.inputs.repository === name);
        world.repositories.push({
            arn: requireString(r.state.arn, `the ARN of repository ${name}`),
            name,
            account: runs.ecr.accountId,
            region: runs.ecr.region,
            policy: policy ? requireString(policy.inputs.policy, `the policy of repository ${name}`) : undefined,
            images: imagesOf(name),
        });
    }
    return world;
}

/** The World of `runTwoStacks(eksStacks, ecrStack)`: the fixtures say which account and adopted clusters each run had. */
export function worldFromTwoStacks(run: TwoStackRun, eksStacks: readonly EksStackRun[], ecr: { readonly accountId: string; readonly region: string }): World {
    return worldFromRuns({
        eks: run.eks.map((r, i) => ({
            accountId: eksStacks[i].accountId,
            region: eksStacks[i].region,
            resources: r.resources,
            outputs: r.outputs,
            existingClusters: eksStacks[i].existingClusters,
        })),
        ecr: { accountId: ecr.accountId, region: ecr.region, resources: run.ecr.resources, outputs: run.ecr.outputs },
    });
}

/**
 * The World of `runExampleStacks` (tools/engine/example-state.ts), or of
 * `runProject` (tools/engine/project-run.ts) as `{ eks: run.eks, ecr:
 * run.ecr.run }`: no adopted-cluster fixtures there, so none has an account
 * provider. `organization` places the accounts in AWS Organizations.
 */
export function worldFromExampleRuns(
    runs: {
        readonly eks: readonly { readonly accountId: string; readonly run: { readonly resources: readonly RecordedResource[]; readonly outputs: unknown } }[];
        readonly ecr: { readonly resources: readonly RecordedResource[]; readonly outputs: unknown };
    },
    options: { readonly organization?: OrganizationFacts } = {},
): World {
    const ecrOutputs = runs.ecr.outputs as Record<string, unknown>;
    return worldFromRuns({
        eks: runs.eks.map((e) => ({
            accountId: e.accountId,
            region: String((e.run.outputs as Record<string, unknown>).region),
            resources: e.run.resources,
            outputs: e.run.outputs,
        })),
        ecr: { accountId: String(ecrOutputs.registryAccountId), region: String(ecrOutputs.region), resources: runs.ecr.resources, outputs: runs.ecr.outputs },
        organization: options.organization,
    });
}

/** An account's path in AWS Organizations as `aws:PrincipalOrgPaths` has it: organization, root, then each OU down to the account's. */
const ORG_PATH = /^(o-[a-z0-9]{10,32})\/r-[0-9a-z]{4,32}\/(?:ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}\/)*$/;

/** The organization ID an account's path starts with (AWS forms every path from it). */
export function organizationIdOfPath(orgPath: string): string {
    const match = ORG_PATH.exec(orgPath);
    if (!match) {
        throw new Error(`world: "${orgPath}" is not a path in AWS Organizations ("o-<id>/r-<root>/(ou-<id>/)*", as aws:PrincipalOrgPaths has it)`);
    }
    return match[1];
}

/**
 * Accounts placed in AWS Organizations: `paths` gives each account's path
 * (`o-…/r-…/ou-…/`); an account not listed is in no organization. A path
 * that starts with another organization's ID than `id` puts the account in
 * that other organization (the control plane takes aws:PrincipalOrgID from
 * the path, as AWS forms the path from it).
 */
export function organizationOf(id: string, paths: Readonly<Record<string, string>>): OrganizationFacts {
    if (!/^o-[a-z0-9]{10,32}$/.test(id)) {
        throw new Error(`world: "${id}" is not an organization ID (o-<10 to 32 characters>)`);
    }
    for (const [account, orgPath] of Object.entries(paths)) {
        if (!/^\d{12}$/.test(account)) {
            throw new Error(`world: "${account}" is not an account ID`);
        }
        organizationIdOfPath(orgPath);
    }
    return { id, pathOf: (account) => paths[account] };
}

// ---- nodes ----------------------------------------------------------------------------

/**
 * An EC2 instance of a cluster's node group, as its Instance Metadata
 * Service describes it: the instance profile's role (the node role), where
 * it runs, and the network facts EC2 binds to the credentials it delivers
 * (`aws:Ec2InstanceSourceVpc`, `aws:Ec2InstanceSourcePrivateIPv4`).
 */
export interface WorldInstance {
    readonly instanceId: string;
    readonly account: string;
    readonly region: string;
    readonly availabilityZone: string;
    readonly vpcId: string;
    readonly privateIp: string;
    /** The role of its instance profile. */
    readonly roleArn: string;
    /** The cluster whose node it is. */
    readonly clusterArn: string;
}

/**
 * A node of `cluster` whose instance profile holds `roleArn` (default: the
 * cluster's first node role, as its EKS stack exports them). The instance's
 * IDs and addresses are derived from the cluster and role, so a test names
 * the same instance on every run.
 */
export function nodeInstanceOf(world: World, cluster: WorldCluster, roleArn?: string): WorldInstance {
    const exported = (world.eksOutputs.get(cluster.arn)?.nodeRoleArns ?? []) as string[];
    const role = roleArn ?? exported[0];
    if (!role || !world.roles.has(role)) {
        throw new Error(`world: cluster ${cluster.name} has no node role ${role ?? "(none exported)"} in the World`);
    }
    const digest = sha256(`${cluster.arn}/${role}`);
    const byte = (i: number) => parseInt(digest.slice(2 * i, 2 * i + 2), 16);
    return {
        instanceId: `i-0${digest.slice(0, 16)}`,
        account: role.split(":")[4],
        region: cluster.region,
        availabilityZone: `${cluster.region}${"abc"[byte(8) % 3]}`,
        vpcId: `vpc-0${sha256(cluster.arn).slice(0, 16)}`,
        privateIp: `10.0.${byte(9) % 250}.${1 + (byte(10) % 250)}`,
        roleArn: role,
        clusterArn: cluster.arn,
    };
}

// ---- look-ups ------------------------------------------------------------------------

export function clusterNamed(world: World, name: string): WorldCluster {
    const cluster = world.clusters.find((c) => c.name === name);
    if (!cluster) {
        throw new Error(`world: no cluster named ${name} (have ${world.clusters.map((c) => c.name).join(", ")})`);
    }
    return cluster;
}

export function repositoryNamed(world: World, name: string): WorldRepository {
    const repository = world.repositories.find((r) => r.name === name);
    if (!repository) {
        throw new Error(`world: no repository named ${name}`);
    }
    return repository;
}

export function pullRoleArn(world: World, grant: string): string {
    const arn = world.registry.pullRoleArns[grant];
    if (!arn) {
        throw new Error(`world: the ECR stack exports no pull role for grant ${grant}`);
    }
    return arn;
}

/** One workload of an EKS stack's `workloads` output (its path, pull role and cluster-account role). */
export function workloadExport(
    world: World,
    cluster: WorldCluster,
    namespace: string,
    serviceAccount: string,
): { grant: string; path: string; roleArn: string; clusterRoleArn: string } {
    const workloads = (world.eksOutputs.get(cluster.arn)?.workloads ?? []) as {
        namespace: string;
        serviceAccount: string;
        grant: string;
        path: string;
        roleArn: string;
        clusterRoleArn: string;
    }[];
    const workload = workloads.find((w) => w.namespace === namespace && w.serviceAccount === serviceAccount);
    if (!workload) {
        throw new Error(`world: cluster ${cluster.name} exports no workload ${namespace}/${serviceAccount}`);
    }
    return workload;
}
