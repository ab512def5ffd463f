/**
 * Each access path, with both programs run and wired as in stacks.test.ts:
 * the intended service account of the intended cluster is the only principal
 * the documents admit, the cluster-account role of a chained or Pod Identity
 * grant can do nothing but assume its pull role, and switching one grant's
 * path changes only that grant's resources.
 */
import { expect } from "chai";
import { clusterRoleName } from "../components/iam/names";
import { WorkloadPodSettings } from "../components/cluster/pod-settings";
import { ValidationError } from "../components/validation";
import { RecordedResource, resourcesBeforeFailure } from "../tools/engine/mock-engine";
import { runEcrStack, runEksStack, runTwoStacks, TwoStackRun } from "../tools/engine/two-stacks";
import { allows, podIdentitySession, PULL_ACTIONS, Request, roleSession, webIdentity, WRITE_ACTIONS } from "./support/iam";
import { ACCOUNT_A, ACCOUNT_B, clusterA, clusterB, GRANTS, ISSUER_B, REGION, registry, REGISTRY_ACCOUNT, STACK_A, STACK_B } from "./support/fixtures";

const pullRole = (grant: string) => `arn:aws:iam::${REGISTRY_ACCOUNT}:role/ecr-pull-${grant}`;
const clusterArnOf = (account: string, name: string) => `arn:aws:eks:${REGION}:${account}:cluster/${name}`;
const hostPath = (url: string) => url.replace(/^https:\/\//, "");

function find(resources: readonly RecordedResource[], type: string, predicate: (r: RecordedResource) => boolean = () => true): RecordedResource[] {
    return resources.filter((r) => r.type === type && predicate(r));
}
const roleNamed = (resources: readonly RecordedResource[], name: string) => {
    const [role] = find(resources, "aws:iam/role:Role", (r) => r.inputs.name === name);
    expect(role, name).to.exist;
    return role;
};
const inlinePolicyOf = (resources: readonly RecordedResource[], role: RecordedResource) => {
    const [policy] = find(
        resources,
        "aws:iam/rolePolicy:RolePolicy",
        (p) => p.name === `${role.name}-assume` || p.name === role.name.replace(/-role$/, "-pull"),
    );
    expect(policy, `policy of ${role.name}`).to.exist;
    return policy.inputs.policy as string;
};

describe("access paths", () => {
    let run: TwoStackRun;
    let issuerA: string;
    const chainRoleA = `arn:aws:iam::${ACCOUNT_A}:role/${clusterRoleName("chaining", "payments", REGION, "apps-a")}`;
    const podRoleA = `arn:aws:iam::${ACCOUNT_A}:role/${clusterRoleName("podIdentity", "ml", REGION, "apps-a")}`;
    const podRoleB = `arn:aws:iam::${ACCOUNT_B}:role/${clusterRoleName("podIdentity", "ml", REGION, "apps-b")}`;

    before(async () => {
        run = await runTwoStacks([clusterA(), clusterB()], registry());
        issuerA = run.eks[0].outputs.oidcIssuerUrl as string;
    });

    describe("role chaining (grant payments)", () => {
        it("leaves the ServiceAccount unannotated and exports the pod settings that chain the IRSA role into the pull role", () => {
            const [sa] = find(run.eks[0].resources, "kubernetes:core/v1:ServiceAccount", (r) => r.inputs.metadata.name === "deployer");
            expect(sa.inputs.metadata.annotations).to.deep.equal({});
            const settings = (run.eks[0].outputs.podSpecs as Record<string, WorkloadPodSettings>)["payments/deployer"];
            expect(settings.env).to.deep.equal([
                { name: "AWS_CONFIG_FILE", value: "/etc/ecr-pull/config" },
                { name: "AWS_PROFILE", value: "ecr-pull" },
                { name: "AWS_SDK_LOAD_CONFIG", value: "1" },
            ]);
            const [config] = find(run.eks[0].resources, "kubernetes:core/v1:ConfigMap", (r) => r.inputs.metadata.namespace === "payments");
            expect(settings.volumes.find((v) => v.configMap)?.configMap?.name).to.equal(config.inputs.metadata.name);
            expect(config.inputs.data.config).to.contain(`role_arn = ${chainRoleA}`);
            expect(settings.volumes.find((v) => v.projected)?.projected?.sources[0].serviceAccountToken.audience).to.equal("sts.amazonaws.com");
        });

        it("lets only the grant's service account of its cluster assume the IRSA role, through the cluster account's own OIDC provider", () => {
            const role = roleNamed(run.eks[0].resources, clusterRoleName("chaining", "payments", REGION, "apps-a"));
            const trust = role.inputs.assumeRolePolicy;
            const ownProvider = `arn:aws:iam::${ACCOUNT_A}:oidc-provider/${hostPath(issuerA)}`;
            expect(allows(trust, webIdentity(ownProvider, hostPath(issuerA), "payments", "deployer"))).to.equal(true);
            expect(allows(trust, webIdentity(ownProvider, hostPath(issuerA), "payments", "other"))).to.equal(false);
            expect(allows(trust, webIdentity(ownProvider, hostPath(issuerA), "ci", "deployer"))).to.equal(false);
            expect(allows(trust, webIdentity(ownProvider, hostPath(issuerA), "payments", "deployer", "sigstore"))).to.equal(false);
            // the registry account's provider for the same issuer is not this role's
            const registryProvider = `arn:aws:iam::${REGISTRY_ACCOUNT}:oidc-provider/${hostPath(issuerA)}`;
            expect(allows(trust, webIdentity(registryProvider, hostPath(issuerA), "payments", "deployer"))).to.equal(false);
            // another cluster's issuer
            const providerB = `arn:aws:iam::${ACCOUNT_A}:oidc-provider/${hostPath(ISSUER_B)}`;
            expect(allows(trust, webIdentity(providerB, hostPath(ISSUER_B), "payments", "deployer"))).to.equal(false);
        });

        it("gives the IRSA role no permission but assuming the grant's pull role", () => {
            const role = roleNamed(run.eks[0].resources, clusterRoleName("chaining", "payments", REGION, "apps-a"));
            const policy = inlinePolicyOf(run.eks[0].resources, role);
            expect(allows(policy, { action: "sts:AssumeRole", resource: pullRole("payments") })).to.equal(true);
            for (const [action, resource] of [
                ["sts:AssumeRole", pullRole("ml")],
                ["sts:AssumeRole", `arn:aws:iam::${REGISTRY_ACCOUNT}:role/admin`],
                ["sts:TagSession", pullRole("payments")],
                ["ecr:BatchGetImage", `arn:aws:ecr:${REGION}:${REGISTRY_ACCOUNT}:repository/payments/api`],
                ["ecr:GetAuthorizationToken", "*"],
                ["s3:GetObject", "*"],
                ["iam:PassRole", pullRole("payments")],
            ]) {
                expect(allows(policy, { action, resource }), `${action} ${resource}`).to.equal(false);
            }
        });

        it("lets exactly that IRSA role assume the pull role, with sts:AssumeRole only", () => {
            const trust = roleNamed(run.ecr.resources, "ecr-pull-payments").inputs.assumeRolePolicy;
            expect(allows(trust, roleSession(chainRoleA, "sts:AssumeRole"))).to.equal(true);
            expect(allows(trust, roleSession(chainRoleA, "sts:TagSession"))).to.equal(false);
            expect(allows(trust, roleSession(chainRoleA, "sts:AssumeRoleWithWebIdentity"))).to.equal(false);
            // another role of the same account, the same role name in another account
            expect(allows(trust, roleSession(`arn:aws:iam::${ACCOUNT_A}:role/admin`, "sts:AssumeRole"))).to.equal(false);
            expect(allows(trust, roleSession(chainRoleA.replace(ACCOUNT_A, ACCOUNT_B), "sts:AssumeRole"))).to.equal(false);
            // the IRSA web identity straight into the registry: not on this path
            expect(
                allows(trust, webIdentity(`arn:aws:iam::${REGISTRY_ACCOUNT}:oidc-provider/${hostPath(issuerA)}`, hostPath(issuerA), "payments", "deployer")),
            ).to.equal(false);
        });

        it("renders the AWS config that chains the two roles, in the workload's namespace", () => {
            const [config] = find(run.eks[0].resources, "kubernetes:core/v1:ConfigMap");
            expect(config.inputs.metadata).to.include({ name: "ecr-pull-payments", namespace: "payments" });
            expect(config.inputs.data.config.split("\n")).to.include.members([
                "[profile ecr-pull-source]",
                `role_arn = ${chainRoleA}`,
                "web_identity_token_file = /var/run/secrets/eks.amazonaws.com/serviceaccount/token",
                "[profile ecr-pull]",
                `role_arn = ${pullRole("payments")}`,
                "source_profile = ecr-pull-source",
            ]);
        });
    });

    describe("EKS Pod Identity with a target role (grant ml)", () => {
        it("associates each service account with its cluster's role and the pull role as target", () => {
            for (const [eks, role, cluster] of [
                [run.eks[0], podRoleA, "apps-a"],
                [run.eks[1], podRoleB, "apps-b"],
            ] as const) {
                const associations = find(eks.resources, "aws:eks/podIdentityAssociation:PodIdentityAssociation");
                expect(associations.map((a) => a.inputs)).to.deep.equal([
                    { clusterName: cluster, namespace: "ml", serviceAccount: "trainer", roleArn: role, targetRoleArn: pullRole("ml") },
                ]);
            }
            const [sa] = find(run.eks[0].resources, "kubernetes:core/v1:ServiceAccount", (r) => r.inputs.metadata.name === "trainer");
            expect(sa.inputs.metadata.annotations, "no IRSA annotation on a Pod Identity service account").to.deep.equal({});
        });

        it("installs the Pod Identity agent on a created cluster, after which the association is made", () => {
            const [addon] = find(run.eks[0].resources, "aws:eks/addon:Addon");
            expect(addon.inputs).to.include({ clusterName: "apps-a", addonName: "eks-pod-identity-agent" });
            const [association] = find(run.eks[0].resources, "aws:eks/podIdentityAssociation:PodIdentityAssociation");
            expect(association.dependsOn).to.include(addon.urn);
        });

        it("lets only the EKS Pod Identity service of the cluster's account assume the association role, for the grant's sessions", () => {
            const trust = roleNamed(run.eks[0].resources, clusterRoleName("podIdentity", "ml", REGION, "apps-a")).inputs.assumeRolePolicy;
            const service = (
                namespace: string,
                sa: string,
                cluster = clusterArnOf(ACCOUNT_A, "apps-a"),
                account = ACCOUNT_A,
                action = "sts:AssumeRole",
            ): Request => ({
                principalType: "Service",
                principal: "pods.eks.amazonaws.com",
                action,
                context: {
                    "aws:SourceAccount": account,
                    "aws:RequestTag/eks-cluster-arn": cluster,
                    "aws:RequestTag/kubernetes-namespace": namespace,
                    "aws:RequestTag/kubernetes-service-account": sa,
                },
            });
            expect(allows(trust, service("ml", "trainer"))).to.equal(true);
            expect(allows(trust, service("ml", "trainer", undefined, undefined, "sts:TagSession"))).to.equal(true);
            expect(allows(trust, service("ml", "other"))).to.equal(false);
            expect(allows(trust, service("default", "trainer"))).to.equal(false);
            expect(allows(trust, service("ml", "trainer", clusterArnOf(ACCOUNT_A, "other-cluster")))).to.equal(false);
            expect(allows(trust, service("ml", "trainer", undefined, ACCOUNT_B))).to.equal(false);
            expect(allows(trust, { ...service("ml", "trainer"), principal: "ec2.amazonaws.com" })).to.equal(false);
        });

        it("gives the association role no permission but assuming (and tagging a session of) the pull role", () => {
            const role = roleNamed(run.eks[0].resources, clusterRoleName("podIdentity", "ml", REGION, "apps-a"));
            const policy = inlinePolicyOf(run.eks[0].resources, role);
            expect(allows(policy, { action: "sts:AssumeRole", resource: pullRole("ml") })).to.equal(true);
            expect(allows(policy, { action: "sts:TagSession", resource: pullRole("ml") })).to.equal(true);
            for (const [action, resource] of [
                ["sts:AssumeRole", pullRole("payments")],
                ["ecr:BatchGetImage", `arn:aws:ecr:${REGION}:${REGISTRY_ACCOUNT}:repository/ml/models`],
                ["iam:PassRole", pullRole("ml")],
            ]) {
                expect(allows(policy, { action, resource }), `${action} ${resource}`).to.equal(false);
            }
        });

        it("lets the pull role be assumed only by the association roles, for sessions tagged with the grant's clusters and service accounts", () => {
            const trust = roleNamed(run.ecr.resources, "ecr-pull-ml").inputs.assumeRolePolicy;
            const clusterA = clusterArnOf(ACCOUNT_A, "apps-a");
            const clusterB = clusterArnOf(ACCOUNT_B, "apps-b");
            expect(allows(trust, podIdentitySession(podRoleA, clusterA, "ml", "trainer"))).to.equal(true);
            expect(allows(trust, podIdentitySession(podRoleA, clusterA, "ml", "trainer", "sts:TagSession"))).to.equal(true);
            expect(allows(trust, podIdentitySession(podRoleB, clusterB, "ml", "trainer"))).to.equal(true);
            // other tags: namespace, service account, cluster
            expect(allows(trust, podIdentitySession(podRoleA, clusterA, "default", "trainer"))).to.equal(false);
            expect(allows(trust, podIdentitySession(podRoleA, clusterA, "ml", "notebook"))).to.equal(false);
            expect(allows(trust, podIdentitySession(podRoleA, clusterArnOf(ACCOUNT_A, "apps-z"), "ml", "trainer"))).to.equal(false);
            // cluster A's role claiming to be cluster B's session
            expect(allows(trust, podIdentitySession(podRoleA, clusterB, "ml", "trainer"))).to.equal(false);
            // another role of the account, the role of another account
            expect(allows(trust, podIdentitySession(`arn:aws:iam::${ACCOUNT_A}:role/admin`, clusterA, "ml", "trainer"))).to.equal(false);
            expect(allows(trust, podIdentitySession(podRoleA.replace(ACCOUNT_A, "999999999999"), clusterA, "ml", "trainer"))).to.equal(false);
            // no web identity on this path
            expect(
                allows(trust, webIdentity(`arn:aws:iam::${REGISTRY_ACCOUNT}:oidc-provider/${hostPath(issuerA)}`, hostPath(issuerA), "ml", "trainer")),
            ).to.equal(false);
        });
    });

    describe("node pulls, whatever the path", () => {
        it("let every cluster of a grant pull its repositories with the node role", () => {
            for (const repository of ["payments/api", "ml/models", "ci/cache"]) {
                const [policy] = find(run.ecr.resources, "aws:ecr/repositoryPolicy:RepositoryPolicy", (p) => p.name === `registry-${repository}-policy`);
                const nodeRoleA = (run.eks[0].outputs.nodeRoleArns as string[])[0];
                for (const action of PULL_ACTIONS) {
                    expect(allows(policy.inputs.policy, roleSession(nodeRoleA, action)), `${repository} ${action}`).to.equal(true);
                }
                for (const action of WRITE_ACTIONS) {
                    expect(allows(policy.inputs.policy, roleSession(nodeRoleA, action)), `${repository} ${action}`).to.equal(false);
                }
            }
        });
    });

    it("spends registry OIDC providers only on clusters of federated grants", async () => {
        const providers = (r: TwoStackRun) => find(r.ecr.resources, "aws:iam/openIdConnectProvider:OpenIdConnectProvider").length;
        expect(providers(run)).to.equal(2);
        // ci-builders on chaining too: no grant is federated any more
        const chained = (w: { grant: string }) => (w.grant === "ci-builders" ? { ...w, path: "chaining" } : w);
        const a = clusterA();
        const b = clusterB({ "ecrpull:cluster": { name: "apps-b", create: false, nodeRoleArns: [`arn:aws:iam::${ACCOUNT_B}:role/apps-b-nodes`] } });
        a.config["ecrpull:workloads" as never];
        const allChained = await runTwoStacks(
            [
                { ...a, config: { ...a.config, "ecrpull:workloads": (a.config["ecrpull:workloads"] as { grant: string }[]).map(chained) } },
                { ...b, config: { ...b.config, "ecrpull:workloads": (b.config["ecrpull:workloads"] as { grant: string }[]).map(chained) } },
            ],
            registry({ "ecrpull:grants": GRANTS.map((g) => (g.name === "ci-builders" ? { ...g, path: "chaining" } : g)) }),
        );
        expect(providers(allChained)).to.equal(0);
    });

    it("switching one grant's path changes only that grant's resources", async () => {
        const toFederation = (w: { grant: string; path?: string }) => (w.grant === "payments" ? { ...w, path: "federation" } : w);
        const a = clusterA();
        const switched = await runTwoStacks(
            [{ ...a, config: { ...a.config, "ecrpull:workloads": (a.config["ecrpull:workloads"] as { grant: string }[]).map(toFederation) } }, clusterB()],
            registry({ "ecrpull:grants": GRANTS.map((g) => (g.name === "payments" ? { ...g, path: "federation" } : g)) }),
        );
        const inputs = (resources: readonly RecordedResource[]) =>
            new Map(
                resources.filter((r) => r.custom && r.type !== "pulumi:pulumi:StackReference").map((r) => [`${r.type}::${r.name}`, JSON.stringify(r.inputs)]),
            );
        const changed = (before: readonly RecordedResource[], after: readonly RecordedResource[]) => {
            const [x, y] = [inputs(before), inputs(after)];
            return [...new Set([...x.keys(), ...y.keys()])].filter((k) => x.get(k) !== y.get(k)).sort();
        };
        expect(changed(run.ecr.resources, switched.ecr.resources)).to.deep.equal(["aws:iam/role:Role::registry-payments-role"]);
        expect(changed(run.eks[0].resources, switched.eks[0].resources)).to.deep.equal([
            "aws:iam/role:Role::workloads-chain-payments",
            "aws:iam/rolePolicy:RolePolicy::workloads-chain-payments-assume",
            "kubernetes:core/v1:ConfigMap::workloads-payments/ecr-pull-payments",
            "kubernetes:core/v1:ServiceAccount::workloads-payments/deployer",
        ]);
        expect(changed(run.eks[1].resources, switched.eks[1].resources)).to.deep.equal([]);
    });

    describe("a path that needs what a cluster did not export", () => {
        it("names the grant, the stack and the missing output", async () => {
            const grants = GRANTS.map((g) => (g.name === "payments" ? { ...g, clusters: [STACK_A, STACK_B] } : g));
            let message = "";
            try {
                await runTwoStacks([clusterA(), clusterB()], registry({ "ecrpull:grants": grants }));
            } catch (e) {
                expect(e).to.be.instanceOf(ValidationError);
                message = (e as Error).message;
            }
            expect(message).to.equal(
                `Stack "ecr" (ECR program): ecrpull:grants[1].clusters[1] "${STACK_B}" provides no chaining role for grant "payments": add a workload of grant "payments" with path "chaining" to that cluster's ecrpull:workloads, so that its stack exports the role (output workloads[].clusterRoleArn; for RegistryAccess args, the cluster's clusterRoles).`,
            );
        });

        it("refuses a clusterArn that does not match the stack's account, region and cluster name", async () => {
            const outputsA = (await runEksStack(clusterA())).outputs as Record<string, unknown>;
            const outputsB = (await runEksStack(clusterB())).outputs;
            const wrong = clusterArnOf(ACCOUNT_B, "apps-a");
            let message = "";
            try {
                await runEcrStack(registry(), { [STACK_A]: { ...outputsA, clusterArn: wrong }, [STACK_B]: outputsB as never });
            } catch (e) {
                message = (e as Error).message;
            }
            expect(message).to.equal(
                `Stack "ecr" (ECR program): stack "${STACK_A}" output clusterArn "${wrong}" does not match outputs accountId, region and clusterName ("${clusterArnOf(ACCOUNT_A, "apps-a")}"): Pod Identity sessions would carry another cluster's tag. Redeploy that stack.`,
            );
        });

        it("refuses a workload whose path differs from its grant's", async () => {
            const a = clusterA();
            const workloads = (a.config["ecrpull:workloads"] as { grant: string }[]).map((w) => (w.grant === "ml" ? { ...w, path: "chaining" } : w));
            const outputsA = (await runEksStack({ ...a, config: { ...a.config, "ecrpull:workloads": workloads } })).outputs;
            const outputsB = (await runEksStack(clusterB())).outputs;
            let message = "";
            try {
                await runEcrStack(registry(), { [STACK_A]: outputsA as never, [STACK_B]: outputsB as never });
            } catch (e) {
                message = (e as Error).message;
            }
            expect(message).to.equal(
                `Stack "ecr" (ECR program): ecrpull:grants[2].clusters[0] "${STACK_A}" provides a chaining role for grant "ml", whose path here is "podIdentity": set the same path in ecrpull:grants and in that stack's ecrpull:workloads.`,
            );
        });
    });

    describe("an adopted cluster", () => {
        it("checks that its account has an IAM OIDC provider before chaining through it", async () => {
            const b = clusterB({ "ecrpull:workloads": [{ namespace: "payments", serviceAccount: "deployer", grant: "payments", path: "chaining" }] });
            const missing = { ...b, existingClusters: { "apps-b": { issuerUrl: ISSUER_B, oidcProviderInAccount: false } } };
            let message = "";
            let registered: readonly RecordedResource[] = [];
            try {
                await runEksStack(missing);
            } catch (e) {
                message = String(e);
                registered = resourcesBeforeFailure(e);
            }
            expect(message).to.contain(
                `chained grants need an IAM OIDC provider for ${ISSUER_B} in this account, and there is none: set ecrpull:cluster.oidcProvider to "create", or create it with \`eksctl utils associate-iam-oidc-provider --cluster apps-b --approve\`.`,
            );
            expect(registered, "registered before the check").to.deep.equal([]);
            const created = await runEksStack({
                ...missing,
                config: { ...missing.config, "ecrpull:cluster": { name: "apps-b", create: false, nodeRoleArns: [], oidcProvider: "create" } },
            });
            const [provider] = find(created.resources, "aws:iam/openIdConnectProvider:OpenIdConnectProvider");
            expect(provider.inputs).to.deep.include({ url: ISSUER_B, clientIdLists: ["sts.amazonaws.com"] });
        });

        it("checks that the Pod Identity agent is present", async () => {
            const b = { ...clusterB(), existingClusters: { "apps-b": { issuerUrl: ISSUER_B } } };
            let message = "";
            let registered: readonly RecordedResource[] = [];
            try {
                await runEksStack(b);
            } catch (e) {
                message = String(e);
                registered = resourcesBeforeFailure(e);
            }
            expect(message).to.contain(
                `Pod Identity grants need the eks-pod-identity-agent add-on on cluster apps-b, and it is not installed: set ecrpull:cluster.podIdentityAgent to "install", or install it with \`aws eks create-addon --cluster-name apps-b --addon-name eks-pod-identity-agent\`.`,
            );
            expect(registered, "registered before the check").to.deep.equal([]);
        });
    });
});
