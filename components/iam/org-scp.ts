/**
 * The service control policy (SCP) that organization scope needs.
 *
 * With organization scope (issue 13) the registry account trusts, inside the
 * organization, any role at the IAM path `/ecrpull/<grant>/` of any account,
 * and its repository policies admit node pulls by any principal tagged
 * `ecrpull.dev/node-pull/<grant>` = `true`. Those policies alone admit every
 * principal of the organization that can create a role at such a path,
 * rewrite the trust of one, or put such a tag on itself. This SCP takes those
 * abilities from everyone but the deployer roles: it is what makes a path and
 * a tag an identity.
 *
 * SCPs (AWS Organizations user guide, "SCP syntax"): no `Principal` element,
 * at most 5,120 characters, `Condition` allowed in `Deny` statements. They
 * restrict the IAM users and roles of member accounts only (user guide,
 * "Service control policies (SCPs)"): not the management account, not
 * service-linked roles, not principals outside the organization.
 */
import { PolicyDocument, PolicyStatement, serializePolicy } from "./policies";
import { NODE_PULL_TAG_PREFIX, ORG_ROLE_PATH_PREFIX, TAG_KEY_PREFIX } from "./org-scope";
import { wildcardMayMatchPrefix } from "./wildcards";

/** Organizations quotas page: the largest SCP document. Every character counts, white space included. */
export const SCP_MAX_SIZE = 5120;

/** The deployer role pattern of the committed SCP file (`policy/ecrpull-org-scope.scp.json`). */
export const DEFAULT_DEPLOYER_ROLE_PATTERN = "arn:aws:iam::*:role/ecrpull-deployer";

/**
 * The tag keys the SCP keeps for deployers, as `StringLike` patterns on
 * `aws:TagKeys`.
 *
 * `StringLike` compares case-sensitively, but a policy's
 * `aws:PrincipalTag/<key>` (and `aws:ResourceTag/<key>`) finds the tag
 * whatever the case of its key (IAM user guide, "AWS global condition
 * context keys"). A tag `ECRPULL.DEV/Node-Pull/team-a` would satisfy the
 * repository policies' `aws:PrincipalTag/ecrpull.dev/node-pull/team-a` and
 * slip past `ecrpull.dev/*`. IAM wildcards have no case-insensitive form and
 * the 2^10 spellings of `ecrpull.dev/` do not fit, so the second pattern keeps every
 * key of the node-pull key's shape (`?` for each letter): a non-deployer
 * cannot use keys such as `example.com/cost-team/...` either, a price paid
 * for a key that the policies read. A new `ecrpull.dev/` key that a policy
 * condition reads needs its shape here too.
 */
export const PROTECTED_TAG_KEY_PATTERNS: readonly string[] = [`${TAG_KEY_PREFIX}*`, `${NODE_PULL_TAG_PREFIX.replace(/[a-z]/g, "?")}*`];

/** `arn:<partition>:iam::<account or *>:role/<path/name>`, IAM's characters plus the wildcards `*` and `?`. */
const ROLE_ARN_PATTERN = /^arn:([a-z][a-z-]*):iam::(\d{12}|\*):role\/([\w+=,.@*?-]+(?:\/[\w+=,.@*?-]+)*)$/;

function checkDeployerPatterns(patterns: readonly string[], partition: string): void {
    if (patterns.length === 0) {
        throw new Error("The organization-scope SCP needs at least one deployer role ARN pattern: without one, nobody could create the roles it protects.");
    }
    for (const pattern of patterns) {
        const match = ROLE_ARN_PATTERN.exec(pattern);
        if (!match) {
            throw new Error(
                `"${pattern}" is not an IAM role ARN pattern: expected arn:${partition}:iam::<account ID or *>:role/<path and name>, with * and ? as wildcards (e.g. "arn:${partition}:iam::*:role/ecrpull-deployer").`,
            );
        }
        const [, patternPartition, , rolePart] = match;
        if (patternPartition !== partition) {
            throw new Error(`"${pattern}" is in the partition "${patternPartition}"; this SCP is for the partition "${partition}".`);
        }
        if (/^[*/]+$/.test(rolePart)) {
            throw new Error(`"${pattern}" matches every role: the SCP would exempt everyone. Name the deployer roles.`);
        }
        if (wildcardMayMatchPrefix(rolePart, ORG_ROLE_PATH_PREFIX.slice(1))) {
            throw new Error(
                `"${pattern}" may match a role under ${ORG_ROLE_PATH_PREFIX}, the path organization-scoped trusts admit: a deployer role must not be a role that pulls.`,
            );
        }
    }
}

/**
 * The SCP that keeps the roles organization-scoped trusts admit, and the tags
 * its repository policies read, to the deployer roles. Attach it wherever
 * the grants' scope reaches: the organization root for a grant scoped to the
 * organization (`aws:PrincipalOrgID`), at least the grant's OUs for one
 * scoped to OUs (`aws:PrincipalOrgPaths`).
 *
 * `deployerRoleArnPatterns`: the roles that run the ecrpull stacks (and any
 * role that creates those roles), as `ArnLike` patterns on `aws:PrincipalArn`
 * (for a role session, the role's ARN with its path). Every other principal of
 * a member account is denied, whatever its own policies allow:
 *
 * - `DenyTrustedRoleChanges`: `iam:CreateRole` and `iam:UpdateAssumeRolePolicy`
 *   on any role under `/ecrpull/`, and on the deployer roles themselves.
 *   These are the only ways to become, or to make, a role the trust admits:
 *   a role's path is fixed when the role is created (no IAM API moves a role),
 *   and who may assume an existing role is its trust policy. Without the
 *   deployer roles in the list, any administrator could create a role named
 *   like a deployer (or rewrite a deployer's trust) and be exempt.
 *   Left alone, on purpose:
 *   - `iam:PutRolePolicy`, `iam:AttachRolePolicy`, permissions boundaries,
 *     `iam:UpdateRole`: they change what a role may do, not who may be it;
 *     removing its permissions only breaks its own workloads.
 *   - `iam:DeleteRole`: breaks the role's workloads; a role re-created at the
 *     same ARN needs `iam:CreateRole`, which is denied.
 *   - `iam:PassRole`, `iam:AddRoleToInstanceProfile`, Pod Identity
 *     associations: a service can only assume the role if its trust names
 *     that service, and the trust is the deployer's (see above).
 *   - `iam:TagRole` / `iam:UntagRole` on these roles: the trusts read no tag
 *     of the caller's role (Pod Identity's tags are session tags of the
 *     request); the `ecrpull.dev/` keys are protected on every role below.
 *
 * - `DenyEcrpullTagChanges`: adding or removing a tag whose key is protected
 *   (`PROTECTED_TAG_KEY_PATTERNS`, matched on `aws:TagKeys`), on any role or
 *   user (`aws:PrincipalTag` reads users' tags too), at creation or later, and
 *   passing such a key as a session tag (`sts:TagSession` when assuming a
 *   role, `sts:GetFederationToken`): a session's tags are also its
 *   `aws:PrincipalTag`s (IAM user guide, "Pass session tags in AWS STS").
 *   Removing a node's tag only stops its own pulls; it is denied so that the
 *   deployer's marking cannot be rewritten behind its back.
 *
 * Throws on an empty list, on a pattern that is not a role ARN pattern of
 * `partition`, on a pattern matching every role, on one that may match a
 * role under `/ecrpull/`, and when the document would not fit in an SCP.
 */
export function orgScopeServiceControlPolicy(deployerRoleArnPatterns: readonly string[], partition = "aws"): PolicyDocument {
    checkDeployerPatterns(deployerRoleArnPatterns, partition);
    const exceptDeployers = { ArnNotLike: { "aws:PrincipalArn": deployerRoleArnPatterns } };
    const statements: PolicyStatement[] = [
        {
            Sid: "DenyTrustedRoleChanges",
            Effect: "Deny",
            Action: ["iam:CreateRole", "iam:UpdateAssumeRolePolicy"],
            Resource: [`arn:${partition}:iam::*:role${ORG_ROLE_PATH_PREFIX}*`, ...deployerRoleArnPatterns],
            Condition: exceptDeployers,
        },
        {
            Sid: "DenyEcrpullTagChanges",
            Effect: "Deny",
            Action: [
                "iam:CreateRole",
                "iam:CreateUser",
                "iam:TagRole",
                "iam:TagUser",
                "iam:UntagRole",
                "iam:UntagUser",
                "sts:GetFederationToken",
                "sts:TagSession",
            ],
            Resource: ["*"],
            Condition: { ...exceptDeployers, "ForAnyValue:StringLike": { "aws:TagKeys": PROTECTED_TAG_KEY_PATTERNS } },
        },
    ];
    const document: PolicyDocument = { Version: "2012-10-17", Statement: statements };
    const size = serializePolicy(document).length;
    if (size > SCP_MAX_SIZE) {
        throw new Error(
            `The organization-scope SCP would be ${size} characters with ${deployerRoleArnPatterns.length} deployer patterns; an SCP holds at most ${SCP_MAX_SIZE}. Use fewer patterns (wildcards such as arn:${partition}:iam::*:role/<name> cover every account).`,
        );
    }
    return document;
}

/**
 * The text of an SCP file: the canonical document (`serializePolicy`),
 * pretty-printed with two spaces and a final newline, as
 * `policy/ecrpull-org-scope.scp.json` is committed.
 */
export function serviceControlPolicyFileText(document: PolicyDocument): string {
    const minified = serializePolicy(document);
    const text = `${JSON.stringify(JSON.parse(minified), null, 2)}\n`;
    // Organizations counts white space too ("SCP syntax"): a file uploaded as it is must fit with it.
    if (text.length > SCP_MAX_SIZE) {
        throw new Error(`Pretty-printed, this SCP is ${text.length} characters (at most ${SCP_MAX_SIZE}); upload its minified form (${minified.length}).`);
    }
    return text;
}
