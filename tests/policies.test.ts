import { expect } from "chai";

import {
    ECR_AUTH_TOKEN_ACTION,
    ECR_PULL_ACTIONS,
    lifecyclePolicy,
    PolicyDocument,
    policySize,
    POLICY_LIMITS,
    pullRolePolicy,
    repositoryPullPolicy,
    serializePolicy,
    sidSuffix,
    webIdentityTrustPolicy,
} from "../components/policies";

// Parsed policy JSON, read loosely on purpose: the tests check its shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const PULL = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];

/** Every action string anywhere in a serialized policy. */
function actionsIn(json: string): string[] {
    const doc: Json = JSON.parse(json);
    return doc.Statement.flatMap((s: Json) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
}

/** Actions that must never appear in a cross-account pull grant (facts.md). */
function assertNoWriteActions(json: string): void {
    for (const action of actionsIn(json)) {
        expect(action, `action ${action}`).to.not.match(/\*/);
        expect(action, `action ${action}`).to.not.match(/^ecr:(Put|Delete|Upload|InitiateLayerUpload|CompleteLayerUpload|BatchDeleteImage|Set|Create|Replicate|Tag|Untag)/);
    }
    expect(json).to.not.include("ecr:*");
}

describe("policies", () => {
    describe("serializePolicy", () => {
        const messy: PolicyDocument = {
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "Zeta",
                    Effect: "Allow",
                    Principal: { Service: ["ec2.amazonaws.com"], AWS: ["arn:aws:iam::222222222222:root", "arn:aws:iam::111111111111:root", "arn:aws:iam::222222222222:root"] },
                    Action: ["s3:PutObject", "s3:GetObject", "s3:GetObject"],
                    Resource: ["arn:aws:s3:::b/*", "arn:aws:s3:::a/*"],
                    Condition: {
                        StringEquals: { "k:z": ["2", "1", "2"], "k:a": ["only"] },
                        ArnEquals: { "aws:PrincipalArn": ["arn:aws:iam::111111111111:role/r"] },
                    },
                },
                { Sid: "Alpha", Effect: "Deny", Action: ["s3:DeleteObject"], Resource: ["*"] },
            ],
        };

        const expected =
            '{"Version":"2012-10-17","Statement":[' +
            '{"Sid":"Alpha","Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"},' +
            '{"Sid":"Zeta","Effect":"Allow",' +
            '"Principal":{"AWS":["arn:aws:iam::111111111111:root","arn:aws:iam::222222222222:root"],"Service":"ec2.amazonaws.com"},' +
            '"Action":["s3:GetObject","s3:PutObject"],' +
            '"Resource":["arn:aws:s3:::a/*","arn:aws:s3:::b/*"],' +
            '"Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111111111111:role/r"},"StringEquals":{"k:a":"only","k:z":["1","2"]}}}' +
            "]}";

        it("writes the canonical form: statements by Sid, lists sorted and de-duplicated, singletons as strings, fixed key order, no white space", () => {
            expect(serializePolicy(messy)).to.equal(expected);
        });

        it("gives byte-identical output for the same intent in another order", () => {
            const reordered: PolicyDocument = {
                Version: "2012-10-17",
                Statement: [
                    { Sid: "Alpha", Effect: "Deny", Action: ["s3:DeleteObject", "s3:DeleteObject"], Resource: ["*"] },
                    {
                        Sid: "Zeta",
                        Effect: "Allow",
                        Condition: {
                            ArnEquals: { "aws:PrincipalArn": ["arn:aws:iam::111111111111:role/r"] },
                            StringEquals: { "k:a": ["only", "only"], "k:z": ["1", "2"] },
                        },
                        Resource: ["arn:aws:s3:::a/*", "arn:aws:s3:::b/*", "arn:aws:s3:::a/*"],
                        Action: ["s3:GetObject", "s3:PutObject"],
                        Principal: { AWS: ["arn:aws:iam::111111111111:root", "arn:aws:iam::222222222222:root"], Service: ["ec2.amazonaws.com"] },
                    },
                ],
            };
            expect(serializePolicy(reordered)).to.equal(serializePolicy(messy));
            expect(serializePolicy(reordered)).to.equal(expected);
        });

        it("keeps several values as an array and one value as a string", () => {
            const doc: Json = JSON.parse(serializePolicy(messy));
            const zeta = doc.Statement[1];
            expect(zeta.Principal.Service).to.equal("ec2.amazonaws.com");
            expect(zeta.Principal.AWS).to.be.an("array").with.lengthOf(2);
            expect(zeta.Condition.StringEquals["k:a"]).to.equal("only");
            expect(zeta.Condition.StringEquals["k:z"]).to.deep.equal(["1", "2"]);
        });

        it("drops empty condition blocks and an empty Condition altogether", () => {
            const json = serializePolicy({
                Version: "2012-10-17",
                Statement: [{ Sid: "A", Effect: "Allow", Action: ["s3:GetObject"], Resource: ["*"], Condition: { StringEquals: {}, ArnLike: {} } }],
            });
            expect(json).to.equal('{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}');
            const partly = serializePolicy({
                Version: "2012-10-17",
                Statement: [
                    { Sid: "A", Effect: "Allow", Action: ["s3:GetObject"], Resource: ["*"], Condition: { StringEquals: {}, ArnLike: { "aws:PrincipalArn": ["arn:aws:iam::111111111111:role/*"] } } },
                ],
            });
            const condition = JSON.parse(partly).Statement[0].Condition;
            expect(condition).to.deep.equal({ ArnLike: { "aws:PrincipalArn": "arn:aws:iam::111111111111:role/*" } });
        });

        it("leaves out Principal, Resource and Condition when a statement has none", () => {
            const statement = JSON.parse(serializePolicy({ Version: "2012-10-17", Statement: [{ Sid: "A", Effect: "Allow", Action: ["a:b"] }] })).Statement[0];
            expect(Object.keys(statement)).to.deep.equal(["Sid", "Effect", "Action"]);
        });

        it("throws on a duplicate Sid and names it", () => {
            const doc: PolicyDocument = {
                Version: "2012-10-17",
                Statement: [
                    { Sid: "Same", Effect: "Allow", Action: ["a:b"] },
                    { Sid: "Other", Effect: "Allow", Action: ["a:c"] },
                    { Sid: "Same", Effect: "Allow", Action: ["a:d"] },
                ],
            };
            expect(() => serializePolicy(doc)).to.throw(Error, 'Policy statements must have distinct Sids; "Same" appears twice.');
        });

        // Regression, fixed: a condition key whose value list is empty is silently dropped, which
        // WIDENS the statement (IAM treats a key with no values as matching nothing;
        // without the key the statement matches everyone). E.g. ArnEquals
        // aws:PrincipalArn [] under an account-root principal becomes "the whole account".
        // webIdentityTrustPolicy and repositoryPullPolicy guard against it today, but
        // serializePolicy should refuse rather than widen.
        it("refuses a condition key with no values instead of dropping it", () => {
            expect(() =>
                serializePolicy({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "A",
                            Effect: "Allow",
                            Principal: { AWS: ["arn:aws:iam::111111111111:root"] },
                            Action: ["ecr:BatchGetImage"],
                            Condition: { ArnEquals: { "aws:PrincipalArn": [] } },
                        },
                    ],
                }),
            ).to.throw(/aws:PrincipalArn/);
        });
    });

    describe("policySize", () => {
        it("does not count white space", () => {
            const compact = '{"a":["b","c"]}';
            const spaced = JSON.stringify(JSON.parse(compact), null, 4);
            expect(spaced.length).to.be.greaterThan(compact.length);
            expect(policySize(spaced)).to.equal(compact.length);
            expect(policySize(" \n\t{}\r\n ")).to.equal(2);
        });

        it("counts every other character", () => {
            expect(policySize('{"Sid":"A"}')).to.equal(11);
        });

        it("uses the AWS default limits", () => {
            expect(POLICY_LIMITS).to.deep.equal({ trustPolicy: 2048, inlineRolePolicies: 10240, repositoryPolicy: 10240, lifecyclePolicy: 30720 });
        });
    });

    describe("sidSuffix", () => {
        it("is 10 uppercase hex characters, stable, and differs between inputs", () => {
            expect(sidSuffix("a")).to.match(/^[0-9A-F]{10}$/);
            expect(sidSuffix("a")).to.equal(sidSuffix("a"));
            expect(sidSuffix("a")).to.not.equal(sidSuffix("b"));
        });
    });

    describe("webIdentityTrustPolicy", () => {
        const issuerA = "https://oidc.eks.eu-west-1.amazonaws.com/id/AAAA";
        const issuerB = "https://oidc.eks.us-east-1.amazonaws.com/id/BBBB";
        const providerA = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/AAAA";
        const providerB = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/BBBB";
        const subjectsA = ["system:serviceaccount:team-a:scanner", "system:serviceaccount:team-a:builder"];

        it("pins sub to exactly the subjects and aud to sts.amazonaws.com with StringEquals, one statement per issuer", () => {
            const json = serializePolicy(
                webIdentityTrustPolicy([
                    { providerArn: providerA, issuerUrl: issuerA, subjects: subjectsA },
                    { providerArn: providerB, issuerUrl: issuerB, subjects: ["system:serviceaccount:team-b:deployer"] },
                ]),
            );
            const doc: Json = JSON.parse(json);
            expect(doc.Version).to.equal("2012-10-17");
            expect(doc.Statement).to.have.lengthOf(2);
            const byProvider = new Map<string, Json>(doc.Statement.map((s: Json) => [s.Principal.Federated, s]));
            expect([...byProvider.keys()].sort()).to.deep.equal([providerA, providerB]);

            const a = byProvider.get(providerA);
            expect(a.Effect).to.equal("Allow");
            expect(a.Action).to.equal("sts:AssumeRoleWithWebIdentity");
            expect(a.Principal).to.deep.equal({ Federated: providerA });
            expect(Object.keys(a.Condition)).to.deep.equal(["StringEquals"]);
            expect(a.Condition.StringEquals).to.deep.equal({
                "oidc.eks.eu-west-1.amazonaws.com/id/AAAA:aud": "sts.amazonaws.com",
                "oidc.eks.eu-west-1.amazonaws.com/id/AAAA:sub": ["system:serviceaccount:team-a:builder", "system:serviceaccount:team-a:scanner"],
            });
            expect(a.Sid).to.equal(`Irsa${sidSuffix("oidc.eks.eu-west-1.amazonaws.com/id/AAAA")}`);
            expect(a.Sid).to.match(/^[A-Za-z0-9]+$/);

            const b = byProvider.get(providerB);
            expect(b.Condition.StringEquals).to.deep.equal({
                "oidc.eks.us-east-1.amazonaws.com/id/BBBB:aud": "sts.amazonaws.com",
                "oidc.eks.us-east-1.amazonaws.com/id/BBBB:sub": "system:serviceaccount:team-b:deployer",
            });
            // No wildcard anywhere: StringLike would be needed for that, and sub is exact.
            expect(json).to.not.include("StringLike");
            expect(json).to.not.include("*");
        });

        it("refuses an entry without subjects, naming the issuer", () => {
            expect(() =>
                webIdentityTrustPolicy([
                    { providerArn: providerA, issuerUrl: issuerA, subjects: subjectsA },
                    { providerArn: providerB, issuerUrl: issuerB, subjects: [] },
                ]),
            ).to.throw(Error, `The trust for issuer ${issuerB} names no service account; a trust without a sub condition would admit the whole cluster.`);
        });

        it("refuses an empty list of issuers", () => {
            expect(() => webIdentityTrustPolicy([])).to.throw(Error, "A web-identity trust policy needs at least one issuer with service accounts.");
        });
    });

    describe("pullRolePolicy", () => {
        const repos = ["arn:aws:ecr:eu-west-1:111122223333:repository/team-b/worker", "arn:aws:ecr:eu-west-1:111122223333:repository/shared/base"];

        it("has GetAuthorizationToken only on * and only the three pull actions on the given repositories", () => {
            const json = serializePolicy(pullRolePolicy([...repos, repos[0]]));
            const doc: Json = JSON.parse(json);
            expect(doc.Statement).to.deep.equal([
                { Sid: "EcrAuthorizationToken", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
                { Sid: "EcrPull", Effect: "Allow", Action: PULL, Resource: [...repos].sort() },
            ]);
        });

        it("names no push, delete or wildcard action anywhere", () => {
            const json = serializePolicy(pullRolePolicy(repos));
            assertNoWriteActions(json);
            expect(actionsIn(json).sort()).to.deep.equal([ECR_AUTH_TOKEN_ACTION, ...PULL].sort());
            // * appears exactly once: as the resource of the token statement.
            expect(json.split("*").length - 1).to.equal(1);
        });

        it("the exported action lists are the pull actions and the token action", () => {
            expect([...ECR_PULL_ACTIONS].sort()).to.deep.equal(PULL);
            expect(ECR_AUTH_TOKEN_ACTION).to.equal("ecr:GetAuthorizationToken");
        });

        it("refuses an empty list of repositories", () => {
            expect(() => pullRolePolicy([])).to.throw(Error, "A pull role policy needs at least one repository.");
        });
    });

    describe("repositoryPullPolicy", () => {
        const grantRoles = ["arn:aws:iam::111122223333:role/ecr-pull-team-b", "arn:aws:iam::111122223333:role/ecr-pull-team-a"];
        const nodeRoles = ["arn:aws:iam::777788889999:role/nodes-b", "arn:aws:iam::444455556666:role/nodes-a", "arn:aws:iam::777788889999:role/nodes-b-gpu"];

        it("names account roots as principals and pins exactly the roles with ArnEquals on aws:PrincipalArn", () => {
            const policy = repositoryPullPolicy({ partition: "aws", grantRoleArns: grantRoles, nodeRoleArns: nodeRoles });
            expect(policy).to.not.equal(undefined);
            const doc: Json = JSON.parse(serializePolicy(policy!));
            expect(doc.Statement).to.deep.equal([
                {
                    Sid: "PullByGrantRoles",
                    Effect: "Allow",
                    Principal: { AWS: "arn:aws:iam::111122223333:root" },
                    Action: PULL,
                    Condition: { ArnEquals: { "aws:PrincipalArn": [...grantRoles].sort() } },
                },
                {
                    Sid: "PullByNodeRoles",
                    Effect: "Allow",
                    Principal: { AWS: ["arn:aws:iam::444455556666:root", "arn:aws:iam::777788889999:root"] },
                    Action: PULL,
                    Condition: { ArnEquals: { "aws:PrincipalArn": [...nodeRoles].sort() } },
                },
            ]);
        });

        it("grants only pull actions, never the token, a wildcard or a write", () => {
            const json = serializePolicy(repositoryPullPolicy({ partition: "aws", grantRoleArns: grantRoles, nodeRoleArns: nodeRoles })!);
            assertNoWriteActions(json);
            expect(json).to.not.include(ECR_AUTH_TOKEN_ACTION);
            expect(json).to.not.include("*");
            expect([...new Set(actionsIn(json))].sort()).to.deep.equal(PULL);
            // Roles are never principals themselves (ECR rejects roles that do not exist yet).
            for (const s of JSON.parse(json).Statement) {
                expect([s.Principal.AWS].flat().every((p: string) => p.endsWith(":root"))).to.equal(true);
            }
        });

        it("uses the given partition for the account roots", () => {
            const doc: Json = JSON.parse(serializePolicy(repositoryPullPolicy({ partition: "aws-cn", grantRoleArns: [], nodeRoleArns: ["arn:aws-cn:iam::444455556666:role/n"] })!));
            expect(doc.Statement).to.have.lengthOf(1);
            expect(doc.Statement[0].Sid).to.equal("PullByNodeRoles");
            expect(doc.Statement[0].Principal).to.deep.equal({ AWS: "arn:aws-cn:iam::444455556666:root" });
        });

        it("has only the grant statement when there are no node roles", () => {
            const doc: Json = JSON.parse(serializePolicy(repositoryPullPolicy({ partition: "aws", grantRoleArns: grantRoles, nodeRoleArns: [] })!));
            expect(doc.Statement.map((s: Json) => s.Sid)).to.deep.equal(["PullByGrantRoles"]);
        });

        it("is undefined when nobody is granted", () => {
            expect(repositoryPullPolicy({ partition: "aws", grantRoleArns: [], nodeRoleArns: [] })).to.equal(undefined);
        });

        it("refuses a role ARN without an account", () => {
            expect(() => repositoryPullPolicy({ partition: "aws", grantRoleArns: ["not-an-arn"], nodeRoleArns: [] })).to.throw(
                Error,
                '"not-an-arn" is not an IAM role ARN with an account ID.',
            );
        });
    });

    describe("lifecyclePolicy", () => {
        it("expires untagged images after N days, then keeps the last M images", () => {
            const text = lifecyclePolicy({ keepLastImages: 50, untaggedExpiryDays: 3 });
            expect(JSON.parse(text)).to.deep.equal({
                rules: [
                    {
                        rulePriority: 1,
                        description: "Expire untagged images after 3 days",
                        selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 3 },
                        action: { type: "expire" },
                    },
                    {
                        rulePriority: 2,
                        description: "Keep the last 50 images",
                        selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 50 },
                        action: { type: "expire" },
                    },
                ],
            });
            expect(text).to.not.match(/\s{2}|\n/);
        });

        it("is the same text for the same rules", () => {
            expect(lifecyclePolicy({ keepLastImages: 200, untaggedExpiryDays: 14 })).to.equal(lifecyclePolicy({ untaggedExpiryDays: 14, keepLastImages: 200 }));
            expect(lifecyclePolicy({ keepLastImages: 200, untaggedExpiryDays: 14 })).to.not.equal(lifecyclePolicy({ keepLastImages: 201, untaggedExpiryDays: 14 }));
        });
    });
});
