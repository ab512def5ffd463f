/**
 * The pack's policies: each rule of `checks.ts` as a `ResourceValidationPolicy`
 * (and a stack policy for the quota that spans resources). Kept apart from
 * `index.ts`, which starts the policy server, so tests can call
 * `validateResource(args, reportViolation)` directly (@pulumi/policy has no
 * test helper; docs/aws-facts.md).
 */
import { PolicyConfigSchema, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { ECR_PULL_ACTIONS } from "../components/iam/policies";
import { checkResourceRule, DEFAULT_GUARDRAIL_LIMITS, GuardrailLimits, inlinePolicyTotals, MAX_TRUST_POLICY, Rule, RULES } from "./checks";

/** The config of the cross-account rule: which accounts' repositories the program manages. */
export interface CrossAccountConfig {
    readonly registryAccountIds?: readonly string[];
}

/**
 * The engine hands a policy its props behind a proxy that throws on every
 * unknown value (@pulumi/policy proxy.js). The checks want to see unknowns
 * and skip them, so they read the proxy's target; hand-built props (tests)
 * are used as they are.
 */
function plainProps(props: Record<string, unknown>): Record<string, unknown> {
    return ((props as Record<string, unknown>)["__getSpecialProxyTarget"] as Record<string, unknown> | undefined) ?? props;
}

function validateWith(rule: Rule, options: (args: ResourceValidationArgs) => Parameters<typeof checkResourceRule>[3]) {
    return (args: ResourceValidationArgs, reportViolation: ReportViolation): void => {
        const { violations, unknown } = checkResourceRule(rule, args.type, plainProps(args.props), options(args));
        for (const violation of violations) {
            reportViolation(violation.message);
        }
        if (violations.length === 0 && unknown.length > 0) {
            args.notApplicable(`${unknown.join(", ")} not known until the update; checked then.`);
        }
    };
}

const LIMIT_SCHEMA: PolicyConfigSchema = {
    properties: {
        trustPolicy: {
            type: "integer",
            default: DEFAULT_GUARDRAIL_LIMITS.trustPolicy,
            minimum: 1,
            maximum: MAX_TRUST_POLICY,
            description: "Role trust policy length; raise it with quota L-C07B4B0D.",
        },
        inlineRolePolicies: {
            type: "integer",
            default: DEFAULT_GUARDRAIL_LIMITS.inlineRolePolicies,
            minimum: 1,
            maximum: DEFAULT_GUARDRAIL_LIMITS.inlineRolePolicies,
            description: "A role's inline policies together.",
        },
        managedPolicy: {
            type: "integer",
            default: DEFAULT_GUARDRAIL_LIMITS.managedPolicy,
            minimum: 1,
            maximum: DEFAULT_GUARDRAIL_LIMITS.managedPolicy,
            description: "A customer managed policy.",
        },
        repositoryPolicy: {
            type: "integer",
            default: DEFAULT_GUARDRAIL_LIMITS.repositoryPolicy,
            minimum: 1,
            maximum: DEFAULT_GUARDRAIL_LIMITS.repositoryPolicy,
            description: "An ECR repository policy.",
        },
    },
};

export const webIdentityTrust: ResourceValidationPolicy = {
    name: RULES.webIdentity,
    description:
        "A role that trusts web identities (sts:AssumeRoleWithWebIdentity from a Federated principal) pins the provider's sub and aud claims (Cognito: aud and amr).",
    enforcementLevel: "mandatory",
    severity: "critical",
    validateResource: validateWith(RULES.webIdentity, () => ({})),
};

export const crossAccountPullOnly: ResourceValidationPolicy = {
    name: RULES.crossAccount,
    description: `An ECR repository policy grants other accounts' principals only the pull actions (${ECR_PULL_ACTIONS.join(", ")}).`,
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: {
        properties: {
            registryAccountIds: {
                type: "array",
                items: { type: "string", pattern: "^\\d{12}$" },
                default: [],
                description:
                    "Accounts whose repositories the program manages: their own principals may hold more than the pull actions. Empty: every account counts as another.",
            },
        },
    },
    validateResource: validateWith(RULES.crossAccount, (args) => ({ registryAccountIds: args.getConfig<CrossAccountConfig>().registryAccountIds ?? [] })),
};

export const publicPrincipal: ResourceValidationPolicy = {
    name: RULES.publicPrincipal,
    description:
        'A trust, repository or registry policy that allows Principal "*" (or uses NotPrincipal) limits callers with aws:PrincipalOrgID or aws:PrincipalOrgPaths.',
    enforcementLevel: "mandatory",
    severity: "critical",
    validateResource: validateWith(RULES.publicPrincipal, () => ({})),
};

export const withinQuota: ResourceValidationPolicy = {
    name: RULES.quota,
    description: "Trust, inline, managed and ECR repository policies stay within their AWS quotas (white space not counted).",
    enforcementLevel: "mandatory",
    severity: "medium",
    configSchema: LIMIT_SCHEMA,
    validateResource: validateWith(RULES.quota, (args) => ({ limits: args.getConfig<Partial<GuardrailLimits>>() })),
};

export const inlinePoliciesWithinQuota: StackValidationPolicy = {
    name: "inline-role-policies-within-quota",
    description: "A role's inline policies together (its inlinePolicies and every RolePolicy naming it) stay within 10,240 characters.",
    enforcementLevel: "mandatory",
    severity: "medium",
    configSchema: { properties: { inlineRolePolicies: LIMIT_SCHEMA.properties.inlineRolePolicies } },
    validateStack: (args, reportViolation) => {
        const limits = args.getConfig<Partial<GuardrailLimits>>();
        for (const violation of inlinePolicyTotals(
            args.resources.map((r) => ({ type: r.type, urn: r.urn, name: r.name, props: plainProps(r.props) })),
            limits,
        )) {
            reportViolation(violation.message, violation.urn);
        }
    },
};

/** Every policy of the pack, in the order `pulumi preview` lists them. */
export const GUARDRAIL_POLICIES = [webIdentityTrust, crossAccountPullOnly, publicPrincipal, withinQuota, inlinePoliciesWithinQuota];
