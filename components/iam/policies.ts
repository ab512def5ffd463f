/**
 * IAM and ECR policy documents as typed data, and their one serialisation.
 *
 * AWS returns policy JSON reordered; a program that emits statements,
 * principals or actions in a varying order shows a diff on every preview and
 * rewrites the policy forever (docs/aws-facts.md: pulumi/pulumi-aws#2491,
 * crossplane-contrib/provider-aws#700). So every document goes through
 * `serializePolicy`, which sorts and de-duplicates every list, drops empty
 * fields and writes keys in a fixed order: the same intent always gives the
 * same bytes.
 */
import { accountIdOfArn, accountRootArn, issuerHostPath, STS_AUDIENCE } from "./names";
import { EC2_INSTANCE_CREDENTIALS_KEY, nodePullTagKey, NODE_PULL_TAG_VALUE, OrganizationScope, orgRoleArnPattern, orgScopeCondition } from "./org-scope";
import { createHash } from "crypto";

/** The read-only actions a cross-account grant carries for pulls, and nothing more (docs/aws-facts.md). */
export const ECR_PULL_ACTIONS: readonly string[] = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];

/**
 * What pulling an image calls: the manifest (BatchGetImage) and each layer
 * (GetDownloadUrlForLayer). `ecr:BatchCheckLayerAvailability` is not among
 * them: AWS's own `AmazonEC2ContainerRegistryPullOnly`, made for nodes that
 * pull, leaves it out.
 */
export const ECR_IMAGE_PULL_CALLS: readonly string[] = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];

/** Cannot be scoped to a repository: identity policy only, resource `*` (docs/aws-facts.md). */
export const ECR_AUTH_TOKEN_ACTION = "ecr:GetAuthorizationToken";

/** Defaults from the IAM and ECR quota pages (docs/aws-facts.md). */
export const POLICY_LIMITS = {
    trustPolicy: 2048,
    inlineRolePolicies: 10240,
    repositoryPolicy: 10240,
    lifecyclePolicy: 30720,
} as const;

/** Written in this order by `serializePolicy` (operators sorted by name), whatever order a document gives them in. */
export type ConditionOperator = "StringEquals" | "StringLike" | "ArnEquals" | "ArnLike" | "ArnNotLike" | "ForAnyValue:StringLike" | "Null";

export interface Principal {
    readonly AWS?: readonly string[];
    readonly Federated?: readonly string[];
    readonly Service?: readonly string[];
}

export interface PolicyStatement {
    /** Alphanumeric and stable: derived from what the statement is for, never from its position. */
    readonly Sid: string;
    readonly Effect: "Allow" | "Deny";
    readonly Principal?: Principal;
    readonly Action: readonly string[];
    readonly Resource?: readonly string[];
    readonly Condition?: Partial<Record<ConditionOperator, Record<string, readonly string[]>>>;
}

export interface PolicyDocument {
    readonly Version: "2012-10-17";
    readonly Statement: readonly PolicyStatement[];
}

/** True for a service-account pattern: IAM's StringLike wildcards. */
export const isPattern = (value: string): boolean => /[*?]/.test(value);

const sortedUnique = (values: readonly string[]): string[] => [...new Set(values)].sort();

/** One value is written as a string, several as a sorted array: the form AWS itself returns. */
const compact = (values: readonly string[]): string | string[] => {
    const unique = sortedUnique(values);
    return unique.length === 1 ? unique[0] : unique;
};

function canonicalPrincipal(principal: Principal): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const kind of ["AWS", "Federated", "Service"] as const) {
        const values = principal[kind];
        if (values && values.length > 0) {
            out[kind] = compact(values);
        }
    }
    return out;
}

function canonicalCondition(condition: PolicyStatement["Condition"]): Record<string, Record<string, string | string[]>> | undefined {
    if (!condition) {
        return undefined;
    }
    const out: Record<string, Record<string, string | string[]>> = {};
    for (const operator of Object.keys(condition).sort() as ConditionOperator[]) {
        const keys = condition[operator] ?? {};
        const block: Record<string, string | string[]> = {};
        for (const key of Object.keys(keys).sort()) {
            // Dropping an empty condition would widen the statement (an account
            // root principal would then admit every role of the account).
            if (keys[key].length === 0) {
                throw new Error(`Condition ${operator} on ${key} has no values; a condition that matches nothing must not be dropped.`);
            }
            block[key] = compact(keys[key]);
        }
        if (Object.keys(block).length > 0) {
            out[operator] = block;
        }
    }
    return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The canonical JSON text of a policy: statements sorted by Sid, every list
 * sorted and de-duplicated, keys in a fixed order, no white space.
 * Throws when two statements share a Sid, which would make the order ambiguous.
 */
export function serializePolicy(document: PolicyDocument): string {
    const sids = document.Statement.map((s) => s.Sid);
    const duplicate = sids.find((sid, i) => sids.indexOf(sid) !== i);
    if (duplicate !== undefined) {
        throw new Error(`Policy statements must have distinct Sids; "${duplicate}" appears twice.`);
    }
    const statements = [...document.Statement]
        .sort((a, b) => (a.Sid < b.Sid ? -1 : a.Sid > b.Sid ? 1 : 0))
        .map((s) => ({
            Sid: s.Sid,
            Effect: s.Effect,
            Principal: s.Principal ? canonicalPrincipal(s.Principal) : undefined,
            Action: compact(s.Action),
            Resource: s.Resource ? compact(s.Resource) : undefined,
            Condition: canonicalCondition(s.Condition),
        }));
    return JSON.stringify({ Version: document.Version, Statement: statements });
}

/** The length AWS checks against a policy quota: white space is not counted (IAM quotas page). */
export function policySize(json: string): number {
    return json.replace(/\s/g, "").length;
}

/** A short stable suffix for Sids that must tell clusters apart (alphanumeric, as IAM requires). */
export function sidSuffix(text: string): string {
    return createHash("sha256").update(text).digest("hex").slice(0, 10).toUpperCase();
}

// ---- Trust policies --------------------------------------------------------

/** The service accounts of one cluster that may assume a pull role through its issuer. */
export interface FederatedTrustEntry {
    /** ARN of the registry account's OIDC provider for this issuer. */
    readonly providerArn: string;
    readonly issuerUrl: string;
    /** `system:serviceaccount:<namespace>:<name>` values. */
    readonly subjects: readonly string[];
}

/**
 * IRSA federated straight into the registry account (docs/aws-facts.md, path 2): one
 * statement per issuer, pinning `sub` to exactly the listed service accounts
 * and `aud` to STS. A trust without these conditions would let every service
 * account of the cluster in, so an entry without subjects is refused here.
 */
export function webIdentityTrustPolicy(entries: readonly FederatedTrustEntry[]): PolicyDocument {
    if (entries.length === 0) {
        throw new Error("A web-identity trust policy needs at least one issuer with service accounts.");
    }
    return {
        Version: "2012-10-17",
        Statement: entries.map((entry) => {
            if (entry.subjects.length === 0) {
                throw new Error(
                    `The trust for issuer ${entry.issuerUrl} names no service account; a trust without a sub condition would admit the whole cluster.`,
                );
            }
            const issuer = issuerHostPath(entry.issuerUrl);
            // A pattern (`*`, `?`) needs StringLike; exact subjects keep StringEquals, where `*` is no wildcard.
            const patterned = entry.subjects.some(isPattern);
            return {
                Sid: `Irsa${sidSuffix(issuer)}`,
                Effect: "Allow" as const,
                Principal: { Federated: [entry.providerArn] },
                Action: ["sts:AssumeRoleWithWebIdentity"],
                Condition: patterned
                    ? { StringEquals: { [`${issuer}:aud`]: [STS_AUDIENCE] }, StringLike: { [`${issuer}:sub`]: entry.subjects } }
                    : { StringEquals: { [`${issuer}:aud`]: [STS_AUDIENCE], [`${issuer}:sub`]: entry.subjects } },
            };
        }),
    };
}

/**
 * Role chaining (docs/aws-facts.md, path 3): the pull role trusts exactly the
 * cluster-account IRSA roles, with `sts:AssumeRole` and nothing wider. The
 * principal is each role's account root narrowed by `aws:PrincipalArn`, so a
 * role that does not exist yet does not make IAM refuse the trust, and a
 * re-created role is trusted again by its ARN.
 */
export function chainingTrustPolicy(partition: string, roleArns: readonly string[]): PolicyDocument {
    if (roleArns.length === 0) {
        throw new Error("A chaining trust policy needs at least one cluster-account role.");
    }
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ChainFromClusterRoles",
                Effect: "Allow",
                Principal: { AWS: roleArns.map((arn) => accountRootArn(partition, accountOf(arn))) },
                Action: ["sts:AssumeRole"],
                Condition: { ArnEquals: { "aws:PrincipalArn": roleArns } },
            },
        ],
    };
}

/** The Pod Identity sessions of one cluster that may reach a pull role (path 4). */
export interface PodIdentityTrustEntry {
    readonly clusterArn: string;
    /** The cluster-account role of the association. */
    readonly roleArns: readonly string[];
    readonly serviceAccounts: readonly { readonly namespace: string; readonly name: string }[];
}

/** Session tags EKS Pod Identity sets (EKS user guide, pod-id-abac). */
export const POD_IDENTITY_TAGS = {
    clusterArn: "aws:RequestTag/eks-cluster-arn",
    namespace: "aws:RequestTag/kubernetes-namespace",
    serviceAccount: "aws:RequestTag/kubernetes-service-account",
} as const;

/** One statement per (cluster, namespace): tags AND-ed, so no namespace borrows another's service-account names. */
function podIdentityStatements(
    entry: PodIdentityTrustEntry,
    sidPrefix: string,
    principal: Principal,
    extra: Record<string, readonly string[]>,
): PolicyStatement[] {
    const byNamespace = new Map<string, string[]>();
    for (const sa of entry.serviceAccounts) {
        byNamespace.set(sa.namespace, [...(byNamespace.get(sa.namespace) ?? []), sa.name]);
    }
    return [...byNamespace.entries()].map(([namespace, names]) => {
        const patterned = isPattern(namespace) || names.some(isPattern);
        const tags = { [POD_IDENTITY_TAGS.namespace]: [namespace], [POD_IDENTITY_TAGS.serviceAccount]: names };
        return {
            Sid: `${sidPrefix}${sidSuffix(`${entry.clusterArn}/${namespace}`)}`,
            Effect: "Allow" as const,
            Principal: principal,
            Action: ["sts:AssumeRole", "sts:TagSession"],
            Condition: {
                ...(Object.keys(extra).length > 0 ? { ArnEquals: extra } : {}),
                StringEquals: { [POD_IDENTITY_TAGS.clusterArn]: [entry.clusterArn], ...(patterned ? {} : tags) },
                ...(patterned ? { StringLike: tags } : {}),
            },
        };
    });
}

/**
 * EKS Pod Identity with a target role (docs/aws-facts.md, path 4), registry side: the
 * pull role trusts the association roles of the grant's clusters, and only
 * for sessions whose tags name one of the grant's clusters, namespaces and
 * service accounts.
 */
export function podIdentityTargetTrustPolicy(partition: string, entries: readonly PodIdentityTrustEntry[]): PolicyDocument {
    if (entries.length === 0) {
        throw new Error("A Pod Identity trust policy needs at least one cluster.");
    }
    return {
        Version: "2012-10-17",
        Statement: entries.flatMap((entry) => {
            if (entry.roleArns.length === 0 || entry.serviceAccounts.length === 0) {
                throw new Error(`The Pod Identity trust for ${entry.clusterArn} needs a role and at least one service account.`);
            }
            return podIdentityStatements(
                entry,
                "PodIdentity",
                { AWS: entry.roleArns.map((arn) => accountRootArn(partition, accountOf(arn))) },
                { "aws:PrincipalArn": entry.roleArns },
            );
        }),
    };
}

/**
 * Role chaining on organization scope (see org-scope.ts): the pull role
 * trusts any role at the grant's IAM path in the scope's accounts. The
 * cluster-side role's own trust pins the namespace and service account.
 */
export function orgChainingTrustPolicy(partition: string, grant: string, scope: OrganizationScope): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ChainFromOrgClusterRoles",
                Effect: "Allow",
                Principal: { AWS: ["*"] },
                Action: ["sts:AssumeRole"],
                Condition: { ...orgScopeCondition(scope), ArnLike: { "aws:PrincipalArn": [orgRoleArnPattern(partition, grant)] } },
            },
        ],
    };
}

/**
 * EKS Pod Identity on organization scope: the association roles at the
 * grant's IAM path in the scope's accounts, for sessions whose tags name one
 * of the grant's namespaces and service accounts, in any cluster.
 */
export function orgPodIdentityTargetTrustPolicy(
    partition: string,
    grant: string,
    scope: OrganizationScope,
    serviceAccounts: readonly { readonly namespace: string; readonly name: string }[],
): PolicyDocument {
    if (serviceAccounts.length === 0) {
        throw new Error(`The Pod Identity trust of grant ${grant} needs at least one service account.`);
    }
    const statements = podIdentityStatements({ clusterArn: "*", roleArns: [], serviceAccounts }, "OrgPodIdentity", { AWS: ["*"] }, {});
    return {
        Version: "2012-10-17",
        Statement: statements.map((s) => {
            // No cluster is pinned: any cluster of the scope may host the grant's service accounts.
            const { [POD_IDENTITY_TAGS.clusterArn]: _cluster, ...stringEquals } = s.Condition!.StringEquals ?? {};
            const scoped = orgScopeCondition(scope);
            return {
                ...s,
                Condition: {
                    ...s.Condition,
                    ...scoped,
                    StringEquals: { ...stringEquals, ...(scoped.StringEquals ?? {}) },
                    ArnLike: { "aws:PrincipalArn": [orgRoleArnPattern(partition, grant)] },
                },
            };
        }),
    };
}

/**
 * EKS Pod Identity, cluster side: the association's own role, trusted by the
 * EKS Pod Identity service of this account only, for the grant's service
 * accounts of this cluster (EKS user guide, pod-id-role).
 */
export function podIdentityServiceTrustPolicy(clusterAccountId: string, entry: Omit<PodIdentityTrustEntry, "roleArns">): PolicyDocument {
    if (entry.serviceAccounts.length === 0) {
        throw new Error(`The Pod Identity role for ${entry.clusterArn} needs at least one service account.`);
    }
    const statements = podIdentityStatements({ ...entry, roleArns: [] }, "PodIdentity", { Service: ["pods.eks.amazonaws.com"] }, {});
    return {
        Version: "2012-10-17",
        Statement: statements.map((s) => ({
            ...s,
            Condition: { ...s.Condition, StringEquals: { ...s.Condition!.StringEquals, "aws:SourceAccount": [clusterAccountId] } },
        })),
    };
}

/**
 * The only permission of a cluster-account role of a chained or Pod Identity
 * grant: assuming the grant's pull role (and, for Pod Identity, passing the
 * session tags the pull role's trust checks).
 */
export function assumePullRolePolicy(pullRoleArn: string, tagSession: boolean): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "AssumeRegistryPullRole",
                Effect: "Allow",
                Action: tagSession ? ["sts:AssumeRole", "sts:TagSession"] : ["sts:AssumeRole"],
                Resource: [pullRoleArn],
            },
        ],
    };
}

// ---- Identity and resource policies --------------------------------------

/**
 * The pull role's own permissions: an authorization token (account-wide by
 * nature) and the three pull actions on the grant's repositories only.
 */
export function pullRolePolicy(repositoryArns: readonly string[]): PolicyDocument {
    if (repositoryArns.length === 0) {
        throw new Error("A pull role policy needs at least one repository.");
    }
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "EcrAuthorizationToken", Effect: "Allow", Action: [ECR_AUTH_TOKEN_ACTION], Resource: ["*"] },
            { Sid: "EcrPull", Effect: "Allow", Action: ECR_PULL_ACTIONS, Resource: repositoryArns },
        ],
    };
}

export interface RepositoryPullPolicyArgs {
    readonly partition: string;
    /** Pull roles (registry account) of the grants that name this repository. */
    readonly grantRoleArns: readonly string[];
    /** Node roles (cluster accounts) of the clusters of those grants: the kubelet pulls with them. */
    readonly nodeRoleArns: readonly string[];
    /** `roles` (default): exactly the node roles. `accounts`: the node roles' accounts, for fleets too large to list every role. */
    readonly nodeScope?: "roles" | "accounts";
    /** Organization-scoped grants naming this repository: their tagged node roles in their scope pull too. */
    readonly orgNodePulls?: readonly { readonly grant: string; readonly scope: OrganizationScope }[];
}

/**
 * The repository policy: the pull actions, to exactly the listed roles.
 *
 * Principals are the roles' account roots, narrowed by `ArnEquals` on
 * `aws:PrincipalArn`. Naming the role ARNs as principals instead would make
 * ECR reject the policy while a role does not exist yet, and would leave a
 * dangling unique ID behind a role that is deleted and re-created (docs/aws-facts.md,
 * terraform-aws-modules/terraform-aws-ecr#19; aws-cdk's Repository.grant does
 * the same). Returns undefined when nobody is granted: no policy at all is
 * then the least privilege.
 */
export function repositoryPullPolicy(args: RepositoryPullPolicyArgs): PolicyDocument | undefined {
    const statement = (sid: string, roleArns: readonly string[], exact: boolean): PolicyStatement => ({
        Sid: sid,
        Effect: "Allow",
        Principal: { AWS: roleArns.map((arn) => accountRootArn(args.partition, accountOf(arn))) },
        Action: ECR_PULL_ACTIONS,
        Condition: exact ? { ArnEquals: { "aws:PrincipalArn": roleArns } } : undefined,
    });
    const statements: PolicyStatement[] = [];
    if (args.grantRoleArns.length > 0) {
        statements.push(statement("PullByGrantRoles", args.grantRoleArns, true));
    }
    if (args.nodeRoleArns.length > 0) {
        statements.push(statement(args.nodeScope === "accounts" ? "PullByNodeAccounts" : "PullByNodeRoles", args.nodeRoleArns, args.nodeScope !== "accounts"));
    }
    for (const { grant, scope } of args.orgNodePulls ?? []) {
        const scoped = orgScopeCondition(scope);
        statements.push({
            Sid: `PullByOrgNodes${sidSuffix(grant)}`,
            Effect: "Allow",
            Principal: { AWS: ["*"] },
            Action: ECR_PULL_ACTIONS,
            Condition: {
                ...scoped,
                StringEquals: { ...(scoped.StringEquals ?? {}), [`aws:PrincipalTag/${nodePullTagKey(grant)}`]: [NODE_PULL_TAG_VALUE] },
                // aws:PrincipalTag also reads session tags, which a session from outside the
                // organization's SCPs (a web identity, another account) may carry. Only EC2
                // instance credentials carry this key, and EC2 passes no session tags: the tag
                // must then be the node role's own (see org-scope.ts).
                Null: { [EC2_INSTANCE_CREDENTIALS_KEY]: ["false"] },
            },
        });
    }
    return statements.length > 0 ? { Version: "2012-10-17", Statement: statements } : undefined;
}

function accountOf(roleArn: string): string {
    const account = accountIdOfArn(roleArn);
    if (!account) {
        throw new Error(`"${roleArn}" is not an IAM role ARN with an account ID.`);
    }
    return account;
}

// ---- Lifecycle policy ------------------------------------------------------

export interface LifecycleRules {
    /** Keep at most this many images; older ones expire. */
    readonly keepLastImages: number;
    /** Untagged images expire after this many days. */
    readonly untaggedExpiryDays: number;
}

/** ECR lifecycle policy: expire untagged images first, then cap the image count. */
export function lifecyclePolicy(rules: LifecycleRules): string {
    return JSON.stringify({
        rules: [
            {
                rulePriority: 1,
                description: `Expire untagged images after ${rules.untaggedExpiryDays} days`,
                selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: rules.untaggedExpiryDays },
                action: { type: "expire" },
            },
            {
                rulePriority: 2,
                description: `Keep the last ${rules.keepLastImages} images`,
                selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: rules.keepLastImages },
                action: { type: "expire" },
            },
        ],
    });
}
