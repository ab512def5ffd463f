import { expect } from "chai";

import {
    accountIdOfArn,
    accountRootArn,
    issuerHostPath,
    oidcProviderArn,
    partitionOfRegion,
    PULL_ROLE_NAME_PREFIX,
    pullRoleArn,
    pullRoleName,
    repositoryArn,
    serviceAccountSubject,
    STS_AUDIENCE,
} from "../components/names";

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
            expect(repositoryArn("aws", "eu-west-1", "111122223333", "team-a/api")).to.equal(
                "arn:aws:ecr:eu-west-1:111122223333:repository/team-a/api",
            );
        });

        it("accountRootArn", () => {
            expect(accountRootArn("aws", "444455556666")).to.equal("arn:aws:iam::444455556666:root");
            expect(accountRootArn("aws-cn", "444455556666")).to.equal("arn:aws-cn:iam::444455556666:root");
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
