/**
 * The guardrail policy pack: its checks called directly with good and bad
 * documents (exact messages), each policy's `validateResource` called with a
 * hand-built args object (@pulumi/policy has no test helper; docs/aws-facts.md), and
 * every resource this package's two stacks generate run through the checks:
 * none may violate a guardrail.
 */
import { expect } from "chai";
import { runProject } from "../tools/engine/project-run";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import { checkResource, CheckOptions, CHECKED_TYPES, inlinePolicyTotals, RULES, StackResource } from "../policy/checks";
import { crossAccountPullOnly, GUARDRAIL_POLICIES, inlinePoliciesWithinQuota, publicPrincipal, webIdentityTrust, withinQuota } from "../policy/policies";
import { RecordedResource } from "../tools/engine/mock-engine";
import { runEcrStack, runEksStack, runTwoStacks } from "../tools/engine/two-stacks";
import { clusterA, clusterB, registry } from "./support/fixtures";

const ROOT = path.resolve(__dirname, "..");
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const EKS_ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
const EKS_PROVIDER = `arn:aws:iam::111122223333:oidc-provider/${EKS_ISSUER}`;
const GITHUB_PROVIDER = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com";
const PULL = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];
const OTHER_ROOT = "arn:aws:iam::444455556666:root";

const doc = (...statements: Record<string, unknown>[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
const trust = (statement: Record<string, unknown>) => ({ assumeRolePolicy: doc({ Effect: "Allow", ...statement }) });
const irsa = (condition?: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    trust({
        Sid: "Irsa",
        Principal: { Federated: EKS_PROVIDER },
        Action: "sts:AssumeRoleWithWebIdentity",
        ...(condition ? { Condition: condition } : {}),
        ...extra,
    });
const repoPolicy = (statement: Record<string, unknown>) => ({ repository: "platform/base", policy: doc({ Sid: "Pull", Effect: "Allow", ...statement }) });

const EKS_HINT = `(sub "system:serviceaccount:<namespace>:<name>" and aud "sts.amazonaws.com"); IfExists, ForAllValues, negated operators and a bare "*" pin nothing.`;
const missingEks = (keys: string) =>
    `assumeRolePolicy Statement[0] (Sid "Irsa") lets web identities from "${EKS_PROVIDER}" assume the role without pinning ${keys}: ` +
    `add StringEquals (or StringLike) conditions on ${EKS_ISSUER}:sub and ${EKS_ISSUER}:aud with exact values ${EKS_HINT}`;
const CROSS = `a cross-account grant may hold only the pull actions ${PULL.join(", ")}.`;
const PUBLIC_FIX =
    "without an organization condition: add StringEquals on aws:PrincipalOrgID (or ForAnyValue:StringLike on aws:PrincipalOrgPaths) with your organization, or name the accounts as principals; aws:ResourceOrgID limits no caller.";

/** A document of exactly `size` characters without white space, pretty-printed so white space is there to be ignored. */
function sizedDocument(size: number): string {
    const build = (pad: string) =>
        JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: `arn:aws:s3:::${pad}` }] });
    const text = build("a".repeat(size - build("").length));
    expect(text.length).to.equal(size);
    return JSON.stringify(JSON.parse(text), null, 4);
}
const sizedTrust = (size: number) => {
    const build = (pad: string) => doc({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::444455556666:role/${pad}` }, Action: "sts:AssumeRole" });
    const text = build("r".repeat(size - build("").length));
    expect(text.length).to.equal(size);
    return text;
};

interface Case {
    readonly name: string;
    readonly type: string;
    readonly props: Record<string, unknown>;
    readonly options?: CheckOptions;
    /** Exact messages, in order; empty for a document that passes. */
    readonly messages: readonly string[];
}

const CASES: readonly Case[] = [
    // Rule 1: web-identity trust
    {
        name: "IRSA pinning sub and aud with StringEquals passes",
        type: CHECKED_TYPES.role,
        props: irsa({ StringEquals: { [`${EKS_ISSUER}:sub`]: "system:serviceaccount:ci:builder", [`${EKS_ISSUER}:aud`]: "sts.amazonaws.com" } }),
        messages: [],
    },
    {
        name: "IRSA with a namespace pattern under StringLike passes; keys are case-insensitive",
        type: CHECKED_TYPES.role,
        props: irsa({ StringLike: { [`${EKS_ISSUER}:SUB`]: ["system:serviceaccount:ci:*"] }, StringEquals: { [`${EKS_ISSUER}:Aud`]: "sts.amazonaws.com" } }),
        messages: [],
    },
    {
        name: "IRSA without conditions (the seed article's trust)",
        type: CHECKED_TYPES.role,
        props: irsa(),
        messages: [missingEks(`"${EKS_ISSUER}:sub" and "${EKS_ISSUER}:aud"`)],
    },
    {
        name: "IRSA pinning only aud",
        type: CHECKED_TYPES.role,
        props: irsa({ StringEquals: { [`${EKS_ISSUER}:aud`]: "sts.amazonaws.com" } }),
        messages: [missingEks(`"${EKS_ISSUER}:sub"`)],
    },
    {
        name: "IRSA with sub a bare wildcard",
        type: CHECKED_TYPES.role,
        props: irsa({ StringLike: { [`${EKS_ISSUER}:sub`]: "*" }, StringEquals: { [`${EKS_ISSUER}:aud`]: "sts.amazonaws.com" } }),
        messages: [missingEks(`"${EKS_ISSUER}:sub"`)],
    },
    {
        name: "IRSA with sub under StringEqualsIfExists (passes when the claim is missing)",
        type: CHECKED_TYPES.role,
        props: irsa({
            StringEqualsIfExists: { [`${EKS_ISSUER}:sub`]: "system:serviceaccount:ci:builder" },
            StringEquals: { [`${EKS_ISSUER}:aud`]: "sts.amazonaws.com" },
        }),
        messages: [missingEks(`"${EKS_ISSUER}:sub"`)],
    },
    {
        name: "IRSA with sub under ForAllValues and StringNotEquals",
        type: CHECKED_TYPES.role,
        props: irsa({
            "ForAllValues:StringEquals": { [`${EKS_ISSUER}:sub`]: "system:serviceaccount:ci:builder" },
            StringNotEquals: { [`${EKS_ISSUER}:aud`]: "x" },
        }),
        messages: [missingEks(`"${EKS_ISSUER}:sub" and "${EKS_ISSUER}:aud"`)],
    },
    {
        name: "sts:* counts as web-identity trust",
        type: CHECKED_TYPES.role,
        props: irsa(undefined, { Action: ["sts:*"] }),
        messages: [missingEks(`"${EKS_ISSUER}:sub" and "${EKS_ISSUER}:aud"`)],
    },
    {
        name: "another provider's pinned keys do not pin this one",
        type: CHECKED_TYPES.role,
        props: irsa({
            StringEquals: {
                "token.actions.githubusercontent.com:sub": "repo:acme/x:ref:refs/heads/main",
                "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            },
        }),
        messages: [missingEks(`"${EKS_ISSUER}:sub" and "${EKS_ISSUER}:aud"`)],
    },
    {
        name: "a Deny statement and a SAML provider are not web-identity trust",
        type: CHECKED_TYPES.role,
        props: {
            assumeRolePolicy: doc(
                { Effect: "Deny", Principal: { Federated: EKS_PROVIDER }, Action: "sts:AssumeRoleWithWebIdentity" },
                { Effect: "Allow", Principal: { Federated: "arn:aws:iam::111122223333:saml-provider/okta" }, Action: "sts:AssumeRoleWithSAML" },
            ),
        },
        messages: [],
    },
    {
        name: "GitHub Actions without sub, document given as an object",
        type: CHECKED_TYPES.role,
        props: {
            assumeRolePolicy: {
                Version: "2012-10-17",
                Statement: {
                    Effect: "Allow",
                    Principal: { Federated: GITHUB_PROVIDER },
                    Action: "sts:AssumeRoleWithWebIdentity",
                    Condition: { StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" } },
                },
            },
        },
        messages: [
            `assumeRolePolicy Statement[0] lets web identities from "${GITHUB_PROVIDER}" assume the role without pinning "token.actions.githubusercontent.com:sub": ` +
                "add StringEquals (or StringLike) conditions on token.actions.githubusercontent.com:sub and token.actions.githubusercontent.com:aud with exact values " +
                `(sub the exact subject (e.g. repo:<owner>/<repo>:ref:refs/heads/main) and aud the expected audience (e.g. sts.amazonaws.com)); IfExists, ForAllValues, negated operators and a bare "*" pin nothing.`,
        ],
    },
    {
        name: "Cognito pinning aud and amr passes",
        type: CHECKED_TYPES.role,
        props: trust({
            Principal: { Federated: "cognito-identity.amazonaws.com" },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: {
                StringEquals: { "cognito-identity.amazonaws.com:aud": "eu-west-1:pool" },
                "ForAnyValue:StringLike": { "cognito-identity.amazonaws.com:amr": "authenticated" },
            },
        }),
        messages: [],
    },
    {
        name: "Cognito pinning only aud",
        type: CHECKED_TYPES.role,
        props: trust({
            Principal: { Federated: "cognito-identity.amazonaws.com" },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: { StringEquals: { "cognito-identity.amazonaws.com:aud": "eu-west-1:pool" } },
        }),
        messages: [
            'assumeRolePolicy Statement[0] lets web identities from "cognito-identity.amazonaws.com" assume the role without pinning "cognito-identity.amazonaws.com:amr": ' +
                "add StringEquals (or StringLike) conditions on cognito-identity.amazonaws.com:aud and cognito-identity.amazonaws.com:amr with exact values " +
                '(aud the identity pool ID and amr "authenticated"); IfExists, ForAllValues, negated operators and a bare "*" pin nothing.',
        ],
    },
    // Rule 2: cross-account repository grants
    {
        name: "the pull actions to another account's root, narrowed by aws:PrincipalArn, pass",
        type: CHECKED_TYPES.repositoryPolicy,
        props: repoPolicy({
            Principal: { AWS: OTHER_ROOT },
            Action: PULL,
            Condition: { ArnEquals: { "aws:PrincipalArn": "arn:aws:iam::444455556666:role/x" } },
        }),
        messages: [],
    },
    {
        name: "ecr:* to another account",
        type: CHECKED_TYPES.repositoryPolicy,
        props: repoPolicy({ Principal: { AWS: [OTHER_ROOT] }, Action: "ecr:*" }),
        messages: [`policy Statement[0] (Sid "Pull") grants "ecr:*" to principal "${OTHER_ROOT}" of another account: ${CROSS}`],
    },
    {
        name: "push and the token action beside the pull actions, to a role and a bare account ID",
        type: CHECKED_TYPES.repositoryPolicy,
        props: repoPolicy({
            Principal: { AWS: ["arn:aws:iam::444455556666:role/ci", "777788889999"] },
            Action: [...PULL, "ecr:PutImage", "ecr:GetAuthorizationToken"],
        }),
        messages: [
            `policy Statement[0] (Sid "Pull") grants "ecr:PutImage", "ecr:GetAuthorizationToken" to principals "arn:aws:iam::444455556666:role/ci", "777788889999" of another account: ${CROSS}`,
        ],
    },
    {
        name: "a wildcard that also matches delete actions",
        type: CHECKED_TYPES.repositoryPolicy,
        props: repoPolicy({ Principal: { AWS: OTHER_ROOT }, Action: ["ecr:Batch*"] }),
        messages: [`policy Statement[0] (Sid "Pull") grants "ecr:Batch*" to principal "${OTHER_ROOT}" of another account: ${CROSS}`],
    },
    {
        name: "NotAction to another account",
        type: CHECKED_TYPES.repositoryPolicy,
        props: repoPolicy({ Principal: { AWS: OTHER_ROOT }, NotAction: "ecr:DeleteRepository" }),
        messages: [
            `policy Statement[0] (Sid "Pull") grants every action but "ecr:DeleteRepository" (NotAction) to principal "${OTHER_ROOT}" of another account: use Action; ${CROSS}`,
        ],
    },
    {
        name: "a unique ID may be any account",
        type: CHECKED_TYPES.repositoryPolicy,
        props: repoPolicy({ Principal: { AWS: "AROAEXAMPLEID" }, Action: "ecr:PutImage" }),
        messages: [`policy Statement[0] (Sid "Pull") grants "ecr:PutImage" to principal "AROAEXAMPLEID" of another account: ${CROSS}`],
    },
    {
        name: "the registry's own account may push when config names it",
        type: CHECKED_TYPES.repositoryPolicy,
        props: repoPolicy({ Principal: { AWS: "arn:aws:iam::111122223333:role/ci" }, Action: ["ecr:*"] }),
        options: { registryAccountIds: ["111122223333"] },
        messages: [],
    },
    {
        name: "the same push from the same account without that config is another account's",
        type: CHECKED_TYPES.repositoryPolicy,
        props: repoPolicy({ Principal: { AWS: "arn:aws:iam::111122223333:role/ci" }, Action: ["ecr:*"] }),
        messages: [`policy Statement[0] (Sid "Pull") grants "ecr:*" to principal "arn:aws:iam::111122223333:role/ci" of another account: ${CROSS}`],
    },
    {
        name: "service principals and Deny statements are not account grants",
        type: CHECKED_TYPES.repositoryPolicy,
        props: {
            policy: doc(
                { Sid: "Lambda", Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"] },
                { Sid: "NoDelete", Effect: "Deny", Principal: { AWS: OTHER_ROOT }, Action: "ecr:*" },
            ),
        },
        messages: [],
    },
    // Rule 3: public principals
    {
        name: "Principal * with aws:PrincipalOrgID, pull only, passes",
        type: CHECKED_TYPES.repositoryPolicy,
        props: repoPolicy({ Principal: "*", Action: PULL, Condition: { StringEquals: { "aws:PrincipalOrgID": "o-abc123" } } }),
        messages: [],
    },
    {
        name: "{ AWS: * } with aws:PrincipalOrgPaths passes",
        type: CHECKED_TYPES.repositoryPolicy,
        props: repoPolicy({
            Principal: { AWS: "*" },
            Action: PULL,
            Condition: { "ForAnyValue:StringLike": { "aws:PrincipalOrgPaths": "o-abc123/r-ab12/ou-ab12-11111111/*" } },
        }),
        messages: [],
    },
    {
        name: "Principal * without conditions",
        type: CHECKED_TYPES.repositoryPolicy,
        props: repoPolicy({ Principal: "*", Action: PULL }),
        messages: [`policy Statement[0] (Sid "Pull") allows Principal "*" ${PUBLIC_FIX}`],
    },
    {
        name: "aws:ResourceOrgID and an IfExists organization condition limit no caller",
        type: CHECKED_TYPES.repositoryPolicy,
        props: repoPolicy({
            Principal: { AWS: ["*"] },
            Action: PULL,
            Condition: { StringEquals: { "aws:ResourceOrgID": "o-abc123" }, StringEqualsIfExists: { "aws:PrincipalOrgID": "o-abc123" } },
        }),
        messages: [`policy Statement[0] (Sid "Pull") allows Principal "*" ${PUBLIC_FIX}`],
    },
    {
        name: "Principal * with push, even inside the organization, is wider than pull",
        type: CHECKED_TYPES.repositoryPolicy,
        props: repoPolicy({ Principal: "*", Action: "ecr:PutImage", Condition: { StringEquals: { "aws:PrincipalOrgID": "o-abc123" } } }),
        messages: [`policy Statement[0] (Sid "Pull") grants "ecr:PutImage" to principal "*" of another account: ${CROSS}`],
    },
    {
        name: "NotPrincipal on an Allow",
        type: CHECKED_TYPES.registryPolicy,
        props: { policy: doc({ Effect: "Allow", NotPrincipal: { AWS: OTHER_ROOT }, Action: "ecr:ReplicateImage" }) },
        messages: [`policy Statement[0] allows NotPrincipal (every principal but the listed ones) ${PUBLIC_FIX}`],
    },
    {
        name: "a registry policy replicating to another account passes (rule 2 is for repository policies)",
        type: CHECKED_TYPES.registryPolicy,
        props: {
            policy: doc({
                Effect: "Allow",
                Principal: { AWS: OTHER_ROOT },
                Action: ["ecr:CreateRepository", "ecr:ReplicateImage"],
                Resource: "arn:aws:ecr:eu-west-1:111122223333:repository/*",
            }),
        },
        messages: [],
    },
    {
        name: "a role anyone may assume",
        type: CHECKED_TYPES.role,
        props: trust({ Principal: { AWS: "*" }, Action: "sts:AssumeRole" }),
        messages: [`assumeRolePolicy Statement[0] allows Principal "*" ${PUBLIC_FIX}`],
    },
    // Rule 4: quotas
    {
        name: "a trust policy of exactly 2048 characters passes",
        type: CHECKED_TYPES.role,
        props: { assumeRolePolicy: sizedTrust(2048) },
        messages: [],
    },
    {
        name: "a trust policy of 2049 characters",
        type: CHECKED_TYPES.role,
        props: { assumeRolePolicy: sizedTrust(2049) },
        messages: [
            "assumeRolePolicy is 2049 characters (white space not counted); a role trust policy may have 2048: split the trusted principals across roles, or raise quota L-C07B4B0D and set trustPolicy in the pack's config to the raised value (at most 4096).",
        ],
    },
    {
        name: "the same trust policy passes against a raised quota",
        type: CHECKED_TYPES.role,
        props: { assumeRolePolicy: sizedTrust(2049) },
        options: { limits: { trustPolicy: 4096 } },
        messages: [],
    },
    {
        name: "a repository policy of 10241 characters, pretty-printed (white space not counted)",
        type: CHECKED_TYPES.repositoryPolicy,
        props: { policy: sizedDocument(10241) },
        messages: [
            "policy is 10241 characters (white space not counted); an ECR repository policy may have 10240: name account roots narrowed by aws:PrincipalArn conditions instead of listing every principal, or grant fewer principals per repository.",
        ],
    },
    {
        name: "a repository policy of 10240 characters, pretty-printed, passes",
        type: CHECKED_TYPES.repositoryPolicy,
        props: { policy: sizedDocument(10240) },
        messages: [],
    },
    {
        name: "a managed policy of 6145 characters",
        type: CHECKED_TYPES.managedPolicy,
        props: { policy: sizedDocument(6145) },
        messages: [
            "policy is 6145 characters (white space not counted); a managed policy may have 6144: split it into several managed policies attached to the same principal.",
        ],
    },
    {
        name: "an inline role policy of 10241 characters",
        type: CHECKED_TYPES.rolePolicy,
        props: { role: "r", policy: sizedDocument(10241) },
        messages: [
            "policy is 10241 characters (white space not counted); a role's inline policies together may have 10240: move statements into a managed policy attached to the role.",
        ],
    },
    {
        name: "a role's inlinePolicies together over 10240",
        type: CHECKED_TYPES.role,
        props: {
            inlinePolicies: [
                { name: "a", policy: sizedDocument(6000) },
                { name: "b", policy: sizedDocument(4241) },
            ],
        },
        messages: [
            "inlinePolicies is 10241 characters (white space not counted); a role's inline policies together may have 10240: move statements into a managed policy attached to the role.",
        ],
    },
    // Values the checks cannot read
    {
        name: "a policy that is not JSON",
        type: CHECKED_TYPES.repositoryPolicy,
        props: { policy: "{ Version: 2012-10-17 " },
        messages: ['policy is not valid JSON: give a policy document, e.g. {"Version":"2012-10-17","Statement":[...]}.'],
    },
    {
        name: "resources of other types are not checked",
        type: "aws:s3/bucketPolicy:BucketPolicy",
        props: { policy: doc({ Effect: "Allow", Principal: "*", Action: "s3:*" }) },
        messages: [],
    },
];

/** A hand-built `ResourceValidationArgs`, as the policy server builds one (server.js). */
function resourceArgs(type: string, props: Record<string, unknown>, config: Record<string, unknown> = {}): ResourceValidationArgs {
    return {
        type,
        props,
        urn: `urn:pulumi:test::project::${type}::subject`,
        name: "subject",
        opts: {
            protect: false,
            ignoreChanges: [],
            aliases: [],
            additionalSecretOutputs: [],
            customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        } as any,
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: <T extends object>() => config as T,
        notApplicable: (reason?: string): never => {
            throw Object.assign(new Error(reason), { notApplicable: true });
        },
    };
}

async function validate(policy: { validateResource?: any }, args: ResourceValidationArgs): Promise<{ reported: string[]; notApplicable?: string }> {
    const reported: string[] = [];
    try {
        await policy.validateResource(args, (message: string) => reported.push(message));
    } catch (e) {
        if ((e as { notApplicable?: boolean }).notApplicable) {
            return { reported, notApplicable: (e as Error).message };
        }
        throw e;
    }
    return { reported };
}

/** Every guardrail violation among a run's resources, with the resource that caused it. */
function violationsOf(resources: readonly RecordedResource[]): string[] {
    const found = resources.flatMap((r) => checkResource(r.type, r.inputs).violations.map((v) => `${r.type} ${r.name}: ${v.message}`));
    const stack = inlinePolicyTotals(resources.map((r) => ({ type: r.type, urn: r.urn, name: r.name, props: r.state })));
    return [...found, ...stack.map((v) => v.message)];
}

const checkedDocuments = (resources: readonly RecordedResource[]) =>
    resources.filter((r) => (Object.values(CHECKED_TYPES) as string[]).includes(r.type)).length;

describe("guardrail policy pack", () => {
    describe("checks: good and bad documents, exact messages", () => {
        it("the table covers every rule with passing and failing documents", () => {
            const failing = new Set(CASES.flatMap((c) => checkResource(c.type, c.props, c.options).violations.map((v) => v.rule)));
            expect([...failing].sort()).to.deep.equal(Object.values(RULES).sort());
            expect(CASES.filter((c) => c.messages.length === 0).length).to.be.greaterThan(10);
        });
        for (const c of CASES) {
            it(c.name, () => {
                const result = checkResource(c.type, c.props, c.options);
                expect(result.violations.map((v) => v.message)).to.deep.equal(c.messages);
                expect(result.unknown).to.deep.equal([]);
            });
        }

        it("values unknown in a preview are skipped and listed, never reported", () => {
            expect(checkResource(CHECKED_TYPES.role, { assumeRolePolicy: UNKNOWN, inlinePolicies: [{ name: "a", policy: UNKNOWN }] })).to.deep.equal({
                violations: [],
                unknown: ["assumeRolePolicy", "inlinePolicies"],
            });
            // An object document with one unknown value inside is not judged on the rest.
            const partly = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: "*", Action: "ecr:*", Resource: UNKNOWN }] };
            expect(checkResource(CHECKED_TYPES.repositoryPolicy, { policy: partly })).to.deep.equal({ violations: [], unknown: ["policy"] });
        });
    });

    describe("the policies' validateResource, called as the policy server calls it", () => {
        it("the pack has one policy per rule plus the stack-wide inline quota, with distinct names", () => {
            expect(GUARDRAIL_POLICIES.map((p) => p.name)).to.deep.equal([...Object.values(RULES), "inline-role-policies-within-quota"]);
        });

        it("each policy reports only its own rule", async () => {
            // A trust with no conditions, from "*" and over the quota: three rules at once.
            const props = {
                assumeRolePolicy: doc({
                    Effect: "Allow",
                    Principal: { Federated: EKS_PROVIDER, AWS: "*" },
                    Action: ["sts:AssumeRoleWithWebIdentity", "sts:AssumeRole"],
                    Resource: "x".repeat(2100),
                }),
            };
            const args = resourceArgs(CHECKED_TYPES.role, props);
            expect((await validate(webIdentityTrust, args)).reported).to.have.length(1);
            expect((await validate(publicPrincipal, args)).reported).to.deep.equal([`assumeRolePolicy Statement[0] allows Principal "*" ${PUBLIC_FIX}`]);
            const quota = (await validate(withinQuota, args)).reported;
            expect(quota).to.have.length(1);
            expect(quota[0]).to.match(/^assumeRolePolicy is (\d+) characters/);
            expect(Number(/is (\d+) characters/.exec(quota[0])![1])).to.equal(props.assumeRolePolicy.length);
            expect((await validate(crossAccountPullOnly, args)).reported).to.deep.equal([]);
        });

        it("the cross-account policy reads registryAccountIds from its config", async () => {
            const props = repoPolicy({ Principal: { AWS: "arn:aws:iam::111122223333:role/ci" }, Action: "ecr:PutImage" });
            expect((await validate(crossAccountPullOnly, resourceArgs(CHECKED_TYPES.repositoryPolicy, props))).reported).to.have.length(1);
            expect(
                (await validate(crossAccountPullOnly, resourceArgs(CHECKED_TYPES.repositoryPolicy, props, { registryAccountIds: ["111122223333"] }))).reported,
            ).to.deep.equal([]);
        });

        it("the quota policy reads the limits from its config", async () => {
            const args = (config: Record<string, unknown>) => resourceArgs(CHECKED_TYPES.role, { assumeRolePolicy: sizedTrust(3000) }, config);
            expect((await validate(withinQuota, args({}))).reported).to.have.length(1);
            expect((await validate(withinQuota, args({ trustPolicy: 4096 }))).reported).to.deep.equal([]);
            expect(withinQuota.configSchema!.properties.trustPolicy).to.deep.include({ default: 2048, maximum: 4096 });
        });

        it("an unknown value behind the engine's proxy is not applicable now, not a failure", async () => {
            // The engine wraps props in a proxy that throws on unknowns (@pulumi/policy proxy.js).
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const { unknownCheckingProxy } = require("@pulumi/policy/proxy");
            const props = unknownCheckingProxy({ repository: "platform/base", policy: UNKNOWN });
            expect(() => props.policy).to.throw("can't be known during preview");
            const result = await validate(crossAccountPullOnly, resourceArgs(CHECKED_TYPES.repositoryPolicy, props));
            expect(result).to.deep.equal({ reported: [], notApplicable: "policy not known until the update; checked then." });
            // Known values behind the same proxy are checked.
            const known = unknownCheckingProxy(repoPolicy({ Principal: { AWS: OTHER_ROOT }, Action: "ecr:*" }));
            expect((await validate(crossAccountPullOnly, resourceArgs(CHECKED_TYPES.repositoryPolicy, known))).reported).to.have.length(1);
        });

        it("the stack policy adds up a role's inline policies across resources", async () => {
            const resources: StackResource[] = [
                {
                    type: CHECKED_TYPES.role,
                    urn: "urn:role",
                    name: "role",
                    props: { name: "builder", inlinePolicies: [{ name: "a", policy: sizedDocument(4000) }] },
                },
                { type: CHECKED_TYPES.rolePolicy, urn: "urn:p1", name: "p1", props: { role: "builder", policy: sizedDocument(6241) } },
                { type: CHECKED_TYPES.rolePolicy, urn: "urn:p2", name: "p2", props: { role: "other", policy: sizedDocument(6241) } },
            ];
            const reported: [string, string | undefined][] = [];
            const args = { resources, getConfig: () => ({}) } as unknown as StackValidationArgs;
            await inlinePoliciesWithinQuota.validateStack(args, (message, urn) => reported.push([message, urn]));
            expect(reported).to.deep.equal([
                [
                    `role "builder": the inline policies (its inlinePolicies, RolePolicy "p1") are 10241 characters (white space not counted); a role's inline policies together may have 10240: move statements into a managed policy attached to the role.`,
                    "urn:role",
                ],
            ]);
            const under = resources.map((r) => (r.name === "p1" ? { ...r, props: { ...r.props, policy: sizedDocument(6240) } } : r));
            expect(inlinePolicyTotals(under)).to.deep.equal([]);
        });
    });

    describe("this package's own stacks pass every guardrail", () => {
        it("the fixtures' two EKS stacks and ECR stack (federation, chaining, Pod Identity, node pulls)", async () => {
            const run = await runTwoStacks([clusterA(), clusterB()], registry());
            const resources = [...run.eks.flatMap((e) => e.resources), ...run.ecr.resources];
            expect(checkedDocuments(resources)).to.be.greaterThan(10);
            expect(violationsOf(resources)).to.deep.equal([]);
        });

        it("the same stacks in a preview (EKS stacks first preview, ECR stack after them): unknown documents skipped, the rest pass", async () => {
            const eks = [await runEksStack(clusterA(), true), await runEksStack(clusterB(), true)];
            // The ECR stack is previewed once the EKS stacks exist: its references are known then.
            const deployed = await runTwoStacks([clusterA(), clusterB()], registry());
            const references = Object.fromEntries([clusterA(), clusterB()].map((s, i) => [s.name, deployed.eks[i].outputs as Record<string, unknown>]));
            const ecr = await runEcrStack(registry(), references, true);
            const resources = [...eks.flatMap((e) => e.resources), ...ecr.resources];
            expect(checkedDocuments(resources)).to.be.greaterThan(10);
            expect(violationsOf(resources)).to.deep.equal([]);
            // The cluster-account roles trust an issuer the cluster has not got yet: skipped, and said so.
            const skipped = resources.filter((r) => checkResource(r.type, r.inputs).unknown.includes("assumeRolePolicy")).map((r) => r.name);
            expect(skipped).to.include.members(["workloads-chain-payments", "workloads-podid-ml"]);
        });

        it("the example stack files Pulumi.eks.yaml and Pulumi.ecr.yaml, as npm run plan runs them", async () => {
            const read = (file: string) => (yaml.load(fs.readFileSync(path.join(ROOT, file), "utf8")) as { config: Record<string, unknown> }).config;
            const ecrConfig = read("Pulumi.ecr.yaml");
            const references: Record<string, Record<string, unknown>> = {};
            const resources: RecordedResource[] = [];
            for (const name of ecrConfig["ecrpull:clusterStacks"] as string[]) {
                const config = read(`Pulumi.${name.split("/").pop()}.yaml`);
                const run = await runEksStack({
                    name,
                    config,
                    accountId: "444455556666",
                    region: String(config["aws:region"]),
                    fetchThumbprint: async () => "",
                });
                references[name] = run.outputs as Record<string, unknown>;
                resources.push(...run.resources);
            }
            const ecr = await runEcrStack({ config: ecrConfig, accountId: "111122223333", region: String(ecrConfig["aws:region"]) }, references);
            resources.push(...ecr.resources);
            expect(checkedDocuments(resources)).to.be.greaterThan(10);
            expect(violationsOf(resources)).to.deep.equal([]);
        });

        it("the organization-scope example (scoped trusts and repository policies with Principal *), as ecrpull plan runs it", async () => {
            const run = await runProject({ ecrFile: path.join(ROOT, "examples/organization-scope/Pulumi.ecr.yaml") });
            const resources = [...run.eks.flatMap((e) => e.run.resources), ...run.ecr.run.resources];
            expect(resources.some((r) => r.type === CHECKED_TYPES.role && String(r.inputs.assumeRolePolicy).includes('"AWS":"*"'))).to.equal(true);
            expect(violationsOf(resources)).to.deep.equal([]);
            // Not vacuous: the same trust without its organization condition is a public principal.
            const role = run.ecr.run.resources.find((r) => r.type === CHECKED_TYPES.role && r.inputs.name === "ecr-pull-platform")!;
            const document = JSON.parse(String(role.inputs.assumeRolePolicy));
            delete document.Statement[0].Condition.StringEquals;
            const rules = checkResource(CHECKED_TYPES.role, { ...role.inputs, assumeRolePolicy: JSON.stringify(document) }).violations.map((v) => v.rule);
            expect(rules).to.include("public-principal-needs-organization");
        });

        it("the checks are not vacuous on these documents: the generated IRSA trust without its sub condition fails", async () => {
            const run = await runTwoStacks([clusterA(), clusterB()], registry());
            const role = run.ecr.resources.find((r) => r.type === CHECKED_TYPES.role && r.inputs.name === "ecr-pull-ci-builders")!;
            const document = JSON.parse(role.inputs.assumeRolePolicy);
            for (const statement of document.Statement) {
                for (const block of Object.values(statement.Condition) as Record<string, unknown>[]) {
                    for (const key of Object.keys(block).filter((k) => k.endsWith(":sub"))) {
                        delete block[key];
                    }
                }
            }
            const result = checkResource(CHECKED_TYPES.role, { assumeRolePolicy: JSON.stringify(document) });
            expect(result.violations.length).to.equal(document.Statement.length);
            expect(result.violations.every((v) => v.rule === RULES.webIdentity)).to.equal(true);
            const repository = run.ecr.resources.find((r) => r.type === CHECKED_TYPES.repositoryPolicy)!;
            const widened = JSON.parse(repository.inputs.policy);
            widened.Statement[0].Action = "ecr:*";
            expect(checkResource(CHECKED_TYPES.repositoryPolicy, { policy: JSON.stringify(widened) }).violations.map((v) => v.rule)).to.deep.equal([
                RULES.crossAccount,
            ]);
        });
    });
});
