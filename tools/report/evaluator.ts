/**
 * Decides, from the policy documents alone, whether a request is allowed:
 * the evaluator behind the access report and the audit, and the one the
 * tests use to check behaviour ("a service account in another namespace
 * cannot assume the role") rather than JSON shapes.
 *
 * It is deliberately exactly as wide as the documents this package writes:
 * Allow statements, AWS/Federated/Service principals (an account root matches
 * every principal of its account), `*` and `?` wildcards in actions and
 * resources, and the StringEquals, StringLike, ArnEquals and ArnLike
 * operators with IAM's semantics (values of a key are OR-ed, keys and
 * operators AND-ed). Anything else in a document (Deny, NotAction,
 * NotPrincipal, other operators, another policy version) throws an
 * `EvaluatorError`: a document this evaluator cannot read is never guessed
 * at, since a wrong "allowed" or "denied" in an access report is worse than
 * none. The report's verdicts are checked against the independent IAM
 * simulator of the tests (tests/support/simulate.ts) in
 * tests/access-report.test.ts.
 *
 * On top of single documents it decides the hops of the four access paths
 * with IAM's rules for combining them (docs/aws-facts.md): a trust policy is always
 * consulted for sts:AssumeRole*, and a role session needs its own identity
 * policy to allow the call too; an ECR request from another account needs
 * both the caller's identity policy and the repository policy, one from the
 * repository's own account either (where a statement naming only the
 * account root grants nothing by itself).
 */
import { ECR_AUTH_TOKEN_ACTION, ECR_IMAGE_PULL_CALLS, ECR_PULL_ACTIONS, POD_IDENTITY_TAGS } from "../../components/iam/policies";
import { issuerHostPath, serviceAccountSubject, STS_AUDIENCE } from "../../components/iam/names";
import { wildcardRegExp } from "../../components/iam/wildcards";
import { EC2_INSTANCE_CREDENTIALS_KEY } from "../../components/iam/org-scope";

/** Thrown for a document or request outside what this evaluator understands. */
export class EvaluatorError extends Error {}

export interface Request {
    /** `AWS` for a role session, `Federated` for web identity, `Service` for a service. */
    readonly principalType?: "AWS" | "Federated" | "Service";
    /** Role ARN, OIDC provider ARN or service name. */
    readonly principal?: string;
    readonly action: string;
    readonly resource?: string;
    /** Condition keys of the request (`aws:PrincipalArn`, `<issuer>:sub`...). */
    readonly context?: Readonly<Record<string, string>>;
}

export interface AllowOptions {
    /**
     * Whether a principal `arn:…:iam::<account>:root` admits every principal
     * of that account. True for trust policies and cross-account resource
     * policies; false for a resource policy read for a caller of its own
     * account, where naming the root only delegates to identity policies.
     */
    readonly rootAdmitsAccount?: boolean;
}

type Values = string | string[];
interface Statement {
    Sid?: string;
    Effect: string;
    Principal?: Record<string, Values>;
    Action: Values;
    Resource?: Values;
    Condition?: Record<string, Record<string, Values>>;
}

const STATEMENT_KEYS = new Set(["Sid", "Effect", "Principal", "Action", "Resource", "Condition"]);
const OPERATORS = new Set(["StringEquals", "StringLike", "ArnEquals", "ArnLike", "ForAnyValue:StringLike", "Null"]);

const list = (v: Values | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Compiled wildcards: a fleet's documents repeat the same few thousand patterns. */
const patterns = new Map<string, RegExp>();

/** IAM wildcards: `*` any run of characters, `?` one character; everything else literal. */
export function globMatches(pattern: string, value: string): boolean {
    let compiled = patterns.get(pattern);
    if (!compiled) {
        compiled = wildcardRegExp(pattern);
        if (patterns.size > 10000) {
            patterns.clear();
        }
        patterns.set(pattern, compiled);
    }
    return compiled.test(value);
}

const accountOf = (arn: string) => /^arn:[^:]+:(?:iam|sts)::(\d{12}):/.exec(arn)?.[1];

function principalMatches(statement: Statement, request: Request, rootAdmitsAccount: boolean): boolean {
    if (!statement.Principal) {
        return true; // identity policy: the principal is whoever holds it
    }
    if (typeof statement.Principal !== "object") {
        throw new EvaluatorError(
            `evaluator: unsupported principal ${JSON.stringify(statement.Principal)} (only AWS, Federated and Service principals are written)`,
        );
    }
    for (const [type, values] of Object.entries(statement.Principal)) {
        if (!["AWS", "Federated", "Service"].includes(type)) {
            throw new EvaluatorError(`evaluator: unsupported principal type ${type} (only AWS, Federated and Service principals are written)`);
        }
        if (type !== request.principalType || request.principal === undefined) {
            continue;
        }
        for (const value of list(values)) {
            if (value === "*" || value === request.principal) {
                return true;
            }
            const root = /^arn:[^:]+:iam::(\d{12}):root$/.exec(value);
            if (type === "AWS" && root && rootAdmitsAccount && accountOf(request.principal) === root[1]) {
                return true;
            }
        }
    }
    return false;
}

function conditionMatches(statement: Statement, request: Request): boolean {
    for (const [operator, block] of Object.entries(statement.Condition ?? {})) {
        if (!OPERATORS.has(operator)) {
            throw new EvaluatorError(`evaluator: unsupported condition operator ${operator} (only ${[...OPERATORS].join(", ")} are written)`);
        }
        for (const [key, values] of Object.entries(block)) {
            const actual = request.context?.[key];
            if (operator === "Null") {
                // "false": the key must be present; "true": absent.
                if (!list(values).some((expected) => (expected === "true") === (actual === undefined))) {
                    return false;
                }
                continue;
            }
            if (actual === undefined) {
                return false;
            }
            // ForAnyValue: any of the request's values (aws:PrincipalOrgPaths has one per account
            // in practice) matching any pattern; the context holds such a key as one string.
            const exact = operator === "StringEquals" || operator === "ArnEquals";
            if (!list(values).some((expected) => (exact ? actual === expected : globMatches(expected, actual)))) {
                return false;
            }
        }
    }
    return true;
}

/** Parsed and checked documents: a fleet's report evaluates the same few documents many thousand times. */
const parsed = new Map<string, Statement[]>();

/** The statements of a document, after checking it holds nothing this evaluator does not understand. */
function statementsOf(documentJson: string): Statement[] {
    const cached = parsed.get(documentJson);
    if (cached) {
        return cached;
    }
    if (parsed.size > 10000) {
        parsed.clear();
    }
    let document: { Version?: unknown; Statement?: unknown };
    try {
        document = JSON.parse(documentJson);
    } catch (error) {
        throw new EvaluatorError(`evaluator: a policy is not JSON (${(error as Error).message})`);
    }
    if (document?.Version !== "2012-10-17") {
        throw new EvaluatorError(`evaluator: unexpected policy version ${JSON.stringify(document?.Version)} (expected "2012-10-17")`);
    }
    const statements = (Array.isArray(document.Statement) ? document.Statement : [document.Statement]) as Statement[];
    for (const statement of statements) {
        const unknown = Object.keys(statement ?? {}).filter((k) => !STATEMENT_KEYS.has(k));
        if (unknown.length > 0) {
            throw new EvaluatorError(`evaluator: unsupported statement element ${unknown.join(", ")} (only ${[...STATEMENT_KEYS].join(", ")} are written)`);
        }
        if (statement.Effect !== "Allow") {
            throw new EvaluatorError(`evaluator: unexpected effect ${JSON.stringify(statement.Effect)} (only Allow statements are written)`);
        }
    }
    parsed.set(documentJson, statements);
    return statements;
}

/** True when some Allow statement of the document matches the request (the package writes no Deny). */
export function allows(documentJson: string, request: Request, options: AllowOptions = {}): boolean {
    const rootAdmitsAccount = options.rootAdmitsAccount ?? true;
    return statementsOf(documentJson).some((statement) => {
        const actionOk = list(statement.Action).some((a) => globMatches(a, request.action));
        const resourceOk =
            statement.Resource === undefined || list(statement.Resource).some((r) => request.resource !== undefined && globMatches(r, request.resource));
        return actionOk && resourceOk && principalMatches(statement, request, rootAdmitsAccount) && conditionMatches(statement, request);
    });
}

// ---- The hops of a pull ---------------------------------------------------------

/** A role and its documents, as deployed or planned. */
export interface RoleDocuments {
    readonly arn: string;
    readonly trustPolicy: string;
    /** Inline policies and the documents of attached managed policies. */
    readonly identityPolicies: readonly { readonly name: string; readonly json: string }[];
    /** Set when the identity policies are not in the documents but assumed (an adopted cluster's node role): says what is assumed. */
    readonly assumed?: string;
    /** The role's own tags (`aws:PrincipalTag/<key>` of its sessions). */
    readonly tags?: Readonly<Record<string, string>>;
    /** Where the role's account sits in AWS Organizations (`aws:PrincipalOrgID`, `aws:PrincipalOrgPaths`); absent outside any organization. */
    readonly organization?: { readonly id: string; readonly path: string };
    /** Set for a node role used with EC2 instance credentials (the kubelet): the instance's VPC, `aws:Ec2InstanceSourceVpc`. */
    readonly instanceVpc?: string;
}

/** The condition keys a session of the role carries about its principal. */
export function principalContext(role: RoleDocuments): Record<string, string> {
    return {
        "aws:PrincipalArn": role.arn,
        "aws:PrincipalAccount": accountOf(role.arn) ?? "",
        ...(role.organization ? { "aws:PrincipalOrgID": role.organization.id, "aws:PrincipalOrgPaths": role.organization.path } : {}),
        ...(role.instanceVpc ? { [EC2_INSTANCE_CREDENTIALS_KEY]: role.instanceVpc } : {}),
        ...Object.fromEntries(Object.entries(role.tags ?? {}).map(([key, value]) => [`aws:PrincipalTag/${key}`, value])),
    };
}

export interface RepositoryDocuments {
    readonly name: string;
    readonly arn: string;
    /** Absent when the repository has no policy. */
    readonly policy?: string;
}

export interface OidcProviderDocuments {
    readonly arn: string;
    readonly url: string;
    readonly clientIds: readonly string[];
}

/** An answer with the reason, so that a report can say which hop fails. */
export interface Verdict {
    readonly allowed: boolean;
    /** Why it is denied; empty when allowed. */
    readonly reason: string;
}

const ALLOWED: Verdict = { allowed: true, reason: "" };
const denied = (reason: string): Verdict => ({ allowed: false, reason });

/** The name of a role from its ARN, for messages. */
export function roleNameOf(arn: string): string {
    return arn.slice(arn.lastIndexOf("/") + 1);
}

const identityAllows = (role: RoleDocuments, request: Request) => role.identityPolicies.some((p) => allows(p.json, request));

/**
 * AssumeRoleWithWebIdentity with a service-account token: STS looks up the
 * IAM OIDC provider for the token's issuer in the role's account, checks the
 * audience against its client IDs, then evaluates the role's trust with that
 * provider as the Federated principal and the token's `sub` and `aud`.
 */
export function webIdentityAllowed(
    role: RoleDocuments,
    providers: readonly OidcProviderDocuments[],
    issuerUrl: string,
    namespace: string,
    serviceAccount: string,
): Verdict {
    const account = accountOf(role.arn);
    const hostPath = issuerHostPath(issuerUrl);
    const provider = providers.find((p) => accountOf(p.arn) === account && issuerHostPath(p.url) === hostPath);
    if (!provider) {
        return denied(`account ${account} has no IAM OIDC provider for the issuer ${hostPath}, so STS refuses its tokens for ${roleNameOf(role.arn)}`);
    }
    if (!provider.clientIds.includes(STS_AUDIENCE)) {
        return denied(`the OIDC provider ${provider.arn} does not list the client ID ${STS_AUDIENCE}`);
    }
    const request: Request = {
        principalType: "Federated",
        principal: provider.arn,
        action: "sts:AssumeRoleWithWebIdentity",
        context: { [`${hostPath}:sub`]: serviceAccountSubject(namespace, serviceAccount), [`${hostPath}:aud`]: STS_AUDIENCE },
    };
    return allows(role.trustPolicy, request)
        ? ALLOWED
        : denied(`the trust policy of ${roleNameOf(role.arn)} does not admit ${namespace}/${serviceAccount} of ${hostPath}`);
}

/** The session tags EKS Pod Identity puts on a pod's session. */
export function podIdentityTags(clusterArn: string, namespace: string, serviceAccount: string): Record<string, string> {
    return { [POD_IDENTITY_TAGS.clusterArn]: clusterArn, [POD_IDENTITY_TAGS.namespace]: namespace, [POD_IDENTITY_TAGS.serviceAccount]: serviceAccount };
}

/**
 * EKS Pod Identity takes the association's role as the service
 * `pods.eks.amazonaws.com` (sts:AssumeRole and sts:TagSession), with the
 * cluster's account as `aws:SourceAccount` and the pod's session tags.
 */
export function podIdentityServiceAllowed(role: RoleDocuments, clusterArn: string, namespace: string, serviceAccount: string): Verdict {
    const sourceAccount = clusterArn.split(":")[4];
    const context = { "aws:SourceAccount": sourceAccount, "aws:SourceArn": clusterArn, ...podIdentityTags(clusterArn, namespace, serviceAccount) };
    for (const action of ["sts:AssumeRole", "sts:TagSession"]) {
        if (!allows(role.trustPolicy, { principalType: "Service", principal: "pods.eks.amazonaws.com", action, context })) {
            return denied(
                `the trust policy of ${roleNameOf(role.arn)} does not let EKS Pod Identity ${action} for ${namespace}/${serviceAccount} of ${clusterArn}`,
            );
        }
    }
    return ALLOWED;
}

/**
 * sts:AssumeRole by a session of `caller` into `target` (with sts:TagSession
 * too when session tags are passed, as Pod Identity's target-role hop does):
 * the caller's identity policy must allow each call and the target's trust
 * must admit it, in the same account as across accounts.
 */
export function assumeRoleAllowed(caller: RoleDocuments, target: RoleDocuments, sessionTags?: Readonly<Record<string, string>>): Verdict {
    const actions = sessionTags ? ["sts:AssumeRole", "sts:TagSession"] : ["sts:AssumeRole"];
    for (const action of actions) {
        const context = { ...principalContext(caller), ...(sessionTags ?? {}) };
        if (!identityAllows(caller, { action, resource: target.arn, context })) {
            return denied(`the policies of ${roleNameOf(caller.arn)} do not allow ${action} on ${target.arn}`);
        }
        if (!allows(target.trustPolicy, { principalType: "AWS", principal: caller.arn, action, context })) {
            return denied(
                `the trust policy of ${roleNameOf(target.arn)} does not admit ${action} by ${caller.arn}${sessionTags ? " with these session tags" : ""}`,
            );
        }
    }
    return ALLOWED;
}

/**
 * An ECR pull by a session of `role`: ecr:GetAuthorizationToken (identity
 * policy, resource `*`) and the three pull actions on the repository, each
 * allowed by the identity policy AND the repository policy across accounts,
 * by either within the repository's account.
 */
export function pullAllowed(role: RoleDocuments, repository: RepositoryDocuments): Verdict {
    const account = accountOf(role.arn);
    const context = principalContext(role);
    if (!identityAllows(role, { action: ECR_AUTH_TOKEN_ACTION, resource: "*", context })) {
        return denied(`the policies of ${roleNameOf(role.arn)} do not allow ${ECR_AUTH_TOKEN_ACTION}`);
    }
    const sameAccount = repository.arn.split(":")[4] === account;
    for (const action of ECR_IMAGE_PULL_CALLS) {
        const identity = identityAllows(role, { action, resource: repository.arn, context });
        const resource =
            repository.policy !== undefined &&
            allows(
                repository.policy,
                { principalType: "AWS", principal: role.arn, action, resource: repository.arn, context },
                { rootAdmitsAccount: !sameAccount },
            );
        if (sameAccount ? !(identity || resource) : !identity) {
            return denied(`the policies of ${roleNameOf(role.arn)} do not allow ${action} on ${repository.name}`);
        }
        if (!sameAccount && !resource) {
            return denied(`the repository policy of ${repository.name} does not admit ${role.arn}${repository.policy === undefined ? " (it has none)" : ""}`);
        }
    }
    return ALLOWED;
}

// ---- AWS managed policies ----------------------------------------------------------

const managed = (...actions: string[]) => JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: actions, Resource: "*" }] });

/**
 * The AWS managed policies this package attaches or assumes, as far as ECR
 * and STS are concerned (their other actions cannot reach a repository). An
 * attachment of any other managed policy throws: its content is unknown here.
 */
export const MANAGED_POLICY_DOCUMENTS: Readonly<Record<string, string>> = {
    // AWS Managed Policy Reference, AmazonEC2ContainerRegistryPullOnly v1 (2024-10-04): no BatchCheckLayerAvailability.
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly": managed(
        ECR_AUTH_TOKEN_ACTION,
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchImportUpstreamImage",
    ),
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly": managed(
        ECR_AUTH_TOKEN_ACTION,
        ...ECR_PULL_ACTIONS,
        "ecr:DescribeImageScanFindings",
        "ecr:DescribeImages",
        "ecr:DescribeRepositories",
        "ecr:GetLifecyclePolicy",
        "ecr:GetLifecyclePolicyPreview",
        "ecr:GetRepositoryPolicy",
        "ecr:ListImages",
        "ecr:ListTagsForResource",
    ),
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy": managed(
        "ec2:DescribeInstances",
        "ec2:DescribeRouteTables",
        "eks:DescribeCluster",
        "eks-auth:AssumeRoleForPodIdentity",
    ),
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy": managed("ec2:AssignPrivateIpAddresses", "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces"),
};

/** The document of a managed policy ARN (any partition), or an EvaluatorError naming it. */
export function managedPolicyDocument(policyArn: string): string {
    const document = MANAGED_POLICY_DOCUMENTS[policyArn.replace(/^arn:[a-z-]+:/, "arn:aws:")];
    if (document === undefined) {
        throw new EvaluatorError(
            `evaluator: the managed policy ${policyArn} is attached but not modelled (known: ${Object.keys(MANAGED_POLICY_DOCUMENTS).join(", ")})`,
        );
    }
    return document;
}
