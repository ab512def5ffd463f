/**
 * Both programs run the way `pulumi preview` and `pulumi up` run them: the
 * real entry point (`stacks/index.ts` through `@pulumi/pulumi/cmd/run`, ts-node
 * and all), spawned with pulumi-language-nodejs's arguments and environment
 * in a network namespace of its own, talking over gRPC to a fake engine that
 * creates resources in the engine's order against a fake cloud
 * (tests/support/langhost/).
 *
 * The last part checks the bridge: the mock-engine runner, which the fast
 * tests use, registers the same resources with the same inputs and exports
 * the same outputs for the same config.
 */
import { expect } from "chai";
import { comparableFromLanghost, comparableFromMock, plainOutputs } from "./support/langhost/bridge";
import { DependencyRegistration, undeclaredDependencies } from "./support/langhost/dependencies";
import { SUPPORTED_FEATURES } from "./support/langhost/engine";
import { canIsolateNetwork, LanghostRun, ROOT, runLanghost } from "./support/langhost/run";
import { World } from "./support/langhost/world";
import {
    ADOPTED_ISSUER,
    ADOPTED_WORLD,
    adoptedClusterConfig,
    CLUSTER_ACCOUNT,
    describeRun,
    ecrRun,
    eksRun,
    EKS_STACK,
    mockEcrRun,
    mockEksRun,
    REGION,
    REGISTRY_ACCOUNT,
} from "./support/langhost/scenarios";
import { plain } from "./support/langhost/wire";

const byType = (run: LanghostRun, type: string) => run.registrations.filter((r) => r.type === type);
const one = (run: LanghostRun, type: string, name?: string) => {
    const found = run.registrations.filter((r) => r.type === type && (name === undefined || r.name === name));
    expect(found, `${type} ${name ?? ""}`).to.have.length(1);
    return found[0];
};

describe("the programs under the Node.js language host (real entry point, engine over gRPC)", function () {
    this.timeout(180_000);

    let eksPreview: LanghostRun;
    let eksUp: LanghostRun;
    let ecrPreview: LanghostRun;
    let ecrUp: LanghostRun;

    before(async () => {
        expect(canIsolateNetwork(), "unshare --net with only loopback (needs root)").to.equal(true);
        // The preview type-checks as the CLI does by default; the others run transpile-only.
        [eksPreview, eksUp] = await Promise.all([eksRun("managed", "preview", true), eksRun("managed", "up")]);
        [ecrPreview, ecrUp] = await Promise.all([ecrRun("managed", "preview"), ecrRun("managed", "up")]);
    });

    describe("how the program is run", () => {
        it("spawns @pulumi/pulumi/cmd/run as pulumi-language-nodejs does, in a network namespace", () => {
            const argv = eksPreview.argv;
            expect(argv.slice(0, 4)).to.deep.equal(["unshare", "--net", "--mount", "--"]);
            const run = argv.findIndex((a) => /@pulumi\/pulumi\/cmd\/run\/index\.js$/.test(a));
            expect(run).to.be.greaterThan(0);
            const args = argv.slice(run);
            const flag = (name: string) => args[args.indexOf(`--${name}`) + 1];
            expect(flag("monitor")).to.match(/^unix:\/.*monitor\.sock$/);
            expect(flag("engine")).to.match(/^unix:\/.*engine\.sock$/);
            expect(flag("project")).to.equal("ecrpull");
            expect(flag("stack")).to.equal("eks");
            expect(flag("organization")).to.equal("acme");
            // Pulumi.yaml main: stacks/index.ts → the program directory and the entry point.
            expect(flag("pwd")).to.equal(`${ROOT}/stacks`);
            expect(args[args.length - 1]).to.equal("index.ts");
            expect(args).to.include("--dry-run");
            expect(eksUp.argv).not.to.include("--dry-run");
            expect(eksPreview.env.PULUMI_NODEJS_TYPESCRIPT).to.equal("true");
            expect(eksPreview.env.PULUMI_NODEJS_TRANSPILE_ONLY, "the type-checked run").to.equal(undefined);
        });

        it("hands config over as the CLI does: strings, JSON for structured values, the project's declared defaults added", () => {
            const config = JSON.parse(ecrUp.env.PULUMI_CONFIG) as Record<string, string>;
            expect(Object.values(config).every((v) => typeof v === "string")).to.equal(true);
            expect(config["aws:config:region"]).to.equal(REGION);
            expect(config["ecrpull:config:program"]).to.equal("ecr");
            expect(JSON.parse(config["ecrpull:config:clusterStacks"])).to.deep.equal([EKS_STACK]);
            // Keys of the other program, added with their Pulumi.yaml defaults.
            expect(config["ecrpull:config:oidcThumbprint"]).to.equal("fetch");
            expect(config["ecrpull:config:createNamespaces"]).to.equal("false");
            expect(JSON.parse(eksUp.env.PULUMI_CONFIG)["ecrpull:config:nodePullScope"]).to.equal("roles");
            expect(ecrUp.env.PULUMI_CONFIG_SECRET_KEYS).to.equal("[]");
        });

        it("runs all four to completion: exit 0, no error, nothing on stderr", () => {
            for (const run of [eksPreview, eksUp, ecrPreview, ecrUp]) {
                expect(run.exitCode, describeRun(run)).to.equal(0);
                expect(run.diagnostics.filter((d) => d.severity === "error" || d.severity === "warning")).to.deep.equal([]);
                expect(run.stderr).to.equal("");
                expect(run.failures).to.deep.equal([]);
            }
        });

        it("is served what the SDK asks of an engine: deployment info first, then registrations, invokes, logs and the shutdown handshake", () => {
            const methods = new Set(eksUp.calls);
            expect(eksUp.calls[0]).to.equal("GetDeploymentInfo");
            for (const method of ["RegisterResource", "RegisterResourceOutputs", "Invoke", "SetRootResource", "Log", "SignalAndWaitForShutdown"]) {
                expect(methods.has(method), method).to.equal(true);
            }
            expect(new Set(ecrUp.calls).has("ReadResource"), "the StackReference").to.equal(true);
            // Features come from GetDeploymentInfo; nothing is probed one by one.
            expect(eksUp.featureQueries).to.deep.equal([]);
            expect(Object.keys(SUPPORTED_FEATURES)).to.include.members(["secrets", "resourceReferences", "outputValues", "aliasSpecs"]);
            // The builtin getResource rehydrates the cluster's instanceRole reference.
            expect(eksUp.invokes.map((i) => i.token)).to.include("pulumi:pulumi:getResource");
        });
    });

    describe("the eks program, new cluster", () => {
        it("registers the stack, the two components and their children, with parents and providers", () => {
            const stack = one(eksUp, "pulumi:pulumi:Stack");
            expect(stack.urn).to.equal("urn:pulumi:eks::ecrpull::pulumi:pulumi:Stack::ecrpull-eks");
            const managed = one(eksUp, "ecrpull:index:ManagedCluster", "cluster");
            const access = one(eksUp, "ecrpull:index:ClusterPullAccess", "workloads");
            expect(managed.parent).to.equal(stack.urn);
            expect(access.parent).to.equal(stack.urn);
            const cluster = one(eksUp, "eks:index:Cluster", "cluster-cluster");
            expect(cluster.kind).to.equal("remote");
            expect(cluster.parent).to.equal(managed.urn);
            expect(cluster.inputs).to.include({ name: "apps-prod-euw1", createOidcProvider: true, instanceType: "m6i.large" });
            // The node role goes over as a resource reference.
            const nodeRole = one(eksUp, "aws:iam/role:Role", "cluster-node-role");
            expect(cluster.inputs.instanceRole).to.deep.include({ kind: "resource", urn: nodeRole.urn });
            const k8s = one(eksUp, "pulumi:providers:kubernetes", "cluster-k8s");
            expect(k8s.propertyDependencies.kubeconfig).to.deep.equal([cluster.urn]);
            // The component passes its Kubernetes provider to its children.
            expect(access.providers.kubernetes).to.match(new RegExp(`^${k8s.urn.replace(/[$]/g, "\\$")}::`));
            for (const sa of byType(eksUp, "kubernetes:core/v1:ServiceAccount")) {
                expect(sa.parent).to.equal(access.urn);
                expect(sa.provider.startsWith(`${k8s.urn}::`), sa.name).to.equal(true);
            }
            const association = one(eksUp, "aws:eks/podIdentityAssociation:PodIdentityAssociation");
            const agent = one(eksUp, "aws:eks/addon:Addon");
            const account = one(eksUp, "kubernetes:core/v1:ServiceAccount", "workloads-ml/model-sync");
            expect(association.dependencies).to.include.members([agent.urn, account.urn]);
        });

        it("creates each resource after what it depends on, the cluster taking minutes", () => {
            const created = new Map(eksUp.creations.map((c) => [c.urn, c]));
            for (const r of eksUp.registrations) {
                const creation = created.get(r.urn);
                if (!creation) {
                    continue;
                }
                const deps = [...r.dependencies, ...Object.values(r.propertyDependencies).flat()];
                for (const dep of deps.filter((d) => created.has(d))) {
                    expect(created.get(dep)!.finishedAt!, `${r.name} after ${dep}`).to.be.at.most(creation.startedAt);
                }
            }
            const cluster = created.get(one(eksUp, "eks:index:Cluster").urn)!;
            expect(cluster.finishedAt! - cluster.startedAt).to.be.at.least(590);
            expect(eksUp.creations.every((c) => c.outcome === "created")).to.equal(true);
        });

        it("exports the wire contract with what the provider computed", () => {
            const outputs = plain(eksUp.stackOutputs) as Record<string, any>;
            expect(outputs).to.include({ clusterName: "apps-prod-euw1", accountId: CLUSTER_ACCOUNT, region: REGION, oidcThumbprint: "" });
            expect(outputs.oidcIssuerUrl).to.match(/^https:\/\/oidc\.eks\.eu-west-1\.amazonaws\.com\/id\/[0-9A-F]{32}$/);
            expect(outputs.nodeRoleArns).to.deep.equal([`arn:aws:iam::${CLUSTER_ACCOUNT}:role/cluster-node-role-43ab49e`]);
            expect(outputs.workloads.map((w: any) => `${w.namespace}/${w.serviceAccount}:${w.path}`)).to.deep.equal([
                "ci/image-builder:federation",
                "ci/image-scanner:federation",
                "ml/model-sync:podIdentity",
                "payments/release-deployer:chaining",
            ]);
        });

        it("in a first preview creates nothing and leaves what the provider computes unknown", () => {
            expect(eksPreview.creations).to.deep.equal([]);
            const outputs = plain(eksPreview.stackOutputs) as Record<string, unknown>;
            expect(outputs.oidcIssuerUrl).to.equal("<unknown>");
            expect(outputs.nodeRoleArns).to.equal("<unknown>");
            expect(outputs.clusterName).to.equal("apps-prod-euw1");
            // The same resources as the update.
            expect(eksPreview.registrations.map((r) => r.urn)).to.have.members(eksUp.registrations.map((r) => r.urn));
        });
    });

    describe("the ecr program, reading the eks stack", () => {
        it("reads the eks stack through a StackReference (ReadResource) and creates the registry", () => {
            const reference = one(ecrUp, "pulumi:pulumi:StackReference");
            expect(reference.kind).to.equal("read");
            expect(reference.inputs.name).to.equal(EKS_STACK);
            expect(byType(ecrUp, "aws:ecr/repository:Repository").map((r) => r.inputs.name)).to.have.members([
                "platform/base-images",
                "payments/api",
                "payments/worker",
                "ci/buildkit-cache",
                "ml/models",
            ]);
            const provider = one(ecrUp, "aws:iam/openIdConnectProvider:OpenIdConnectProvider");
            expect(provider.inputs.url).to.equal((plain(eksUp.stackOutputs) as any).oidcIssuerUrl);
        });

        it("exports the registry's outputs, unknown in a preview where the provider computes them", () => {
            const outputs = plain(ecrUp.stackOutputs) as Record<string, any>;
            expect(outputs.registryAccountId).to.equal(REGISTRY_ACCOUNT);
            expect(outputs.pullRoleArns).to.deep.equal({
                "ci-builders": `arn:aws:iam::${REGISTRY_ACCOUNT}:role/ecr-pull-ci-builders`,
                "ml-models": `arn:aws:iam::${REGISTRY_ACCOUNT}:role/ecr-pull-ml-models`,
                payments: `arn:aws:iam::${REGISTRY_ACCOUNT}:role/ecr-pull-payments`,
            });
            expect(outputs.repositoryUrls["ml/models"]).to.equal(`${REGISTRY_ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/ml/models`);
            const preview = plain(ecrPreview.stackOutputs) as Record<string, any>;
            expect(preview.registryAccountId).to.equal(REGISTRY_ACCOUNT);
            expect(preview.repositoryUrls).to.equal("<unknown>");
        });

        it("creates independent resources concurrently, and each repository policy after its repository", () => {
            // The largest number of creates in flight at one moment.
            const events = ecrUp.creations.flatMap((c) => [
                { at: c.startedAt, delta: 1 },
                { at: c.finishedAt!, delta: -1 },
            ]);
            events.sort((a, b) => a.at - b.at || a.delta - b.delta);
            let inFlight = 0;
            let peak = 0;
            for (const e of events) {
                inFlight += e.delta;
                peak = Math.max(peak, inFlight);
            }
            expect(peak).to.be.at.least(5);
            const policies = ecrUp.creations.filter((c) => c.type === "aws:ecr/repositoryPolicy:RepositoryPolicy");
            expect(policies).to.have.length(5);
            for (const policy of policies) {
                const registration = ecrUp.registrations.find((r) => r.urn === policy.urn)!;
                const repository = ecrUp.creations.find((c) => registration.dependencies.includes(c.urn) && c.type === "aws:ecr/repository:Repository")!;
                expect(policy.outcome).to.equal("created");
                expect(policy.startedAt).to.be.at.least(repository.finishedAt!);
                // Grantees are named as account roots pinned by aws:PrincipalArn (docs/aws-facts.md), so ECR
                // accepts the policy whether or not the roles exist yet.
                const principals = JSON.parse(registration.inputs.policy).Statement.map((st: any) => st.Principal.AWS);
                expect(principals.every((p: string) => /^arn:aws:iam::\d{12}:root$/.test(p))).to.equal(true);
            }
        });
    });

    describe("the bridge: the mock-engine runner registers the same resources with the same inputs", () => {
        const cases = [
            ["eks", "preview"],
            ["eks", "up"],
            ["ecr", "preview"],
            ["ecr", "up"],
        ] as const;
        for (const [program, mode] of cases) {
            it(`${program} ${mode}`, async () => {
                const real = program === "eks" ? await eksRun("managed", mode, mode === "preview") : await ecrRun("managed", mode);
                const mock = program === "eks" ? await mockEksRun("managed", mode) : await mockEcrRun("managed", mode);
                const realResources = comparableFromLanghost(real.registrations);
                const mockResources = comparableFromMock(mock.resources, program, "ecrpull");
                expect(Object.keys(realResources).sort()).to.deep.equal(Object.keys(mockResources).sort());
                for (const urn of Object.keys(realResources)) {
                    expect(realResources[urn], urn).to.deep.equal(mockResources[urn]);
                }
                expect(plainOutputs(real.stackOutputs)).to.deep.equal(JSON.parse(JSON.stringify(mock.outputs)));
            });
        }
    });
});

describe("undeclaredDependencies", () => {
    const base = (urn: string, over: Partial<DependencyRegistration> = {}): DependencyRegistration => ({
        urn: `urn:pulumi:s::p::${urn}`,
        type: urn.split("::")[0],
        kind: "custom",
        parent: "",
        dependencies: [],
        propertyDependencies: {},
        provider: "",
        inputs: {},
        ...over,
    });
    const cluster = base("eks:index:Cluster::c", { kind: "remote", inputs: { name: "apps-prod" } });
    const urnOf = (r: DependencyRegistration) => r.urn;

    it("flags an input that names a created resource it does not depend on", () => {
        const addon = base("aws:eks/addon:Addon::agent", { inputs: { clusterName: "apps-prod", addonName: "eks-pod-identity-agent" } });
        expect(undeclaredDependencies([cluster, addon])).to.deep.equal([
            { resource: addon.urn, path: "clusterName", value: "apps-prod", names: cluster.urn, identifier: "inputs.name" },
        ]);
    });

    it("does not flag it when the dependency is declared, directly, through another resource, a component or the parent", () => {
        const direct = base("aws:eks/addon:Addon::a", { inputs: { clusterName: "apps-prod" }, dependencies: [urnOf(cluster)] });
        const viaProperty = base("aws:eks/addon:Addon::b", { inputs: { clusterName: "apps-prod" }, propertyDependencies: { clusterName: [urnOf(cluster)] } });
        const middle = base("aws:iam/role:Role::r", { dependencies: [urnOf(cluster)], inputs: { name: "role-r" } });
        const transitive = base("aws:eks/addon:Addon::c", { inputs: { clusterName: "apps-prod" }, dependencies: [urnOf(middle)] });
        const component = base("my:index:Box::box", { kind: "component" });
        const inBox = base("aws:iam/role:Role::inner", { parent: component.urn, dependencies: [urnOf(cluster)] });
        const viaComponent = base("aws:eks/addon:Addon::d", { inputs: { clusterName: "apps-prod" }, dependencies: [component.urn] });
        const parent = base("my:index:Box::waits", { kind: "component", dependencies: [urnOf(cluster)] });
        const viaParent = base("aws:eks/addon:Addon::e", { inputs: { clusterName: "apps-prod" }, parent: parent.urn });
        const viaProvider = base("pulumi:providers:kubernetes::k8s", { kind: "provider", propertyDependencies: { kubeconfig: [urnOf(cluster)] } });
        const object = base("kubernetes:core/v1:ConfigMap::cm", { inputs: { data: { cluster: "apps-prod" } }, provider: `${viaProvider.urn}::abc` });
        const all = [cluster, direct, viaProperty, middle, transitive, component, inBox, viaComponent, parent, viaParent, viaProvider, object];
        expect(undeclaredDependencies(all)).to.deep.equal([]);
    });

    it("looks into JSON documents, finds output identifiers, and does not count a sibling as a dependency", () => {
        const provider = base("aws:iam/openIdConnectProvider:OpenIdConnectProvider::oidc", {
            inputs: { url: "https://oidc.example/id/1" },
            outputs: { arn: "arn:aws:iam::111122223333:oidc-provider/oidc.example/id/1" },
        });
        const box = base("my:index:Box::box", { kind: "component" });
        const sibling = base("aws:iam/role:Role::sibling", { parent: box.urn, dependencies: [provider.urn] });
        const role = base("aws:iam/role:Role::role", {
            parent: box.urn,
            inputs: {
                assumeRolePolicy: JSON.stringify({ Statement: [{ Principal: { Federated: "arn:aws:iam::111122223333:oidc-provider/oidc.example/id/1" } }] }),
            },
        });
        expect(undeclaredDependencies([provider, box, sibling, role])).to.deep.equal([
            {
                resource: role.urn,
                path: "assumeRolePolicy{json}.Statement[0].Principal.Federated",
                value: "arn:aws:iam::111122223333:oidc-provider/oidc.example/id/1",
                names: provider.urn,
                identifier: "outputs.arn",
            },
        ]);
    });

    it("ignores what the program does not create (reads, components) and short values", () => {
        const reference = base("pulumi:pulumi:StackReference::acme/p/s", { kind: "read", inputs: { name: "acme/p/s" } });
        const component = base("my:index:Box::named", { kind: "component", inputs: { name: "box-name" } });
        const namespace = base("kubernetes:core/v1:Namespace::ns", { inputs: { metadata: { name: "ci" } } });
        const user = base("aws:iam/role:Role::u", { inputs: { stack: "acme/p/s", box: "box-name", namespace: "ci" } });
        expect(undeclaredDependencies([reference, component, namespace, user])).to.deep.equal([]);
    });
});

describe("the harness's fake cloud refuses what the service refuses, with the provider's words", () => {
    const place = { accountId: CLUSTER_ACCOUNT, region: REGION };
    const world = () =>
        new World({
            [CLUSTER_ACCOUNT]: {
                roles: ["existing-role"],
                oidcProviders: [ADOPTED_ISSUER],
                repositories: ["team/app"],
                clusters: {
                    "apps-b": {
                        issuerUrl: ADOPTED_ISSUER,
                        addons: ["eks-pod-identity-agent"],
                        namespaces: ["ci"],
                        objects: [{ kind: "ServiceAccount", namespace: "ci", name: "builder" }],
                    },
                },
            },
        });
    const check = (type: string, inputs: Record<string, any>, kubernetesCluster?: string) =>
        world().check({ urn: `urn:pulumi:s::p::${type}::x`, type, name: "x", inputs, kubernetesCluster }, place) ?? "";
    const trust = (principal: Record<string, string>) => JSON.stringify({ Statement: [{ Effect: "Allow", Principal: principal, Action: "sts:AssumeRole" }] });

    it("EKS: an add-on or an association needs its cluster (and the association its role); an add-on installed twice", () => {
        expect(check("aws:eks/addon:Addon", { clusterName: "apps-new", addonName: "eks-pod-identity-agent" })).to.match(
            /^creating EKS Add-On \(apps-new:eks-pod-identity-agent\): operation error EKS: CreateAddon, https response error StatusCode: 404, RequestID: [0-9a-f-]{36}, ResourceNotFoundException: No cluster found for name: apps-new\.$/,
        );
        expect(check("aws:eks/addon:Addon", { clusterName: "apps-b", addonName: "eks-pod-identity-agent" })).to.contain(
            "ResourceInUseException: Addon already exists.",
        );
        const association = { clusterName: "apps-b", namespace: "ml", serviceAccount: "sync" };
        expect(check("aws:eks/podIdentityAssociation:PodIdentityAssociation", { ...association, clusterName: "apps-new", roleArn: "x" })).to.contain(
            "No cluster found for name: apps-new.",
        );
        expect(
            check("aws:eks/podIdentityAssociation:PodIdentityAssociation", { ...association, roleArn: `arn:aws:iam::${CLUSTER_ACCOUNT}:role/missing` }),
        ).to.contain("InvalidParameterException: Role provided in the request does not exist");
        expect(
            check("aws:eks/podIdentityAssociation:PodIdentityAssociation", { ...association, roleArn: `arn:aws:iam::${CLUSTER_ACCOUNT}:role/existing-role` }),
        ).to.equal("");
    });

    it("IAM: a trust naming a missing OIDC provider or role, a second provider for a URL, a policy for a missing role", () => {
        const missingProvider = `arn:aws:iam::${CLUSTER_ACCOUNT}:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/NEW`;
        expect(check("aws:iam/role:Role", { name: "r", assumeRolePolicy: trust({ Federated: missingProvider }) })).to.contain(
            `MalformedPolicyDocument: Invalid principal in policy: "Federated":"${missingProvider}"`,
        );
        const existingProvider = `arn:aws:iam::${CLUSTER_ACCOUNT}:oidc-provider/${ADOPTED_ISSUER.replace("https://", "")}`;
        expect(check("aws:iam/role:Role", { name: "r", assumeRolePolicy: trust({ Federated: existingProvider }) })).to.equal("");
        expect(check("aws:iam/role:Role", { name: "r", assumeRolePolicy: trust({ AWS: `arn:aws:iam::${REGISTRY_ACCOUNT}:role/nope` }) })).to.contain(
            "Invalid principal in policy",
        );
        expect(check("aws:iam/role:Role", { name: "r", assumeRolePolicy: trust({ AWS: `arn:aws:iam::${REGISTRY_ACCOUNT}:root` }) })).to.equal("");
        expect(check("aws:iam/role:Role", { name: "existing-role", assumeRolePolicy: trust({ Service: "ec2.amazonaws.com" }) })).to.contain(
            "EntityAlreadyExists: Role with name existing-role already exists.",
        );
        expect(check("aws:iam/openIdConnectProvider:OpenIdConnectProvider", { url: ADOPTED_ISSUER })).to.match(
            /^creating IAM OIDC Provider: operation error IAM: CreateOpenIDConnectProvider, https response error StatusCode: 409, .*EntityAlreadyExists: Provider with url https:\/\/oidc\.eks/,
        );
        expect(check("aws:iam/rolePolicy:RolePolicy", { role: "missing", name: "p" })).to.contain("NoSuchEntity: The role with name missing cannot be found.");
    });

    it("ECR: a repository policy naming a role that does not exist; Kubernetes: a missing namespace, an object that exists", () => {
        const policy = (aws: string) => JSON.stringify({ Statement: [{ Effect: "Allow", Principal: { AWS: aws }, Action: ["ecr:BatchGetImage"] }] });
        expect(
            check("aws:ecr/repositoryPolicy:RepositoryPolicy", { repository: "team/app", policy: policy(`arn:aws:iam::${CLUSTER_ACCOUNT}:role/not-yet`) }),
        ).to.contain("InvalidParameterException: Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'");
        expect(check("aws:ecr/repositoryPolicy:RepositoryPolicy", { repository: "team/app", policy: policy(`arn:aws:iam::${CLUSTER_ACCOUNT}:root`) })).to.equal(
            "",
        );
        const sa = (namespace: string, name: string) => ({ metadata: { namespace, name } });
        expect(check("kubernetes:core/v1:ServiceAccount", sa("ml", "sync"), "apps-b")).to.equal(
            'resource ml/sync was not successfully created by the Kubernetes API server : namespaces "ml" not found',
        );
        expect(check("kubernetes:core/v1:ServiceAccount", sa("ci", "builder"), "apps-b")).to.equal(
            'resource ci/builder was not successfully created by the Kubernetes API server : serviceaccounts "builder" already exists',
        );
        expect(check("kubernetes:core/v1:Namespace", { metadata: { name: "ci" } }, "apps-b")).to.contain('namespaces "ci" already exists');
    });

    it("a failed create stops the deployment as the engine does: an error on the resource, nothing created after it", async function () {
        this.timeout(60_000);
        // The adopted cluster already has namespace ci, and Pulumi.eks.yaml creates it (createNamespaces: true).
        const fixture = {
            [CLUSTER_ACCOUNT]: {
                ...ADOPTED_WORLD[CLUSTER_ACCOUNT],
                clusters: { "apps-b": { issuerUrl: ADOPTED_ISSUER, addons: ["eks-pod-identity-agent"], namespaces: ["ci"] } },
            },
        };
        const run = await runLanghost({
            stack: "eks",
            config: adoptedClusterConfig(),
            mode: "up",
            accountId: CLUSTER_ACCOUNT,
            region: REGION,
            world: new World(fixture),
        });
        expect(run.failures.map((f) => f.name)).to.deep.equal(["workloads-ci"]);
        expect(run.stoppedBy).to.equal('resource ci was not successfully created by the Kubernetes API server : namespaces "ci" already exists');
        const engineErrors = run.diagnostics.filter((d) => d.source === "engine");
        expect(engineErrors.map((d) => d.urn)).to.deep.equal([run.failures[0].urn]);
        // The engine stops when the failure is reported (its finishedAt): creates may start while the failing one
        // is under way (on a loaded machine its simulated second can last much longer), none after.
        const stoppedAt = run.failures[0].finishedAt!;
        expect(run.creations.filter((c) => c.startedAt > stoppedAt).map((c) => c.name)).to.deep.equal([]);
        // The SDK sees the monitor go away and exits non-zero.
        expect(run.exitCode).to.not.equal(0);
        // What depends on the namespaces is never created.
        expect(run.creations.filter((c) => c.type === "kubernetes:core/v1:ServiceAccount")).to.deep.equal([]);
    });
});
