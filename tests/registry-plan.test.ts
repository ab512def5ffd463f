import { expect } from "chai";

import { policySize } from "../components/iam/policies";
import { oversizedPolicies, planRegistry, RegistryContext, RegistryPlan } from "../components/registry/plan";
import { ClusterSpec, GrantSpec, RegistrySpec } from "../components/registry/spec";
import { shardOf } from "../components/iam/names";
import { allows, podIdentitySession, roleSession, webIdentity } from "./support/iam";

const RAISE = 'raise the IAM quota "Role trust policy length" (L-C07B4B0D) to 4,096';
const TRUST_REMEDY = {
    federation: `list fewer clusters or service accounts in the grant, split it into two grants, switch it to path "chaining" (one short statement for all clusters), or ${RAISE}`,
    podIdentity: `list fewer clusters or namespaces in the grant (one statement each), split it into two grants, switch it to path "chaining" (one short statement for all clusters), give the grant an organization scope (one trust for any number of clusters, which admits any role at IAM path /ecrpull/<grant>/ in the organization or OUs: docs/organization-scope.md), or ${RAISE}`,
    chaining: `split the grant's clusters into two grants, give the grant an organization scope (one trust for any number of clusters, which admits any role at IAM path /ecrpull/<grant>/ in the organization or OUs: docs/organization-scope.md), or ${RAISE}`,
} as const;

// Parsed policy JSON, read loosely on purpose: the helpers below check its shape.

type Json = any;

const CONTEXT: RegistryContext = { registryAccountId: "111122223333", region: "eu-west-1", partition: "aws" };

const ISSUER_A = "https://oidc.eks.eu-west-1.amazonaws.com/id/AAAA1111";
const ISSUER_B = "https://oidc.eks.us-east-1.amazonaws.com/id/BBBB2222";
const PROVIDER_A = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/AAAA1111";
const PROVIDER_B = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/BBBB2222";
const THUMB_1 = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";
const THUMB_0 = "06b25927c42a721631c1efd9431e648fa62e1e39";

const NODES_A = "arn:aws:iam::444455556666:role/nodes-a";
const NODES_B = "arn:aws:iam::777788889999:role/nodes-b";
const NODES_B_GPU = "arn:aws:iam::777788889999:role/nodes-b-gpu";

const ROLE_TEAM_A = "arn:aws:iam::111122223333:role/ecr-pull-team-a";
const ROLE_TEAM_B = "arn:aws:iam::111122223333:role/ecr-pull-team-b";

const REPO = (name: string) => `arn:aws:ecr:eu-west-1:111122223333:repository/${name}`;
const STS = "sts.amazonaws.com";
const SUB = (ns: string, sa: string) => `system:serviceaccount:${ns}:${sa}`;
const PULL = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];

/** Two clusters in different accounts, two grants, three repositories (one named by no grant). */
function spec(): RegistrySpec {
    return {
        clusters: [
            { name: "acme/ecrpull/eks-a", accountId: "444455556666", issuerUrl: ISSUER_A, thumbprint: THUMB_1, nodeRoleArns: [NODES_A] },
            { name: "acme/ecrpull/eks-b", accountId: "777788889999", issuerUrl: ISSUER_B, thumbprint: "", nodeRoleArns: [NODES_B, NODES_B_GPU] },
        ],
        repositories: [{ name: "team-b/worker" }, { name: "shared/base", keepLastImages: 50 }, { name: "orphan/cache", imageTagMutability: "MUTABLE" }],
        grants: [
            {
                name: "team-a",
                clusters: ["acme/ecrpull/eks-a"],
                serviceAccounts: [
                    { namespace: "team-a", name: "builder" },
                    { namespace: "team-a", name: "scanner" },
                ],
                repositories: ["shared/base"],
            },
            {
                name: "team-b",
                clusters: ["acme/ecrpull/eks-b"],
                serviceAccounts: [{ namespace: "team-b", name: "deployer" }],
                repositories: ["team-b/worker", "shared/base"],
            },
        ],
    };
}

/** One grant "big" over the given clusters: two service accounts of namespace ci, one repository. */
function bigSpec(clusters: ClusterSpec[], path?: string): RegistrySpec {
    return {
        clusters,
        repositories: [{ name: "shared/base" }],
        grants: [
            {
                name: "big",
                ...(path ? { path } : {}),
                clusters: clusters.map((c) => c.name),
                serviceAccounts: [
                    { namespace: "ci", name: "image-builder" },
                    { namespace: "ci", name: "image-scanner" },
                ],
                repositories: ["shared/base"],
            },
        ],
    };
}

const asList = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v as string]);

/**
 * Would STS let a web-identity token with this issuer, sub and aud, presented
 * through `providerArn`, assume the role with this trust? Evaluates
 * StringEquals only; any other condition operator fails the test, since the
 * trust must not use one.
 */
function trustAllows(trustJson: string, providerArn: string, issuer: string, sub: string, aud: string): boolean {
    const doc: Json = JSON.parse(trustJson);
    const hostPath = issuer.replace(/^https:\/\//, "");
    const context: Record<string, string> = { [`${hostPath}:sub`]: sub, [`${hostPath}:aud`]: aud };
    return doc.Statement.some((s: Json) => {
        if (s.Effect !== "Allow" || !asList(s.Action).includes("sts:AssumeRoleWithWebIdentity")) {
            return false;
        }
        if (!asList(s.Principal?.Federated).includes(providerArn)) {
            return false;
        }
        for (const [operator, block] of Object.entries<Record<string, unknown>>(s.Condition ?? {})) {
            if (operator !== "StringEquals") {
                throw new Error(`trust uses ${operator}; only StringEquals is expected`);
            }
            for (const [key, values] of Object.entries(block)) {
                if (!(key in context) || !asList(values).includes(context[key])) {
                    return false;
                }
            }
        }
        return true;
    });
}

/**
 * Would this repository policy let `principalArn` (a role in its own account)
 * run `action`? Principal must be the role's account root (or the role), and
 * every ArnEquals condition must name the role.
 */
function repositoryAllows(policyJson: string | undefined, principalArn: string, action: string): boolean {
    if (policyJson === undefined) {
        return false;
    }
    const account = /^arn:aws:iam::(\d{12}):/.exec(principalArn)![1];
    const doc: Json = JSON.parse(policyJson);
    return doc.Statement.some((s: Json) => {
        if (s.Effect !== "Allow" || !asList(s.Action).includes(action)) {
            return false;
        }
        const principals = asList(s.Principal?.AWS);
        if (!principals.includes(`arn:aws:iam::${account}:root`) && !principals.includes(principalArn)) {
            return false;
        }
        for (const [operator, block] of Object.entries<Record<string, unknown>>(s.Condition ?? {})) {
            if (operator !== "ArnEquals") {
                throw new Error(`repository policy uses ${operator}; only ArnEquals is expected`);
            }
            for (const [key, values] of Object.entries(block)) {
                if (key !== "aws:PrincipalArn" || !asList(values).includes(principalArn)) {
                    return false;
                }
            }
        }
        return true;
    });
}

/** Every role ARN the repository policy names in an ArnEquals condition. */
function pinnedRoles(policyJson: string): string[] {
    const doc: Json = JSON.parse(policyJson);
    return doc.Statement.flatMap((s: Json) => asList(s.Condition?.ArnEquals?.["aws:PrincipalArn"])).sort();
}

describe("planRegistry", () => {
    let plan: RegistryPlan;
    const role = (grant: string) => plan.roles.find((r) => r.grant === grant)!;
    const repository = (name: string) => plan.repositories.find((r) => r.settings.name === name)!;

    beforeEach(() => {
        plan = planRegistry(spec(), CONTEXT);
    });

    describe("trustAllows helper (self-check)", () => {
        it("refuses a trust without the matching provider and admits a trust without conditions", () => {
            const open = JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Sid: "X", Effect: "Allow", Principal: { Federated: PROVIDER_A }, Action: "sts:AssumeRoleWithWebIdentity" }],
            });
            expect(trustAllows(open, PROVIDER_A, ISSUER_A, SUB("any", "thing"), "anything")).to.equal(true);
            expect(trustAllows(open, PROVIDER_B, ISSUER_B, SUB("any", "thing"), STS)).to.equal(false);
        });
    });

    describe("OIDC providers", () => {
        it("makes one provider per issuer, in the registry account", () => {
            expect(plan.providers).to.deep.equal([
                { issuerUrl: ISSUER_A, arn: PROVIDER_A, thumbprints: [THUMB_1], clusters: ["acme/ecrpull/eks-a"] },
                { issuerUrl: ISSUER_B, arn: PROVIDER_B, thumbprints: [], clusters: ["acme/ecrpull/eks-b"] },
            ]);
        });

        it("an empty thumbprint leaves the list empty (IAM then checks the chain itself)", () => {
            const p = plan.providers.find((x) => x.issuerUrl === ISSUER_B)!;
            expect(p.thumbprints).to.deep.equal([]);
        });

        it("makes one provider for two clusters that share an issuer, merging and sorting thumbprints", () => {
            const s = spec();
            const shared: ClusterSpec = { name: "acme/ecrpull/eks-a2", accountId: "555566667777", issuerUrl: ISSUER_A, thumbprint: THUMB_0, nodeRoleArns: [] };
            const again: ClusterSpec = { name: "acme/ecrpull/eks-a3", accountId: "555566667777", issuerUrl: ISSUER_A, thumbprint: THUMB_1, nodeRoleArns: [] };
            // Providers are made only for clusters a federated grant names, so team-a names all three.
            const grants: GrantSpec[] = [{ ...s.grants[0], clusters: ["acme/ecrpull/eks-a3", "acme/ecrpull/eks-a", "acme/ecrpull/eks-a2"] }, s.grants[1]];
            // THUMB_1 is met before THUMB_0, and twice: the list must come out de-duplicated and sorted.
            const p = planRegistry({ ...s, clusters: [again, ...s.clusters, shared], grants }, CONTEXT);
            expect(p.providers).to.have.lengthOf(2);
            expect(p.providers[0]).to.deep.equal({
                issuerUrl: ISSUER_A,
                arn: PROVIDER_A,
                thumbprints: [THUMB_0, THUMB_1],
                clusters: ["acme/ecrpull/eks-a", "acme/ecrpull/eks-a2", "acme/ecrpull/eks-a3"],
            });
        });

        it("a grant over two clusters sharing an issuer gets one trust statement for it", () => {
            const s = spec();
            const shared: ClusterSpec = { name: "acme/ecrpull/eks-a2", accountId: "555566667777", issuerUrl: ISSUER_A, nodeRoleArns: [] };
            const grants: GrantSpec[] = [{ ...s.grants[0], clusters: ["acme/ecrpull/eks-a", "acme/ecrpull/eks-a2"] }, s.grants[1]];
            const p = planRegistry({ ...s, clusters: [...s.clusters, shared], grants }, CONTEXT);
            const r = p.roles.find((x) => x.grant === "team-a")!;
            expect(r.issuerUrls).to.deep.equal([ISSUER_A]);
            expect(JSON.parse(r.trustPolicy).Statement).to.have.lengthOf(1);
        });
    });

    describe("pull roles", () => {
        it("one role per grant, named ecr-pull-<grant>, in the registry account", () => {
            expect(plan.roles.map((r) => [r.grant, r.roleName, r.roleArn])).to.deep.equal([
                ["team-a", "ecr-pull-team-a", ROLE_TEAM_A],
                ["team-b", "ecr-pull-team-b", ROLE_TEAM_B],
            ]);
            expect(role("team-a").issuerUrls).to.deep.equal([ISSUER_A]);
            expect(role("team-b").issuerUrls).to.deep.equal([ISSUER_B]);
        });

        it("team-a's trust admits exactly its service accounts through its cluster's issuer", () => {
            const trust = role("team-a").trustPolicy;
            expect(trustAllows(trust, PROVIDER_A, ISSUER_A, SUB("team-a", "builder"), STS)).to.equal(true);
            expect(trustAllows(trust, PROVIDER_A, ISSUER_A, SUB("team-a", "scanner"), STS)).to.equal(true);
            // another namespace, same name
            expect(trustAllows(trust, PROVIDER_A, ISSUER_A, SUB("default", "builder"), STS)).to.equal(false);
            // another service account, same namespace
            expect(trustAllows(trust, PROVIDER_A, ISSUER_A, SUB("team-a", "default"), STS)).to.equal(false);
            // another grant's service account
            expect(trustAllows(trust, PROVIDER_A, ISSUER_A, SUB("team-b", "deployer"), STS)).to.equal(false);
            // another cluster's issuer (through its own provider), even with a granted subject
            expect(trustAllows(trust, PROVIDER_B, ISSUER_B, SUB("team-a", "builder"), STS)).to.equal(false);
            // another audience
            expect(trustAllows(trust, PROVIDER_A, ISSUER_A, SUB("team-a", "builder"), "vault")).to.equal(false);
            // a prefix of a subject is not the subject
            expect(trustAllows(trust, PROVIDER_A, ISSUER_A, "system:serviceaccount:team-a:", STS)).to.equal(false);
        });

        it("team-b's trust admits exactly its service account through its cluster's issuer", () => {
            const trust = role("team-b").trustPolicy;
            expect(trustAllows(trust, PROVIDER_B, ISSUER_B, SUB("team-b", "deployer"), STS)).to.equal(true);
            expect(trustAllows(trust, PROVIDER_A, ISSUER_A, SUB("team-b", "deployer"), STS)).to.equal(false);
            expect(trustAllows(trust, PROVIDER_B, ISSUER_B, SUB("team-a", "builder"), STS)).to.equal(false);
            expect(trustAllows(trust, PROVIDER_B, ISSUER_B, SUB("kube-system", "deployer"), STS)).to.equal(false);
            expect(trustAllows(trust, PROVIDER_B, ISSUER_B, SUB("team-b", "deployer"), "sts.amazonaws.com.evil")).to.equal(false);
        });

        it("a grant over two clusters admits its service accounts through both issuers and names both providers", () => {
            const s = spec();
            const grants: GrantSpec[] = [{ ...s.grants[0], clusters: ["acme/ecrpull/eks-a", "acme/ecrpull/eks-b"] }, s.grants[1]];
            const r = planRegistry({ ...s, grants }, CONTEXT).roles.find((x) => x.grant === "team-a")!;
            expect(r.issuerUrls).to.deep.equal([ISSUER_A, ISSUER_B]);
            expect(
                JSON.parse(r.trustPolicy)
                    .Statement.map((st: Json) => st.Principal.Federated)
                    .sort(),
            ).to.deep.equal([PROVIDER_A, PROVIDER_B]);
            expect(trustAllows(r.trustPolicy, PROVIDER_A, ISSUER_A, SUB("team-a", "scanner"), STS)).to.equal(true);
            expect(trustAllows(r.trustPolicy, PROVIDER_B, ISSUER_B, SUB("team-a", "scanner"), STS)).to.equal(true);
            expect(trustAllows(r.trustPolicy, PROVIDER_B, ISSUER_B, SUB("team-b", "deployer"), STS)).to.equal(false);
            // a provider paired with the other issuer's claims is not admitted either
            expect(trustAllows(r.trustPolicy, PROVIDER_A, ISSUER_B, SUB("team-a", "scanner"), STS)).to.equal(false);
        });

        it("role policy resources are exactly the grant's repository ARNs, with only pull actions", () => {
            const resourcesOf = (json: string) => {
                const pull = JSON.parse(json).Statement.find((s: Json) => s.Sid === "EcrPull");
                expect(asList(pull.Action)).to.deep.equal(PULL);
                return asList(pull.Resource);
            };
            expect(resourcesOf(role("team-a").rolePolicy)).to.deep.equal([REPO("shared/base")]);
            expect(resourcesOf(role("team-b").rolePolicy)).to.deep.equal([REPO("shared/base"), REPO("team-b/worker")]);
            for (const r of plan.roles) {
                expect(r.rolePolicy).to.not.include("orphan/cache");
                expect(r.rolePolicy).to.not.include("ecr:*");
                const token = JSON.parse(r.rolePolicy).Statement.find((s: Json) => s.Sid === "EcrAuthorizationToken");
                expect(token).to.deep.equal({ Sid: "EcrAuthorizationToken", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" });
            }
        });
    });

    describe("repositories", () => {
        it("lists the repositories sorted, with ARNs, the grants naming them and defaults applied", () => {
            expect(plan.repositories.map((r) => [r.settings.name, r.arn, r.grants])).to.deep.equal([
                ["orphan/cache", REPO("orphan/cache"), []],
                ["shared/base", REPO("shared/base"), ["team-a", "team-b"]],
                ["team-b/worker", REPO("team-b/worker"), ["team-b"]],
            ]);
            expect(repository("shared/base").settings).to.deep.equal({
                name: "shared/base",
                imageTagMutability: "IMMUTABLE",
                scanOnPush: true,
                kmsKeyArn: undefined,
                keepLastImages: 50,
                untaggedExpiryDays: 14,
                retainOnDelete: true,
                forceDelete: false,
            });
            expect(repository("orphan/cache").settings.imageTagMutability).to.equal("MUTABLE");
            expect(JSON.parse(repository("shared/base").lifecyclePolicy).rules[1].selection.countNumber).to.equal(50);
        });

        it("a repository named by two grants admits both pull roles and the node roles of both grants' clusters", () => {
            const policy = repository("shared/base").repositoryPolicy!;
            expect(pinnedRoles(policy)).to.deep.equal([ROLE_TEAM_A, ROLE_TEAM_B, NODES_A, NODES_B, NODES_B_GPU].sort());
            for (const arn of [ROLE_TEAM_A, ROLE_TEAM_B, NODES_A, NODES_B, NODES_B_GPU]) {
                for (const action of PULL) {
                    expect(repositoryAllows(policy, arn, action), `${arn} ${action}`).to.equal(true);
                }
                expect(repositoryAllows(policy, arn, "ecr:PutImage")).to.equal(false);
            }
            expect(repositoryAllows(policy, "arn:aws:iam::444455556666:role/other", "ecr:BatchGetImage")).to.equal(false);
        });

        it("a repository named by one grant admits that grant's role and its clusters' node roles only", () => {
            const policy = repository("team-b/worker").repositoryPolicy!;
            expect(pinnedRoles(policy)).to.deep.equal([ROLE_TEAM_B, NODES_B, NODES_B_GPU].sort());
            expect(repositoryAllows(policy, ROLE_TEAM_B, "ecr:BatchGetImage")).to.equal(true);
            expect(repositoryAllows(policy, NODES_B, "ecr:BatchGetImage")).to.equal(true);
            // not the other grant's role, not the node role of the other grant's cluster
            expect(repositoryAllows(policy, ROLE_TEAM_A, "ecr:BatchGetImage")).to.equal(false);
            expect(repositoryAllows(policy, NODES_A, "ecr:BatchGetImage")).to.equal(false);
            const principals = JSON.parse(policy)
                .Statement.flatMap((s: Json) => asList(s.Principal.AWS))
                .sort();
            expect(principals).to.deep.equal(["arn:aws:iam::111122223333:root", "arn:aws:iam::777788889999:root"]);
        });

        it("a repository named by no grant has no policy", () => {
            expect(repository("orphan/cache").repositoryPolicy).to.equal(undefined);
            expect(repository("orphan/cache").grants).to.deep.equal([]);
        });

        it("never puts the authorization token or a wildcard into a repository policy", () => {
            for (const r of plan.repositories.filter((x) => x.repositoryPolicy)) {
                expect(r.repositoryPolicy).to.not.include("GetAuthorizationToken");
                expect(r.repositoryPolicy).to.not.include("*");
            }
        });
    });

    describe("sizes", () => {
        it("reports the size of every document against its limit", () => {
            const expected = [
                { kind: "trust policy", path: "federation", owner: "ecr-pull-team-a", size: policySize(role("team-a").trustPolicy), limit: 2048 },
                { kind: "role policy", owner: "ecr-pull-team-a", size: policySize(role("team-a").rolePolicy), limit: 10240 },
                { kind: "trust policy", path: "federation", owner: "ecr-pull-team-b", size: policySize(role("team-b").trustPolicy), limit: 2048 },
                { kind: "role policy", owner: "ecr-pull-team-b", size: policySize(role("team-b").rolePolicy), limit: 10240 },
                { kind: "lifecycle policy", owner: "orphan/cache", size: policySize(repository("orphan/cache").lifecyclePolicy), limit: 30720 },
                { kind: "repository policy", owner: "shared/base", size: policySize(repository("shared/base").repositoryPolicy!), limit: 10240 },
                { kind: "lifecycle policy", owner: "shared/base", size: policySize(repository("shared/base").lifecyclePolicy), limit: 30720 },
                { kind: "repository policy", owner: "team-b/worker", size: policySize(repository("team-b/worker").repositoryPolicy!), limit: 10240 },
                { kind: "lifecycle policy", owner: "team-b/worker", size: policySize(repository("team-b/worker").lifecyclePolicy), limit: 30720 },
            ];
            expect(plan.sizes).to.deep.equal(expected);
            for (const s of plan.sizes) {
                expect(s.size).to.be.greaterThan(100);
            }
        });

        it("a small plan has no oversized document", () => {
            expect(oversizedPolicies(plan)).to.deep.equal([]);
        });

        it("reports a trust policy over 2,048 characters with the number, the limit and the remedy", () => {
            const clusters: ClusterSpec[] = Array.from({ length: 6 }, (_, i) => ({
                name: `acme/ecrpull/eks-${i}`,
                accountId: "444455556666",
                issuerUrl: `https://oidc.eks.eu-west-1.amazonaws.com/id/${String(i).repeat(32)}`,
                nodeRoleArns: [],
            }));
            const big = bigSpec(clusters);
            const p = planRegistry(big, CONTEXT);
            const trust = p.sizes.find((s) => s.kind === "trust policy")!;
            expect(trust.size).to.be.greaterThan(2048);
            expect(trust.size).to.equal(policySize(p.roles[0].trustPolicy));
            expect(oversizedPolicies(p)).to.deep.equal([
                `the trust policy of ecr-pull-big (grant "big", 6 clusters) is ${trust.size} characters; AWS allows 2048: list fewer clusters or service accounts in the grant, split it into two grants, switch it to path "chaining" (one short statement for all clusters), or raise the IAM quota "Role trust policy length" (L-C07B4B0D) to 4,096.`,
            ]);
        });

        it("with fewer clusters the same grant fits", () => {
            const clusters: ClusterSpec[] = Array.from({ length: 3 }, (_, i) => ({
                name: `acme/ecrpull/eks-${i}`,
                accountId: "444455556666",
                issuerUrl: `https://oidc.eks.eu-west-1.amazonaws.com/id/${String(i).repeat(32)}`,
                nodeRoleArns: [],
            }));
            const p = planRegistry(
                {
                    clusters,
                    repositories: [{ name: "shared/base" }],
                    grants: [
                        {
                            name: "big",
                            clusters: clusters.map((c) => c.name),
                            serviceAccounts: [{ namespace: "ci", name: "image-builder" }],
                            repositories: ["shared/base"],
                        },
                    ],
                },
                CONTEXT,
            );
            expect(oversizedPolicies(p)).to.deep.equal([]);
        });
    });

    describe("determinism", () => {
        it("a shuffled spec gives a deep-equal plan", () => {
            const s = spec();
            const shuffled: RegistrySpec = {
                clusters: [...s.clusters].reverse().map((c) => ({ ...c, nodeRoleArns: [...c.nodeRoleArns].reverse() })),
                repositories: [s.repositories[2], s.repositories[0], s.repositories[1]],
                grants: [...s.grants].reverse().map((g) => ({
                    ...g,
                    clusters: [...g.clusters!].reverse(),
                    serviceAccounts: [...g.serviceAccounts].reverse(),
                    repositories: [...g.repositories].reverse(),
                })),
            };
            // The shuffle really changed something.
            expect(shuffled.grants[0].name).to.not.equal(s.grants[0].name);
            expect(shuffled.grants[1].serviceAccounts[0]).to.not.deep.equal(s.grants[0].serviceAccounts[0]);
            expect(planRegistry(shuffled, CONTEXT)).to.deep.equal(plan);
        });

        it("the same spec planned twice gives byte-identical documents", () => {
            const again = planRegistry(spec(), CONTEXT);
            expect(again.roles.map((r) => r.trustPolicy + r.rolePolicy)).to.deep.equal(plan.roles.map((r) => r.trustPolicy + r.rolePolicy));
        });
    });

    describe("access paths", () => {
        const CLUSTER_A = "acme/ecrpull/eks-a";
        const CLUSTER_B = "acme/ecrpull/eks-b";
        const ARN_A = "arn:aws:eks:eu-west-1:444455556666:cluster/apps-a";
        const ARN_B = "arn:aws:eks:us-east-1:777788889999:cluster/apps-b";
        const CHAIN_A = "arn:aws:iam::444455556666:role/ecr-chain-payments-aaaaaa";
        const CHAIN_B = "arn:aws:iam::777788889999:role/ecr-chain-payments-bbbbbb";
        const POD_A = "arn:aws:iam::444455556666:role/ecr-podid-ml-aaaaaa";
        const POD_B = "arn:aws:iam::777788889999:role/ecr-podid-ml-bbbbbb";
        // Roles the clusters also export, so that a test can switch a grant's path without touching the clusters.
        const CHAIN_ML_A = "arn:aws:iam::444455556666:role/ecr-chain-ml-aaaaaa";
        const CHAIN_ML_B = "arn:aws:iam::777788889999:role/ecr-chain-ml-bbbbbb";
        const POD_PAYMENTS_A = "arn:aws:iam::444455556666:role/ecr-podid-payments-aaaaaa";
        const POD_PAYMENTS_B = "arn:aws:iam::777788889999:role/ecr-podid-payments-bbbbbb";
        const ROLE_CI = "arn:aws:iam::111122223333:role/ecr-pull-ci-builders";
        const ROLE_PAYMENTS = "arn:aws:iam::111122223333:role/ecr-pull-payments";
        const ROLE_ML = "arn:aws:iam::111122223333:role/ecr-pull-ml";
        const ML_ACCOUNTS = [
            { namespace: "ml", name: "trainer" },
            { namespace: "ml", name: "scorer" },
            { namespace: "batch", name: "runner" },
        ];

        /** Two clusters, one grant per path: ci-builders (federation, A), payments (chaining, A and B), ml (Pod Identity, A and B). */
        function pathsSpec(): RegistrySpec {
            return {
                clusters: [
                    {
                        name: CLUSTER_A,
                        accountId: "444455556666",
                        issuerUrl: ISSUER_A,
                        thumbprint: THUMB_1,
                        nodeRoleArns: [NODES_A],
                        clusterArn: ARN_A,
                        clusterRoles: [
                            { grant: "payments", path: "chaining", roleArn: CHAIN_A },
                            { grant: "ml", path: "podIdentity", roleArn: POD_A },
                            { grant: "ml", path: "chaining", roleArn: CHAIN_ML_A },
                            { grant: "payments", path: "podIdentity", roleArn: POD_PAYMENTS_A },
                        ],
                    },
                    {
                        name: CLUSTER_B,
                        accountId: "777788889999",
                        issuerUrl: ISSUER_B,
                        nodeRoleArns: [NODES_B],
                        clusterArn: ARN_B,
                        clusterRoles: [
                            { grant: "payments", path: "chaining", roleArn: CHAIN_B },
                            { grant: "ml", path: "podIdentity", roleArn: POD_B },
                            { grant: "ml", path: "chaining", roleArn: CHAIN_ML_B },
                            { grant: "payments", path: "podIdentity", roleArn: POD_PAYMENTS_B },
                        ],
                    },
                ],
                repositories: [{ name: "shared/base" }, { name: "payments/api" }, { name: "ml/models" }],
                grants: [
                    {
                        name: "ci-builders",
                        clusters: [CLUSTER_A],
                        serviceAccounts: [{ namespace: "ci", name: "image-builder" }],
                        repositories: ["shared/base"],
                    },
                    {
                        name: "payments",
                        path: "chaining",
                        clusters: [CLUSTER_A, CLUSTER_B],
                        serviceAccounts: [{ namespace: "payments", name: "deployer" }],
                        repositories: ["payments/api", "shared/base"],
                    },
                    { name: "ml", path: "podIdentity", clusters: [CLUSTER_A, CLUSTER_B], serviceAccounts: ML_ACCOUNTS, repositories: ["ml/models"] },
                ],
            };
        }

        const withPath = (s: RegistrySpec, grant: string, path: string | undefined): RegistrySpec => ({
            ...s,
            grants: s.grants.map((g) => (g.name === grant ? { ...g, path } : g)),
        });

        let paths: RegistryPlan;
        const pathRole = (grant: string) => paths.roles.find((r) => r.grant === grant)!;

        beforeEach(() => {
            paths = planRegistry(pathsSpec(), CONTEXT);
        });

        it("creates OIDC providers only for the clusters of federated grants", () => {
            expect(paths.providers).to.deep.equal([{ issuerUrl: ISSUER_A, arn: PROVIDER_A, thumbprints: [THUMB_1], clusters: [CLUSTER_A] }]);
            expect(paths.roles.map((r) => [r.grant, r.path, r.issuerUrls])).to.deep.equal([
                ["ci-builders", "federation", [ISSUER_A]],
                ["ml", "podIdentity", []],
                ["payments", "chaining", []],
            ]);
        });

        it("a cluster that no grant names gets no provider", () => {
            const s = spec();
            const idle: ClusterSpec = {
                name: "acme/ecrpull/eks-idle",
                accountId: "555566667777",
                issuerUrl: "https://oidc.eks.eu-west-1.amazonaws.com/id/IDLE",
                nodeRoleArns: [],
            };
            expect(planRegistry({ ...s, clusters: [...s.clusters, idle] }, CONTEXT).providers).to.deep.equal(plan.providers);
        });

        it("every grant keeps its pull role name and ARN whatever its path", () => {
            expect(paths.roles.map((r) => [r.roleName, r.roleArn])).to.deep.equal([
                ["ecr-pull-ci-builders", ROLE_CI],
                ["ecr-pull-ml", ROLE_ML],
                ["ecr-pull-payments", ROLE_PAYMENTS],
            ]);
        });

        it("the chained pull role trusts exactly the clusters' chaining roles for the grant", () => {
            const trust = pathRole("payments").trustPolicy;
            expect(allows(trust, roleSession(CHAIN_A, "sts:AssumeRole"))).to.equal(true);
            expect(allows(trust, roleSession(CHAIN_B, "sts:AssumeRole"))).to.equal(true);
            // other grants' cluster roles, other roles of the clusters' accounts, node roles
            for (const other of [CHAIN_ML_A, POD_A, POD_PAYMENTS_A, NODES_A, NODES_B, "arn:aws:iam::444455556666:role/admin"]) {
                expect(allows(trust, roleSession(other, "sts:AssumeRole")), other).to.equal(false);
            }
            // no web identity through either provider, no session tags
            expect(allows(trust, webIdentity(PROVIDER_A, "oidc.eks.eu-west-1.amazonaws.com/id/AAAA1111", "payments", "deployer"))).to.equal(false);
            expect(allows(trust, roleSession(CHAIN_A, "sts:TagSession"))).to.equal(false);
            expect(pathRole("payments").trustPolicy).to.not.include("oidc-provider");
        });

        it("the Pod Identity pull role trusts the association roles only with the right session tags", () => {
            const trust = pathRole("ml").trustPolicy;
            for (const [role, cluster] of [
                [POD_A, ARN_A],
                [POD_B, ARN_B],
            ]) {
                for (const sa of ML_ACCOUNTS) {
                    expect(allows(trust, podIdentitySession(role, cluster, sa.namespace, sa.name)), `${cluster} ${sa.namespace}/${sa.name}`).to.equal(true);
                    expect(allows(trust, podIdentitySession(role, cluster, sa.namespace, sa.name, "sts:TagSession"))).to.equal(true);
                }
            }
            // crossed cluster and role, another namespace or service account, another grant's role, no tags
            expect(allows(trust, podIdentitySession(POD_A, ARN_B, "ml", "trainer"))).to.equal(false);
            expect(allows(trust, podIdentitySession(POD_B, ARN_A, "ml", "trainer"))).to.equal(false);
            expect(allows(trust, podIdentitySession(POD_A, ARN_A, "batch", "trainer"))).to.equal(false);
            expect(allows(trust, podIdentitySession(POD_A, ARN_A, "ml", "runner"))).to.equal(false);
            expect(allows(trust, podIdentitySession(POD_A, ARN_A, "payments", "deployer"))).to.equal(false);
            expect(allows(trust, podIdentitySession(POD_PAYMENTS_A, ARN_A, "ml", "trainer"))).to.equal(false);
            expect(allows(trust, podIdentitySession(CHAIN_ML_A, ARN_A, "ml", "trainer"))).to.equal(false);
            expect(allows(trust, roleSession(POD_A, "sts:AssumeRole"))).to.equal(false);
        });

        it("the federated pull role still trusts only its service account through the registry's provider", () => {
            const trust = pathRole("ci-builders").trustPolicy;
            expect(trustAllows(trust, PROVIDER_A, ISSUER_A, SUB("ci", "image-builder"), STS)).to.equal(true);
            expect(trustAllows(trust, PROVIDER_A, ISSUER_A, SUB("payments", "deployer"), STS)).to.equal(false);
            expect(allows(trust, roleSession(CHAIN_A, "sts:AssumeRole"))).to.equal(false);
        });

        it("repository policies name the pull roles and node roles, never a cluster-account role", () => {
            const policy = (name: string) => paths.repositories.find((r) => r.settings.name === name)!.repositoryPolicy!;
            expect(pinnedRoles(policy("payments/api"))).to.deep.equal([ROLE_PAYMENTS, NODES_A, NODES_B].sort());
            expect(pinnedRoles(policy("ml/models"))).to.deep.equal([ROLE_ML, NODES_A, NODES_B].sort());
            expect(pinnedRoles(policy("shared/base"))).to.deep.equal([ROLE_CI, ROLE_PAYMENTS, NODES_A, NODES_B].sort());
            for (const r of paths.repositories) {
                for (const clusterRole of [CHAIN_A, CHAIN_B, POD_A, POD_B]) {
                    expect(repositoryAllows(r.repositoryPolicy, clusterRole, "ecr:BatchGetImage"), `${r.settings.name} ${clusterRole}`).to.equal(false);
                }
            }
        });

        it("role policies are the same pull permissions on every path", () => {
            for (const r of paths.roles) {
                const token = JSON.parse(r.rolePolicy).Statement.find((s: Json) => s.Sid === "EcrAuthorizationToken");
                expect(token.Resource).to.equal("*");
                expect(r.rolePolicy).to.not.include("sts:");
            }
            expect(oversizedPolicies(paths)).to.deep.equal([]);
        });

        for (const [grant, from, to] of [
            ["ml", "podIdentity", "chaining"],
            ["payments", "chaining", "podIdentity"],
        ]) {
            it(`switching ${grant} from ${from} to ${to} changes only that grant's trust`, () => {
                const switched = planRegistry(withPath(pathsSpec(), grant, to), CONTEXT);
                expect(switched.providers).to.deep.equal(paths.providers);
                expect(switched.repositories).to.deep.equal(paths.repositories);
                expect(switched.roles.filter((r) => r.grant !== grant)).to.deep.equal(paths.roles.filter((r) => r.grant !== grant));
                const before = paths.roles.find((r) => r.grant === grant)!;
                const after = switched.roles.find((r) => r.grant === grant)!;
                expect(after.path).to.equal(to);
                expect(after.trustPolicy).to.not.equal(before.trustPolicy);
                expect({ ...after, path: before.path, trustPolicy: before.trustPolicy }).to.deep.equal(before);
                const otherSizes = (p: RegistryPlan) => p.sizes.filter((x) => !(x.kind === "trust policy" && x.owner === `ecr-pull-${grant}`));
                expect(otherSizes(switched)).to.deep.equal(otherSizes(paths));
            });
        }

        it("switching payments from chaining to federation adds only cluster B's provider and changes only payments' role", () => {
            const switched = planRegistry(withPath(pathsSpec(), "payments", undefined), CONTEXT);
            expect(switched.providers).to.deep.equal([
                { issuerUrl: ISSUER_A, arn: PROVIDER_A, thumbprints: [THUMB_1], clusters: [CLUSTER_A] },
                { issuerUrl: ISSUER_B, arn: PROVIDER_B, thumbprints: [], clusters: [CLUSTER_B] },
            ]);
            expect(switched.repositories).to.deep.equal(paths.repositories);
            expect(switched.roles.filter((r) => r.grant !== "payments")).to.deep.equal(paths.roles.filter((r) => r.grant !== "payments"));
            const payments = switched.roles.find((r) => r.grant === "payments")!;
            expect(payments.issuerUrls).to.deep.equal([ISSUER_A, ISSUER_B]);
            expect(trustAllows(payments.trustPolicy, PROVIDER_B, ISSUER_B, SUB("payments", "deployer"), STS)).to.equal(true);
            expect(allows(payments.trustPolicy, roleSession(CHAIN_A, "sts:AssumeRole"))).to.equal(false);
        });

        it("a chained grant over many clusters keeps one short statement (the remedy the size message offers)", () => {
            const clusters: ClusterSpec[] = Array.from({ length: 12 }, (_, i) => ({
                name: `acme/ecrpull/eks-${i}`,
                accountId: "444455556666",
                issuerUrl: `https://oidc.eks.eu-west-1.amazonaws.com/id/${String(i % 10).repeat(32)}${i}`,
                nodeRoleArns: [],
                clusterRoles: [{ grant: "big", path: "chaining", roleArn: `arn:aws:iam::444455556666:role/ecr-chain-big-${String(i).padStart(6, "0")}` }],
            }));
            const big = bigSpec(clusters, "chaining");
            const p = planRegistry(big, CONTEXT);
            expect(p.providers).to.deep.equal([]);
            expect(JSON.parse(p.roles[0].trustPolicy).Statement).to.have.lengthOf(1);
            expect(oversizedPolicies(p)).to.deep.equal([]);
            // The federated form of the same grant is far over the limit.
            expect(oversizedPolicies(planRegistry(withPath(big, "big", "federation"), CONTEXT))).to.have.lengthOf(1);
        });

        it("a shuffled spec with cluster roles gives a deep-equal plan", () => {
            const s = pathsSpec();
            const shuffled: RegistrySpec = {
                clusters: [...s.clusters].reverse().map((c) => ({ ...c, clusterRoles: [...(c.clusterRoles ?? [])].reverse() })),
                repositories: [...s.repositories].reverse(),
                grants: [...s.grants].reverse().map((g) => ({ ...g, clusters: [...g.clusters!].reverse(), serviceAccounts: [...g.serviceAccounts].reverse() })),
            };
            expect(planRegistry(shuffled, CONTEXT)).to.deep.equal(paths);
        });
    });
});

describe("oversized trust policies: the remedy fits the grant's path", () => {
    /** A grant over many clusters of one account, on the given path. */
    function bigGrant(path: string, clusters: number, namespaces: number): RegistrySpec {
        const names = Array.from({ length: clusters }, (_, i) => `acme/ecrpull/eks-${i}`);
        return {
            clusters: names.map((name, i) => ({
                name,
                accountId: "444455556666",
                issuerUrl: `https://oidc.eks.eu-west-1.amazonaws.com/id/${String(i).padStart(32, "0")}`,
                nodeRoleArns: [],
                clusterArn: `arn:aws:eks:eu-west-1:444455556666:cluster/c${i}`,
                clusterRoles: [
                    {
                        grant: "big",
                        path,
                        roleArn: `arn:aws:iam::444455556666:role/ecr-${path === "chaining" ? "chain" : "podid"}-big-${String(i).padStart(6, "0")}`,
                    },
                ],
            })),
            repositories: [{ name: "big/app" }],
            grants: [
                {
                    name: "big",
                    path,
                    clusters: names,
                    serviceAccounts: Array.from({ length: namespaces }, (_, i) => ({ namespace: `ns-${i}`, name: "puller" })),
                    repositories: ["big/app"],
                },
            ],
        };
    }

    const clusterOf = (plan: RegistryPlan, cluster: string) => plan.roles.find((r) => r.clusters.includes(cluster))!.roleName;
    const arnOf = (i: number) => `arn:aws:eks:eu-west-1:444455556666:cluster/c${i}`;
    const withShards = (spec: RegistrySpec, shards: number): RegistrySpec => ({ ...spec, grants: spec.grants.map((g) => ({ ...g, shards })) });
    const fits = (spec: RegistrySpec) => oversizedPolicies(planRegistry(spec, CONTEXT)).length === 0;

    it("tells an oversized grant how many shards make every role fit, and which clusters that moves", () => {
        for (const [path, clusters, namespaces] of [
            ["podIdentity", 3, 2],
            ["chaining", 40, 1],
            ["federation", 25, 1],
        ] as const) {
            const spec = bigGrant(path, clusters, namespaces);
            const plan = planRegistry(spec, CONTEXT);
            const size = plan.sizes.find((x) => x.kind === "trust policy")!.size;
            // The smallest number of shards that fits, found independently of the message.
            let needed = 2;
            while (!fits(withShards(spec, needed))) {
                needed++;
            }
            const moved = spec.grants[0].clusters!.filter((_, i) => shardOf(arnOf(i), needed) !== 0).sort();
            const shown = moved.length <= 5 ? moved.join(", ") : `${moved.slice(0, 5).join(", ")} and ${moved.length - 5} more`;
            expect(oversizedPolicies(plan), path).to.deep.equal([
                `the trust policy of ecr-pull-big (grant "big", ${clusters} clusters) is ${size} characters; AWS allows 2048: set shards: ${needed} on grant "big" (in ecrpull:grants, and on its workloads in each cluster's ecrpull:workloads), which moves the workloads of ${moved.length} of its ${clusters} clusters to another pull role (${shown}); or ${TRUST_REMEDY[path]}.`,
            ]);
            expect(fits(withShards(spec, needed - 1)), `${path}: ${needed - 1} shards would not do`).to.equal(false);
        }
    });

    it("splits a grant deterministically: every shard within the limit, each cluster on the role shardOf names", () => {
        let shards = 2;
        while (!fits(withShards(bigGrant("federation", 25, 1), shards))) {
            shards++;
        }
        const spec = withShards(bigGrant("federation", 25, 1), shards);
        const plan = planRegistry(spec, CONTEXT);
        expect(oversizedPolicies(plan)).to.deep.equal([]);
        for (const role of plan.roles) {
            expect(policySize(role.trustPolicy)).to.be.at.most(2048);
        }
        spec.grants[0].clusters!.forEach((name, i) => {
            const shard = shardOf(arnOf(i), shards);
            expect(clusterOf(plan, name)).to.equal(shard === 0 ? "ecr-pull-big" : `ecr-pull-big.${shard}`);
        });
        expect(planRegistry(spec, CONTEXT)).to.deep.equal(plan);
    });

    it("adding or removing a cluster of a packed grant moves no other cluster to another role", () => {
        const before = planRegistry(withShards(bigGrant("chaining", 30, 1), 4), CONTEXT);
        const grown = planRegistry(withShards(bigGrant("chaining", 31, 1), 4), CONTEXT);
        const shrunk = planRegistry(withShards(bigGrant("chaining", 29, 1), 4), CONTEXT);
        for (let i = 0; i < 29; i++) {
            const name = `acme/ecrpull/eks-${i}`;
            expect(clusterOf(grown, name), name).to.equal(clusterOf(before, name));
            expect(clusterOf(shrunk, name), name).to.equal(clusterOf(before, name));
        }
    });

    it("refuses, with the remedy, a grant no number of shards can fit: one cluster with too many service accounts", () => {
        const spec = bigGrant("federation", 1, 1);
        const many = {
            ...spec,
            grants: [{ ...spec.grants[0], serviceAccounts: Array.from({ length: 60 }, (_, i) => ({ namespace: "ns", name: `sa-${i}` })) }],
        };
        const plan = planRegistry(many, CONTEXT);
        const size = plan.sizes.find((x) => x.kind === "trust policy")!.size;
        expect(oversizedPolicies(plan)).to.deep.equal([
            `the trust policy of ecr-pull-big (grant "big", 1 clusters) is ${size} characters; AWS allows 2048: ${TRUST_REMEDY.federation}.`,
        ]);
        // An account that raised its quota says so, and the same grant fits.
        expect(oversizedPolicies(planRegistry(many, { ...CONTEXT, limits: { trustPolicy: 4096 } }))).to.deep.equal([]);
    });

    it("counts OIDC providers and roles against the account's quotas", () => {
        const federated = bigGrant("federation", 101, 1);
        const split = withShards(federated, 64);
        const plan = planRegistry(split, CONTEXT);
        expect(plan.counts.oidcProviders).to.deep.equal({ count: 101, limit: 100 });
        expect(oversizedPolicies(plan)).to.include(
            'the registry account would hold 101 OIDC providers (one per cluster of a federated grant); the quota is 100: raise the IAM quota "OpenID Connect providers per account" (up to 700) and set limits.oidcProviders, or switch grants to path "chaining" or "podIdentity", which need none (federated: big).',
        );
        const raised = planRegistry(split, { ...CONTEXT, limits: { oidcProviders: 700, roles: 10 } });
        expect(raised.counts.roles.count).to.be.greaterThan(10);
        expect(oversizedPolicies(raised).filter((m) => m.includes("OIDC providers"))).to.deep.equal([]);
        expect(oversizedPolicies(raised)).to.include(
            `the registry account would hold ${raised.counts.roles.count} pull roles of this stack; the quota is 10: raise the IAM quota "Roles per account" (up to 5,000) and set limits.roles, or merge grants or lower their shards.`,
        );
        // Chaining spends no provider at all.
        expect(planRegistry(bigGrant("chaining", 101, 1), CONTEXT).counts.oidcProviders.count).to.equal(0);
    });
});
