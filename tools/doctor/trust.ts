/**
 * The doctor's checks of a role's trust policy against the token: that a
 * statement allows sts:AssumeRoleWithWebIdentity from the issuer's provider
 * (`trust`), and that its `<issuer>:aud` and `<issuer>:sub` conditions hold
 * for the token's claims (`audience`, `subject`), each failure naming the
 * statement and condition. For role chaining, also the second hop: the
 * registry pull role must trust the cluster-account role (`chain`).
 */
import { actionMatches, ConditionResult, evaluateCondition, like } from "./conditions";
import { Documents, federatedPrincipals, findRole, grantOfRole, KnownProvider, KnownRole, providerHostPath, RoleChoice, strings, Workload } from "./documents";
import { AUDIENCE_FIX, STS_ERRORS } from "./provider";
import { DoctorCheck, TokenClaims } from "./types";
import { accountIdOfArn, issuerHostPath, PULL_ROLE_NAME_PREFIX, STS_AUDIENCE } from "../../components/iam/names";
import { conditionsOnOrganization, ORGANIZATION_CONDITION_KEYS, orgRolePath } from "../../components/iam/org-scope";

interface StatementResult {
    readonly sid: string;
    readonly conditions: readonly ConditionResult[];
    readonly ok: boolean;
}

/** The web-identity statements of a trust for this provider, each with its conditions evaluated against the claims. */
function webIdentityStatements(role: KnownRole, provider: KnownProvider, claims: TokenClaims, effect: "Allow" | "Deny"): StatementResult[] {
    const issuerKey = issuerHostPath(provider.url);
    const request = (key: string): string[] | undefined => {
        if (key === `${issuerKey}:sub`) return claims.sub === undefined ? undefined : [claims.sub];
        if (key === `${issuerKey}:aud`) return claims.aud.length === 0 ? undefined : [...claims.aud];
        return undefined;
    };
    return (role.trust?.Statement ?? [])
        .filter((s) => (s.Effect ?? "Allow") === effect)
        .filter((s) =>
            federatedPrincipals(s).some(
                (arn) => arn === provider.arn || (providerHostPath(arn) === issuerKey && accountIdOfArn(arn) === accountIdOfArn(provider.arn)),
            ),
        )
        .filter((s) => actionMatches(s.Action, "sts:AssumeRoleWithWebIdentity"))
        .map((s, i) => {
            const conditions = Object.entries(s.Condition ?? {}).flatMap(([operator, block]) =>
                Object.entries(block ?? {}).map(([key, expected]) => {
                    const known = key === `${issuerKey}:sub` || key === `${issuerKey}:aud`;
                    const result = evaluateCondition(operator, key, expected, request(key));
                    return known ? result : { ...result, ok: result.ok === true && request(key) !== undefined ? true : undefined };
                }),
            );
            return { sid: s.Sid ?? `#${i + 1}`, conditions, ok: conditions.every((c) => c.ok === true) };
        });
}

const quoteList = (values: readonly string[]) => values.map((v) => JSON.stringify(v)).join(", ");

/** `trust`, `audience` and `subject`: the role's trust policy against the provider and the token's claims. */
export function trustChecks(role: KnownRole, provider: KnownProvider | undefined, claims: TokenClaims, choice: RoleChoice): DoctorCheck[] {
    if (!role.trust) {
        return [
            {
                check: "trust",
                verdict: "fail",
                evidence: `role ${role.arn}: ${role.trustProblem}`,
                fix: "Run `pulumi up` on the stack that owns the role so its trust policy is written again.",
            },
        ];
    }
    if (!provider) {
        return [{ check: "trust", verdict: "skip", evidence: "no OIDC provider for the issuer (see issuer)" }];
    }
    const grant = grantOfRole(role.name);
    const allows = webIdentityStatements(role, provider, claims, "Allow");
    if (allows.length === 0) {
        const chained = (role.trust.Statement ?? []).some(
            (s) => actionMatches(s.Action, "sts:AssumeRole") && (s.Principal as { AWS?: unknown })?.AWS !== undefined,
        );
        const wl = choice.workload;
        return [
            {
                check: "trust",
                verdict: "fail",
                evidence: `the trust of ${role.name} allows no sts:AssumeRoleWithWebIdentity from ${provider.arn}`,
                fix: chained
                    ? `This role is reached by role chaining: the token is for the cluster-account role${wl?.clusterRoleArn ? ` ${wl.clusterRoleArn}` : ""}, which then assumes ${role.name}; give that EKS stack's export with --eks-state to check that hop.`
                    : `Add the cluster to the clusters of ${grant ? `grant "${grant}"` : "the role's grant"} with path federation (ecrpull:grants), then run \`pulumi up\` on the ECR stack.`,
                sts: STS_ERRORS.denied,
            },
        ];
    }
    const checks: DoctorCheck[] = [
        {
            check: "trust",
            verdict: "pass",
            evidence: `statement${allows.length === 1 ? "" : "s"} ${allows.map((s) => s.sid).join(", ")} allow${allows.length === 1 ? "s" : ""} sts:AssumeRoleWithWebIdentity from ${provider.arn}`,
        },
    ];

    const issuerKey = issuerHostPath(provider.url);
    const others = allows.flatMap((s) => s.conditions.filter((c) => c.key !== `${issuerKey}:aud` && c.key !== `${issuerKey}:sub`));
    checks.push(audienceCheck(allows, issuerKey, claims, role), subjectCheck(allows, issuerKey, claims, role, grant));

    if (others.some((c) => c.ok === undefined) && !allows.some((s) => s.ok)) {
        checks.push({
            check: "trust",
            verdict: "warn",
            evidence: `the trust also has conditions the doctor cannot evaluate: ${[...new Set(others.filter((c) => c.ok === undefined).map((c) => `${c.operator} ${c.key}`))].join(", ")}`,
            fix: "Check those conditions by hand; this package's own trusts have none.",
        });
    }
    const denies = webIdentityStatements(role, provider, claims, "Deny").filter((s) => s.ok);
    if (denies.length > 0) {
        checks.push({
            check: "trust",
            verdict: "fail",
            evidence: `statement ${denies.map((s) => s.sid).join(", ")} denies this token explicitly`,
            fix: "Remove that Deny statement from the role's trust, or use another service account.",
            sts: STS_ERRORS.denied,
        });
    }
    return checks;
}

/** The conditions on `key` of the allowing statements, each with its statement's Sid. */
const conditionsOn = (allows: readonly StatementResult[], key: string) =>
    allows.flatMap((s) => s.conditions.filter((c) => c.key === key).map((c) => ({ sid: s.sid, c })));

/** `<issuer>:aud`: some allowing statement's audience condition holds for one of the token's audiences. */
function audienceCheck(allows: readonly StatementResult[], issuerKey: string, claims: TokenClaims, role: KnownRole): DoctorCheck {
    const aud = conditionsOn(allows, `${issuerKey}:aud`);
    if (aud.length === 0) {
        return {
            check: "audience",
            verdict: "warn",
            evidence: `the trust does not pin ${issuerKey}:aud`,
            fix: `Pin ${issuerKey}:aud to ${STS_AUDIENCE}: this package's trusts always do; run \`pulumi up\` on the stack that owns ${role.name}.`,
        };
    }
    if (aud.some(({ c }) => c.ok)) {
        const hit = aud.find(({ c }) => c.ok)!;
        return {
            check: "audience",
            verdict: "pass",
            evidence: `aud ${quoteList(claims.aud)} satisfies ${hit.c.operator} ${hit.c.key} ${quoteList(hit.c.expected)} (statement ${hit.sid})`,
        };
    }
    return {
        check: "audience",
        verdict: "fail",
        evidence: `aud ${quoteList(claims.aud)} does not satisfy ${aud.map(({ c, sid }) => `${c.operator} ${c.key} ${quoteList(c.expected)} (statement ${sid})`).join("; ")}`,
        fix: AUDIENCE_FIX,
        sts: STS_ERRORS.denied,
    };
}

/** `<issuer>:sub`: some allowing statement admits the token's subject, with all its other conditions holding too. */
function subjectCheck(allows: readonly StatementResult[], issuerKey: string, claims: TokenClaims, role: KnownRole, grant: string | undefined): DoctorCheck {
    const sub = conditionsOn(allows, `${issuerKey}:sub`);
    const who = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(claims.sub ?? "");
    if (sub.length === 0) {
        return {
            check: "subject",
            verdict: "warn",
            evidence: `the trust does not pin ${issuerKey}:sub: every service account of the cluster may assume ${role.name}`,
            fix: `Pin ${issuerKey}:sub to the service accounts that need the role: a trust without that condition lets every service account of the cluster in, as the unconditioned trusts of the manual OIDC recipes do.`,
        };
    }
    if (allows.some((s) => s.ok)) {
        const hit = allows.find((s) => s.ok)!;
        const c = hit.conditions.find((x) => x.key === `${issuerKey}:sub`)!;
        return {
            check: "subject",
            verdict: "pass",
            evidence: `sub ${JSON.stringify(claims.sub)} satisfies ${c.operator} ${c.key} ${quoteList(c.expected)} (statement ${hit.sid})`,
        };
    }
    if (sub.some(({ c }) => c.ok)) {
        // The subject matched in some statement, but that statement fails on another condition: say which.
        const failing = allows.flatMap((s) =>
            s.conditions
                .filter((c) => c.ok !== true && c.key !== `${issuerKey}:aud`)
                .map((c) => `${c.operator} ${c.key} (statement ${s.sid})${c.ok === undefined ? ": the doctor cannot evaluate this condition" : ""}`),
        );
        return {
            check: "subject",
            verdict: failing.length > 0 ? "fail" : "pass",
            evidence: `sub ${JSON.stringify(claims.sub)} is admitted by ${sub
                .filter(({ c }) => c.ok)
                .map(({ sid }) => sid)
                .join(", ")}${failing.length > 0 ? `, but that statement also requires ${failing.join("; ")}` : ""}`,
            ...(failing.length > 0
                ? { fix: "Remove or correct the other conditions of that statement: this package's trusts only pin aud and sub.", sts: STS_ERRORS.denied }
                : {}),
        };
    }
    const admitted = [...new Set(sub.flatMap(({ c }) => c.expected))].sort();
    const examples = admitted.map((s) => /^system:serviceaccount:([^:]+):([^:]+)$/.exec(s)).filter((m): m is RegExpExecArray => m !== null);
    const add = who ? `{ namespace: ${who[1]}, name: ${who[2]} }` : "the service account";
    const fix = role.arn.includes(`:role/${PULL_ROLE_NAME_PREFIX}`)
        ? `Run the pod as ${examples.length > 0 ? examples.map((m) => `${m[1]}/${m[2]}`).join(" or ") : "a service account the role admits"}, or add ${add} to the serviceAccounts of grant "${grant ?? "?"}" (ecrpull:grants) and run \`pulumi up\` on the ECR stack.`
        : `Run the pod as ${examples.length > 0 ? examples.map((m) => `${m[1]}/${m[2]}`).join(" or ") : "a service account the role admits"}, or add ${add} with grant "${grant ?? "?"}" to ecrpull:workloads of the EKS stack and to that grant's serviceAccounts, then run \`pulumi up\` on the EKS stack and the ECR stack.`;
    return {
        check: "subject",
        verdict: "fail",
        evidence: `sub ${JSON.stringify(claims.sub)} matches none of ${sub.map(({ c, sid }) => `${c.operator} ${c.key} ${quoteList(c.expected)} (statement ${sid})`).join("; ")}`,
        fix,
        sts: STS_ERRORS.denied,
    };
}

/**
 * Chaining's second hop: the registry pull role must trust the cluster-account
 * role with sts:AssumeRole. On organization scope (Principal "*" within
 * aws:PrincipalOrgID or aws:PrincipalOrgPaths) the role's path is checked
 * here; the account's place in the organization is not in any document, and
 * the evidence says so.
 */
export function chainCheck(docs: Documents, workload: Workload): DoctorCheck {
    const pull = findRole(docs, workload.roleArn);
    if (!pull?.trust) {
        return { check: "chain", verdict: "skip", evidence: `the pull role ${workload.roleArn} is not in the ECR state given` };
    }
    const account = accountIdOfArn(workload.clusterRoleArn);
    const unseen: string[] = [];
    const hit = pull.trust.Statement.find((s) => {
        if ((s.Effect ?? "Allow") !== "Allow" || !actionMatches(s.Action, "sts:AssumeRole")) return false;
        const principals = strings((s.Principal as { AWS?: unknown })?.AWS) ?? [];
        const everyone = principals.includes("*");
        if (!everyone && !principals.some((p) => p === workload.clusterRoleArn || p === account || (/:root$/.test(p) && accountIdOfArn(p) === account)))
            return false;
        const organization: string[] = [];
        const matches = Object.entries(s.Condition ?? {}).every(([operator, block]) =>
            Object.entries(block ?? {}).every(([key, expected]) => {
                const values = strings(expected) ?? [];
                if (ORGANIZATION_CONDITION_KEYS.includes(key) && (operator === "StringEquals" || operator === "ForAnyValue:StringLike")) {
                    organization.push(`${key} ${values.join(", ")}`);
                    return true;
                }
                if (key !== "aws:PrincipalArn") return false;
                return operator.startsWith("ArnEquals")
                    ? values.includes(workload.clusterRoleArn)
                    : operator.startsWith("ArnLike")
                      ? values.some((v) => like(v, workload.clusterRoleArn))
                      : false;
            }),
        );
        // "*" alone would admit anyone: only an organization condition makes it a scope.
        if (matches && (!everyone || organization.length > 0)) {
            unseen.push(...organization);
            return true;
        }
        return false;
    });
    if (hit) {
        const organizationId = /o-[a-z0-9]{10,32}/.exec(unseen.join(" "))?.[0];
        const membership =
            unseen.length > 0
                ? ` if account ${account} is in organization ${organizationId ?? "(see the condition)"} (${unseen.join("; ")}), which the doctor cannot see: \`aws organizations describe-account --account-id ${account}\` from the management account says`
                : "";
        return {
            check: "chain",
            verdict: "pass",
            evidence: `then ${pull.name} trusts ${workload.clusterRoleArn} for sts:AssumeRole (statement ${hit.Sid ?? "?"})${membership}`,
        };
    }
    const scoped = conditionsOnOrganization(pull.trust);
    return {
        check: "chain",
        verdict: "fail",
        evidence: `the trust of ${pull.arn} does not allow sts:AssumeRole from ${workload.clusterRoleArn}`,
        fix: scoped
            ? `Grant "${workload.grant}" has an organization scope: its pull role trusts only roles at IAM path ${orgRolePath(workload.grant)}. Give that EKS stack the grant definitions (ecrpull:grants) so that it puts the role there, and run \`pulumi up\` on it.`
            : `Add the cluster's stack to the clusters of grant "${workload.grant}" (ecrpull:grants) and run \`pulumi up\` on the ECR stack after the EKS stack.`,
        sts: "AccessDenied: ... is not authorized to perform: sts:AssumeRole",
    };
}
