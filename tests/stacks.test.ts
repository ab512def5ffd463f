/**
 * Both programs run on the mock engine and wired as `pulumi up` wires them:
 * the EKS stacks first, then the ECR stack reading their outputs. The
 * assertions evaluate the generated documents (tests/support/iam.ts) rather
 * than comparing JSON text, so they state what a principal can and cannot do.
 */
import { expect } from "chai";
import { RecordedResource, resourcesBeforeFailure } from "../tools/engine/mock-engine";
import { runEcrStack, runEksStack, runTwoStacks, TwoStackRun } from "../tools/engine/two-stacks";
import { selectProgram } from "../stacks/program";
import { ValidationError } from "../components/validation";
import { clusterRoleName } from "../components/iam/names";
import { CONTRACT_VERSION } from "../components/contract/stack-outputs";
import { allows, PULL_ACTIONS, roleSession, webIdentity, WRITE_ACTIONS } from "./support/iam";
import {
    ACCOUNT_A,
    ACCOUNT_B,
    clusterA,
    clusterB,
    GRANTS,
    ISSUER_B,
    NODE_ROLE_B,
    REGION,
    registry,
    REGISTRY_ACCOUNT,
    STACK_A,
    STACK_B,
} from "./support/fixtures";

/** The cluster-account role the EKS program names for a chained or Pod Identity grant. */
const clusterRole = (path: "chaining" | "podIdentity", grant: string, account: string, cluster: string) =>
    `arn:aws:iam::${account}:role/${clusterRoleName(path, grant, REGION, cluster)}`;
const byType = (resources: readonly RecordedResource[], type: string) => resources.filter((r) => r.type === type);
const repoArn = (name: string) => `arn:aws:ecr:${REGION}:${REGISTRY_ACCOUNT}:repository/${name}`;
const pullRole = (grant: string) => `arn:aws:iam::${REGISTRY_ACCOUNT}:role/ecr-pull-${grant}`;
const hostPath = (url: string) => url.replace(/^https:\/\//, "");

describe("two stacks wired together", function () {
    let run: TwoStackRun;
    let issuerA: string;
    let nodeRoleA: string;
    const providerArn = (issuer: string) => `arn:aws:iam::${REGISTRY_ACCOUNT}:oidc-provider/${hostPath(issuer)}`;

    before(async () => {
        run = await runTwoStacks([clusterA(), clusterB()], registry());
        issuerA = run.eks[0].outputs.oidcIssuerUrl as string;
        nodeRoleA = (run.eks[0].outputs.nodeRoleArns as string[])[0];
    });

    function role(grant: string): RecordedResource {
        const found = byType(run.ecr.resources, "aws:iam/role:Role").find((r) => r.inputs.name === `ecr-pull-${grant}`);
        expect(found, `role of grant ${grant}`).to.exist;
        return found!;
    }
    function rolePolicy(grant: string): string {
        const found = byType(run.ecr.resources, "aws:iam/rolePolicy:RolePolicy").find((r) => r.name === `registry-${grant}-pull`);
        expect(found, `policy of grant ${grant}`).to.exist;
        return found!.inputs.policy;
    }
    function repositoryPolicy(repository: string): string | undefined {
        return byType(run.ecr.resources, "aws:ecr/repositoryPolicy:RepositoryPolicy").find((r) => r.name === `registry-${repository}-policy`)?.inputs.policy;
    }

    describe("the EKS stack", () => {
        it("exports the whole wire contract", () => {
            const outputs = run.eks[0].outputs;
            expect(outputs).to.include({
                contractVersion: CONTRACT_VERSION,
                accountId: ACCOUNT_A,
                region: REGION,
                clusterName: "apps-a",
                clusterArn: `arn:aws:eks:${REGION}:${ACCOUNT_A}:cluster/apps-a`,
                oidcThumbprint: "",
            });
            expect(issuerA).to.match(/^https:\/\/oidc\.eks\.eu-west-1\.amazonaws\.com\/id\/[0-9A-F]{32}$/);
            expect(nodeRoleA).to.match(new RegExp(`^arn:aws:iam::${ACCOUNT_A}:role/`));
            expect(outputs.workloads).to.deep.equal([
                {
                    namespace: "ci",
                    serviceAccount: "image-builder",
                    grant: "ci-builders",
                    path: "federation",
                    roleArn: pullRole("ci-builders"),
                    clusterRoleArn: "",
                },
                {
                    namespace: "ml",
                    serviceAccount: "trainer",
                    grant: "ml",
                    path: "podIdentity",
                    roleArn: pullRole("ml"),
                    clusterRoleArn: clusterRole("podIdentity", "ml", ACCOUNT_A, "apps-a"),
                },
                {
                    namespace: "payments",
                    serviceAccount: "deployer",
                    grant: "payments",
                    path: "chaining",
                    roleArn: pullRole("payments"),
                    clusterRoleArn: clusterRole("chaining", "payments", ACCOUNT_A, "apps-a"),
                },
            ]);
        });

        it("annotates each federated ServiceAccount with the ARN of the role the ECR stack creates", () => {
            const createdRoleArns = new Map(
                byType(run.ecr.resources, "aws:iam/role:Role").map((r) => [r.inputs.name as string, `arn:aws:iam::${REGISTRY_ACCOUNT}:role/${r.inputs.name}`]),
            );
            const accounts = run.eks
                .flatMap((e) => byType(e.resources, "kubernetes:core/v1:ServiceAccount"))
                .filter((sa) => sa.inputs.metadata.labels["ecrpull.dev/path"] === "federation");
            expect(accounts).to.have.length(2);
            for (const sa of accounts) {
                const grant = sa.inputs.metadata.labels["ecrpull.dev/grant"];
                const annotation = sa.inputs.metadata.annotations["eks.amazonaws.com/role-arn"];
                expect(annotation, `${sa.name}`).to.equal(createdRoleArns.get(`ecr-pull-${grant}`));
                expect(annotation).to.equal((run.ecr.outputs.pullRoleArns as Record<string, string>)[grant]);
            }
        });

        it("creates the ServiceAccounts through the cluster's Kubernetes provider", () => {
            for (const sa of byType(run.eks[0].resources, "kubernetes:core/v1:ServiceAccount")) {
                expect(sa.provider).to.match(/pulumi:providers:kubernetes::cluster-k8s::/);
            }
        });

        it("gives a created cluster a node role with the ECR pull-only policy", () => {
            const attachments = byType(run.eks[0].resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").map((r) => r.inputs.policyArn);
            expect(attachments).to.include("arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly");
            const cluster = byType(run.eks[0].resources, "eks:index:Cluster")[0];
            expect(cluster.inputs).to.include({ name: "apps-a", createOidcProvider: true });
        });

        it("adopts an existing cluster without creating one", () => {
            const b = run.eks[1];
            expect(byType(b.resources, "eks:index:Cluster")).to.be.empty;
            // Only the Pod Identity role of grant ml: no node role, no add-on (it is present already).
            expect(byType(b.resources, "aws:iam/role:Role").map((r) => r.inputs.name)).to.deep.equal([clusterRoleName("podIdentity", "ml", REGION, "apps-b")]);
            expect(byType(b.resources, "aws:eks/addon:Addon")).to.be.empty;
            expect(b.outputs).to.include({ oidcIssuerUrl: ISSUER_B, clusterName: "apps-b", accountId: ACCOUNT_B });
            expect(b.outputs.nodeRoleArns).to.deep.equal([NODE_ROLE_B]);
            const kubeconfig = JSON.parse(byType(b.resources, "pulumi:providers:kubernetes")[0].inputs.kubeconfig);
            expect(kubeconfig.users[0].user.exec.args).to.deep.equal(["eks", "get-token", "--cluster-name", "apps-b", "--region", REGION, "--output", "json"]);
        });
    });

    describe("the ECR stack", () => {
        it("creates one OIDC provider per referenced cluster, for STS, without a thumbprint when none was exported", () => {
            const providers = byType(run.ecr.resources, "aws:iam/openIdConnectProvider:OpenIdConnectProvider");
            expect(providers.map((p) => p.inputs.url).sort()).to.deep.equal([issuerA, ISSUER_B].sort());
            for (const p of providers) {
                expect(p.inputs.clientIdLists).to.deep.equal(["sts.amazonaws.com"]);
                expect(p.inputs).not.to.have.property("thumbprintLists");
            }
        });

        it("creates each pull role after the OIDC providers its trust names", () => {
            const providerUrns = new Map(byType(run.ecr.resources, "aws:iam/openIdConnectProvider:OpenIdConnectProvider").map((p) => [p.inputs.url, p.urn]));
            const component = run.ecr.resources.find((r) => r.type === "ecrpull:index:PullRole" && r.name === "registry-ci-builders")!;
            expect([...component.dependsOn].sort()).to.deep.equal([providerUrns.get(issuerA), providerUrns.get(ISSUER_B)].sort());
        });

        it("lets exactly the granted service accounts of the granted clusters assume each pull role", () => {
            const trust = role("ci-builders").inputs.assumeRolePolicy;
            expect(allows(trust, webIdentity(providerArn(issuerA), hostPath(issuerA), "ci", "image-builder"))).to.equal(true);
            expect(allows(trust, webIdentity(providerArn(ISSUER_B), hostPath(ISSUER_B), "ci", "image-builder"))).to.equal(true);
            // another namespace, another service account, another audience
            expect(allows(trust, webIdentity(providerArn(issuerA), hostPath(issuerA), "default", "image-builder"))).to.equal(false);
            expect(allows(trust, webIdentity(providerArn(issuerA), hostPath(issuerA), "ci", "default"))).to.equal(false);
            expect(allows(trust, webIdentity(providerArn(issuerA), hostPath(issuerA), "ci", "image-builder", "sigstore"))).to.equal(false);

            // a token of cluster B presented as if cluster A's provider had issued it
            expect(allows(trust, webIdentity(providerArn(ISSUER_B), hostPath(issuerA), "ci", "image-builder"))).to.equal(false);
            // no other way in: a role session of any account
            expect(allows(trust, roleSession(`arn:aws:iam::${ACCOUNT_A}:role/admin`, "sts:AssumeRole"))).to.equal(false);
        });

        it("never writes a web-identity trust without sub and aud, nor a role trust without the role's ARN", () => {
            const roles = [...run.eks.flatMap((e) => e.resources), ...run.ecr.resources].filter((r) => r.type === "aws:iam/role:Role");
            for (const r of roles) {
                for (const statement of JSON.parse(r.inputs.assumeRolePolicy).Statement) {
                    if (statement.Principal.Federated) {
                        const keys = Object.keys(statement.Condition.StringEquals);
                        expect(
                            keys.some((k) => k.endsWith(":sub")),
                            r.name,
                        ).to.equal(true);
                        expect(
                            keys.some((k) => k.endsWith(":aud")),
                            r.name,
                        ).to.equal(true);
                    } else if (statement.Principal.AWS) {
                        expect(statement.Condition.ArnEquals["aws:PrincipalArn"], r.name).to.exist;
                    } else {
                        expect(statement.Principal.Service, r.name).to.be.oneOf(["ec2.amazonaws.com", "pods.eks.amazonaws.com"]);
                    }
                }
            }
        });

        it("lets a pull role pull its grant's repositories and nothing else", () => {
            const policy = rolePolicy("payments");
            const session = pullRole("payments");
            expect(allows(policy, roleSession(session, "ecr:GetAuthorizationToken", "*"))).to.equal(true);
            for (const action of PULL_ACTIONS) {
                expect(allows(policy, roleSession(session, action, repoArn("payments/api"))), action).to.equal(true);
                expect(allows(policy, roleSession(session, action, repoArn("ci/cache"))), action).to.equal(false);
            }
            for (const action of WRITE_ACTIONS) {
                expect(allows(policy, roleSession(session, action, repoArn("payments/api"))), action).to.equal(false);
            }
        });

        it("lets exactly the grants' pull roles and their clusters' node roles pull through a repository policy", () => {
            const cases: [string, string, boolean][] = [
                ["platform/base", pullRole("ci-builders"), true],
                ["platform/base", pullRole("payments"), true],
                ["platform/base", nodeRoleA, true],
                ["platform/base", NODE_ROLE_B, true],
                ["payments/api", pullRole("payments"), true],
                ["payments/api", nodeRoleA, true],
                ["payments/api", pullRole("ci-builders"), false],
                // cluster B is not in the payments grant
                ["payments/api", NODE_ROLE_B, false],
                ["ci/cache", NODE_ROLE_B, true],
                ["ci/cache", pullRole("payments"), false],
                ["ml/models", pullRole("ml"), true],
                ["ml/models", nodeRoleA, true],
                ["ml/models", NODE_ROLE_B, true],
                ["ml/models", pullRole("payments"), false],
                // another role of a granted account
                ["platform/base", `arn:aws:iam::${ACCOUNT_B}:role/admin`, false],
                ["platform/base", `arn:aws:iam::${REGISTRY_ACCOUNT}:role/ecr-pull-other`, false],
            ];
            for (const [repository, principal, expected] of cases) {
                const policy = repositoryPolicy(repository)!;
                for (const action of PULL_ACTIONS) {
                    expect(allows(policy, roleSession(principal, action)), `${principal} ${action} ${repository}`).to.equal(expected);
                }
                for (const action of WRITE_ACTIONS) {
                    expect(allows(policy, roleSession(principal, action)), `${principal} ${action} ${repository}`).to.equal(false);
                }
            }
            expect(repositoryPolicy("archive/legacy"), "a repository in no grant has no policy").to.equal(undefined);
        });

        it("keeps repositories when they leave the config, and never force-deletes images", () => {
            const repositories = byType(run.ecr.resources, "aws:ecr/repository:Repository");
            expect(repositories).to.have.length(5);
            for (const repository of repositories) {
                expect(repository.inputs.forceDelete, repository.name).to.equal(false);
                expect(repository.retainOnDelete, repository.name).to.equal(repository.inputs.name !== "payments/api");
                expect(repository.inputs.imageScanningConfiguration).to.deep.equal({ scanOnPush: true });
            }
            const cache = repositories.find((r) => r.inputs.name === "ci/cache")!;
            expect(cache.inputs.imageTagMutability).to.equal("MUTABLE");
            const base = repositories.find((r) => r.inputs.name === "platform/base")!;
            expect(base.inputs.imageTagMutability).to.equal("IMMUTABLE");
            expect(base.inputs.encryptionConfigurations).to.deep.equal([{ encryptionType: "AES256" }]);
            expect(base.inputs.imageTagMutabilityExclusionFilters, "no filters without an exclusion setting").to.equal(undefined);
            const models = repositories.find((r) => r.inputs.name === "ml/models")!;
            expect(models.inputs.imageTagMutability).to.equal("IMMUTABLE_WITH_EXCLUSION");
            expect(models.inputs.imageTagMutabilityExclusionFilters).to.deep.equal([
                { filter: "latest", filterType: "WILDCARD" },
                { filter: "nightly-*", filterType: "WILDCARD" },
            ]);
        });

        it("exports repository URLs and pull role ARNs", () => {
            expect(run.ecr.outputs.pullRoleArns).to.deep.equal({ "ci-builders": pullRole("ci-builders"), ml: pullRole("ml"), payments: pullRole("payments") });
            expect((run.ecr.outputs.repositoryUrls as Record<string, string>)["payments/api"]).to.equal(
                `${REGISTRY_ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/payments/api`,
            );
        });
    });

    it("parents every child to its component, and only components and stack references to the stack", () => {
        for (const resources of [...run.eks.map((e) => e.resources), run.ecr.resources]) {
            const components = new Set(resources.filter((r) => r.type.startsWith("ecrpull:")).map((r) => r.urn));
            for (const resource of resources) {
                if (resource.type.startsWith("ecrpull:") && resource.parent === "") {
                    continue; // a top-level component
                }
                if (resource.type === "pulumi:pulumi:StackReference") {
                    continue;
                }
                expect(components.has(resource.parent), `${resource.type} ${resource.name} parent ${resource.parent}`).to.equal(true);
            }
        }
    });

    it("gives identical resource inputs when the config lists are reordered", async () => {
        const config = registry().config;
        const shuffled = registry({
            "ecrpull:clusterStacks": [STACK_B, STACK_A],
            "ecrpull:repositories": [...(config["ecrpull:repositories"] as unknown[])].reverse(),
            "ecrpull:grants": [...GRANTS].reverse().map((g) => ({
                ...g,
                clusters: [...g.clusters].reverse(),
                repositories: [...g.repositories].reverse(),
            })),
        });
        const references = { [STACK_A]: run.eks[0].outputs, [STACK_B]: run.eks[1].outputs };
        const again = await runEcrStack(shuffled, references as never);
        const inputsOf = (resources: readonly RecordedResource[]) =>
            Object.fromEntries(resources.filter((r) => r.custom).map((r) => [`${r.type}::${r.name}`, JSON.stringify(r.inputs)]));
        expect(inputsOf(again.resources)).to.deep.equal(inputsOf(run.ecr.resources));
    });
});

describe("thumbprints between the stacks", () => {
    it("exports the fetched thumbprint and the ECR stack gives it to the OIDC provider", async () => {
        const asked: string[] = [];
        const thumbprint = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";
        const a = { ...clusterA({ "ecrpull:oidcThumbprint": "fetch" }), fetchThumbprint: async (url: string) => (asked.push(url), thumbprint) };
        const run = await runTwoStacks([a, clusterB()], registry());
        // A new cluster's issuer host is the region's EKS issuer host, known before the cluster is.
        expect(asked).to.deep.equal(["https://oidc.eks.eu-west-1.amazonaws.com"]);
        expect(run.eks[0].outputs.oidcIssuerUrl).to.match(/^https:\/\/oidc\.eks\.eu-west-1\.amazonaws\.com\/id\//);
        expect(run.eks[0].outputs.oidcThumbprint).to.equal(thumbprint);
        const provider = byType(run.ecr.resources, "aws:iam/openIdConnectProvider:OpenIdConnectProvider").find(
            (p) => p.inputs.url === run.eks[0].outputs.oidcIssuerUrl,
        )!;
        expect(provider.inputs.thumbprintLists).to.deep.equal([thumbprint]);
    });

    it("fetches from the region's issuer host in the preview of a new cluster, whose own issuer is not known yet", async () => {
        const asked: string[] = [];
        const a = { ...clusterA({ "ecrpull:oidcThumbprint": "fetch" }), fetchThumbprint: async (url: string) => (asked.push(url), "0".repeat(40)) };
        const preview = await runEksStack(a, true);
        expect(asked).to.deep.equal(["https://oidc.eks.eu-west-1.amazonaws.com"]);
        expect(preview.outputs.oidcIssuerUrl).to.equal(undefined);
        expect(preview.outputs.oidcThumbprint).to.equal("0".repeat(40));
        expect(byType(preview.resources, "kubernetes:core/v1:ServiceAccount")).to.have.length(3);
    });

    it("fetches an adopted cluster's thumbprint from its own issuer", async () => {
        const asked: string[] = [];
        const b = {
            ...clusterB({ "ecrpull:oidcThumbprint": "fetch", "ecrpull:workloads": [] }),
            fetchThumbprint: async (url: string) => (asked.push(url), "1".repeat(40)),
        };
        const run = await runEksStack({ ...b, existingClusters: { "apps-b": { issuerUrl: ISSUER_B } } });
        expect(asked).to.deep.equal([ISSUER_B]);
        expect(run.outputs.oidcThumbprint).to.equal("1".repeat(40));
    });

    it("surfaces a failed fetch as the stack's error", async () => {
        const a = {
            ...clusterA({ "ecrpull:oidcThumbprint": "fetch" }),
            fetchThumbprint: async () => {
                throw new Error("Could not compute the OIDC thumbprint of oidc.eks.eu-west-1.amazonaws.com:443 after 3 attempts: timeout");
            },
        };
        let error: unknown;
        try {
            await runEksStack(a);
        } catch (e) {
            error = e;
        }
        expect(String(error)).to.contain(
            'ecrpull:oidcThumbprint "fetch": Could not compute the OIDC thumbprint of oidc.eks.eu-west-1.amazonaws.com:443 after 3 attempts: timeout Or set ecrpull:oidcThumbprint to "omit"',
        );
        // Fetched before anything is registered: a failure leaves nothing half-created.
        expect(resourcesBeforeFailure(error)).to.deep.equal([]);
    });
});

describe("the ECR stack refuses what would not work, before creating anything", () => {
    async function ecrError(references: Record<string, Record<string, unknown>>, overrides: Record<string, unknown> = {}) {
        try {
            const run = await runEcrStack(registry(overrides), references);
            return { message: "", resources: run.resources };
        } catch (e) {
            expect(e).to.be.instanceOf(ValidationError);
            return { message: (e as Error).message, resources: [] };
        }
    }
    let outputsA: Record<string, unknown>;
    let outputsB: Record<string, unknown>;

    before(async () => {
        outputsA = (await runEksStack(clusterA())).outputs as Record<string, unknown>;
        outputsB = (await runEksStack(clusterB())).outputs as Record<string, unknown>;
    });

    it("names the stack and the key when a referenced stack lacks an output", async () => {
        const { oidcIssuerUrl: _dropped, ...withoutIssuer } = outputsA;
        const { message } = await ecrError({ [STACK_A]: withoutIssuer, [STACK_B]: outputsB });
        expect(message).to.equal(
            `Stack "ecr" (ECR program): stack "${STACK_A}" output oidcIssuerUrl is missing: run \`pulumi up\` on stack "${STACK_A}" with this package's EKS program first; it exports contractVersion, oidcIssuerUrl, oidcThumbprint, accountId, region, clusterName, clusterArn, nodeRoleArns, workloads.`,
        );
    });

    it("refuses a workload whose grant the registry does not have", async () => {
        const workloads = [
            ...(outputsB.workloads as object[]),
            { namespace: "search", serviceAccount: "indexer", grant: "search", path: "federation", roleArn: pullRole("search"), clusterRoleArn: "" },
        ];
        const { message } = await ecrError({ [STACK_A]: outputsA, [STACK_B]: { ...outputsB, workloads } });
        expect(message).to.equal(
            `Stack "ecr" (ECR program): stack "${STACK_B}" output workloads[2] (search/indexer) uses grant "search", which this registry does not have: add it to ecrpull:grants, or use one of "ci-builders", "ml", "payments" in that stack's ecrpull:workloads.`,
        );
    });

    it("refuses a workload of a cluster its grant does not list", async () => {
        const chainRoleB = clusterRole("chaining", "payments", ACCOUNT_B, "apps-b");
        const workloads = [
            ...(outputsB.workloads as object[]),
            {
                namespace: "payments",
                serviceAccount: "deployer",
                grant: "payments",
                path: "chaining",
                roleArn: pullRole("payments"),
                clusterRoleArn: chainRoleB,
            },
        ];
        const { message } = await ecrError({ [STACK_A]: outputsA, [STACK_B]: { ...outputsB, workloads } });
        expect(message).to.equal(
            `Stack "ecr" (ECR program): stack "${STACK_B}" output workloads[2] (payments/deployer) uses grant "payments", which does not list cluster "${STACK_B}": add it to that grant's clusters.`,
        );
    });

    it("refuses a workload annotated for another registry account", async () => {
        const workloads = [
            {
                namespace: "ci",
                serviceAccount: "image-builder",
                grant: "ci-builders",
                path: "federation",
                roleArn: "arn:aws:iam::999999999999:role/ecr-pull-ci-builders",
                clusterRoleArn: "",
            },
            ...(outputsB.workloads as object[]).slice(1),
        ];
        const { message } = await ecrError({ [STACK_A]: outputsA, [STACK_B]: { ...outputsB, workloads } });
        expect(message).to.equal(
            `Stack "ecr" (ECR program): stack "${STACK_B}" output workloads[0] (ci/image-builder) expects the pull role "arn:aws:iam::999999999999:role/ecr-pull-ci-builders", but this registry creates "${pullRole("ci-builders")}" for that cluster: set ecrpull:registryAccountId in stack "${STACK_B}" to this registry's account.`,
        );
    });

    it("reports config and reference problems together", async () => {
        const { oidcIssuerUrl: _dropped, ...withoutIssuer } = outputsA;
        const { message } = await ecrError({ [STACK_A]: withoutIssuer, [STACK_B]: outputsB }, { "ecrpull:tags": { team: 7 }, "ecrpull:grant": [] });
        expect(message.split("\n")).to.deep.equal([
            `Stack "ecr" (ECR program): 3 problems:`,
            `  - ecrpull:grant is not a setting of the ECR program: use one of program, clusterStacks, repositories, grants, limits, nodePullScope, tags, adopt, replicaRegions.`,
            `  - ecrpull:tags.team 7 is not a string: tag values are strings, so quote it (e.g. team: "7").`,
            `  - stack "${STACK_A}" output oidcIssuerUrl is missing: run \`pulumi up\` on stack "${STACK_A}" with this package's EKS program first; it exports contractVersion, oidcIssuerUrl, oidcThumbprint, accountId, region, clusterName, clusterArn, nodeRoleArns, workloads.`,
        ]);
    });

    it("still checks the registry's own grants when a referenced stack is broken", async () => {
        const { oidcIssuerUrl: _dropped, ...withoutIssuer } = outputsA;
        const grants = [{ ...GRANTS[1], repositories: ["payments/apii"] }];
        const { message } = await ecrError({ [STACK_A]: withoutIssuer, [STACK_B]: outputsB }, { "ecrpull:grants": grants });
        expect(message).to.contain(`ecrpull:grants[0].repositories[0] "payments/apii" is not a known repository`);
        expect(message).to.contain(`stack "${STACK_A}" output oidcIssuerUrl is missing`);
        // The grant names the broken stack's cluster, which is not reported as unknown.
        expect(message).not.to.contain("is not a known cluster");
    });

    it("names a cluster by its place in ecrpull:clusterStacks even after an unreadable stack", async () => {
        const { oidcIssuerUrl: _dropped, ...withoutIssuer } = outputsA;
        const foreignNodes = { ...outputsB, nodeRoleArns: ["arn:aws:iam::999999999999:role/nodes"] };
        const { message } = await ecrError({ [STACK_A]: withoutIssuer, [STACK_B]: foreignNodes });
        expect(message).to.contain(
            `ecrpull:clusterStacks[1].nodeRoleArns[0] "arn:aws:iam::999999999999:role/nodes" is not in the cluster's account ${ACCOUNT_B}: node roles live in the cluster's account.`,
        );
    });

    it("reads stack outputs that are secrets", async () => {
        // A StackReference hands secret outputs over as secrets; the mock engine
        // marks them the way the engine does, with the secret signature.
        const secret = (value: unknown) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value });
        const run = await runEcrStack(registry(), { [STACK_A]: { ...outputsA, oidcIssuerUrl: secret(outputsA.oidcIssuerUrl) }, [STACK_B]: outputsB });
        const urls = byType(run.resources, "aws:iam/openIdConnectProvider:OpenIdConnectProvider").map((p) => p.inputs.url);
        expect(urls).to.include(outputsA.oidcIssuerUrl);
    });
});

describe("choosing the program", () => {
    it("follows ecrpull:program, else a stack named eks or ecr", () => {
        expect(selectProgram("eks", "prod")).to.equal("eks");
        expect(selectProgram(undefined, "ecr")).to.equal("ecr");
        expect(() => selectProgram(undefined, "prod")).to.throw(
            'stack "prod" has no ecrpull:program: set ecrpull:program to "eks" (cluster account) or "ecr" (registry account).',
        );
        expect(() => selectProgram("registry", "prod")).to.throw(
            'ecrpull:program is "registry": set ecrpull:program to "eks" (cluster account) or "ecr" (registry account).',
        );
    });
});

// Account IDs used only in assertions above, kept here to make a typo fail the build.
void [ACCOUNT_B];
