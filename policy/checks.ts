/**
 * The guardrails of the `ecrpull-guardrails` policy pack as pure functions:
 * a resource type and its properties in, violations out. They apply to any
 * Pulumi program's IAM and ECR resources, not only this package's, so they
 * read policy documents as AWS accepts them (JSON text or objects, single
 * values or lists, any key order) rather than in this package's canonical form.
 *
 * Four rules (docs/aws-facts.md):
 *  1. web-identity trust pins the provider's subject and audience;
 *  2. a cross-account repository grant holds only the pull actions;
 *  3. a `*` principal on an Allow carries an organization condition;
 *  4. no document exceeds its quota (white space not counted, as IAM counts).
 */
import { ECR_PULL_ACTIONS, POLICY_LIMITS, policySize } from "../components/iam/policies";
import { wildcardMatches } from "../components/iam/wildcards";
import { ORGANIZATION_CONDITION_KEYS } from "../components/iam/org-scope";

/** The rules, by the names the pack's policies carry. */
export const RULES = {
    webIdentity: "web-identity-trust-pins-sub-and-aud",
    crossAccount: "cross-account-repository-grant-pull-only",
    publicPrincipal: "public-principal-needs-organization",
    quota: "policy-within-quota",
} as const;
export type Rule = (typeof RULES)[keyof typeof RULES];

/** Quotas the documents are measured against (IAM and ECR quota pages; docs/aws-facts.md). */
export interface GuardrailLimits {
    /** Role trust policy: 2,048 by default; quota L-C07B4B0D raises it to 4,096. */
    readonly trustPolicy: number;
    /** A role's inline policies, together: 10,240. */
    readonly inlineRolePolicies: number;
    /** A customer managed policy: 6,144. */
    readonly managedPolicy: number;
    /** An ECR repository policy: 10,240. */
    readonly repositoryPolicy: number;
}

export const DEFAULT_GUARDRAIL_LIMITS: GuardrailLimits = {
    trustPolicy: POLICY_LIMITS.trustPolicy,
    inlineRolePolicies: POLICY_LIMITS.inlineRolePolicies,
    managedPolicy: 6144,
    repositoryPolicy: POLICY_LIMITS.repositoryPolicy,
};

/** The largest trust policy a quota increase can give: 4,096 (IAM quotas page, quota L-C07B4B0D; docs/aws-facts.md). */
export const MAX_TRUST_POLICY = 4096;

export interface CheckOptions {
    /** Quotas; missing ones take `DEFAULT_GUARDRAIL_LIMITS`. */
    readonly limits?: Partial<GuardrailLimits>;
    /**
     * Accounts whose repositories the program manages. A repository policy's
     * properties do not say which account the repository is in, so without
     * this every account principal counts as another account (rule 2), except
     * the account in the statement's own `Resource` ECR ARNs.
     */
    readonly registryAccountIds?: readonly string[];
}

export interface Violation {
    readonly rule: Rule;
    readonly message: string;
}

export interface CheckResult {
    readonly violations: readonly Violation[];
    /** Properties whose values are unknown (a preview): not checked now; `pulumi up` checks them. */
    readonly unknown: readonly string[];
}

/** The resource types the checks read, with the document properties of each. */
export const CHECKED_TYPES = {
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    managedPolicy: "aws:iam/policy:Policy",
    repositoryPolicy: "aws:ecr/repositoryPolicy:RepositoryPolicy",
    registryPolicy: "aws:ecr/registryPolicy:RegistryPolicy",
} as const;

/**
 * Values the engine sends for what a preview cannot know yet (@pulumi/pulumi
 * runtime/rpc.js `unknownValue`, @pulumi/policy proxy.js sentinels).
 */
const UNKNOWN_SENTINELS = new Set([
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
    "030794c1-ac77-496b-92df-f27374a8bd58",
    "e48ece36-62e2-4504-bad9-02848725956a",
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
]);

/**
 * True when a value, or anything inside it, is not known yet: a sentinel
 * from the engine, or the SDK's own `Unknown` object (@pulumi/pulumi
 * output.js), which is what a program run in-process on mocks holds.
 */
export function containsUnknown(value: unknown): boolean {
    if (typeof value === "string") {
        return UNKNOWN_SENTINELS.has(value);
    }
    if (Array.isArray(value)) {
        return value.some(containsUnknown);
    }
    if (typeof value === "object" && value !== null) {
        if ((value as { __pulumiUnknown?: unknown }).__pulumiUnknown === true) {
            return true;
        }
        return Object.values(value).some(containsUnknown);
    }
    return false;
}

// ---- Reading documents as AWS accepts them ---------------------------------

/** One statement, normalised: every list a list, keys as written. */
export interface Statement {
    readonly label: string;
    readonly effect: string;
    /** Principal kinds with their values; `*` alone becomes `{ AWS: ["*"] }`. */
    readonly principal?: Readonly<Record<string, readonly string[]>>;
    readonly notPrincipal: boolean;
    readonly actions: readonly string[];
    readonly notActions?: readonly string[];
    readonly resources: readonly string[];
    /** operator -> key (as written) -> values. */
    readonly condition: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
}

export type Parsed = { readonly statements: readonly Statement[]; readonly text: string } | { readonly error: string };

const list = (value: unknown): string[] => (value === undefined || value === null ? [] : (Array.isArray(value) ? value : [value]).map(String));

/** A policy document from a property: JSON text or an object; `error` says what is wrong with it. */
export function parseDocument(property: string, value: unknown): Parsed {
    let document: unknown = value;
    if (typeof value === "string") {
        try {
            document = JSON.parse(value);
        } catch {
            return { error: `${property} is not valid JSON: give a policy document, e.g. {"Version":"2012-10-17","Statement":[...]}.` };
        }
    }
    if (typeof document !== "object" || document === null || Array.isArray(document)) {
        return { error: `${property} is not a policy document: give an object with Version and Statement, e.g. {"Version":"2012-10-17","Statement":[...]}.` };
    }
    const raw = (document as Record<string, unknown>).Statement;
    const items = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    const statements = items.map((item, index): Statement => {
        const s = (typeof item === "object" && item !== null ? item : {}) as Record<string, unknown>;
        const sid = typeof s.Sid === "string" && s.Sid !== "" ? ` (Sid "${s.Sid}")` : "";
        const principal = s.Principal ?? s.NotPrincipal;
        let principals: Record<string, string[]> | undefined;
        if (principal === "*") {
            principals = { AWS: ["*"] };
        } else if (typeof principal === "object" && principal !== null) {
            principals = Object.fromEntries(Object.entries(principal).map(([kind, values]) => [kind, list(values)]));
        }
        const condition: Record<string, Record<string, string[]>> = {};
        if (typeof s.Condition === "object" && s.Condition !== null) {
            for (const [operator, block] of Object.entries(s.Condition)) {
                if (typeof block === "object" && block !== null) {
                    condition[operator] = Object.fromEntries(Object.entries(block).map(([key, values]) => [key, list(values)]));
                }
            }
        }
        return {
            label: `${property} Statement[${index}]${sid}`,
            effect: String(s.Effect ?? ""),
            principal: principals,
            notPrincipal: s.NotPrincipal !== undefined,
            actions: list(s.Action),
            notActions: s.NotAction === undefined ? undefined : list(s.NotAction),
            resources: list(s.Resource),
            condition,
        };
    });
    return { statements, text: typeof value === "string" ? value : JSON.stringify(value) };
}

/** IAM action matching: case-insensitive, `*` and `?` wildcards. */
function actionMatches(pattern: string, action: string): boolean {
    return wildcardMatches(pattern, action, "i");
}

/** Operators under which a condition key must be present and match: what pins a value. */
const PINNING_OPERATORS = [
    "stringequals",
    "stringequalsignorecase",
    "stringlike",
    "foranyvalue:stringequals",
    "foranyvalue:stringequalsignorecase",
    "foranyvalue:stringlike",
];

/** A wildcard alone (`*`, `**`, `?*`) matches every value: it pins nothing. */
const isBareWildcard = (value: string): boolean => /^[*?]+$/.test(value);

/**
 * Whether the statement requires `key` to match specific values. IfExists
 * operators pass when the key is missing, ForAllValues passes on an empty
 * set, and negated operators admit everything else, so none of them pin.
 */
function pins(statement: Statement, key: string): boolean {
    const wanted = key.toLowerCase();
    return Object.entries(statement.condition).some(
        ([operator, block]) =>
            PINNING_OPERATORS.includes(operator.toLowerCase()) &&
            Object.entries(block).some(([k, values]) => k.toLowerCase() === wanted && values.length > 0 && !values.some(isBareWildcard)),
    );
}

// ---- Rule 1: web-identity trust --------------------------------------------

interface WebIdentityProvider {
    /** The condition-key prefix: the issuer's host and path. */
    readonly prefix: string;
    /** The claims that must be pinned. */
    readonly keys: readonly string[];
    /** What good values look like. */
    readonly hint: string;
}

/**
 * The claims that scope a provider's tokens to one workload. IAM OIDC
 * providers (EKS, GitHub Actions, any issuer) and Google use `sub` and `aud`.
 * Cognito's `sub` is one identity ID; its trust is scoped by the identity
 * pool (`aud`) and by `amr` (authenticated or not), as the Cognito developer
 * guide's role trust policies do. Login with Amazon and Facebook name their
 * claims `app_id` and `user_id` / `id`.
 */
function webIdentityProvider(federated: string): WebIdentityProvider | undefined {
    const oidc = /^arn:[a-z-]+:iam::\d{12}:oidc-provider\/(.+)$/.exec(federated);
    if (oidc) {
        const prefix = oidc[1];
        const hint = /^oidc\.eks\./.test(prefix)
            ? `sub "system:serviceaccount:<namespace>:<name>" and aud "sts.amazonaws.com"`
            : "sub the exact subject (e.g. repo:<owner>/<repo>:ref:refs/heads/main) and aud the expected audience (e.g. sts.amazonaws.com)";
        return { prefix, keys: ["sub", "aud"], hint };
    }
    if (/^arn:[a-z-]+:iam::\d{12}:saml-provider\//.test(federated)) {
        return undefined;
    }
    switch (federated.toLowerCase()) {
        case "cognito-identity.amazonaws.com":
            return { prefix: "cognito-identity.amazonaws.com", keys: ["aud", "amr"], hint: `aud the identity pool ID and amr "authenticated"` };
        case "www.amazon.com":
            return { prefix: "www.amazon.com", keys: ["app_id", "user_id"], hint: "app_id your application's ID and user_id the users' IDs" };
        case "graph.facebook.com":
            return { prefix: "graph.facebook.com", keys: ["app_id", "id"], hint: "app_id your application's ID and id the users' IDs" };
        default:
            return { prefix: federated, keys: ["sub", "aud"], hint: "sub the exact subject and aud the expected audience" };
    }
}

/** Rule 1 on one trust policy. */
export function webIdentityViolations(statements: readonly Statement[]): Violation[] {
    const out: Violation[] = [];
    for (const s of statements) {
        const federated = s.principal?.Federated ?? [];
        const webIdentity =
            s.notActions === undefined
                ? s.actions.some((a) => actionMatches(a, "sts:AssumeRoleWithWebIdentity"))
                : !s.notActions.some((a) => actionMatches(a, "sts:AssumeRoleWithWebIdentity"));
        if (s.effect !== "Allow" || s.notPrincipal || federated.length === 0 || !webIdentity) {
            continue;
        }
        for (const value of federated) {
            const provider = webIdentityProvider(value);
            if (!provider) {
                continue;
            }
            const missing = provider.keys.map((k) => `${provider.prefix}:${k}`).filter((key) => !pins(s, key));
            if (missing.length > 0) {
                out.push({
                    rule: RULES.webIdentity,
                    message:
                        `${s.label} lets web identities from "${value}" assume the role without pinning ${missing.map((k) => `"${k}"`).join(" and ")}: ` +
                        `add StringEquals (or StringLike) conditions on ${provider.keys.map((k) => `${provider.prefix}:${k}`).join(" and ")} with exact values ` +
                        `(${provider.hint}); IfExists, ForAllValues, negated operators and a bare "*" pin nothing.`,
                });
            }
        }
    }
    return out;
}

// ---- Rule 2: cross-account repository grants -------------------------------

/** The account an AWS principal belongs to; undefined for `*` and unique IDs, which may be any account. */
function principalAccount(principal: string): string | undefined {
    if (/^\d{12}$/.test(principal)) {
        return principal;
    }
    return /^arn:[a-z-]+:(?:iam|sts)::(\d{12}):/.exec(principal)?.[1];
}

const PULL_ACTIONS_LOWER = ECR_PULL_ACTIONS.map((a) => a.toLowerCase());

/** Rule 2 on one repository policy. */
export function crossAccountViolations(statements: readonly Statement[], registryAccountIds: readonly string[]): Violation[] {
    const out: Violation[] = [];
    for (const s of statements) {
        if (s.effect !== "Allow") {
            continue;
        }
        // The statement's own repository ARNs say whose registry it is.
        const own = new Set([
            ...registryAccountIds,
            ...s.resources.map((r) => /^arn:[a-z-]+:ecr:[a-z0-9-]*:(\d{12}):/.exec(r)?.[1]).filter((a): a is string => a !== undefined),
        ]);
        const others = s.notPrincipal
            ? ["(every principal but the NotPrincipal ones)"]
            : (s.principal?.AWS ?? []).filter((p) => {
                  const account = principalAccount(p);
                  return account === undefined || !own.has(account);
              });
        if (others.length === 0) {
            continue;
        }
        const to = `${others.length === 1 ? "principal" : "principals"} ${others.map((p) => `"${p}"`).join(", ")} of another account`;
        const need = `a cross-account grant may hold only the pull actions ${ECR_PULL_ACTIONS.join(", ")}`;
        if (s.notActions !== undefined) {
            out.push({
                rule: RULES.crossAccount,
                message: `${s.label} grants every action but ${s.notActions.map((a) => `"${a}"`).join(", ")} (NotAction) to ${to}: use Action; ${need}.`,
            });
            continue;
        }
        const wider = s.actions.filter((a) => !PULL_ACTIONS_LOWER.includes(a.toLowerCase()));
        if (wider.length > 0) {
            out.push({ rule: RULES.crossAccount, message: `${s.label} grants ${wider.map((a) => `"${a}"`).join(", ")} to ${to}: ${need}.` });
        }
    }
    return out;
}

// ---- Rule 3: public principals ---------------------------------------------

/** Rule 3 on one resource or trust policy. */
export function publicPrincipalViolations(statements: readonly Statement[]): Violation[] {
    const out: Violation[] = [];
    for (const s of statements) {
        const everyone = s.notPrincipal || (s.principal?.AWS ?? []).includes("*");
        if (s.effect !== "Allow" || !everyone || ORGANIZATION_CONDITION_KEYS.some((key) => pins(s, key))) {
            continue;
        }
        const who = s.notPrincipal ? "NotPrincipal (every principal but the listed ones)" : `Principal "*"`;
        out.push({
            rule: RULES.publicPrincipal,
            message:
                `${s.label} allows ${who} without an organization condition: add StringEquals on aws:PrincipalOrgID ` +
                `(or ForAnyValue:StringLike on aws:PrincipalOrgPaths) with your organization, or name the accounts as principals; aws:ResourceOrgID limits no caller.`,
        });
    }
    return out;
}

// ---- Rule 4: quotas --------------------------------------------------------

type QuotaKind = "trust" | "inline" | "managed" | "repository";

const QUOTA: Record<QuotaKind, { readonly limit: (l: GuardrailLimits) => number; readonly what: string; readonly remedy: string }> = {
    trust: {
        limit: (l) => l.trustPolicy,
        what: "a role trust policy",
        remedy: `split the trusted principals across roles, or raise quota L-C07B4B0D and set trustPolicy in the pack's config to the raised value (at most ${MAX_TRUST_POLICY})`,
    },
    inline: {
        limit: (l) => l.inlineRolePolicies,
        what: "a role's inline policies together",
        remedy: "move statements into a managed policy attached to the role",
    },
    managed: { limit: (l) => l.managedPolicy, what: "a managed policy", remedy: "split it into several managed policies attached to the same principal" },
    repository: {
        limit: (l) => l.repositoryPolicy,
        what: "an ECR repository policy",
        remedy: "name account roots narrowed by aws:PrincipalArn conditions instead of listing every principal, or grant fewer principals per repository",
    },
};

/** Rule 4 on one document's text (or several inline policies' texts together). */
export function quotaViolation(property: string, texts: readonly string[], kind: QuotaKind, limits: GuardrailLimits): Violation | undefined {
    const size = texts.reduce((sum, text) => sum + policySize(text), 0);
    const { limit, what, remedy } = QUOTA[kind];
    if (size <= limit(limits)) {
        return undefined;
    }
    return { rule: RULES.quota, message: `${property} is ${size} characters (white space not counted); ${what} may have ${limit(limits)}: ${remedy}.` };
}

// ---- Resources -------------------------------------------------------------

/** Reads one document property: absent, unknown, malformed or parsed. */
function documentOf(
    props: Readonly<Record<string, unknown>>,
    property: string,
    unknown: string[],
    violations: Violation[],
    rule: Rule,
): { statements: readonly Statement[]; text: string } | undefined {
    const value = props[property];
    if (value === undefined || value === null || value === "") {
        return undefined;
    }
    if (containsUnknown(value)) {
        unknown.push(property);
        return undefined;
    }
    const parsed = parseDocument(property, value);
    if ("error" in parsed) {
        violations.push({ rule, message: parsed.error });
        return undefined;
    }
    return parsed;
}

/**
 * Every guardrail violation of one resource. Types the checks do not know
 * give no violations. Values not known yet (a preview) are listed in
 * `unknown` and skipped; the update checks them.
 */
export function checkResource(type: string, props: Readonly<Record<string, unknown>>, options: CheckOptions = {}): CheckResult {
    const limits: GuardrailLimits = { ...DEFAULT_GUARDRAIL_LIMITS, ...options.limits };
    const violations: Violation[] = [];
    const unknown: string[] = [];
    const add = (found: Violation | readonly Violation[] | undefined) => {
        if (Array.isArray(found)) {
            violations.push(...found);
        } else if (found) {
            violations.push(found as Violation);
        }
    };
    switch (type) {
        case CHECKED_TYPES.role: {
            const trust = documentOf(props, "assumeRolePolicy", unknown, violations, RULES.webIdentity);
            if (trust) {
                add(webIdentityViolations(trust.statements));
                add(publicPrincipalViolations(trust.statements));
                add(quotaViolation("assumeRolePolicy", [trust.text], "trust", limits));
            }
            const inline = props.inlinePolicies;
            if (containsUnknown(inline)) {
                unknown.push("inlinePolicies");
            } else if (Array.isArray(inline)) {
                const texts = inline
                    .map((p) => (typeof p === "object" && p !== null ? (p as Record<string, unknown>).policy : undefined))
                    .filter((p) => p !== undefined && p !== "")
                    .map((p) => (typeof p === "string" ? p : JSON.stringify(p)));
                add(quotaViolation("inlinePolicies", texts, "inline", limits));
            }
            break;
        }
        case CHECKED_TYPES.rolePolicy:
        case CHECKED_TYPES.managedPolicy: {
            const document = documentOf(props, "policy", unknown, violations, RULES.quota);
            if (document) {
                add(quotaViolation("policy", [document.text], type === CHECKED_TYPES.rolePolicy ? "inline" : "managed", limits));
            }
            break;
        }
        case CHECKED_TYPES.repositoryPolicy: {
            const document = documentOf(props, "policy", unknown, violations, RULES.crossAccount);
            if (document) {
                add(crossAccountViolations(document.statements, options.registryAccountIds ?? []));
                add(publicPrincipalViolations(document.statements));
                add(quotaViolation("policy", [document.text], "repository", limits));
            }
            break;
        }
        case CHECKED_TYPES.registryPolicy: {
            // Registry policies grant replication and pull-through cache to
            // other accounts (ecr:ReplicateImage, ecr:CreateRepository): push-like
            // by nature, so rule 2 does not apply; a public grant still must not pass.
            const document = documentOf(props, "policy", unknown, violations, RULES.publicPrincipal);
            if (document) {
                add(publicPrincipalViolations(document.statements));
            }
            break;
        }
        default:
            break;
    }
    return { violations, unknown };
}

/** The violations of one rule only: each policy of the pack reports its own. */
export function checkResourceRule(rule: Rule, type: string, props: Readonly<Record<string, unknown>>, options: CheckOptions = {}): CheckResult {
    const result = checkResource(type, props, options);
    return { violations: result.violations.filter((v) => v.rule === rule), unknown: result.unknown };
}

// ---- Rule 4 across resources: a role's inline policies together -------------

/** A resource as a stack validation sees it: its outputs after the update. */
export interface StackResource {
    readonly type: string;
    readonly urn: string;
    readonly name: string;
    readonly props: Readonly<Record<string, unknown>>;
}

export interface StackViolation extends Violation {
    /** The resource to blame: the role, or its first role policy when the role is not in this stack. */
    readonly urn: string;
}

const documentText = (value: unknown): string | undefined =>
    value === undefined || value === null || value === "" || containsUnknown(value) ? undefined : typeof value === "string" ? value : JSON.stringify(value);

/**
 * IAM counts a role's inline policies together (10,240), whether they come
 * from the role's `inlinePolicies` or from separate `RolePolicy` resources,
 * which one resource alone cannot see. Roles are matched by name (a
 * RolePolicy's `role` is the role's name or ID, which IAM makes the same).
 */
export function inlinePolicyTotals(resources: readonly StackResource[], limits: Partial<GuardrailLimits> = {}): StackViolation[] {
    const all = { ...DEFAULT_GUARDRAIL_LIMITS, ...limits };
    const byRole = new Map<string, { urns: string[]; sources: string[]; texts: string[] }>();
    const entry = (role: string) => byRole.get(role) ?? byRole.set(role, { urns: [], sources: [], texts: [] }).get(role)!;
    for (const r of resources) {
        if (r.type === CHECKED_TYPES.role && typeof r.props.name === "string" && Array.isArray(r.props.inlinePolicies)) {
            const texts = r.props.inlinePolicies.map((p) => documentText((p as Record<string, unknown>)?.policy)).filter((t): t is string => t !== undefined);
            if (texts.length > 0) {
                const e = entry(r.props.name);
                e.urns.unshift(r.urn);
                e.sources.push("its inlinePolicies");
                e.texts.push(...texts);
            }
        } else if (r.type === CHECKED_TYPES.rolePolicy && typeof r.props.role === "string") {
            const text = documentText(r.props.policy);
            if (text !== undefined) {
                const e = entry(r.props.role);
                e.urns.push(r.urn);
                e.sources.push(`RolePolicy "${r.name}"`);
                e.texts.push(text);
            }
        }
    }
    const out: StackViolation[] = [];
    for (const [role, e] of byRole) {
        const found = quotaViolation(`role "${role}": the inline policies (${e.sources.join(", ")})`, e.texts, "inline", all);
        if (found) {
            out.push({ ...found, message: found.message.replace(" is ", " are "), urn: e.urns[0] });
        }
    }
    return out;
}
