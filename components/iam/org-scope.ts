/**
 * Organization scope: a grant whose registry side names no cluster, and
 * trusts instead the cluster-side roles of that grant anywhere in an AWS
 * organization (or some of its organizational units), recognised by their
 * IAM path; node roles are recognised by a tag. One pull role serves any
 * number of clusters, and a cluster joins with its own EKS stack alone.
 *
 * What such a trust admits is wider than a list: any role at the grant's
 * path, or any role with the grant's node-pull tag, in any account of the
 * scope. The namespace and service account stay pinned (by the cluster-side
 * role's own trust for chaining, by the session tags for Pod Identity), and
 * the service control policy in policy/ecrpull-org-scope.scp.json keeps
 * everyone but the deployers from creating such roles or tags.
 *
 * `aws:PrincipalOrgID` and `aws:PrincipalOrgPaths` are global condition
 * keys (IAM user guide, "AWS global condition context keys"); an account's
 * path is `o-<id>/r-<root>/ou-<id>/.../`, and a path ending in `/*` matches
 * the accounts of that OU and of every OU below it.
 */
import { Problems, quoteHint } from "../validation";
import { GRANT_NAME } from "./names";

/** Names built from a grant are only ever built from a checked one; a bad one here is a bug, said loudly. */
function checkedGrant(grant: string): string {
    if (!GRANT_NAME.test(grant)) {
        throw new Error(`"${grant}" is not a grant name: lowercase letters, digits and '-', starting and ending with a letter or digit.`);
    }
    return grant;
}

/** A grant's organization scope, as written in `ecrpull:grants[].scope`. */
export interface OrganizationScope {
    /** The organization's ID, `o-` and 10 to 32 lowercase letters or digits. */
    readonly organization: string;
    /**
     * Narrow to these organizational units: paths as `aws:PrincipalOrgPaths`
     * has them, `o-<id>/r-<root>/ou-<id>/`; end a path with `/*` to include
     * the OUs below it. Default: the whole organization.
     */
    readonly organizationalUnits?: string[];
}

/** Every cluster-side role of an organization-scoped grant sits under this IAM path. */
export const ORG_ROLE_PATH_PREFIX = "/ecrpull/";

/** The IAM path of the cluster-side roles of an organization-scoped grant: `/ecrpull/<grant>/`. */
export function orgRolePath(grant: string): string {
    return `${ORG_ROLE_PATH_PREFIX}${checkedGrant(grant)}/`;
}

/** The tag key namespace of ecrpull. */
export const TAG_KEY_PREFIX = "ecrpull.dev/";
/** Node roles whose kubelets pull an organization-scoped grant's images carry this tag key, with value `true`. */
export const NODE_PULL_TAG_PREFIX = `${TAG_KEY_PREFIX}node-pull/`;
export const NODE_PULL_TAG_VALUE = "true";

export function nodePullTagKey(grant: string): string {
    return `${NODE_PULL_TAG_PREFIX}${checkedGrant(grant)}`;
}

/**
 * A global condition key present only in requests signed with EC2 instance
 * credentials (the node role as the kubelet uses it), which carry no session
 * tags (AWS Security Blog, "How to use policies to restrict where EC2
 * instance credentials can be used from"; IAM user guide, global condition
 * keys). Requiring it makes the node-pull tag the role's own.
 */
export const EC2_INSTANCE_CREDENTIALS_KEY = "aws:Ec2InstanceSourceVpc";

/**
 * The condition keys that keep a statement's callers inside an organization.
 * `aws:ResourceOrgID` is not one: it describes the resource being called,
 * which in a resource policy is always the policy's own, so it limits no caller.
 */
export const ORGANIZATION_CONDITION_KEYS: readonly string[] = ["aws:PrincipalOrgID", "aws:PrincipalOrgPaths"];

/** Whether a policy document (parsed, or as JSON text) has a statement conditioned on the caller's organization. */
export function conditionsOnOrganization(document: string | { readonly Statement?: readonly { readonly Condition?: unknown }[] }): boolean {
    const parsed = typeof document === "string" ? (JSON.parse(document) as { Statement?: { Condition?: unknown }[] }) : document;
    return (parsed.Statement ?? []).some((s) =>
        Object.values((s.Condition ?? {}) as Record<string, Record<string, unknown>>).some((block) =>
            ORGANIZATION_CONDITION_KEYS.some((key) => key in (block ?? {})),
        ),
    );
}

/** The `aws:PrincipalArn` pattern the registry trusts for an organization-scoped grant. */
export function orgRoleArnPattern(partition: string, grant: string): string {
    return `arn:${partition}:iam::*:role${orgRolePath(grant)}*`;
}

/** The condition that keeps a `Principal: *` statement inside the scope. */
export function orgScopeCondition(scope: OrganizationScope): { StringEquals?: Record<string, string[]>; "ForAnyValue:StringLike"?: Record<string, string[]> } {
    return scope.organizationalUnits && scope.organizationalUnits.length > 0
        ? { "ForAnyValue:StringLike": { "aws:PrincipalOrgPaths": [...scope.organizationalUnits] } }
        : { StringEquals: { "aws:PrincipalOrgID": [scope.organization] } };
}

/** The scope in words: "organization o-…" or "organizational units o-…/r-…/ou-…/* of organization o-…". */
export function describeScope(scope: OrganizationScope): string {
    const units = scope.organizationalUnits ?? [];
    return units.length === 0
        ? `organization ${scope.organization}`
        : `organizational unit${units.length > 1 ? "s" : ""} ${units.join(", ")} of organization ${scope.organization}`;
}

const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;
/** Organizations API: root `r-[0-9a-z]{4,32}`, OU `ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}`; a scope's path may end in `*`. */
const ORG_PATH = /^o-[a-z0-9]{10,32}\/r-[0-9a-z]{4,32}\/(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}\/)*\*?$/;

/** An account's own path in its organization, as `aws:PrincipalOrgPaths` has it: the organization's ID, or undefined when it is not one. */
export function organizationOfPath(path: string): string | undefined {
    return ORG_PATH.test(path) && !path.endsWith("*") ? path.slice(0, path.indexOf("/")) : undefined;
}
const SCOPE_KEYS = ["organization", "organizationalUnits"];

/** Checks `value` as an `OrganizationScope`; returns it when it is one. */
export function checkOrganizationScope(problems: Problems, at: string, value: unknown): OrganizationScope | undefined {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        problems.add(
            at,
            value,
            'is not a scope: use { organization: "o-exampleorgid" }, optionally with organizationalUnits: ["o-exampleorgid/r-ab12/ou-ab12-11111111/*"].',
        );
        return undefined;
    }
    const record = value as Record<string, unknown>;
    const before = problems.list.length;
    for (const key of Object.keys(record).filter((k) => !SCOPE_KEYS.includes(k))) {
        problems.raw(`${at}.${key}`, `is not a scope setting: use organization and, optionally, organizationalUnits.`);
    }
    const organization = record.organization;
    if (
        !quoteHint(problems, `${at}.organization`, organization, "organization ID") &&
        (typeof organization !== "string" || !ORGANIZATION_ID.test(organization))
    ) {
        problems.add(
            `${at}.organization`,
            organization,
            'is not an AWS organization ID: use "o-" and 10 to 32 lowercase letters or digits, as `aws organizations describe-organization --query Organization.Id` prints it.',
        );
    }
    const units = record.organizationalUnits;
    if (units !== undefined) {
        if (!Array.isArray(units) || units.length === 0) {
            problems.add(
                `${at}.organizationalUnits`,
                units,
                'is not a list of OU paths: use e.g. ["o-exampleorgid/r-ab12/ou-ab12-11111111/*"], or leave it out for the whole organization.',
            );
        } else {
            units.forEach((unit, i) => {
                if (typeof unit !== "string" || !ORG_PATH.test(unit)) {
                    problems.add(
                        `${at}.organizationalUnits[${i}]`,
                        unit,
                        'is not an organization path: use "<organization>/<root>/<ou>/", as aws:PrincipalOrgPaths has it, ending in "/*" to include the OUs below (e.g. "o-exampleorgid/r-ab12/ou-ab12-11111111/*").',
                    );
                } else if (typeof organization === "string" && !unit.startsWith(`${organization}/`)) {
                    problems.add(
                        `${at}.organizationalUnits[${i}]`,
                        unit,
                        `is not in organization ${organization}: an OU path starts with its organization's ID.`,
                    );
                }
            });
            if (new Set(units).size !== units.length) {
                problems.raw(`${at}.organizationalUnits`, "lists an OU path twice: list each once.");
            }
        }
    }
    return problems.list.length === before ? (record as unknown as OrganizationScope) : undefined;
}
