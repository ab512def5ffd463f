/**
 * Who a role's trust admits before and after an update, in words: what the
 * preview of an adopted pull role says when the package's trust replaces a
 * hand-made one (the seed recipes' trusts have no `sub` condition, or trust
 * a whole role, so taking a role over narrows it and some pods lose access).
 *
 * Reads the trust shapes IAM roles for EKS use: web identity from an OIDC
 * provider (with or without `sub`), AWS principals (roles, account roots,
 * narrowed by `aws:PrincipalArn`), and service principals. Anything it does
 * not recognise is shown as the statement itself, never as admitted by
 * nobody. A test checks its verdicts against an IAM policy evaluator.
 */
import { wildcardMatches } from "./wildcards";

/** One kind of caller a trust admits, and its description. */
interface Admission {
    /** What covers what: `wi|<issuer>|<sub>`, `role|<arn>`, `account|<id>`, `service|<name>`, `other|<json>`. */
    readonly key: string;
    readonly text: string;
    /** For web identity: the issuer and the `sub` values or patterns (`undefined`: any service account). */
    readonly issuer?: string;
    readonly subjects?: readonly string[];
    /** Conditions beyond the principal's identity (session tags, source account): admitted only when they hold. */
    readonly conditioned?: boolean;
}

export interface TrustChange {
    /** Callers the old trust admitted that the new one refuses, in words. */
    readonly lost: readonly string[];
    /** Callers the new trust admits that the old one did not. */
    readonly gained: readonly string[];
}

type Statement = { Effect?: string; Principal?: unknown; Action?: unknown; Condition?: Record<string, Record<string, unknown>> };

const list = (value: unknown): string[] => (value === undefined ? [] : Array.isArray(value) ? value.map(String) : [String(value)]);

/** Each condition operator's values for a key, whatever the operator's case or `IfExists`/`ForAnyValue` form. */
function conditionValues(condition: Statement["Condition"], key: string, operators: readonly string[]): string[] | undefined {
    const found: string[] = [];
    let any = false;
    for (const [operator, block] of Object.entries(condition ?? {})) {
        const bare = operator.replace(/^For(Any|All)Value:/, "").replace(/IfExists$/, "");
        if (!operators.includes(bare)) {
            continue;
        }
        for (const [k, v] of Object.entries(block ?? {})) {
            if (k.toLowerCase() === key.toLowerCase()) {
                found.push(...list(v));
                any = true;
            }
        }
    }
    return any ? found : undefined;
}

const ACCOUNT_ROOT = /^arn:aws[a-z-]*:iam::(\d{12}):root$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\//;

function admissionsOf(document: string): Admission[] {
    const parsed = JSON.parse(document) as { Statement?: Statement | Statement[] };
    const statements = Array.isArray(parsed.Statement) ? parsed.Statement : parsed.Statement ? [parsed.Statement] : [];
    const admissions: Admission[] = [];
    for (const statement of statements.filter((s) => s.Effect === "Allow")) {
        const everyone = statement.Principal === "*" || (statement.Principal as { AWS?: unknown } | undefined)?.AWS === "*";
        const principal = (typeof statement.Principal === "object" && statement.Principal !== null ? statement.Principal : {}) as Record<string, unknown>;
        const otherConditions = Object.keys(statement.Condition ?? {}).some((operator) =>
            Object.keys(statement.Condition![operator] ?? {}).some((k) => !/:(sub|aud)$/.test(k) && k.toLowerCase() !== "aws:principalarn"),
        );
        for (const provider of list(principal.Federated)) {
            const issuer = provider.replace(/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\//, "");
            const subjects = conditionValues(statement.Condition, `${issuer}:sub`, ["StringEquals", "StringLike"]);
            if (subjects === undefined) {
                admissions.push({
                    key: `wi|${issuer}|*`,
                    text: `every service account of the cluster with issuer ${issuer} (the trust has no sub condition)`,
                    issuer,
                });
            } else {
                for (const subject of subjects) {
                    admissions.push({
                        key: `wi|${issuer}|${subject}`,
                        text: `${subject} of ${issuer}`,
                        issuer,
                        subjects: [subject],
                        conditioned: otherConditions,
                    });
                }
            }
        }
        const pinnedArns = conditionValues(statement.Condition, "aws:PrincipalArn", ["ArnEquals", "ArnLike", "StringEquals", "StringLike"]);
        for (const aws of everyone ? [] : list(principal.AWS)) {
            const root = ACCOUNT_ROOT.exec(aws) ?? (/^\d{12}$/.test(aws) ? [aws, aws] : null);
            if (root && pinnedArns) {
                for (const arn of pinnedArns.filter((a) => a.includes(`::${root[1]}:`))) {
                    admissions.push({ key: `role|${arn}`, text: `role ${arn}`, conditioned: otherConditions });
                }
            } else if (root) {
                admissions.push({
                    key: `account|${root[1]}`,
                    text: `every principal of account ${root[1]} allowed to assume roles there`,
                    conditioned: otherConditions,
                });
            } else if (ROLE_ARN.test(aws)) {
                admissions.push({ key: `role|${aws}`, text: `role ${aws}`, conditioned: otherConditions });
            } else {
                admissions.push({ key: `other|${aws}`, text: `principal ${aws}`, conditioned: otherConditions });
            }
        }
        for (const service of list(principal.Service)) {
            admissions.push({ key: `service|${service}`, text: `the service ${service}`, conditioned: true });
        }
        if (everyone) {
            admissions.push({
                key: "other|*",
                text: `any principal (${JSON.stringify(statement.Condition ?? {})})`,
                conditioned: statement.Condition !== undefined,
            });
        }
    }
    return admissions;
}

/** Whether `after` admits every caller `admission` admitted (conservatively: when unsure, it does not). */
function covered(admission: Admission, after: readonly Admission[]): boolean {
    if (after.some((a) => a.key === admission.key && !a.conditioned)) {
        return true;
    }
    if (admission.issuer !== undefined && admission.subjects !== undefined) {
        const subject = admission.subjects[0];
        return after.some((a) => a.issuer === admission.issuer && !a.conditioned && (a.subjects === undefined || wildcardMatches(a.subjects[0], subject)));
    }
    if (admission.key.startsWith("role|")) {
        const account = /::(\d{12}):/.exec(admission.key)?.[1];
        return after.some((a) => a.key === `account|${account}` && !a.conditioned);
    }
    return false;
}

/**
 * What changes in who may assume a role when its trust goes from `before`
 * to `after` (both JSON policy documents).
 */
export function trustChange(before: string, after: string): TrustChange {
    const old = admissionsOf(before);
    const next = admissionsOf(after);
    // "Every service account" that narrows to a few reads best as the rest of them.
    const stillAdmitted = (a: Admission) =>
        a.issuer !== undefined && a.subjects === undefined
            ? next.filter((n) => n.issuer === a.issuer && n.subjects !== undefined).flatMap((n) => n.subjects!)
            : [];
    const describe = (a: Admission) => {
        const rest = stillAdmitted(a);
        const text = rest.length > 0 ? `${a.text.replace(/ \(the trust has no sub condition\)$/, "")} except ${[...new Set(rest)].sort().join(", ")}` : a.text;
        return a.conditioned ? `${text}, under conditions` : text;
    };
    const unique = (admissions: Admission[], show: (a: Admission) => string) => [...new Set(admissions.map(show))].sort();
    return {
        lost: unique(
            old.filter((a) => !covered(a, next)),
            describe,
        ),
        gained: unique(
            next.filter((a) => !covered(a, old)),
            (a) => (a.conditioned ? `${a.text}, under conditions` : a.text),
        ),
    };
}
