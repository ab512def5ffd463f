/**
 * `ecrpull doctor` on organization scope: the chained hop into a pull role
 * whose trust admits the grant's roles by path within an organization
 * (Principal "*", aws:PrincipalOrgID, ArnLike aws:PrincipalArn). The
 * doctor reads documents, not AWS Organizations: it checks the path and
 * says which membership it cannot see, instead of failing with the exact
 * scope's fix.
 */
import { expect } from "chai";
import { chainCheck } from "../tools/doctor/trust";
import { Documents } from "../tools/doctor/documents";
import { planRegistry } from "../components/registry/plan";
import { GrantSpec } from "../components/registry/spec";

const ORG = "o-a1b2c3d4e5";
const grant: GrantSpec = {
    name: "platform",
    path: "chaining",
    scope: { organization: ORG },
    serviceAccounts: [{ namespace: "ci", name: "image-builder" }],
    repositories: ["platform/base"],
};
const plan = planRegistry(
    { clusters: [], repositories: [{ name: "platform/base" }], grants: [grant] },
    { registryAccountId: "111122223333", region: "eu-west-1", partition: "aws" },
);
const pull = plan.roles[0];
const docs: Documents = {
    registryAccountId: "111122223333",
    roles: [{ arn: pull.roleArn, name: pull.roleName, trust: JSON.parse(pull.trustPolicy), source: "ecr.json" }],
    providers: [],
    clusters: [],
};
const workload = (clusterRoleArn: string) =>
    ({ namespace: "ci", serviceAccount: "image-builder", grant: "platform", path: "chaining", roleArn: pull.roleArn, clusterRoleArn }) as Parameters<
        typeof chainCheck
    >[1];

describe("ecrpull doctor on organization scope", () => {
    it("passes the chained hop of a role at the grant's path, and says the organization is not checked here", () => {
        const check = chainCheck(docs, workload("arn:aws:iam::444455556666:role/ecrpull/platform/ecr-chain-platform-0d4d86"));
        expect(check.verdict).to.equal("pass");
        expect(check.evidence).to.equal(
            `then ecr-pull-platform trusts arn:aws:iam::444455556666:role/ecrpull/platform/ecr-chain-platform-0d4d86 for sts:AssumeRole (statement ChainFromOrgClusterRoles) if account 444455556666 is in organization ${ORG} (aws:PrincipalOrgID ${ORG}), which the doctor cannot see: \`aws organizations describe-account --account-id 444455556666\` from the management account says`,
        );
    });

    it("fails a role at another path, with the scope's fix", () => {
        const check = chainCheck(docs, workload("arn:aws:iam::444455556666:role/ecr-chain-platform-0d4d86"));
        expect(check.verdict).to.equal("fail");
        expect(check.fix).to.equal(
            'Grant "platform" has an organization scope: its pull role trusts only roles at IAM path /ecrpull/platform/. Give that EKS stack the grant definitions (ecrpull:grants) so that it puts the role there, and run `pulumi up` on it.',
        );
    });
});
