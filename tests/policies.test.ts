import { expect } from "chai";
import * as path from "path";
import { runExampleStacks } from "../tools/engine/example-state";

import {
    assumePullRolePolicy,
    chainingTrustPolicy,
    ECR_AUTH_TOKEN_ACTION,
    ECR_PULL_ACTIONS,
    lifecyclePolicy,
    POD_IDENTITY_TAGS,
    podIdentityServiceTrustPolicy,
    podIdentityTargetTrustPolicy,
    PolicyDocument,
    policySize,
    POLICY_LIMITS,
    pullRolePolicy,
    repositoryPullPolicy,
    serializePolicy,
    sidSuffix,
    webIdentityTrustPolicy,
} from "../components/iam/policies";
import { allows, podIdentitySession, Request, roleSession, webIdentity, WRITE_ACTIONS } from "./support/iam";

// Parsed policy JSON, read loosely on purpose: the tests check its shape.

type Json = any;

const PULL = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];

/** Every action string anywhere in a serialized policy. */
function actionsIn(json: string): string[] {
    const doc: Json = JSON.parse(json);
    return doc.Statement.flatMap((s: Json) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
}

/** Actions that must never appear in a cross-account pull grant (docs/aws-facts.md). */
function assertNoWriteActions(json: string): void {
    for (const action of actionsIn(json)) {
        expect(action, `action ${action}`).to.not.match(/\*/);
        expect(action, `action ${action}`).to.not.match(
            /^ecr:(Put|Delete|Upload|InitiateLayerUpload|CompleteLayerUpload|BatchDeleteImage|Set|Create|Replicate|Tag|Untag)/,
        );
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
                    Principal: {
                        Service: ["ec2.amazonaws.com"],
                        AWS: ["arn:aws:iam::222222222222:root", "arn:aws:iam::111111111111:root", "arn:aws:iam::222222222222:root"],
                    },
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
                    {
                        Sid: "A",
                        Effect: "Allow",
                        Action: ["s3:GetObject"],
                        Resource: ["*"],
                        Condition: { StringEquals: {}, ArnLike: { "aws:PrincipalArn": ["arn:aws:iam::111111111111:role/*"] } },
                    },
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

    // ---- Access paths 3 and 4 (docs/aws-facts.md): role chaining and Pod Identity -----

    describe("chainingTrustPolicy", () => {
        const chainA = "arn:aws:iam::444455556666:role/ecr-chain-payments-aaaaaa";
        const chainA2 = "arn:aws:iam::444455556666:role/ecr-chain-payments-bbbbbb";
        const chainB = "arn:aws:iam::777788889999:role/ecr-chain-payments-cccccc";
        const json = serializePolicy(chainingTrustPolicy("aws", [chainB, chainA, chainA2, chainA]));

        it("is one statement: sts:AssumeRole only, account roots narrowed by ArnEquals aws:PrincipalArn to exactly the roles", () => {
            expect(JSON.parse(json).Statement).to.deep.equal([
                {
                    Sid: "ChainFromClusterRoles",
                    Effect: "Allow",
                    Principal: { AWS: ["arn:aws:iam::444455556666:root", "arn:aws:iam::777788889999:root"] },
                    Action: "sts:AssumeRole",
                    Condition: { ArnEquals: { "aws:PrincipalArn": [chainA, chainA2, chainB] } },
                },
            ]);
        });

        it("lets exactly the given roles assume the pull role", () => {
            for (const role of [chainA, chainA2, chainB]) {
                expect(allows(json, roleSession(role, "sts:AssumeRole")), role).to.equal(true);
            }
            // another role of a trusted account, a role of another account, the account root itself
            expect(allows(json, roleSession("arn:aws:iam::444455556666:role/admin", "sts:AssumeRole"))).to.equal(false);
            expect(allows(json, roleSession("arn:aws:iam::999988887777:role/ecr-chain-payments-aaaaaa", "sts:AssumeRole"))).to.equal(false);
            expect(allows(json, roleSession("arn:aws:iam::444455556666:root", "sts:AssumeRole"))).to.equal(false);
        });

        it("admits no session tags, no web identity and nothing but sts:AssumeRole", () => {
            for (const action of ["sts:TagSession", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML", "ecr:BatchGetImage", "iam:PassRole"]) {
                expect(allows(json, roleSession(chainA, action)), action).to.equal(false);
            }
            const provider = "arn:aws:iam::444455556666:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/AAAA";
            expect(allows(json, webIdentity(provider, "oidc.eks.eu-west-1.amazonaws.com/id/AAAA", "payments", "deployer"))).to.equal(false);
        });

        it("uses the given partition for the account roots", () => {
            const doc: Json = JSON.parse(serializePolicy(chainingTrustPolicy("aws-cn", ["arn:aws-cn:iam::444455556666:role/r"])));
            expect(doc.Statement[0].Principal).to.deep.equal({ AWS: "arn:aws-cn:iam::444455556666:root" });
        });

        it("refuses an empty list of roles, and a role ARN without an account", () => {
            expect(() => chainingTrustPolicy("aws", [])).to.throw(Error, "A chaining trust policy needs at least one cluster-account role.");
            expect(() => chainingTrustPolicy("aws", ["ecr-chain-payments"])).to.throw(Error, '"ecr-chain-payments" is not an IAM role ARN with an account ID.');
        });
    });

    describe("Pod Identity trust policies", () => {
        const clusterA = "arn:aws:eks:eu-west-1:444455556666:cluster/apps-a";
        const clusterB = "arn:aws:eks:eu-west-1:777788889999:cluster/apps-b";
        const podRoleA = "arn:aws:iam::444455556666:role/ecr-podid-ml-aaaaaa";
        const podRoleB = "arn:aws:iam::777788889999:role/ecr-podid-ml-bbbbbb";
        const serviceAccounts = [
            { namespace: "ml", name: "trainer" },
            { namespace: "batch", name: "runner" },
            { namespace: "ml", name: "scorer" },
        ];

        it("the session tags are the three EKS Pod Identity sets", () => {
            expect(POD_IDENTITY_TAGS).to.deep.equal({
                clusterArn: "aws:RequestTag/eks-cluster-arn",
                namespace: "aws:RequestTag/kubernetes-namespace",
                serviceAccount: "aws:RequestTag/kubernetes-service-account",
            });
        });

        describe("podIdentityTargetTrustPolicy (the pull role, registry account)", () => {
            const json = serializePolicy(
                podIdentityTargetTrustPolicy("aws", [
                    { clusterArn: clusterA, roleArns: [podRoleA], serviceAccounts },
                    { clusterArn: clusterB, roleArns: [podRoleB], serviceAccounts },
                ]),
            );
            const doc: Json = JSON.parse(json);

            it("has one statement per (cluster, namespace), each AssumeRole + TagSession only, with the role and the three tags pinned", () => {
                expect(doc.Statement).to.have.lengthOf(4);
                const seen = doc.Statement.map((s: Json) => {
                    expect(s.Effect).to.equal("Allow");
                    expect(s.Action).to.deep.equal(["sts:AssumeRole", "sts:TagSession"]);
                    expect(Object.keys(s.Condition).sort()).to.deep.equal(["ArnEquals", "StringEquals"]);
                    expect(Object.keys(s.Condition.StringEquals).sort()).to.deep.equal([
                        POD_IDENTITY_TAGS.clusterArn,
                        POD_IDENTITY_TAGS.namespace,
                        POD_IDENTITY_TAGS.serviceAccount,
                    ]);
                    expect(s.Sid).to.match(/^PodIdentity[0-9A-F]{10}$/);
                    const role = s.Condition.ArnEquals["aws:PrincipalArn"];
                    expect(s.Principal).to.deep.equal({ AWS: `arn:aws:iam::${role.split(":")[4]}:root` });
                    const tags = s.Condition.StringEquals;
                    return [role, tags[POD_IDENTITY_TAGS.clusterArn], tags[POD_IDENTITY_TAGS.namespace], tags[POD_IDENTITY_TAGS.serviceAccount]];
                });
                expect(seen.map((x: Json) => JSON.stringify(x)).sort()).to.deep.equal(
                    [
                        [podRoleA, clusterA, "batch", "runner"],
                        [podRoleA, clusterA, "ml", ["scorer", "trainer"]],
                        [podRoleB, clusterB, "batch", "runner"],
                        [podRoleB, clusterB, "ml", ["scorer", "trainer"]],
                    ]
                        .map((x) => JSON.stringify(x))
                        .sort(),
                );
                expect(json).to.not.include("*");
                expect(json).to.not.include("StringLike");
            });

            it("admits each granted service account of each cluster through that cluster's association role", () => {
                for (const [role, cluster] of [
                    [podRoleA, clusterA],
                    [podRoleB, clusterB],
                ]) {
                    for (const sa of serviceAccounts) {
                        for (const action of ["sts:AssumeRole", "sts:TagSession"]) {
                            expect(
                                allows(json, podIdentitySession(role, cluster, sa.namespace, sa.name, action)),
                                `${cluster} ${sa.namespace}/${sa.name} ${action}`,
                            ).to.equal(true);
                        }
                    }
                }
            });

            it("refuses another namespace, even one whose service-account names are granted elsewhere", () => {
                expect(allows(json, podIdentitySession(podRoleA, clusterA, "default", "trainer"))).to.equal(false);
                expect(allows(json, podIdentitySession(podRoleA, clusterA, "batch", "trainer"))).to.equal(false);
                expect(allows(json, podIdentitySession(podRoleA, clusterA, "ml", "runner"))).to.equal(false);
            });

            it("refuses another service account in a granted namespace", () => {
                expect(allows(json, podIdentitySession(podRoleA, clusterA, "ml", "default"))).to.equal(false);
                expect(allows(json, podIdentitySession(podRoleB, clusterB, "batch", "runner-2"))).to.equal(false);
            });

            it("refuses another cluster ARN, including the other granted cluster's through this cluster's role", () => {
                expect(allows(json, podIdentitySession(podRoleA, "arn:aws:eks:eu-west-1:444455556666:cluster/apps-c", "ml", "trainer"))).to.equal(false);
                expect(allows(json, podIdentitySession(podRoleA, clusterB, "ml", "trainer"))).to.equal(false);
                expect(allows(json, podIdentitySession(podRoleB, clusterA, "ml", "trainer"))).to.equal(false);
            });

            it("refuses a role of another account, and another role of a granted account, even with the right tags", () => {
                expect(allows(json, podIdentitySession("arn:aws:iam::999988887777:role/ecr-podid-ml-aaaaaa", clusterA, "ml", "trainer"))).to.equal(false);
                expect(allows(json, podIdentitySession("arn:aws:iam::444455556666:role/admin", clusterA, "ml", "trainer"))).to.equal(false);
            });

            it("refuses a session without the tags, and any other action", () => {
                expect(allows(json, roleSession(podRoleA, "sts:AssumeRole"))).to.equal(false);
                for (const action of ["sts:AssumeRoleWithWebIdentity", "ecr:BatchGetImage", "iam:PassRole"]) {
                    expect(allows(json, podIdentitySession(podRoleA, clusterA, "ml", "trainer", action)), action).to.equal(false);
                }
            });

            it("refuses an empty list of clusters, and a cluster without a role or without service accounts", () => {
                expect(() => podIdentityTargetTrustPolicy("aws", [])).to.throw(Error, "A Pod Identity trust policy needs at least one cluster.");
                const message = `The Pod Identity trust for ${clusterA} needs a role and at least one service account.`;
                expect(() => podIdentityTargetTrustPolicy("aws", [{ clusterArn: clusterA, roleArns: [], serviceAccounts }])).to.throw(Error, message);
                expect(() => podIdentityTargetTrustPolicy("aws", [{ clusterArn: clusterA, roleArns: [podRoleA], serviceAccounts: [] }])).to.throw(
                    Error,
                    message,
                );
            });
        });

        describe("podIdentityServiceTrustPolicy (the association role, cluster account)", () => {
            const json = serializePolicy(podIdentityServiceTrustPolicy("444455556666", { clusterArn: clusterA, serviceAccounts }));
            const doc: Json = JSON.parse(json);
            const service = (namespace: string, name: string, context: Record<string, string> = {}, action = "sts:AssumeRole"): Request => ({
                principalType: "Service",
                principal: "pods.eks.amazonaws.com",
                action,
                context: {
                    "aws:SourceAccount": "444455556666",
                    [POD_IDENTITY_TAGS.clusterArn]: clusterA,
                    [POD_IDENTITY_TAGS.namespace]: namespace,
                    [POD_IDENTITY_TAGS.serviceAccount]: name,
                    ...context,
                },
            });

            it("trusts only the service pods.eks.amazonaws.com, with AssumeRole + TagSession, the source account and the tags pinned", () => {
                expect(doc.Statement).to.have.lengthOf(2);
                for (const s of doc.Statement) {
                    expect(s.Principal).to.deep.equal({ Service: "pods.eks.amazonaws.com" });
                    expect(s.Action).to.deep.equal(["sts:AssumeRole", "sts:TagSession"]);
                    expect(Object.keys(s.Condition)).to.deep.equal(["StringEquals"]);
                    expect(s.Condition.StringEquals["aws:SourceAccount"]).to.equal("444455556666");
                    expect(s.Condition.StringEquals[POD_IDENTITY_TAGS.clusterArn]).to.equal(clusterA);
                }
                const ml = doc.Statement.find((s: Json) => s.Condition.StringEquals[POD_IDENTITY_TAGS.namespace] === "ml");
                expect(ml.Condition.StringEquals[POD_IDENTITY_TAGS.serviceAccount]).to.deep.equal(["scorer", "trainer"]);
            });

            it("admits the granted service accounts of this cluster, for AssumeRole and TagSession", () => {
                for (const sa of serviceAccounts) {
                    expect(allows(json, service(sa.namespace, sa.name))).to.equal(true);
                    expect(allows(json, service(sa.namespace, sa.name, {}, "sts:TagSession"))).to.equal(true);
                }
            });

            it("refuses another source account, cluster, namespace or service account, and any other principal", () => {
                expect(allows(json, service("ml", "trainer", { "aws:SourceAccount": "777788889999" }))).to.equal(false);
                expect(allows(json, service("ml", "trainer", { [POD_IDENTITY_TAGS.clusterArn]: clusterB }))).to.equal(false);
                expect(allows(json, service("batch", "trainer"))).to.equal(false);
                expect(allows(json, service("ml", "default"))).to.equal(false);
                expect(allows(json, { ...service("ml", "trainer"), principal: "ec2.amazonaws.com" })).to.equal(false);
                expect(allows(json, { ...service("ml", "trainer"), principalType: "AWS", principal: "arn:aws:iam::444455556666:role/admin" })).to.equal(false);
                const { ["aws:SourceAccount"]: _dropped, ...withoutSource } = service("ml", "trainer").context!;
                expect(_dropped).to.equal("444455556666");
                expect(allows(json, { ...service("ml", "trainer"), context: withoutSource })).to.equal(false);
            });

            it("refuses a cluster without service accounts", () => {
                expect(() => podIdentityServiceTrustPolicy("444455556666", { clusterArn: clusterA, serviceAccounts: [] })).to.throw(
                    Error,
                    `The Pod Identity role for ${clusterA} needs at least one service account.`,
                );
            });
        });
    });

    describe("assumePullRolePolicy (the cluster-account role's only permission)", () => {
        const pullRole = "arn:aws:iam::111122223333:role/ecr-pull-payments";
        const otherPullRole = "arn:aws:iam::111122223333:role/ecr-pull-ml";
        const repository = "arn:aws:ecr:eu-west-1:111122223333:repository/payments/api";
        const chained = serializePolicy(assumePullRolePolicy(pullRole, false));
        const podIdentity = serializePolicy(assumePullRolePolicy(pullRole, true));
        const can = (json: string, action: string, resource: string) => allows(json, { action, resource });

        it("allows sts:AssumeRole on the one pull role", () => {
            expect(JSON.parse(chained).Statement).to.deep.equal([
                { Sid: "AssumeRegistryPullRole", Effect: "Allow", Action: "sts:AssumeRole", Resource: pullRole },
            ]);
            expect(can(chained, "sts:AssumeRole", pullRole)).to.equal(true);
            expect(can(podIdentity, "sts:AssumeRole", pullRole)).to.equal(true);
        });

        it("allows sts:TagSession on it for Pod Identity only", () => {
            expect(JSON.parse(podIdentity).Statement[0].Action).to.deep.equal(["sts:AssumeRole", "sts:TagSession"]);
            expect(can(podIdentity, "sts:TagSession", pullRole)).to.equal(true);
            expect(can(chained, "sts:TagSession", pullRole)).to.equal(false);
        });

        it("allows nothing else: no ECR, no S3, no other role", () => {
            for (const json of [chained, podIdentity]) {
                for (const action of ["ecr:*", ECR_AUTH_TOKEN_ACTION, ...PULL, ...WRITE_ACTIONS]) {
                    expect(can(json, action, repository), action).to.equal(false);
                    expect(can(json, action, "*"), action).to.equal(false);
                }
                expect(can(json, "s3:GetObject", "arn:aws:s3:::bucket/key")).to.equal(false);
                expect(can(json, "sts:AssumeRole", otherPullRole)).to.equal(false);
                expect(can(json, "sts:AssumeRole", "arn:aws:iam::111122223333:role/ecr-pull-payments-admin")).to.equal(false);
                expect(can(json, "iam:PassRole", pullRole)).to.equal(false);
                expect(json).to.not.include("*");
            }
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
            const doc: Json = JSON.parse(
                serializePolicy(repositoryPullPolicy({ partition: "aws-cn", grantRoleArns: [], nodeRoleArns: ["arn:aws-cn:iam::444455556666:role/n"] })!),
            );
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
            expect(lifecyclePolicy({ keepLastImages: 200, untaggedExpiryDays: 14 })).to.not.equal(
                lifecyclePolicy({ keepLastImages: 201, untaggedExpiryDays: 14 }),
            );
        });
    });
});

describe("KMS-encrypted repositories (docs/aws-facts.md, KMS: pullers need no KMS permission)", function () {
    this.timeout(60000);
    it("grant the same pull actions as any other, and no document of either account carries a kms: action", async () => {
        const runs = await runExampleStacks(path.join(__dirname, "..", "Pulumi.ecr.yaml"));
        const repositories = runs.ecr.resources.filter((r) => r.type === "aws:ecr/repository:Repository");
        const encrypted = repositories.find((r) => r.inputs.encryptionConfigurations[0].encryptionType === "KMS")!;
        expect(encrypted.inputs.name, "the example has a KMS-encrypted repository").to.equal("payments/api");
        const policyOf = (name: string) =>
            runs.ecr.resources.find((p) => p.type === "aws:ecr/repositoryPolicy:RepositoryPolicy" && p.name === `registry-${name}-policy`)!.inputs.policy;
        // Same statements as an AES-256 repository granted to the same roles (payments/worker), but for the ARN.
        expect(JSON.parse(policyOf("payments/api")).Statement.map((s: { Action: unknown }) => s.Action)).to.deep.equal(
            JSON.parse(policyOf("payments/worker")).Statement.map((s: { Action: unknown }) => s.Action),
        );
        const documents = [...runs.eks.flatMap((e) => e.run.resources), ...runs.ecr.resources].flatMap((r) =>
            [r.inputs.policy, r.inputs.assumeRolePolicy].filter((d): d is string => typeof d === "string" && d.trim().startsWith("{")),
        );
        expect(documents.length).to.be.greaterThan(5);
        for (const document of documents) {
            expect(document).to.not.match(/"kms:/);
        }
    });
});
