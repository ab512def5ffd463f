/**
 * nodePullScope "accounts" widens only what must be widened, and says by how
 * much: a repository policy that fits naming each node role is never
 * rewritten; one that does not fit names the node roles' accounts, and the
 * preview lists those accounts and how many node roles they stand for. The
 * remedy that proposes it says it widens access, and by how much.
 */
import { expect } from "chai";
import { planRegistry } from "../components/registry/plan";
import { RegistrySpec } from "../components/registry/spec";
import { allows, roleSession } from "./support/iam";

const REGISTRY = "111122223333";
const ACCOUNTS = ["444455556666", "777788889999"];
const issuer = (i: number) => `https://oidc.eks.eu-west-1.amazonaws.com/id/${String(i).padStart(32, "A")}`;
const nodeRole = (i: number) => `arn:aws:iam::${ACCOUNTS[i % 2]}:role/cluster-${i}-managed-node-group-instance-role`;

/** Six clusters in two accounts; grant "wide" reaches all six, grant "narrow" cluster 0 only. */
const spec: RegistrySpec = {
    clusters: Array.from({ length: 6 }, (_, i) => ({ name: `c${i}`, accountId: ACCOUNTS[i % 2], issuerUrl: issuer(i), nodeRoleArns: [nodeRole(i)] })),
    repositories: [{ name: "shared/base" }, { name: "team/api" }],
    grants: [
        {
            name: "wide",
            clusters: ["c0", "c1", "c2", "c3", "c4", "c5"],
            serviceAccounts: [{ namespace: "ci", name: "builder" }],
            repositories: ["shared/base"],
        },
        { name: "narrow", clusters: ["c0"], serviceAccounts: [{ namespace: "team", name: "api" }], repositories: ["team/api"] },
    ],
};
const context = { registryAccountId: REGISTRY, region: "eu-west-1", partition: "aws" };
const sizeOf = (plan: ReturnType<typeof planRegistry>, repository: string) =>
    plan.sizes.find((s) => s.kind === "repository policy" && s.owner === repository)!.size;

describe('nodePullScope "accounts"', () => {
    const exact = planRegistry(spec, context);
    // A quota between the two policies' sizes: shared/base's does not fit naming each node role, team/api's does.
    const limit = sizeOf(exact, "shared/base") - 1;
    // (The wide grant's trust, six federated clusters, needs the raised trust quota.)
    const limits = { repositoryPolicy: limit, trustPolicy: 4096 };

    it("without it, the preview's remedy says it widens access and by how much", () => {
        const plan = planRegistry(spec, { ...context, limits });
        expect(plan.overBudget).to.deep.equal([
            `the repository policy of shared/base is ${limit + 1} characters; AWS allows ${limit}: name the repository in fewer grants, give its grants an organization scope (node roles are then admitted by their tag for the grant, and those of every cluster of the organization or OUs that carries it: docs/organization-scope.md), or set ecrpull:nodePullScope to "accounts": then this repository's policy (and only the policies that do not fit) names the node roles' accounts instead of each node role, which widens its node pulls to every principal of those accounts with ECR permissions (here 2 accounts instead of 6 node roles).`,
        ]);
    });

    it("rewrites only the policy that does not fit, and the plan says which accounts it names instead of how many node roles", () => {
        const plan = planRegistry(spec, { ...context, limits, nodePullScope: "accounts" });
        expect(plan.overBudget).to.deep.equal([]);
        const policy = (name: string) => plan.repositories.find((r) => r.settings.name === name)!.repositoryPolicy!;
        expect(policy("team/api"), "a policy that fits is the exact one").to.equal(
            exact.repositories.find((r) => r.settings.name === "team/api")!.repositoryPolicy,
        );
        expect(JSON.parse(policy("shared/base")).Statement.map((s: { Sid: string }) => s.Sid)).to.deep.equal(["PullByGrantRoles", "PullByNodeAccounts"]);
        expect(plan.widenings).to.deep.equal([
            `repository shared/base: naming each of its 6 node roles would make its policy ${(limit + 1).toLocaleString("en-US")} characters (limit ${limit.toLocaleString("en-US")}), so with nodePullScope "accounts" it names their 2 accounts instead (${ACCOUNTS.join(", ")}): every principal of those accounts with ECR permissions may pull it, not only those node roles. The repositories whose policies fit still name each node role.`,
        ]);
    });

    it("keeps node pulls of the fitting repository exact: another cluster's node role in the same account is refused", () => {
        const plan = planRegistry(spec, { ...context, limits, nodePullScope: "accounts" });
        const teamApi = plan.repositories.find((r) => r.settings.name === "team/api")!;
        const pull = (role: string) => allows(teamApi.repositoryPolicy!, { ...roleSession(role, "ecr:BatchGetImage", teamApi.arn) });
        expect(pull(nodeRole(0)), "cluster 0's node role").to.equal(true);
        expect(pull(nodeRole(2)), "cluster 2's, same account, not in the grant").to.equal(false);
        const sharedBase = plan.repositories.find((r) => r.settings.name === "shared/base")!;
        // The widened one lets any principal of those accounts in: exactly what the notice says.
        expect(allows(sharedBase.repositoryPolicy!, roleSession(`arn:aws:iam::${ACCOUNTS[0]}:role/any-role`, "ecr:BatchGetImage", sharedBase.arn))).to.equal(
            true,
        );
    });
});
