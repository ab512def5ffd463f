/**
 * A small evaluator for the policy documents this package writes, used to
 * test behaviour ("a service account in another namespace cannot assume the
 * role") rather than JSON shapes. It is deliberately exactly as wide as those
 * documents: Allow statements, AWS/Federated/Service principals (an account
 * root matches every principal of its account), `*` wildcards in actions and
 * resources, and the StringEquals, StringLike, ArnEquals and ArnLike
 * operators with IAM's semantics (values of a key are OR-ed, keys and
 * operators AND-ed). Anything else in a document fails the test loudly.
 */

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

type Values = string | string[];
interface Statement {
    Sid?: string;
    Effect: string;
    Principal?: Record<string, Values>;
    Action: Values;
    Resource?: Values;
    Condition?: Record<string, Record<string, Values>>;
}

const list = (v: Values | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function globToRegExp(pattern: string): RegExp {
    const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
    return new RegExp(`^${escaped}$`);
}

const accountOf = (arn: string) => /^arn:[^:]+:(?:iam|sts)::(\d{12}):/.exec(arn)?.[1];

function principalMatches(statement: Statement, request: Request): boolean {
    if (!statement.Principal) {
        return true; // identity policy: the principal is whoever holds it
    }
    for (const [type, values] of Object.entries(statement.Principal)) {
        if (!["AWS", "Federated", "Service"].includes(type)) {
            throw new Error(`evaluator: unsupported principal type ${type}`);
        }
        if (type !== request.principalType || request.principal === undefined) {
            continue;
        }
        for (const value of list(values)) {
            if (value === "*") {
                return true;
            }
            if (value === request.principal) {
                return true;
            }
            const root = /^arn:[^:]+:iam::(\d{12}):root$/.exec(value);
            if (type === "AWS" && root && accountOf(request.principal) === root[1]) {
                return true;
            }
        }
    }
    return false;
}

function conditionMatches(statement: Statement, request: Request): boolean {
    for (const [operator, block] of Object.entries(statement.Condition ?? {})) {
        for (const [key, values] of Object.entries(block)) {
            const actual = request.context?.[key];
            if (actual === undefined) {
                return false;
            }
            const ok = list(values).some((expected) => {
                switch (operator) {
                    case "StringEquals":
                    case "ArnEquals":
                        return actual === expected;
                    case "StringLike":
                    case "ArnLike":
                        return globToRegExp(expected).test(actual);
                    default:
                        throw new Error(`evaluator: unsupported condition operator ${operator}`);
                }
            });
            if (!ok) {
                return false;
            }
        }
    }
    return true;
}

/** True when some Allow statement of the document matches the request (no Deny statements are written). */
export function allows(documentJson: string, request: Request): boolean {
    const document = JSON.parse(documentJson) as { Version: string; Statement: Statement[] };
    if (document.Version !== "2012-10-17") {
        throw new Error(`evaluator: unexpected policy version ${document.Version}`);
    }
    return document.Statement.some((statement) => {
        if (statement.Effect !== "Allow") {
            throw new Error(`evaluator: unexpected effect ${statement.Effect}`);
        }
        const actionOk = list(statement.Action).some((a) => globToRegExp(a).test(request.action));
        const resourceOk =
            statement.Resource === undefined || list(statement.Resource).some((r) => request.resource !== undefined && globToRegExp(r).test(request.resource));
        return actionOk && resourceOk && principalMatches(statement, request) && conditionMatches(statement, request);
    });
}

/** A web-identity request as STS makes it for a service-account token. */
export function webIdentity(providerArn: string, issuerHostPath: string, namespace: string, serviceAccount: string, audience = "sts.amazonaws.com"): Request {
    return {
        principalType: "Federated",
        principal: providerArn,
        action: "sts:AssumeRoleWithWebIdentity",
        context: {
            [`${issuerHostPath}:sub`]: `system:serviceaccount:${namespace}:${serviceAccount}`,
            [`${issuerHostPath}:aud`]: audience,
        },
    };
}

/** A request by a role session against a repository. */
export function roleSession(roleArn: string, action: string, resource?: string): Request {
    return { principalType: "AWS", principal: roleArn, action, resource, context: { "aws:PrincipalArn": roleArn } };
}

/** Actions a puller must never get. */
export const WRITE_ACTIONS = [
    "ecr:PutImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:BatchDeleteImage",
    "ecr:DeleteRepository",
    "ecr:SetRepositoryPolicy",
    "ecr:DeleteRepositoryPolicy",
    "ecr:PutLifecyclePolicy",
    "ecr:TagResource",
];

export const PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];

/** A Pod Identity session as EKS makes it: the association role, tagged with the pod's cluster, namespace and service account. */
export function podIdentitySession(roleArn: string, clusterArn: string, namespace: string, serviceAccount: string, action = "sts:AssumeRole"): Request {
    return {
        principalType: "AWS",
        principal: roleArn,
        action,
        context: {
            "aws:PrincipalArn": roleArn,
            "aws:RequestTag/eks-cluster-arn": clusterArn,
            "aws:RequestTag/kubernetes-namespace": namespace,
            "aws:RequestTag/kubernetes-service-account": serviceAccount,
        },
    };
}
