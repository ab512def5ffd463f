/**
 * A thin adapter over @cloud-copilot/iam-simulate, an IAM policy simulator
 * written by other people than this package's documents: it answers "is
 * this request allowed" for the kinds of request our documents govern: (a)
 * to (c) below, and (d), the IAM calls the organization-scope SCP restricts.
 *
 * LICENCE: @cloud-copilot/iam-simulate and @cloud-copilot/iam-policy are
 * AGPL-3.0. They are dev dependencies, imported only from tests/ (never from
 * components/, stacks/ or scripts/); tests/evaluator.test.ts checks that.
 *
 * How each request kind is modelled (iam-simulate's README and types:
 * node_modules/@cloud-copilot/iam-simulate/README.md, dist/cjs/simulation_engine/simulation.d.ts):
 *
 * (a) AssumeRoleWithWebIdentity by a service-account token. STS looks up the
 *     IAM OIDC provider for the token's issuer *in the role's account* and
 *     evaluates the role's trust policy with that provider as the Federated
 *     principal and the token's claims as the keys `<issuer host/path>:sub`
 *     and `<issuer host/path>:aud`. No identity policy takes part (the caller
 *     is not an IAM principal). The simulator matches Federated principals
 *     (principal.js, isFederatedPrincipal) and, for a request whose principal
 *     and role share an account, requires the trust to allow (STS authorizer:
 *     a trust policy is always consulted). What it cannot express is the
 *     claim keys: `runSimulation` drops every context key the IAM service
 *     reference does not list for the action, and EKS issuers
 *     (`oidc.eks.<region>.amazonaws.com/id/<id>`) are not listed (only a few
 *     fixed issuers such as accounts.google.com are). Such a dropped key would
 *     make every sub/aud condition fail and the check vacuous. So a web
 *     identity request is decided by `runUnsafeSimulation`, the same core
 *     engine (`authorize`) without the context-key filter, after
 *     `runSimulation` has validated its shape (trust policy, action, resource
 *     type) and reported exactly the two claim keys as ignored (anything
 *     else ignored is an error). The operators, principal matching and
 *     same-account rules are the same code in both; only the filter differs,
 *     so the answer is faithful (`run` says how the two paths are
 *     cross-checked on the other kinds of request). The two
 *     checks STS makes before the trust policy (a provider for the issuer
 *     exists in the role's account, and the token's aud is one of its client
 *     IDs) are not policy evaluation; the tests check them separately
 *     (`providerAdmits`).
 *
 * (b) sts:AssumeRole / sts:TagSession by a role session. The principal is the
 *     session ARN (`arn:aws:sts::<account>:assumed-role/<role>/<session>`),
 *     with `aws:PrincipalArn` (the role ARN) and `aws:PrincipalAccount` set,
 *     since the simulator does not derive them itself (README, "Features
 *     coming soon"). Session tags (Pod Identity's) are `aws:RequestTag/<key>`,
 *     and their keys `aws:TagKeys`, as STS sets both.
 *     The role's trust is the resource policy and the caller's policies the
 *     identity policies: cross-account, both must allow; same account, the
 *     trust must still allow (StsServiceAuthorizer). sts:TagSession is its
 *     own authorization check, as in IAM: AssumeRole with tags needs both.
 *     A service principal (`pods.eks.amazonaws.com`, `ec2.amazonaws.com`)
 *     has no identity policies and is allowed only by the trust; EKS Pod
 *     Identity sets `aws:SourceAccount` and `aws:SourceArn` (the cluster) and
 *     the session tags.
 *
 * (c) ECR actions by a role session against a repository. The identity
 *     policies are the role's inline and attached policies, the resource
 *     policy the repository policy (none when the repository has none). The
 *     simulator's DefaultServiceAuthorizer implements IAM's rule: a request
 *     from another account needs both to allow (a policy naming the account
 *     root counts, as `AllowedForAccount`); a request from the repository's
 *     own account needs either, and a statement naming only the account root
 *     grants nothing by itself there. `ecr:GetAuthorizationToken` has no
 *     resource type: it is evaluated against `*` in the caller's account.
 *
 * (d) An action on a resource of the caller's own account that has no
 *     resource policy: IAM's calls on roles and users (iam:CreateRole,
 *     iam:TagRole...). The identity policies decide, within the SCPs. Tags
 *     sent with the call are `aws:RequestTag/<key>` and `aws:TagKeys`; a call
 *     that removes tags (iam:UntagRole) sends only `aws:TagKeys`.
 *
 * Organizations. Requests by a session of a role (`roleSession`, `ecr`,
 * `accountAction`) take optional service control policies, one entry per
 * level of the organization (root first, the account last),
 * as the simulator's `serviceControlPolicies`: the request must be allowed
 * by some SCP at every level and denied by none (core_engine,
 * analyzeControlPolicies), so a level needs an Allow such as AWS's default
 * `FullAWSAccess` (exported below) next to Deny-only policies. They apply to
 * the calling principal, as AWS applies them to the IAM principals of member
 * accounts; whether the caller's account is a member one (not the management
 * account, whose principals no SCP restricts) is the test's to say by passing
 * SCPs or not. Without the option no SCP takes part. A web identity or an AWS
 * service is no IAM principal of an account: `webIdentity` and `service` take
 * no SCPs. Global keys the request
 * context would carry in an organization (`aws:PrincipalOrgID`,
 * `aws:PrincipalOrgPaths`, `aws:PrincipalTag/<key>`) are passed with the
 * `context` option, which may not override a key the adapter sets itself.
 *
 * Every policy is validated (trust policies with validateTrustPolicy,
 * identity policies with validateIdentityPolicy, repository policies with
 * validateResourcePolicy, SCPs with validateServiceControlPolicy) before it
 * is simulated; a request that the simulator refuses (bad policy, unknown
 * action, wrong resource type, a context key it would silently drop) throws
 * instead of answering.
 */
import { runSimulation, runUnsafeSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import {
    createValidatedPolicy,
    validateIdentityPolicy,
    validateResourcePolicy,
    validateServiceControlPolicy,
    validateTrustPolicy,
    type ValidatedPolicy,
    type ValidationError,
} from "@cloud-copilot/iam-policy";

export type PolicyKind = "trust" | "identity" | "resource" | "scp";

/** A policy document as JSON text, with a name for error messages. */
export interface NamedPolicy {
    readonly name: string;
    readonly json: string;
}

const VALIDATORS: Record<PolicyKind, (policy: unknown) => ValidationError[]> = {
    trust: validateTrustPolicy,
    identity: validateIdentityPolicy,
    resource: validateResourcePolicy,
    scp: validateServiceControlPolicy,
};

/** @cloud-copilot/iam-policy's verdict on a document, as IAM would judge it for that kind of policy. */
export function validatePolicy(kind: PolicyKind, json: string): ValidationError[] {
    return VALIDATORS[kind](JSON.parse(json));
}

export const STS_AUDIENCE = "sts.amazonaws.com";

/** The service control policies attached at one level of an organization: its root, an OU or the account. */
export interface OrgLevel {
    /** `r-...`, `ou-...` or an account ID: a name for the level. */
    readonly orgIdentifier: string;
    readonly policies: readonly NamedPolicy[];
}

/** AWS's default SCP, attached to every root, OU and account until someone detaches it (Organizations user guide, "FullAWSAccess"). */
export const FULL_AWS_ACCESS: NamedPolicy = {
    name: "FullAWSAccess",
    json: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }),
};

/** What a request of kinds (b) to (d) may add: SCPs over the caller, and global keys of its request context. */
export interface InOrganization {
    /** One entry per level, root first; absent: no SCP applies. */
    readonly serviceControlPolicies?: readonly OrgLevel[];
    /** Extra context keys (`aws:PrincipalOrgID`, `aws:PrincipalTag/<key>`...); a key the adapter sets itself is refused. */
    readonly context?: Readonly<Record<string, string | readonly string[]>>;
}

export interface WebIdentityRequest {
    /** The role the token is exchanged for, and its trust policy. */
    readonly roleArn: string;
    readonly trustPolicy: string;
    /** The IAM OIDC provider for the token's issuer in the role's account: the Federated principal. */
    readonly providerArn: string;
    /** `oidc.eks.<region>.amazonaws.com/id/<id>`: the prefix of the claim keys. */
    readonly issuerHostPath: string;
    readonly namespace: string;
    readonly serviceAccount: string;
    readonly audience: string;
}

export interface RoleSessionRequest extends InOrganization {
    /** The role whose session makes the call. */
    readonly principalRoleArn: string;
    /** Its identity policies (inline and attached). */
    readonly identityPolicies: readonly NamedPolicy[];
    readonly action: "sts:AssumeRole" | "sts:TagSession";
    readonly roleArn: string;
    readonly trustPolicy: string;
    /** Session tags passed with the call (`aws:RequestTag/<key>`). */
    readonly sessionTags?: Readonly<Record<string, string>>;
}

export interface ServiceRequest {
    /** `pods.eks.amazonaws.com`, `ec2.amazonaws.com`... */
    readonly service: string;
    /** `aws:SourceAccount`, where the service sets it (EKS Pod Identity does); absent: the request carries none (EC2's instance-role assumption here: a node role's trust conditions on nothing). */
    readonly sourceAccount?: string;
    readonly sourceArn?: string;
    readonly action: "sts:AssumeRole" | "sts:TagSession";
    readonly roleArn: string;
    readonly trustPolicy: string;
    readonly sessionTags?: Readonly<Record<string, string>>;
}

export interface EcrRequest extends InOrganization {
    readonly principalRoleArn: string;
    readonly identityPolicies: readonly NamedPolicy[];
    readonly action: string;
    /** The repository; absent for `ecr:GetAuthorizationToken`, which is evaluated on `*`. */
    readonly repositoryArn?: string;
    /** The repository's policy; absent when it has none. */
    readonly repositoryPolicy?: string;
}

export interface AccountActionRequest extends InOrganization {
    /** The role whose session makes the call. */
    readonly principalRoleArn: string;
    readonly identityPolicies: readonly NamedPolicy[];
    /** `iam:CreateRole`, `iam:TagRole`, `iam:UntagRole`, `iam:UpdateAssumeRolePolicy`... */
    readonly action: string;
    /** The role or user acted on, in the caller's account. */
    readonly resourceArn: string;
    /** Tags sent with the call (CreateRole, TagRole): `aws:RequestTag/<key>` and `aws:TagKeys`. */
    readonly requestTags?: Readonly<Record<string, string>>;
    /** Keys of tags removed by the call (UntagRole): `aws:TagKeys` only. */
    readonly removedTagKeys?: readonly string[];
}

const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:.*\/)?([\w+=,.@-]+)$/;

function parseRoleArn(arn: string): { partition: string; account: string; name: string } {
    const match = ROLE_ARN.exec(arn);
    if (!match) {
        throw new Error(`simulate: "${arn}" is not an IAM role ARN`);
    }
    return { partition: match[1], account: match[2], name: match[3] };
}

/** The ARN a session of the role calls AWS as. */
export function sessionArnOf(roleArn: string, sessionName = "ecrpull-test"): string {
    const { partition, account, name } = parseRoleArn(roleArn);
    return `arn:${partition}:sts::${account}:assumed-role/${name}/${sessionName}`;
}

const accountOfArn = (arn: string): string => {
    const account = arn.split(":")[4];
    if (!/^\d{12}$/.test(account ?? "")) {
        throw new Error(`simulate: no account in "${arn}"`);
    }
    return account;
};

type Policy = ValidatedPolicy<{ name: string }>;

export class IamSimulator {
    /** How many requests were simulated. */
    public simulations = 0;
    private readonly validated = new Map<string, Policy>();

    /** Validated once per document and kind, then reused (the simulator skips re-validation of a ValidatedPolicy). */
    private policy(kind: PolicyKind, name: string, json: string): Policy {
        const key = `${kind}\u0000${json}`;
        let policy = this.validated.get(key);
        if (!policy) {
            policy = createValidatedPolicy(JSON.parse(json), VALIDATORS[kind], { name });
            if (policy.errors.length > 0) {
                throw new Error(`simulate: the ${kind} policy ${name} is invalid: ${JSON.stringify(policy.errors)}\n${json}`);
            }
            this.validated.set(key, policy);
        }
        return policy;
    }

    private identities(policies: readonly NamedPolicy[]): Simulation["identityPolicies"] {
        return policies.map((p) => ({ name: p.name, policy: this.policy("identity", p.name, p.json) }));
    }

    private scps(levels: readonly OrgLevel[] | undefined): Simulation["serviceControlPolicies"] {
        return (levels ?? []).map((level) => ({
            orgIdentifier: level.orgIdentifier,
            policies: level.policies.map((p) => ({ name: p.name, policy: this.policy("scp", p.name, p.json) })),
        }));
    }

    /** Validated simulations run, and fast ones whose shape a validated one had checked before. */
    public validatedRuns = 0;
    private readonly validatedShapes = new Set<string>();

    /** Runs one validated simulation; `mayIgnore` lists the context keys the simulator is known to drop. */
    private async validatedRun(simulation: Simulation, mayIgnore: readonly string[] = []): Promise<boolean> {
        this.validatedRuns++;
        const response = await runSimulation(simulation, { simulationMode: "Strict" });
        if (response.resultType === "error") {
            throw new Error(`simulate: iam-simulate refused ${describe(simulation)}: ${JSON.stringify(response.errors)}`);
        }
        if (response.resultType !== "single") {
            throw new Error(`simulate: expected one resource, got a wildcard simulation for ${describe(simulation)}`);
        }
        const ignored = (response.result.ignoredContextKeys ?? []).map((k) => k.toLowerCase()).sort();
        const allowedToIgnore = mayIgnore.map((k) => k.toLowerCase()).sort();
        if (JSON.stringify(ignored) !== JSON.stringify(allowedToIgnore)) {
            throw new Error(
                `simulate: iam-simulate ignored the context keys ${JSON.stringify(ignored)} (expected ${JSON.stringify(allowedToIgnore)}) for ${describe(simulation)}`,
            );
        }
        return response.overallResult === "Allowed";
    }

    /**
     * The answer for one request. `runSimulation` validates a request (its
     * policies, action, resource type and context keys) before the core
     * engine decides it; `runUnsafeSimulation` runs the same core engine
     * without those checks and is about eight times faster. A request whose
     * shape (action, resource, context key names, policies) has not been seen
     * goes through the validated path, and so does every 50th request; there
     * the fast path must give the same answer, or the adapter throws. Every
     * other request takes the fast path.
     */
    private async run(simulation: Simulation, mayIgnore: readonly string[] = []): Promise<boolean> {
        this.simulations++;
        const fast = runUnsafeSimulation(simulation, { simulationMode: "Strict" }) === "Allowed";
        const r = simulation.request;
        const shape = [
            r.action,
            r.resource.resource,
            Object.keys(r.contextVariables).sort().join(","),
            simulation.identityPolicies.map((p) => p.name).join(","),
            simulation.serviceControlPolicies.map((l) => `${l.orgIdentifier}:${l.policies.map((p) => p.name).join("+")}`).join(","),
            simulation.resourcePolicy ? "resource" : "",
        ].join("|");
        if (!this.validatedShapes.has(shape) || this.simulations % 50 === 0) {
            this.validatedShapes.add(shape);
            const checked = await this.validatedRun(simulation, mayIgnore);
            // With claim keys dropped, the validated answer is not comparable (see the header).
            if (mayIgnore.length === 0 && checked !== fast) {
                throw new Error(`simulate: runSimulation says ${checked}, runUnsafeSimulation ${fast}, for ${describe(simulation)}`);
            }
        }
        return fast;
    }

    /** (a) AssumeRoleWithWebIdentity: is the trust policy satisfied by this token? */
    async webIdentity(request: WebIdentityRequest): Promise<boolean> {
        const subKey = `${request.issuerHostPath}:sub`;
        const audKey = `${request.issuerHostPath}:aud`;
        const simulation: Simulation = {
            request: {
                principal: request.providerArn,
                action: "sts:AssumeRoleWithWebIdentity",
                resource: { resource: request.roleArn, accountId: accountOfArn(request.roleArn) },
                contextVariables: {
                    [subKey]: `system:serviceaccount:${request.namespace}:${request.serviceAccount}`,
                    [audKey]: request.audience,
                },
            },
            identityPolicies: [],
            serviceControlPolicies: [],
            resourceControlPolicies: [],
            resourcePolicy: this.policy("trust", `trust of ${request.roleArn}`, request.trustPolicy),
        };
        // Validated (per shape) with everything but the two claim keys understood; decided without the filter.
        return this.run(simulation, [subKey, audKey]);
    }

    /** (b) sts:AssumeRole or sts:TagSession by a session of a role. */
    async roleSession(request: RoleSessionRequest): Promise<boolean> {
        const { account } = parseRoleArn(request.principalRoleArn);
        return this.run({
            request: {
                principal: sessionArnOf(request.principalRoleArn),
                action: request.action,
                resource: { resource: request.roleArn, accountId: accountOfArn(request.roleArn) },
                contextVariables: withContext(
                    { "aws:PrincipalArn": request.principalRoleArn, "aws:PrincipalAccount": account, ...tagKeys(request.sessionTags) },
                    request.context,
                ),
            },
            identityPolicies: this.identities(request.identityPolicies),
            serviceControlPolicies: this.scps(request.serviceControlPolicies),
            resourceControlPolicies: [],
            resourcePolicy: this.policy("trust", `trust of ${request.roleArn}`, request.trustPolicy),
        });
    }

    /** (b) sts:AssumeRole or sts:TagSession by an AWS service on a role's trust. */
    async service(request: ServiceRequest): Promise<boolean> {
        return this.run({
            request: {
                principal: request.service,
                action: request.action,
                resource: { resource: request.roleArn, accountId: accountOfArn(request.roleArn) },
                contextVariables: {
                    ...(request.sourceAccount ? { "aws:SourceAccount": request.sourceAccount } : {}),
                    ...(request.sourceArn ? { "aws:SourceArn": request.sourceArn } : {}),
                    ...tagKeys(request.sessionTags),
                },
            },
            identityPolicies: [],
            serviceControlPolicies: [],
            resourceControlPolicies: [],
            resourcePolicy: this.policy("trust", `trust of ${request.roleArn}`, request.trustPolicy),
        });
    }

    /** (c) An ECR action by a session of a role, against a repository (or `*`). */
    async ecr(request: EcrRequest): Promise<boolean> {
        const { account } = parseRoleArn(request.principalRoleArn);
        return this.run({
            request: {
                principal: sessionArnOf(request.principalRoleArn),
                action: request.action,
                resource: request.repositoryArn
                    ? { resource: request.repositoryArn, accountId: accountOfArn(request.repositoryArn) }
                    : { resource: "*", accountId: account },
                contextVariables: withContext({ "aws:PrincipalArn": request.principalRoleArn, "aws:PrincipalAccount": account }, request.context),
            },
            identityPolicies: this.identities(request.identityPolicies),
            serviceControlPolicies: this.scps(request.serviceControlPolicies),
            resourceControlPolicies: [],
            resourcePolicy: request.repositoryPolicy ? this.policy("resource", `policy of ${request.repositoryArn}`, request.repositoryPolicy) : undefined,
        });
    }

    /** (d) An action by a session of a role on a role or user of its own account (no resource policy). */
    async accountAction(request: AccountActionRequest): Promise<boolean> {
        const { account } = parseRoleArn(request.principalRoleArn);
        if (accountOfArn(request.resourceArn) !== account) {
            throw new Error(`simulate: ${request.action} on ${request.resourceArn} from account ${account}: IAM acts on the caller's own account only`);
        }
        if (request.requestTags && request.removedTagKeys) {
            throw new Error("simulate: a call either sends tags or removes them");
        }
        const removed: Record<string, string[]> = request.removedTagKeys ? { "aws:TagKeys": [...request.removedTagKeys] } : {};
        return this.run({
            request: {
                principal: sessionArnOf(request.principalRoleArn),
                action: request.action,
                resource: { resource: request.resourceArn, accountId: account },
                contextVariables: withContext(
                    { "aws:PrincipalArn": request.principalRoleArn, "aws:PrincipalAccount": account, ...tagKeys(request.requestTags), ...removed },
                    request.context,
                ),
            },
            identityPolicies: this.identities(request.identityPolicies),
            serviceControlPolicies: this.scps(request.serviceControlPolicies),
            resourceControlPolicies: [],
            resourcePolicy: undefined,
        });
    }
}

/** Tags sent with a request, as the request context carries them: each value, and the keys (none when no tag is sent). */
function tagKeys(tags: Readonly<Record<string, string>> | undefined): Record<string, string | string[]> {
    const entries = Object.entries(tags ?? {});
    if (entries.length === 0) {
        return {};
    }
    return { ...Object.fromEntries(entries.map(([key, value]) => [`aws:RequestTag/${key}`, value])), "aws:TagKeys": entries.map(([key]) => key) };
}

/** The adapter's own keys, plus the caller's extra ones; a caller may not replace one the adapter derives. */
function withContext(
    own: Record<string, string | string[]>,
    extra: Readonly<Record<string, string | readonly string[]>> | undefined,
): Record<string, string | string[]> {
    const out = { ...own };
    for (const [key, value] of Object.entries(extra ?? {})) {
        if (Object.keys(own).some((k) => k.toLowerCase() === key.toLowerCase())) {
            throw new Error(`simulate: the context key ${key} is set by the adapter; pass it through the request's own fields`);
        }
        out[key] = typeof value === "string" ? value : [...value];
    }
    return out;
}

function describe(simulation: Simulation): string {
    const r = simulation.request;
    return `${String(r.principal)} ${r.action} ${r.resource.resource} ${JSON.stringify(r.contextVariables)}`;
}

/**
 * The checks STS makes before it reads the trust policy of a web identity
 * request: an IAM OIDC provider for the issuer exists in the role's account,
 * and the token's audience is one of its client IDs.
 */
export function providerAdmits(
    providers: readonly { readonly arn: string; readonly clientIds: readonly string[] }[],
    providerArn: string,
    audience: string,
): boolean {
    return providers.some((p) => p.arn === providerArn && p.clientIds.includes(audience));
}
