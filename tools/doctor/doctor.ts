/**
 * The doctor: given a service-account token and the deployed state of the
 * stacks, explains whether STS would let the token assume its role with
 * `sts:AssumeRoleWithWebIdentity`, and if not, why and what to change.
 *
 * Everything it judges comes from the documents this package deployed (the
 * `pulumi stack export --show-secrets` files: trust policies, OIDC providers,
 * stack outputs) and from what the issuer publishes (discovery document, key
 * set, TLS chain). STS checks, in the order a diagnosis follows:
 *  - the token is a JWT signed with an asymmetric algorithm (EKS: RS256);
 *  - its `iss` names an IAM OIDC provider of the role's account (IAM keys
 *    providers by the URL without `https://`);
 *  - one of its audiences is in that provider's client IDs;
 *  - it has not expired (and is already valid);
 *  - its signature verifies with a key the issuer publishes;
 *  - the issuer's TLS chain matches a listed thumbprint, unless the chain
 *    ends at a CA AWS trusts, as EKS issuers' does (docs/aws-facts.md, Thumbprints);
 *  - the role's trust allows the provider, and its `<issuer>:aud` and
 *    `<issuer>:sub` conditions hold for the token's claims.
 *
 * `diagnoseToken` is pure: the issuer's answers come in as `IssuerEvidence`.
 * `examineToken` fetches that evidence first, and has jose check the
 * signature with the keys fetched (`verifySignature`).
 *
 * The work is spread over small modules, read in this order: `doctor-types`
 * (input and report), `doctor-documents` (what the states hold),
 * `doctor-token-checks` (the token by itself, decoded by `token` and its
 * signature checked by `signature`, both with jose), `doctor-roles` (which roles,
 * and the checks of one), `doctor-provider` (issuer, audience, thumbprint),
 * `doctor-trust` (the trust policy and chaining's second hop) and
 * `doctor-conditions` (IAM conditions, one at a time).
 */
import { str, readDocuments } from "./documents";
import { blocking, chooseRoles, diagnoseRole, podIdentityDiagnoses } from "./roles";
import { claimsOf, expiryCheck, formatCheck, signatureCheck, time } from "./token-checks";
import { CheckName, CheckVerdict, DoctorCheck, DoctorInput, DoctorReport, IssuerEvidence, RoleDiagnosis } from "./types";
import { decodeToken, DecodedToken, TokenFormatError } from "./token";
import { candidateKeys, KeyVerification, verifyWithJose } from "./signature";
import { FetchError, FetchOptions, fetchIssuerKeys, IssuerKeys } from "./discovery";
import { fetchOidcThumbprint, ThumbprintError } from "../../components/cluster/thumbprint";

export * from "./types";

// ---- The diagnosis ---------------------------------------------------------------

/**
 * The diagnosis, from the token, the states and what the issuer answered.
 * Pure: no I/O. Pass `{}` as evidence to diagnose offline (signature and
 * thumbprint are then reported as skipped).
 */
export function diagnoseToken(input: DoctorInput, evidence: IssuerEvidence): DoctorReport {
    let jwt: DecodedToken;
    try {
        jwt = decodeToken(input.token);
    } catch (error) {
        if (!(error instanceof TokenFormatError)) throw error;
        const check: DoctorCheck = {
            check: "token",
            verdict: "fail",
            evidence: error.message,
            fix: "Give the token file itself (the pod's /var/run/secrets/eks.amazonaws.com/serviceaccount/token, copied unchanged).",
            sts: "InvalidIdentityToken",
        };
        return { claims: { aud: [] }, checks: [check], roles: [], admitted: false, summary: summaryOf([check], []) };
    }
    const claims = claimsOf(jwt);
    const docs = readDocuments(input);
    const format = formatCheck(claims);
    const checks: DoctorCheck[] = [format, expiryCheck(claims, input.now, input.clockSkewSeconds ?? 60)];
    if (claims.iss === undefined) {
        return { claims, checks, roles: [], admitted: false, summary: summaryOf(checks, []) };
    }
    checks.push(
        format.verdict === "fail"
            ? { check: "signature", verdict: "skip", evidence: "the token is not RS256-signed (see token)" }
            : signatureCheck(jwt, claims, evidence),
    );

    const chosen = chooseRoles(docs, input, claims);
    checks.push(...chosen.checks);
    let roles = chosen.choices.map((choice) => diagnoseRole(docs, choice, claims, evidence, checks));
    const scanned = input.role === undefined && chosen.choices.every((c) => c.workload === undefined);
    if (scanned && !roles.some((r) => r.admitted)) {
        // A Pod Identity service account meets no web-identity trust: say so rather than list other grants' refusals.
        const podRoles = podIdentityDiagnoses(docs, claims);
        if (podRoles.length > 0) {
            roles = podRoles;
        }
    }
    const admitted = !blocking(checks) && roles.some((r) => r.admitted);
    return { claims, checks, roles, admitted, summary: summaryOf(checks, roles) };
}

/** The order in which STS meets the problems: the first failure in this order is the error a pod sees. */
const STS_ORDER: readonly CheckName[] = ["token", "roles", "path", "issuer", "audience", "thumbprint", "signature", "expiry", "trust", "subject", "chain"];

function summaryOf(checks: readonly DoctorCheck[], roles: readonly RoleDiagnosis[]): string {
    const admitted = blocking(checks) ? [] : roles.filter((r) => r.admitted);
    if (admitted.length > 0) {
        return `STS would let this token assume ${admitted.map((r) => r.roleArn).join(" and ")}.`;
    }
    const failures = [...checks, ...roles.flatMap((r) => r.checks)].filter((c) => c.verdict === "fail");
    const first = [...failures].sort((a, b) => STS_ORDER.indexOf(a.check) - STS_ORDER.indexOf(b.check))[0];
    return first ? `STS would refuse this token: ${first.check}: ${first.evidence}.` : "STS would refuse this token: no role to check.";
}

// ---- With the issuer's answers ---------------------------------------------------

export interface ExamineOptions extends FetchOptions {
    /** Do not contact the issuer: signature and thumbprint are reported as skipped. */
    readonly offline?: boolean;
}

/**
 * jose's verdict on the token's signature with each key of `keys` that may
 * have signed it (those under its kid, or all when it names none): the
 * `signature` evidence `examineToken` adds to the issuer's keys. None when
 * the token does not decode or fails the `token` check (the signature is then
 * not checked).
 */
export async function verifySignature(token: string, keys: IssuerKeys): Promise<KeyVerification[]> {
    let jwt: DecodedToken;
    try {
        jwt = decodeToken(token);
    } catch {
        return [];
    }
    const claims = claimsOf(jwt);
    return formatCheck(claims).verdict === "fail" ? [] : verifyWithJose(jwt, candidateKeys(keys.keys, claims.kid));
}

/**
 * Fetches the issuer's keys and TLS thumbprint for the token's `iss`, checks
 * the signature with those keys (jose), then diagnoses. Network failures
 * become failed checks with their reason, not exceptions.
 */
export async function examineToken(input: DoctorInput, options: ExamineOptions = {}): Promise<DoctorReport> {
    let iss: string | undefined;
    try {
        iss = str(decodeToken(input.token).payload.iss);
    } catch {
        iss = undefined;
    }
    if (options.offline || iss === undefined) {
        return diagnoseToken(input, {});
    }
    const issuer = iss;
    const [keys, thumbprint] = await Promise.all([
        fetchIssuerKeys(issuer, options).then(
            (value) => ({ ok: true as const, value }),
            (error) => ({ ok: false as const, error: error instanceof FetchError ? error.message : String((error as Error)?.message ?? error) }),
        ),
        fetchOidcThumbprint(issuer.replace(/\/$/, ""), {
            trustedCaPems: options.caPems,
            connectHost: options.connectTo?.host,
            port: options.connectTo?.port,
            timeoutMs: options.timeoutMs,
            attempts: 2,
        }).then(
            (value) => ({ ok: true as const, value }),
            (error) => ({ ok: false as const, error: error instanceof ThumbprintError ? error.reason : String((error as Error)?.message ?? error) }),
        ),
    ]);
    const signature = keys.ok ? await verifySignature(input.token, keys.value) : undefined;
    return diagnoseToken(input, { keys, thumbprint, signature });
}

// ---- Text ----------------------------------------------------------------------

const MARK: Record<CheckVerdict, string> = { pass: "✔", fail: "✘", warn: "!", skip: "–" };

function formatChecks(checks: readonly DoctorCheck[], indent: string): string[] {
    return checks.flatMap((c) => [
        `${indent}${MARK[c.verdict]} ${c.check.padEnd(10)} ${c.evidence}`,
        ...(c.fix && (c.verdict === "fail" || c.verdict === "warn") ? [`${indent}  ${" ".repeat(10)} fix: ${c.fix}`] : []),
        ...(c.sts && c.verdict === "fail" ? [`${indent}  ${" ".repeat(10)} STS says: ${c.sts}`] : []),
    ]);
}

/** The report as terminal text: one line per check (✔ pass, ✘ fail, ! warning, – skipped), its fix and STS's error under failures. */
export function formatReport(report: DoctorReport): string {
    const c = report.claims;
    const lines = [
        `Token: ${c.sub ?? "(no sub)"} from ${c.iss ?? "(no iss)"}, aud ${c.aud.length > 0 ? c.aud.join(", ") : "(none)"}${c.exp !== undefined ? `, expires ${time(c.exp)}` : ""}`,
        ...formatChecks(report.checks, "  "),
    ];
    for (const role of report.roles) {
        lines.push(`Role ${role.roleArn}${role.grant ? ` (grant ${role.grant}${role.path ? `, ${role.path}` : ""})` : ""}: ${role.reason}`);
        lines.push(...formatChecks(role.checks, "  "));
    }
    lines.push(`${report.admitted ? "✔" : "✘"} ${report.summary}`);
    return lines.join("\n");
}
