/**
 * "Who can pull from this registry?", answered from the documents
 * themselves, never from the config: the access matrix of a set of stack
 * states (the registry's and its clusters'), as JSON-able data, Markdown
 * tables and a Mermaid diagram.
 *
 * The same input serves `npm run plan` (mock runs written as state) and the
 * audit (`pulumi stack export` files): what a principal can pull is what the
 * deployed trust, role and repository policies, OIDC providers,
 * ServiceAccount annotations, Pod Identity associations and chained AWS
 * configs let it do, hop by hop (tools/report/evaluator.ts). What the
 * states do not hold (an adopted cluster's node role policies, its IAM OIDC
 * provider) is assumed, and the report says so.
 *
 * Pure: reads StackExport values, creates nothing, does no I/O.
 */
import {
    assumeRoleAllowed,
    managedPolicyDocument,
    MANAGED_POLICY_DOCUMENTS,
    OidcProviderDocuments,
    podIdentityServiceAllowed,
    podIdentityTags,
    pullAllowed,
    RepositoryDocuments,
    RoleDocuments,
    roleNameOf,
    Verdict,
    webIdentityAllowed,
} from "./evaluator";
import { nodePullTags, ROLE_ARN_ANNOTATION } from "../../components/cluster/plan";
import { issuerHostPath, partitionOfRegion, STS_AUDIENCE } from "../../components/iam/names";
import { organizationOfPath } from "../../components/iam/org-scope";
import { ExportedResource, StackExport } from "../state/stack-export";

/** How a principal pulls: the three service-account paths, and the kubelet with the node role. */
export type PullPath = "federation" | "chaining" | "podIdentity" | "node";
export const PULL_PATHS: readonly PullPath[] = ["federation", "chaining", "podIdentity", "node"];

/** Resource types that carry IAM or ECR policy and that the report reads; any other aws:iam/ or aws:ecr/ type fails it. */
const READ_TYPES = new Set([
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    "aws:ecr/repository:Repository",
    "aws:ecr/repositoryPolicy:RepositoryPolicy",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    // Replication copies images, and the stack's creation templates carry no repository policy: neither grants access.
    "aws:ecr/replicationConfiguration:ReplicationConfiguration",
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate",
]);

/** The managed policy an adopted cluster's node role is assumed to carry (docs/aws-facts.md, path 1; the README asks for it). */
export const ASSUMED_NODE_POLICY = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly";

/** Thrown when the states cannot be read as a registry and its clusters; names the file and what is wrong. */
export class AccessReportError extends Error {}

export interface ClusterFacts {
    /** The EKS stack's name (as in its state). */
    readonly stack: string;
    readonly account: string;
    readonly region: string;
    readonly name: string;
    readonly arn: string;
    readonly issuerUrl: string;
    readonly nodeRoleArns: readonly string[];
    /** False for a cluster the package adopted (no eks:index:Cluster in its state). */
    readonly created: boolean;
}

/** One way a pod or node gets credentials, as the documents set it up. */
export type Route =
    /** IRSA: the token is exchanged for `roleArn`; `chainTo` is the role a chained AWS config then assumes. */
    | { readonly kind: "irsa"; readonly roleArn: string; readonly chainTo?: string }
    /** EKS Pod Identity: the association's role, and its target role when it has one. */
    | { readonly kind: "podIdentity"; readonly roleArn: string; readonly targetRoleArn?: string }
    /** The kubelet, with the node role. */
    | { readonly kind: "node"; readonly roleArn: string };

/** A service account or node role of a cluster and the routes the states give it. */
export interface PrincipalRoutes {
    readonly cluster: ClusterFacts;
    readonly kind: "serviceAccount" | "node";
    readonly namespace?: string;
    readonly serviceAccount?: string;
    readonly nodeRoleArn?: string;
    readonly routes: readonly Route[];
}

/** Every document the report evaluates, read from the states. */
export interface FleetState {
    readonly registry: { readonly stack: string; readonly account: string; readonly region: string };
    readonly clusters: readonly ClusterFacts[];
    /** By ARN. */
    readonly roles: ReadonlyMap<string, RoleDocuments>;
    /** Sorted by name. */
    readonly repositories: readonly RepositoryDocuments[];
    readonly providers: readonly OidcProviderDocuments[];
    readonly principals: readonly PrincipalRoutes[];
    /** What is assumed because the states do not hold it. */
    readonly assumptions: readonly Assumption[];
}

/** Something the report takes for granted because no state holds it. */
export interface Assumption {
    /**
     * `node role policy`: an adopted cluster's node role is assumed to carry
     * AmazonEC2ContainerRegistryPullOnly; `oidc provider`: an adopted
     * cluster's account is assumed to have an IAM OIDC provider for its
     * issuer (the eks stack checks it at deploy time).
     */
    readonly kind: "node role policy" | "oidc provider";
    /** The EKS stack. */
    readonly stack: string;
    /** The node role's name, or the provider's account. */
    readonly subject: string;
}

/** What each kind of assumption means, for the Markdown. */
const ASSUMPTION_TEXT: Readonly<Record<Assumption["kind"], string>> = {
    "node role policy":
        "node roles not managed by this package (adopted clusters) are assumed to carry AmazonEC2ContainerRegistryPullOnly, and the node-pull tags of the organization-scoped grants their stack names (the eks stack checks them at deploy time)",
    "oidc provider":
        "adopted clusters' accounts are assumed to have an IAM OIDC provider for the cluster's issuer with the client ID sts.amazonaws.com (the eks stack checks it at deploy time)",
};

/** The verdict on one route and repository, with the path it takes and the roles on the way. */
export interface RouteVerdict extends Verdict {
    readonly path: PullPath;
    /** Role ARNs from the first the principal takes to the one that pulls. */
    readonly via: readonly string[];
}

const text = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);

/** A resource's value for a key as deployed: its outputs (refreshed from AWS) before its inputs. */
function field(resource: ExportedResource, key: string): unknown {
    return resource.outputs[key] ?? resource.inputs[key];
}

const record = (value: unknown): Record<string, unknown> =>
    value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : []);

function need<T>(value: T | undefined, source: string, what: string): T {
    if (value === undefined || value === null || (typeof value === "string" && value === "")) {
        throw new AccessReportError(`${source}: ${what}`);
    }
    return value;
}

/** Roles of one state by name, with their inline and attached policies. */
function readRoles(state: StackExport, account: string, partition: string, roles: Map<string, RoleDocuments>): void {
    const byName = new Map<string, { arn: string; trustPolicy: string; identityPolicies: { name: string; json: string }[]; tags?: Record<string, string> }>();
    for (const r of state.resources.filter((x) => x.type === "aws:iam/role:Role")) {
        const name = need(text(field(r, "name")), state.source, `the role ${r.urn} has no [name]; export the state after \`pulumi up\` has created it.`);
        const arn = text(r.outputs.arn) ?? `arn:${partition}:iam::${account}:role${text(field(r, "path")) ?? "/"}${name}`;
        const trustPolicy = need(text(field(r, "assumeRolePolicy")), state.source, `the role ${name} has no [assumeRolePolicy].`);
        const tags = record(field(r, "tags"));
        const role = {
            arn,
            trustPolicy,
            identityPolicies: [] as { name: string; json: string }[],
            ...(Object.keys(tags).length > 0 ? { tags: Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, String(v)])) } : {}),
        };
        byName.set(name, role);
        roles.set(arn, role);
    }
    const roleOf = (r: ExportedResource) => {
        const name = text(field(r, "role"));
        const role = name === undefined ? undefined : byName.get(name);
        if (!role) {
            throw new AccessReportError(`${state.source}: ${r.urn} names the role ${JSON.stringify(name)}, which is not in this state.`);
        }
        return role;
    };
    for (const r of state.resources.filter((x) => x.type === "aws:iam/rolePolicy:RolePolicy")) {
        roleOf(r).identityPolicies.push({
            name: `${String(field(r, "role"))}/${String(field(r, "name"))}`,
            json: need(text(field(r, "policy")), state.source, `${r.urn} has no [policy].`),
        });
    }
    for (const r of state.resources.filter((x) => x.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment")) {
        const policyArn = need(text(field(r, "policyArn")), state.source, `${r.urn} has no [policyArn].`);
        roleOf(r).identityPolicies.push({ name: policyArn, json: managedPolicyDocument(policyArn) });
    }
}

function checkTypes(state: StackExport): void {
    const unread = [...new Set(state.resources.filter((r) => /^aws:(iam|ecr|organizations)\//.test(r.type) && !READ_TYPES.has(r.type)).map((r) => r.type))];
    if (unread.length > 0) {
        throw new AccessReportError(`${state.source}: the access report cannot evaluate ${unread.sort().join(", ")} (it reads ${[...READ_TYPES].join(", ")}).`);
    }
}

/** `[profile a]` sections of an AWS config file, as key/value maps. */
function profilesOf(config: string): Map<string, Record<string, string>> {
    const profiles = new Map<string, Record<string, string>>();
    let current: Record<string, string> | undefined;
    for (const line of config.split("\n").map((l) => l.trim())) {
        const header = /^\[(?:profile\s+)?([^\]]+)\]$/.exec(line);
        if (header) {
            current = {};
            profiles.set(header[1].trim(), current);
        } else if (current && /^[\w.-]+\s*=/.test(line)) {
            const i = line.indexOf("=");
            current[line.slice(0, i).trim()] = line.slice(i + 1).trim();
        }
    }
    return profiles;
}

/** Chained profiles of a config: a web-identity source role and the role its dependent profile assumes. */
function chainsOf(config: string): { source: string; target: string }[] {
    const profiles = profilesOf(config);
    const chains: { source: string; target: string }[] = [];
    for (const profile of profiles.values()) {
        const source = profile.source_profile ? profiles.get(profile.source_profile) : undefined;
        if (source?.role_arn && source.web_identity_token_file && profile.role_arn) {
            chains.push({ source: source.role_arn, target: profile.role_arn });
        }
    }
    return chains;
}

/**
 * Where accounts sit in AWS Organizations, which no stack state holds: what
 * organization-scoped trusts check (`aws:PrincipalOrgID`, `aws:PrincipalOrgPaths`).
 */
export interface OrganizationFacts {
    /** The organization of an account whose path does not name one. */
    readonly id: string;
    /** An account's path, `o-…/r-…/ou-…/` (its organization first); undefined when the account is in no organization. */
    readonly pathOf: (account: string) => string | undefined;
}

export interface FleetStateOptions {
    /** Without it, no account is in an organization, and organization-scoped grants admit nobody. */
    readonly organization?: OrganizationFacts;
}

/**
 * Reads the documents of a registry state and its clusters' states. Fails
 * with a message naming the file for a state that lacks what the report
 * needs (an EKS state without the contract's outputs, an unknown policy type).
 */
export function readFleetState(registry: StackExport, clusters: readonly StackExport[], options: FleetStateOptions = {}): FleetState {
    const registryAccount = need(
        text(registry.outputs.registryAccountId),
        registry.source,
        "has no output [registryAccountId]; give the export of the ecr stack.",
    );
    const registryRegion = need(text(registry.outputs.region), registry.source, "has no output [region]; give the export of the ecr stack.");
    const roles = new Map<string, RoleDocuments>();
    const providers: OidcProviderDocuments[] = [];
    const assumptions: Assumption[] = [];
    checkTypes(registry);
    readRoles(registry, registryAccount, partitionOfRegion(registryRegion), roles);

    // A replica is a repository of the same name in another region (@pulumi/aws 7's per-resource
    // `region`): shown as "name (region)", with the policy of its own region.
    const regionOf = (r: ExportedResource) => text(field(r, "region")) ?? registryRegion;
    const repositories = registry.resources
        .filter((r) => r.type === "aws:ecr/repository:Repository")
        .map((r): RepositoryDocuments => {
            const name = need(text(field(r, "name")), registry.source, `the repository ${r.urn} has no [name].`);
            const region = regionOf(r);
            const policy = registry.resources.find(
                (p) => p.type === "aws:ecr/repositoryPolicy:RepositoryPolicy" && field(p, "repository") === name && regionOf(p) === region,
            );
            return {
                name: region === registryRegion ? name : `${name} (${region})`,
                arn: text(r.outputs.arn) ?? `arn:${partitionOfRegion(registryRegion)}:ecr:${region}:${registryAccount}:repository/${name}`,
                policy: policy ? need(text(field(policy, "policy")), registry.source, `${policy.urn} has no [policy].`) : undefined,
            };
        })
        .sort((a, b) => compare(a.name, b.name));
    const readProviders = (state: StackExport, account: string, partition: string) => {
        for (const r of state.resources.filter((x) => x.type === "aws:iam/openIdConnectProvider:OpenIdConnectProvider")) {
            const url = need(text(field(r, "url")), state.source, `the OIDC provider ${r.urn} has no [url].`);
            providers.push({
                arn: text(r.outputs.arn) ?? `arn:${partition}:iam::${account}:oidc-provider/${issuerHostPath(url)}`,
                url,
                clientIds: strings(field(r, "clientIdLists")),
            });
        }
    };
    readProviders(registry, registryAccount, partitionOfRegion(registryRegion));

    const facts: ClusterFacts[] = [];
    const principals: PrincipalRoutes[] = [];
    for (const state of [...clusters].sort((a, b) => compare(a.stack, b.stack))) {
        checkTypes(state);
        const missing = (key: string) => `has no output [${key}]; give the export of an eks stack deployed by this package.`;
        const account = need(text(state.outputs.accountId), state.source, missing("accountId"));
        const region = need(text(state.outputs.region), state.source, missing("region"));
        const partition = partitionOfRegion(region);
        const managedCluster = state.resources.find((r) => r.type === "eks:index:Cluster");
        const cluster: ClusterFacts = {
            stack: state.stack,
            account,
            region,
            name: need(text(state.outputs.clusterName), state.source, missing("clusterName")),
            arn: need(text(state.outputs.clusterArn), state.source, missing("clusterArn")),
            issuerUrl: need(text(state.outputs.oidcIssuerUrl), state.source, missing("oidcIssuerUrl")),
            nodeRoleArns: [...((state.outputs.nodeRoleArns as string[] | undefined) ?? [])].sort(),
            created: managedCluster !== undefined,
        };
        facts.push(cluster);
        readRoles(state, account, partition, roles);
        readProviders(state, account, partition);
        const providerArn = text(managedCluster?.outputs.oidcProviderArn);
        if (providerArn) {
            // @pulumi/eks creates the cluster's provider with the client ID sts.amazonaws.com.
            providers.push({ arn: providerArn, url: cluster.issuerUrl, clientIds: [STS_AUDIENCE] });
        }

        const chains = new Map<string, { source: string; target: string }[]>();
        for (const r of state.resources.filter((x) => x.type === "kubernetes:core/v1:ConfigMap")) {
            const config = text(record(field(r, "data")).config);
            if (config) {
                const namespace = text(record(field(r, "metadata")).namespace) ?? "default";
                chains.set(namespace, [...(chains.get(namespace) ?? []), ...chainsOf(config)]);
            }
        }
        const accounts = new Map<string, { namespace: string; serviceAccount: string; routes: Route[] }>();
        const accountOf = (namespace: string, serviceAccount: string) => {
            const key = `${namespace}/${serviceAccount}`;
            if (!accounts.has(key)) {
                accounts.set(key, { namespace, serviceAccount, routes: [] });
            }
            return accounts.get(key)!;
        };
        // A ServiceAccount that existed before the stack is patched, not created (existingServiceAccount): same annotation.
        for (const r of state.resources.filter((x) => x.type === "kubernetes:core/v1:ServiceAccount" || x.type === "kubernetes:core/v1:ServiceAccountPatch")) {
            const metadata = record(field(r, "metadata"));
            const entry = accountOf(text(metadata.namespace) ?? "default", need(text(metadata.name), state.source, `${r.urn} has no [metadata.name].`));
            const roleArn = text(record(metadata.annotations)[ROLE_ARN_ANNOTATION]);
            if (roleArn) {
                entry.routes.push({ kind: "irsa", roleArn });
            }
            // A chained profile in the namespace: any pod there may mount the ConfigMap and its own
            // token (pod-settings.ts); whether the token opens the source role is the trust's to say.
            for (const chain of chains.get(entry.namespace) ?? []) {
                entry.routes.push({ kind: "irsa", roleArn: chain.source, chainTo: chain.target });
            }
        }
        for (const r of state.resources.filter((x) => x.type === "aws:eks/podIdentityAssociation:PodIdentityAssociation")) {
            if (field(r, "clusterName") !== cluster.name) {
                throw new AccessReportError(
                    `${state.source}: the Pod Identity association ${r.urn} is for the cluster ${JSON.stringify(field(r, "clusterName"))}, not ${cluster.name}.`,
                );
            }
            const missing = (key: string) => `${r.urn} has no [${key}].`;
            accountOf(
                need(text(field(r, "namespace")), state.source, missing("namespace")),
                need(text(field(r, "serviceAccount")), state.source, missing("serviceAccount")),
            ).routes.push({
                kind: "podIdentity",
                roleArn: need(text(field(r, "roleArn")), state.source, missing("roleArn")),
                targetRoleArn: text(field(r, "targetRoleArn")),
            });
        }
        for (const entry of [...accounts.values()].sort((a, b) => compare(`${a.namespace}/${a.serviceAccount}`, `${b.namespace}/${b.serviceAccount}`))) {
            principals.push({ cluster, kind: "serviceAccount", namespace: entry.namespace, serviceAccount: entry.serviceAccount, routes: entry.routes });
        }

        // An adopted cluster's IAM OIDC provider lives outside the state; the EKS stack checked it exists when a chained grant needs it.
        const ownIrsaRoles = principals.some((p) => p.cluster === cluster && p.routes.some((r) => r.kind === "irsa" && r.roleArn.split(":")[4] === account));
        if (ownIrsaRoles && !providers.some((p) => p.arn.split(":")[4] === account && issuerHostPath(p.url) === issuerHostPath(cluster.issuerUrl))) {
            providers.push({
                arn: `arn:${partition}:iam::${account}:oidc-provider/${issuerHostPath(cluster.issuerUrl)}`,
                url: cluster.issuerUrl,
                clientIds: [STS_AUDIENCE],
            });
            assumptions.push({ kind: "oidc provider", stack: cluster.stack, subject: account });
        }
        // The node-pull tags of organization-scoped grants: a node role the stack created has them
        // in its state; an adopted one was checked for them at deploy time (output nodePullGrants).
        const nodePullGrants = strings(state.outputs.nodePullGrants);
        for (const nodeRoleArn of cluster.nodeRoleArns) {
            if (!roles.has(nodeRoleArn)) {
                roles.set(nodeRoleArn, {
                    arn: nodeRoleArn,
                    trustPolicy: JSON.stringify({ Version: "2012-10-17", Statement: [] }),
                    identityPolicies: [{ name: ASSUMED_NODE_POLICY, json: MANAGED_POLICY_DOCUMENTS[ASSUMED_NODE_POLICY] }],
                    assumed: "AmazonEC2ContainerRegistryPullOnly",
                    tags: nodePullTags(nodePullGrants),
                });
                assumptions.push({ kind: "node role policy", stack: cluster.stack, subject: roleNameOf(nodeRoleArn) });
            }
            principals.push({ cluster, kind: "node", nodeRoleArn, routes: [{ kind: "node", roleArn: nodeRoleArn }] });
        }
    }
    // Organization membership and node credentials, which no state holds: given, never guessed.
    const organization = options.organization;
    if (organization) {
        for (const [arn, role] of roles) {
            const path = organization.pathOf(arn.split(":")[4]);
            if (path !== undefined) {
                // The path names the account's own organization, which may be another than the registry's.
                roles.set(arn, { ...role, organization: { id: organizationOfPath(path) ?? organization.id, path } });
            }
        }
    }
    // The kubelet pulls with the node role's EC2 instance credentials (aws:Ec2InstanceSourceVpc).
    for (const p of principals.filter((x) => x.kind === "node")) {
        const role = roles.get(p.nodeRoleArn!)!;
        roles.set(p.nodeRoleArn!, { ...role, instanceVpc: role.instanceVpc ?? "vpc-of-the-node" });
    }
    return {
        registry: { stack: registry.stack, account: registryAccount, region: registryRegion },
        clusters: facts,
        roles,
        repositories,
        providers,
        principals,
        assumptions,
    };
}

/**
 * Walks one route to one repository: every hop must be allowed by the
 * documents (token or session into each role, then the pull itself).
 * `repository` may be any repository, granted or not: denied ones say why.
 */
export function evaluateRoute(
    fleet: FleetState,
    principal: Pick<PrincipalRoutes, "cluster" | "namespace" | "serviceAccount">,
    route: Route,
    repository: RepositoryDocuments,
): RouteVerdict {
    return finishRoute(fleet, startRoute(fleet, principal, route), repository);
}

interface RouteStart {
    readonly path: PullPath;
    readonly via: readonly string[];
    /** Why the principal never reaches the pulling role; undefined when it does. */
    readonly failure?: string;
}

/** The hops before the pull: the same for every repository, so computed once per route. */
function startRoute(fleet: FleetState, principal: Pick<PrincipalRoutes, "cluster" | "namespace" | "serviceAccount">, route: Route): RouteStart {
    const role = (arn: string) => fleet.roles.get(arn);
    const missing = (arn: string) => `the role ${arn} is in none of the states`;
    const { cluster, namespace = "", serviceAccount = "" } = principal;
    if (route.kind === "node") {
        return { path: "node", via: [route.roleArn], failure: role(route.roleArn) ? undefined : missing(route.roleArn) };
    }
    const first = role(route.roleArn);
    const second = route.kind === "irsa" ? route.chainTo : route.targetRoleArn;
    const path: PullPath = route.kind === "podIdentity" ? "podIdentity" : second ? "chaining" : "federation";
    const via = second ? [route.roleArn, second] : [route.roleArn];
    if (!first) {
        return { path, via, failure: missing(route.roleArn) };
    }
    const entry: Verdict =
        route.kind === "irsa"
            ? webIdentityAllowed(first, fleet.providers, cluster.issuerUrl, namespace, serviceAccount)
            : podIdentityServiceAllowed(first, cluster.arn, namespace, serviceAccount);
    if (!entry.allowed) {
        return { path, via, failure: entry.reason };
    }
    if (second) {
        const target = role(second);
        if (!target) {
            return { path, via, failure: missing(second) };
        }
        // Pod Identity passes the pod's session tags on to the target role (transitive tags).
        const hop = assumeRoleAllowed(first, target, route.kind === "podIdentity" ? podIdentityTags(cluster.arn, namespace, serviceAccount) : undefined);
        if (!hop.allowed) {
            return { path, via, failure: hop.reason };
        }
    }
    return { path, via };
}

function finishRoute(fleet: FleetState, start: RouteStart, repository: RepositoryDocuments): RouteVerdict {
    if (start.failure !== undefined) {
        return { allowed: false, reason: start.failure, path: start.path, via: start.via };
    }
    const puller = fleet.roles.get(start.via[start.via.length - 1])!;
    return { ...pullAllowed(puller, repository), path: start.path, via: start.via };
}

// ---- The report ---------------------------------------------------------------------

/** One repository a principal can pull, and how. */
export interface AccessEntry {
    readonly repository: string;
    readonly path: PullPath;
    /** Role ARNs from the first the principal takes to the one that pulls. */
    readonly via: readonly string[];
}

export interface PrincipalAccess {
    /** The EKS stack of the cluster. */
    readonly cluster: string;
    readonly clusterName: string;
    readonly account: string;
    readonly kind: "serviceAccount" | "node";
    readonly namespace?: string;
    readonly serviceAccount?: string;
    readonly nodeRoleArn?: string;
    /** Sorted by repository, then path. */
    readonly access: readonly AccessEntry[];
}

export interface AccessReport {
    readonly registry: { readonly stack: string; readonly account: string; readonly region: string };
    readonly clusters: readonly Omit<ClusterFacts, "nodeRoleArns">[];
    readonly repositories: readonly string[];
    /** Every service account and node role of the clusters, sorted by cluster, kind, name: also those that can pull nothing. */
    readonly principals: readonly PrincipalAccess[];
    /** (principal, repository) pairs allowed, by path. */
    readonly totals: Readonly<Record<PullPath, number>>;
    /** Repositories no principal of these clusters can pull. */
    readonly unreachable: readonly string[];
    readonly assumptions: readonly Assumption[];
}

/** The access matrix: every principal of the clusters against every repository of the registry, evaluated from the documents. */
export function accessReport(fleet: FleetState): AccessReport {
    const totals: Record<PullPath, number> = { federation: 0, chaining: 0, podIdentity: 0, node: 0 };
    const reached = new Set<string>();
    // Many principals end at the same pulling role: what it can pull is evaluated once.
    const pullable = new Map<string, RepositoryDocuments[]>();
    const pullableBy = (arn: string) => {
        if (!pullable.has(arn)) {
            const role = fleet.roles.get(arn)!;
            pullable.set(
                arn,
                fleet.repositories.filter((repository) => pullAllowed(role, repository).allowed),
            );
        }
        return pullable.get(arn)!;
    };
    const principals = fleet.principals.map((p): PrincipalAccess => {
        const access = new Map<string, AccessEntry>();
        for (const route of p.routes) {
            const start = startRoute(fleet, p, route);
            if (start.failure !== undefined) {
                continue;
            }
            for (const repository of pullableBy(start.via[start.via.length - 1])) {
                access.set(`${repository.name}\u0000${start.path}\u0000${start.via.join(",")}`, {
                    repository: repository.name,
                    path: start.path,
                    via: start.via,
                });
            }
        }
        const entries = [...access.values()].sort(
            (a, b) => compare(a.repository, b.repository) || compare(a.path, b.path) || compare(a.via.join(), b.via.join()),
        );
        for (const e of entries) {
            totals[e.path]++;
            reached.add(e.repository);
        }
        return {
            cluster: p.cluster.stack,
            clusterName: p.cluster.name,
            account: p.cluster.account,
            kind: p.kind,
            ...(p.kind === "serviceAccount" ? { namespace: p.namespace, serviceAccount: p.serviceAccount } : { nodeRoleArn: p.nodeRoleArn }),
            access: entries,
        };
    });
    return {
        registry: fleet.registry,
        clusters: fleet.clusters.map(({ nodeRoleArns: _nodeRoles, ...c }) => c),
        repositories: fleet.repositories.map((r) => r.name),
        principals,
        totals,
        unreachable: fleet.repositories.map((r) => r.name).filter((name) => !reached.has(name)),
        assumptions: fleet.assumptions,
    };
}

function compare(a: string, b: string): number {
    return a < b ? -1 : a > b ? 1 : 0;
}

// ---- Markdown -------------------------------------------------------------------------

export interface MarkdownOptions {
    /** Rows of the principal table before the rest is summarised (default 100). */
    readonly maxRows?: number;
    /** Clusters named in one row before "and N more" (default 3). */
    readonly maxClustersPerRow?: number;
    /** Repositories named in one cell before "and N more" (default 6). */
    readonly maxRepositoriesPerCell?: number;
}

function some(items: readonly string[], max: number): string {
    return items.length <= max ? items.join(", ") : `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}

const principalLabel = (p: PrincipalAccess) => (p.kind === "node" ? `node role ${roleNameOf(p.nodeRoleArn!)}` : `${p.namespace}/${p.serviceAccount}`);
const count = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;

/**
 * The report as Markdown that reads in a pull-request comment and in a
 * terminal. Large fleets stay readable: rows are grouped by what they grant
 * (the same service account with the same path, roles and repositories in
 * many clusters is one row naming the first clusters and counting the rest;
 * node roles with the same repositories likewise), cells name a few items
 * and count the rest, and past `maxRows` the table stops and says how many
 * rows the JSON (`--json`) has. A per-repository table gives the counts.
 */
export function renderMarkdown(report: AccessReport, options: MarkdownOptions = {}): string {
    const maxRows = options.maxRows ?? 100;
    const maxClusters = options.maxClustersPerRow ?? 3;
    const maxRepositories = options.maxRepositoriesPerCell ?? 6;
    const lines: string[] = [];
    const accounts = [...new Set(report.clusters.map((c) => c.account))];
    const withAccess = report.principals.filter((p) => p.access.length > 0);
    // Clusters by their own names; the stack beside a name two clusters share.
    const shared = new Set(report.clusters.map((c) => c.name).filter((name, i, all) => all.indexOf(name) !== i));
    const clusterLabel = (p: PrincipalAccess) => (shared.has(p.clusterName) ? `${p.clusterName} (${p.cluster})` : p.clusterName);
    lines.push(
        `Registry account ${report.registry.account} (${report.registry.region}, stack ${report.registry.stack}): ${count(report.repositories.length, "repository", "repositories")}; ` +
            `${count(report.clusters.length, "cluster")} in ${count(accounts.length, "account")}; ` +
            `${count(withAccess.length, "principal")} of ${report.principals.length} can pull. Allowed (principal, repository) pairs by path: ` +
            PULL_PATHS.map((p) => `${p} ${report.totals[p].toLocaleString("en-US")}`).join(", ") +
            ".",
        "",
    );

    // One row per (principal, path, roles, repositories), clusters grouped.
    const groups = new Map<string, { label: string; path: string; through: string; repositories: string[]; clusters: string[]; nodeRoles: Set<string> }>();
    for (const p of report.principals) {
        const byRoute = new Map<string, { path: PullPath; via: readonly string[]; repositories: string[] }>();
        for (const e of p.access) {
            const key = `${e.path}\u0000${e.via.join(",")}`;
            byRoute.set(key, byRoute.get(key) ?? { path: e.path, via: e.via, repositories: [] });
            byRoute.get(key)!.repositories.push(e.repository);
        }
        if (p.access.length === 0) {
            byRoute.set("none", { path: "node", via: [], repositories: [] });
        }
        for (const [routeKey, route] of byRoute) {
            const none = routeKey === "none";
            // Node roles differ per cluster by name; what they can pull is what matters across a fleet.
            const through = none ? "-" : p.kind === "node" ? "repository policy" : route.via.map(roleNameOf).join(" -> ");
            const label = p.kind === "node" ? "node role" : principalLabel(p);
            const key = [label, none ? "" : route.path, through, route.repositories.join(",")].join("\u0000");
            const group = groups.get(key) ?? {
                label,
                path: none ? "-" : route.path,
                through,
                repositories: route.repositories,
                clusters: [],
                nodeRoles: new Set<string>(),
            };
            group.clusters.push(clusterLabel(p));
            if (p.nodeRoleArn) {
                group.nodeRoles.add(roleNameOf(p.nodeRoleArn));
            }
            groups.set(key, group);
        }
    }
    const nodeLast = (label: string) => (label === "node role" ? 1 : 0);
    const rows = [...groups.values()].sort(
        (a, b) =>
            compare(a.clusters[0], b.clusters[0]) ||
            nodeLast(a.label) - nodeLast(b.label) ||
            compare(a.label, b.label) ||
            compare(a.path, b.path) ||
            compare(a.through, b.through),
    );
    lines.push("| cluster | principal | path | through | repositories |", "| --- | --- | --- | --- | --- |");
    for (const row of rows.slice(0, maxRows)) {
        const label =
            row.label === "node role" ? (row.nodeRoles.size === 1 ? `node role ${[...row.nodeRoles][0]}` : `node roles (${row.nodeRoles.size})`) : row.label;
        const repositories = row.repositories.length === 0 ? "none" : some(row.repositories, maxRepositories);
        lines.push(`| ${some([...new Set(row.clusters)], maxClusters)} | ${label} | ${row.path} | ${row.through} | ${repositories} |`);
    }
    if (rows.length > maxRows) {
        lines.push("", `${count(rows.length - maxRows, "more row")} not shown; \`--json\` has every principal.`);
    }

    lines.push("", "| repository | federation | chaining | podIdentity | node | clusters |", "| --- | ---: | ---: | ---: | ---: | ---: |");
    for (const repository of report.repositories.slice(0, maxRows)) {
        const byPath: Record<PullPath, number> = { federation: 0, chaining: 0, podIdentity: 0, node: 0 };
        const clusters = new Set<string>();
        for (const p of report.principals) {
            const paths = new Set(p.access.filter((e) => e.repository === repository).map((e) => e.path));
            for (const path of paths) {
                byPath[path]++;
                clusters.add(p.cluster);
            }
        }
        const cell = (n: number) => (n === 0 ? "-" : String(n));
        lines.push(`| ${repository} | ${PULL_PATHS.map((p) => cell(byPath[p])).join(" | ")} | ${cell(clusters.size)} |`);
    }
    if (report.repositories.length > maxRows) {
        lines.push("", `${count(report.repositories.length - maxRows, "more repository", "more repositories")} not shown; \`--json\` has them all.`);
    }
    lines.push("", "Counts are principals (service accounts, node roles); a repository with no principal can be pulled from its own account only.");
    if (report.unreachable.length > 0) {
        lines.push("", `No principal of these clusters can pull: ${some(report.unreachable, maxRows)}.`);
    }
    if (report.assumptions.length > 0) {
        lines.push("", "Assumed (not in the documents):");
        for (const kind of Object.keys(ASSUMPTION_TEXT) as Assumption["kind"][]) {
            const which = report.assumptions.filter((a) => a.kind === kind).map((a) => (kind === "node role policy" ? `${a.subject} (${a.stack})` : a.stack));
            if (which.length > 0) {
                lines.push(`- ${ASSUMPTION_TEXT[kind]}: ${some(which, maxClusters)}.`);
            }
        }
    }
    return lines.join("\n");
}

// ---- Mermaid ----------------------------------------------------------------------------

export interface MermaidOptions {
    /** Edges before the diagram is drawn per account instead of per cluster (default 120). */
    readonly maxEdges?: number;
}

const quote = (label: string) => `"${label.replace(/"/g, "#quot;")}"`;

/**
 * A Mermaid `flowchart` of accounts (subgraphs), clusters, roles and
 * repositories, with an edge for every hop the report found allowed. Past
 * `maxEdges` it is drawn per account instead (clusters of an account as one
 * node, edges counted), so that a large fleet still renders.
 */
export function renderMermaid(report: AccessReport, options: MermaidOptions = {}): string {
    const detailed = mermaidGraph(report);
    return detailed.edges <= (options.maxEdges ?? 120) ? detailed.text : mermaidByAccount(report);
}

/**
 * The diagram of a large fleet: one node per cluster account (its clusters
 * and node roles counted), one per pull role (its repositories counted), and
 * edges from accounts to the pull roles their service accounts end at, by
 * path, and to the repositories their node roles pull.
 */
function mermaidByAccount(report: AccessReport): string {
    const lines = ["flowchart LR"];
    const registry = report.registry.account;
    const accounts = [...new Set(report.clusters.map((c) => c.account))].sort();
    const pullRoles = new Map<string, Set<string>>();
    const edges = new Map<string, Set<string>>(); // "account|role|path" -> principals
    const nodePulls = new Map<string, Set<string>>(); // account -> repositories
    for (const p of report.principals) {
        for (const e of p.access) {
            if (e.path === "node") {
                nodePulls.set(p.account, (nodePulls.get(p.account) ?? new Set()).add(e.repository));
                continue;
            }
            const puller = e.via[e.via.length - 1];
            pullRoles.set(puller, (pullRoles.get(puller) ?? new Set()).add(e.repository));
            const key = `${p.account}|${puller}|${e.path}`;
            edges.set(key, (edges.get(key) ?? new Set()).add(`${p.cluster}/${p.namespace}/${p.serviceAccount}`));
        }
    }
    accounts.forEach((account, i) => {
        const clusters = report.clusters.filter((c) => c.account === account).length;
        const nodeRoles = report.principals.filter((p) => p.account === account && p.kind === "node").length;
        lines.push(
            `  subgraph a${i}[${quote(`Cluster account ${account}`)}]`,
            `    c${i}[${quote(`${count(clusters, "cluster")}<br/>${count(nodeRoles, "node role")}`)}]`,
            "  end",
        );
    });
    const roles = [...pullRoles.keys()].sort();
    lines.push(`  subgraph r[${quote(`Registry account ${registry}`)}]`);
    roles.forEach((arn, i) =>
        lines.push(`    p${i}[${quote(`role ${roleNameOf(arn)}<br/>${count(pullRoles.get(arn)!.size, "repository", "repositories")}`)}]`),
    );
    if (nodePulls.size > 0) {
        lines.push(`    nodes[(${quote(`${count(report.repositories.length, "repository", "repositories")}`)})]`);
    }
    lines.push("  end");
    for (const [key, principals] of [...edges].sort(([a], [b]) => compare(a, b))) {
        const [account, role, path] = key.split("|");
        lines.push(`  c${accounts.indexOf(account)} -->|${quote(`${path}: ${count(principals.size, "service account")}`)}| p${roles.indexOf(role)}`);
    }
    for (const [account, repositories] of [...nodePulls].sort(([a], [b]) => compare(a, b))) {
        lines.push(`  c${accounts.indexOf(account)} -->|${quote(`node: ${count(repositories.size, "repository", "repositories")}`)}| nodes`);
    }
    return lines.join("\n");
}

function mermaidGraph(report: AccessReport): { text: string; edges: number } {
    const ids = new Map<string, string>();
    const id = (key: string) => {
        if (!ids.has(key)) {
            ids.set(key, `n${ids.size}`);
        }
        return ids.get(key)!;
    };
    // Edges by (from, to): the path and the service accounts that take it, in insertion order for stable output.
    const edges = new Map<string, { from: string; to: string; path?: string; accounts: string[] }>();
    const edge = (from: string, to: string, path?: string, account?: string) => {
        const key = `${from}>${to}`;
        const e = edges.get(key) ?? { from, to, path, accounts: [] };
        if (account && !e.accounts.includes(account)) {
            e.accounts.push(account);
        }
        edges.set(key, e);
    };
    const clusterNode = (p: PrincipalAccess) => `cluster:${p.cluster}`;
    const roleNodes = new Map<string, Set<string>>(); // account -> role ARNs
    const addRole = (arn: string) => {
        const account = arn.split(":")[4];
        roleNodes.set(account, (roleNodes.get(account) ?? new Set()).add(arn));
    };
    for (const p of report.principals) {
        for (const e of p.access) {
            if (e.path === "node") {
                addRole(e.via[0]);
                edge(`role:${e.via[0]}`, `repo:${e.repository}`, "node");
                continue;
            }
            e.via.forEach(addRole);
            edge(clusterNode(p), `role:${e.via[0]}`, e.path, `${p.namespace}/${p.serviceAccount}`);
            for (let i = 1; i < e.via.length; i++) {
                edge(`role:${e.via[i - 1]}`, `role:${e.via[i]}`);
            }
            edge(`role:${e.via[e.via.length - 1]}`, `repo:${e.repository}`);
        }
    }
    const lines = ["flowchart LR"];
    const registry = report.registry.account;
    const accounts = [...new Set(report.clusters.map((c) => c.account))].sort();
    const nodeRoles = new Set(report.principals.flatMap((p) => (p.nodeRoleArn ? [p.nodeRoleArn] : [])));
    for (const account of accounts) {
        lines.push(`  subgraph ${id(`acct:${account}`)}[${quote(`Cluster account ${account}`)}]`);
        const clusters = report.clusters.filter((c) => c.account === account);
        for (const c of clusters) {
            lines.push(`    ${id(`cluster:${c.stack}`)}[${quote(`cluster ${c.name}<br/>stack ${c.stack}`)}]`);
        }
        for (const arn of [...(roleNodes.get(account) ?? [])].sort()) {
            const isNode = nodeRoles.has(arn);
            lines.push(`    ${id(`role:${arn}`)}[${quote(`${isNode ? "node role" : "role"} ${roleNameOf(arn)}`)}]`);
        }
        lines.push("  end");
    }
    lines.push(`  subgraph ${id(`acct:${registry}`)}[${quote(`Registry account ${registry}`)}]`);
    for (const arn of [...(roleNodes.get(registry) ?? [])].sort()) {
        lines.push(`    ${id(`role:${arn}`)}[${quote(`role ${roleNameOf(arn)}`)}]`);
    }
    for (const repository of report.repositories) {
        lines.push(`    ${id(`repo:${repository}`)}[(${quote(repository)})]`);
    }
    lines.push("  end");
    for (const e of edges.values()) {
        const who = e.accounts.length === 0 ? "" : `: ${some(e.accounts, 3)}`;
        const label = e.path ? `|${quote(`${e.path}${who}`)}|` : "";
        lines.push(`  ${id(e.from)} -->${label} ${id(e.to)}`);
    }
    return { text: lines.join("\n"), edges: edges.size };
}
