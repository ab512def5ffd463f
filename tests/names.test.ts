import { expect } from "chai";
import { createHash } from "crypto";

import {
    ACCESS_PATHS,
    accountIdOfArn,
    accountRootArn,
    clusterArn,
    clusterRoleName,
    DEFAULT_ACCESS_PATH,
    IAM_ROLE_NAME_MAX_LENGTH,
    issuerHostPath,
    oidcProviderArn,
    partitionOfRegion,
    PULL_ROLE_NAME_PREFIX,
    pullRoleArn,
    pullRoleName,
    repositoryArn,
    serviceAccountSubject,
    STS_AUDIENCE,
} from "../components/iam/names";

describe("names", () => {
    describe("pullRoleName / pullRoleArn", () => {
        it("prefixes the grant name with ecr-pull-", () => {
            expect(PULL_ROLE_NAME_PREFIX).to.equal("ecr-pull-");
            expect(pullRoleName("team-a")).to.equal("ecr-pull-team-a");
        });

        it("builds the role ARN in the registry account and the given partition", () => {
            expect(pullRoleArn({ partition: "aws", registryAccountId: "111122223333", grant: "team-a" })).to.equal(
                "arn:aws:iam::111122223333:role/ecr-pull-team-a",
            );
            expect(pullRoleArn({ partition: "aws-cn", registryAccountId: "444455556666", grant: "ci" })).to.equal(
                "arn:aws-cn:iam::444455556666:role/ecr-pull-ci",
            );
        });

        it("gives different ARNs to different grants and different registry accounts", () => {
            const a = pullRoleArn({ partition: "aws", registryAccountId: "111122223333", grant: "a" });
            expect(pullRoleArn({ partition: "aws", registryAccountId: "111122223333", grant: "b" })).to.not.equal(a);
            expect(pullRoleArn({ partition: "aws", registryAccountId: "999988887777", grant: "a" })).to.not.equal(a);
        });
    });

    describe("partitionOfRegion", () => {
        const table: [string, string][] = [
            ["eu-west-1", "aws"],
            ["us-east-1", "aws"],
            ["ap-southeast-2", "aws"],
            ["cn-north-1", "aws-cn"],
            ["cn-northwest-1", "aws-cn"],
            ["us-gov-west-1", "aws-us-gov"],
            ["us-gov-east-1", "aws-us-gov"],
            ["us-iso-east-1", "aws-iso"],
            ["us-isob-east-1", "aws-iso-b"],
        ];
        for (const [region, partition] of table) {
            it(`${region} -> ${partition}`, () => {
                expect(partitionOfRegion(region)).to.equal(partition);
            });
        }

        // Regression, fixed: the newer isolated partitions fall through to "aws": eu-isoe-west-1 is in
        // aws-iso-e and us-isof-south-1 in aws-iso-f, so every ARN built for them is wrong.
        it("knows the aws-iso-e and aws-iso-f partitions", () => {
            expect(partitionOfRegion("eu-isoe-west-1")).to.equal("aws-iso-e");
            expect(partitionOfRegion("us-isof-south-1")).to.equal("aws-iso-f");
        });
    });

    describe("issuers and OIDC providers", () => {
        const issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

        it("issuerHostPath drops only the https:// scheme", () => {
            expect(issuerHostPath(issuer)).to.equal("oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE");
        });

        it("oidcProviderArn names the provider by host and path in the given account", () => {
            expect(oidcProviderArn("aws", "111122223333", issuer)).to.equal(
                "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
            );
            expect(oidcProviderArn("aws-us-gov", "444455556666", "https://oidc.eks.us-gov-west-1.amazonaws.com/id/ABC")).to.equal(
                "arn:aws-us-gov:iam::444455556666:oidc-provider/oidc.eks.us-gov-west-1.amazonaws.com/id/ABC",
            );
        });

        it("the STS audience is sts.amazonaws.com", () => {
            expect(STS_AUDIENCE).to.equal("sts.amazonaws.com");
        });
    });

    describe("serviceAccountSubject", () => {
        it("is system:serviceaccount:<namespace>:<name>", () => {
            expect(serviceAccountSubject("team-a", "builder")).to.equal("system:serviceaccount:team-a:builder");
            expect(serviceAccountSubject("kube-system", "my.sa")).to.equal("system:serviceaccount:kube-system:my.sa");
        });

        it("keeps namespace and name in that order", () => {
            expect(serviceAccountSubject("a", "b")).to.not.equal(serviceAccountSubject("b", "a"));
        });
    });

    describe("other ARNs", () => {
        it("repositoryArn", () => {
            expect(repositoryArn("aws", "eu-west-1", "111122223333", "team-a/api")).to.equal("arn:aws:ecr:eu-west-1:111122223333:repository/team-a/api");
        });

        it("accountRootArn", () => {
            expect(accountRootArn("aws", "444455556666")).to.equal("arn:aws:iam::444455556666:root");
            expect(accountRootArn("aws-cn", "444455556666")).to.equal("arn:aws-cn:iam::444455556666:root");
        });
    });

    describe("access paths", () => {
        it("are federation (the default), chaining and podIdentity", () => {
            expect([...ACCESS_PATHS]).to.deep.equal(["federation", "chaining", "podIdentity"]);
            expect(DEFAULT_ACCESS_PATH).to.equal("federation");
        });
    });

    describe("clusterRoleName", () => {
        const digest = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 6);

        it("is ecr-<chain|podid>-<grant>-<6 hex of region/cluster>", () => {
            expect(clusterRoleName("chaining", "payments", "eu-west-1", "apps-a")).to.equal(`ecr-chain-payments-${digest("eu-west-1/apps-a")}`);
            expect(clusterRoleName("podIdentity", "ml", "us-east-1", "apps-b")).to.equal(`ecr-podid-ml-${digest("us-east-1/apps-b")}`);
            expect(clusterRoleName("chaining", "payments", "eu-west-1", "apps-a")).to.match(/^ecr-chain-payments-[0-9a-f]{6}$/);
        });

        it("is deterministic", () => {
            expect(clusterRoleName("chaining", "ci", "eu-west-1", "apps")).to.equal(clusterRoleName("chaining", "ci", "eu-west-1", "apps"));
        });

        it("differs between clusters, regions, paths and grants", () => {
            const base = clusterRoleName("chaining", "ci", "eu-west-1", "apps");
            const others = [
                clusterRoleName("chaining", "ci", "eu-west-1", "apps-2"),
                clusterRoleName("chaining", "ci", "eu-central-1", "apps"),
                clusterRoleName("podIdentity", "ci", "eu-west-1", "apps"),
                clusterRoleName("chaining", "cd", "eu-west-1", "apps"),
            ];
            expect(new Set([base, ...others]).size).to.equal(5);
        });

        it("is a valid IAM role name of at most 64 characters for a 47-character grant", () => {
            const grant = "g".repeat(47);
            for (const path of ["chaining", "podIdentity"] as const) {
                const name = clusterRoleName(path, grant, "ap-southeast-2", "c".repeat(100));
                expect(name.length, name).to.be.at.most(IAM_ROLE_NAME_MAX_LENGTH);
                expect(name).to.match(/^[\w+=,.@-]+$/);
            }
            // 47 is the limit exactly: one more character goes past IAM's 64.
            expect(clusterRoleName("chaining", grant, "eu-west-1", "apps")).to.have.lengthOf(64);
            expect(clusterRoleName("chaining", `${grant}g`, "eu-west-1", "apps")).to.have.lengthOf(65);
        });
    });

    describe("clusterArn", () => {
        it("is arn:<partition>:eks:<region>:<account>:cluster/<name>", () => {
            expect(clusterArn("aws", "eu-west-1", "444455556666", "apps-a")).to.equal("arn:aws:eks:eu-west-1:444455556666:cluster/apps-a");
            expect(clusterArn("aws-cn", "cn-north-1", "777788889999", "apps_b")).to.equal("arn:aws-cn:eks:cn-north-1:777788889999:cluster/apps_b");
        });
    });

    describe("accountIdOfArn", () => {
        const table: [string, string | undefined][] = [
            ["arn:aws:iam::123456789012:role/x", "123456789012"],
            ["arn:aws:iam::444455556666:role/path/to/nodes", "444455556666"],
            ["arn:aws-cn:iam::111122223333:role/nodes", "111122223333"],
            ["arn:aws-us-gov:iam::111122223333:root", "111122223333"],
            ["arn:aws:iam::12345678901:role/x", undefined],
            ["arn:aws:iam::1234567890123:role/x", undefined],
            ["arn:aws:iam::abcdefghijkl:role/x", undefined],
            ["arn:aws:sts::123456789012:assumed-role/x/session", undefined],
            ["arn:aws:ecr:eu-west-1:123456789012:repository/x", undefined],
            ["123456789012", undefined],
            ["", undefined],
        ];
        for (const [arn, account] of table) {
            it(`${JSON.stringify(arn)} -> ${account ?? "undefined"}`, () => {
                expect(accountIdOfArn(arn)).to.equal(account);
            });
        }
    });
});
