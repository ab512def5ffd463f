import { expect } from "chai";

import { policySize } from "../components/policies";
import { oversizedPolicies, planRegistry, RegistryContext, RegistryPlan } from "../components/registry-plan";
import { ClusterSpec, GrantSpec, RegistrySpec } from "../components/registry-spec";

// Parsed policy JSON, read loosely on purpose: the helpers below check its shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
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
            const open = JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "X", Effect: "Allow", Principal: { Federated: PROVIDER_A }, Action: "sts:AssumeRoleWithWebIdentity" }] });
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
            // THUMB_1 is met before THUMB_0, and twice: the list must come out de-duplicated and sorted.
            const p = planRegistry({ ...s, clusters: [again, ...s.clusters, shared] }, CONTEXT);
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
            expect(JSON.parse(r.trustPolicy).Statement.map((st: Json) => st.Principal.Federated).sort()).to.deep.equal([PROVIDER_A, PROVIDER_B]);
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
            const principals = JSON.parse(policy).Statement.flatMap((s: Json) => asList(s.Principal.AWS)).sort();
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
                { kind: "trust policy", owner: "ecr-pull-team-a", size: policySize(role("team-a").trustPolicy), limit: 2048 },
                { kind: "role policy", owner: "ecr-pull-team-a", size: policySize(role("team-a").rolePolicy), limit: 10240 },
                { kind: "trust policy", owner: "ecr-pull-team-b", size: policySize(role("team-b").trustPolicy), limit: 2048 },
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
            const big: RegistrySpec = {
                clusters,
                repositories: [{ name: "shared/base" }],
                grants: [
                    {
                        name: "big",
                        clusters: clusters.map((c) => c.name),
                        serviceAccounts: [
                            { namespace: "ci", name: "image-builder" },
                            { namespace: "ci", name: "image-scanner" },
                        ],
                        repositories: ["shared/base"],
                    },
                ],
            };
            const p = planRegistry(big, CONTEXT);
            const trust = p.sizes.find((s) => s.kind === "trust policy")!;
            expect(trust.size).to.be.greaterThan(2048);
            expect(trust.size).to.equal(policySize(p.roles[0].trustPolicy));
            expect(oversizedPolicies(p)).to.deep.equal([
                `the trust policy of ecr-pull-big is ${trust.size} characters; AWS allows 2048: list fewer clusters or service accounts in the grant, split it into two grants, or raise the IAM quota "Role trust policy length" (L-C07B4B0D) to 4,096.`,
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
                    grants: [{ name: "big", clusters: clusters.map((c) => c.name), serviceAccounts: [{ namespace: "ci", name: "image-builder" }], repositories: ["shared/base"] }],
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
                    clusters: [...g.clusters].reverse(),
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
});
