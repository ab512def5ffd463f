/**
 * Organization scope through the two stack programs (mock engine): the EKS
 * stacks learn each grant's scope from the shared grant definitions, put
 * their roles at the grant's IAM path and tag their node roles; the ECR
 * stack writes one pull role per grant without reading a single cluster
 * stack, and says whom each such trust admits. A cluster joining is then
 * admitted by what the registry already has, checked here on the documents
 * the programs registered.
 */
import { expect } from "chai";
import { warningsOf } from "./support/warnings";
import { ValidationError } from "../components/validation";
import { RecordedResource } from "../tools/engine/mock-engine";
import { runEcrStack, runEksStack, runTwoStacks } from "../tools/engine/two-stacks";
import { assumeRoleAllowed, MANAGED_POLICY_DOCUMENTS, podIdentityTags, pullAllowed } from "../tools/report/evaluator";
import { clusterA, clusterB, NODE_ROLE_B, registry, STACK_A } from "./support/fixtures";
import { effectiveStackConfig } from "../tools/state/esc";
import * as path from "path";
import { runProject } from "../tools/engine/project-run";
import { ProgramRun } from "../tools/engine/mock-engine";
import { toStackExport } from "../tools/state/from-run";
import { parseStackExport } from "../tools/state/stack-export";
import { auditStates, AuditResult } from "../tools/audit/audit";
import { organizationFromPaths, runAudit } from "../tools/cli/audit";
import * as fs from "fs";
import * as os from "os";
import * as yaml from "js-yaml";
import { DEFAULT_LIMITS } from "../components/iam/quotas";

const ORG = "o-a1b2c3d4e5";
const GRANTS = [
    {
        name: "platform",
        path: "chaining",
        scope: { organization: ORG },
        serviceAccounts: [{ namespace: "ci", name: "image-builder" }],
        repositories: ["platform/base"],
    },
    { name: "ml", path: "podIdentity", scope: { organization: ORG }, serviceAccounts: [{ namespace: "ml", name: "trainer" }], repositories: ["ml/models"] },
    { name: "payments", path: "chaining", clusters: [STACK_A], serviceAccounts: [{ namespace: "payments", name: "deployer" }], repositories: ["payments/api"] },
];
const WORKLOADS_A = [
    { namespace: "ci", serviceAccount: "image-builder", grant: "platform" },
    { namespace: "ml", serviceAccount: "trainer", grant: "ml" },
    { namespace: "payments", serviceAccount: "deployer", grant: "payments" },
];
const REPOSITORIES = [{ name: "platform/base" }, { name: "ml/models" }, { name: "payments/api" }];

const byName = (resources: readonly RecordedResource[], type: string, name: string) => {
    const found = resources.find((r) => r.type === type && r.inputs.name === name);
    if (!found) {
        throw new Error(`no ${type} named ${name} among ${resources.map((r) => `${r.type} ${String(r.inputs.name)}`).join(", ")}`);
    }
    return found;
};
const roles = (resources: readonly RecordedResource[]) => resources.filter((r) => r.type === "aws:iam/role:Role");

describe("organization scope: the two stacks", function () {
    this.timeout(60000);

    it("a created cluster puts the scoped grants' roles at /ecrpull/<grant>/ and tags its node role for them", async () => {
        const run = await runEksStack(clusterA({ "ecrpull:grants": GRANTS, "ecrpull:workloads": WORKLOADS_A }));
        const paths = roles(run.resources)
            .filter((r) => typeof r.inputs.name === "string")
            .map((r) => [String(r.inputs.name).replace(/-[0-9a-f]{6}$/, ""), r.inputs.path])
            .sort((x, y) => (String(x[0]) < String(y[0]) ? -1 : 1));
        expect(paths).to.deep.equal([
            ["ecr-chain-payments", "/"],
            ["ecr-chain-platform", "/ecrpull/platform/"],
            ["ecr-podid-ml", "/ecrpull/ml/"],
        ]);
        const nodeRole = run.resources.find((r) => r.type === "aws:iam/role:Role" && r.name.endsWith("node-role"))!;
        expect(nodeRole.inputs.tags).to.deep.equal({ "ecrpull.dev/node-pull/ml": "true", "ecrpull.dev/node-pull/platform": "true" });
        const exported = run.outputs.workloads as unknown as { grant: string; clusterRoleArn: string; roleArn: string }[];
        expect(exported.find((w) => w.grant === "platform")!.clusterRoleArn).to.match(
            /^arn:aws:iam::444455556666:role\/ecrpull\/platform\/ecr-chain-platform-[0-9a-f]{6}$/,
        );
        expect(exported.find((w) => w.grant === "platform")!.roleArn).to.equal("arn:aws:iam::111122223333:role/ecr-pull-platform");
    });

    it("an adopted cluster's node roles must carry the tags: a missing one is refused before anything is registered, with the command", async () => {
        const stack = (tags: Record<string, string>) => ({
            ...clusterB({ "ecrpull:grants": GRANTS, "ecrpull:workloads": [], "ecrpull:nodePullGrants": ["platform"] }),
            existingRoles: { "apps-b-nodes": { tags } },
        });
        const error = await runEksStack(stack({ team: "b" })).then(
            () => undefined,
            (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(ValidationError);
        expect((error as Error).message).to.equal(
            'Stack "eks-b" (EKS program): the node role apps-b-nodes lacks ecrpull.dev/node-pull/platform=true, by which the registry admits its kubelets\' pulls of that organization-scoped grant (this stack did not create the role, so it does not tag it): tag it once with `aws iam tag-role --role-name apps-b-nodes --tags Key=ecrpull.dev/node-pull/platform,Value=true` (a deployer the service control policy allows), or remove the grant from ecrpull:nodePullGrants and from the workloads.',
        );
        const run = await runEksStack(stack({ team: "b", "ecrpull.dev/node-pull/platform": "true" }));
        expect(run.resources.filter((r) => r.type.startsWith("aws:"))).to.deep.equal([]);
        expect(run.outputs.nodeRoleArns).to.deep.equal([NODE_ROLE_B]);
    });

    it("refuses nodePullGrants that name an exact-scope or unknown grant, or come without the definitions", async () => {
        const refused = async (config: Record<string, unknown>) =>
            runEksStack(clusterA(config)).then(
                () => "",
                (e: unknown) => (e as Error).message,
            );
        expect(await refused({ "ecrpull:grants": GRANTS, "ecrpull:workloads": WORKLOADS_A, "ecrpull:nodePullGrants": ["payments", "nope"] })).to.equal(
            'Stack "eks-a" (EKS program): 2 problems:\n' +
                '  - ecrpull:nodePullGrants[0] "payments" is not a grant with an organization scope in ecrpull:grants ("platform", "ml"): a grant of exact scope lists its clusters in the registry\'s ecrpull:grants, which gives their nodes its images.\n' +
                '  - ecrpull:nodePullGrants[1] "nope" is not a grant with an organization scope in ecrpull:grants ("platform", "ml"): a grant of exact scope lists its clusters in the registry\'s ecrpull:grants, which gives their nodes its images.',
        );
        expect(await refused({ "ecrpull:nodePullGrants": ["platform"] })).to.match(/ecrpull:nodePullGrants needs the grant definitions/);
    });

    it("the registry writes one pull role per scoped grant without reading any cluster stack, and says whom it admits", async () => {
        const { result, warnings } = await warningsOf(() =>
            runEcrStack(
                { ...registry(), config: { "ecrpull:clusterStacks": [], "ecrpull:repositories": REPOSITORIES, "ecrpull:grants": GRANTS.slice(0, 2) } },
                {},
            ),
        );
        expect(roles(result.resources).map((r) => r.inputs.name)).to.deep.equal(["ecr-pull-ml", "ecr-pull-platform"]);
        expect(result.resources.filter((r) => r.type === "aws:iam/openIdConnectProvider:OpenIdConnectProvider")).to.deep.equal([]);
        expect(result.resources.filter((r) => r.type === "pulumi:pulumi:StackReference")).to.deep.equal([]);
        expect(warnings.filter((w) => w.includes("trusts any role at IAM path"))).to.have.length(2);
    });

    it("a cluster that joins later is admitted by what the registry already has: its roles assume, its nodes pull, no one else's do", async () => {
        // The registry runs once, before cluster B exists; it reads only cluster A (for the exact-scope grant).
        const fleet = await runTwoStacks(
            [clusterA({ "ecrpull:grants": GRANTS, "ecrpull:workloads": WORKLOADS_A })],
            registry({ "ecrpull:clusterStacks": [STACK_A], "ecrpull:repositories": REPOSITORIES, "ecrpull:grants": GRANTS }),
        );
        const joined = await runEksStack({
            ...clusterB({
                "ecrpull:grants": GRANTS,
                "ecrpull:workloads": [
                    { namespace: "ci", serviceAccount: "image-builder", grant: "platform" },
                    { namespace: "ml", serviceAccount: "trainer", grant: "ml" },
                ],
            }),
            existingRoles: { "apps-b-nodes": { tags: { "ecrpull.dev/node-pull/platform": "true", "ecrpull.dev/node-pull/ml": "true" } } },
        });
        const registered = (name: string) => byName(fleet.ecr.resources, "aws:iam/role:Role", name);
        const policyOf = (role: string) =>
            fleet.ecr.resources.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && String(r.name).includes(role.replace("ecr-pull-", "")))!;
        const pullRole = (grant: string) => ({
            arn: `arn:aws:iam::111122223333:role/ecr-pull-${grant}`,
            trustPolicy: String(registered(`ecr-pull-${grant}`).inputs.assumeRolePolicy),
            identityPolicies: [{ name: "pull", json: String(policyOf(`ecr-pull-${grant}`).inputs.policy) }],
        });
        const clusterRole = (grant: string, organization?: string) => {
            const w = (joined.outputs.workloads as unknown as { grant: string; clusterRoleArn: string }[]).find((x) => x.grant === grant)!;
            const resource = roles(joined.resources).find((r) => w.clusterRoleArn.endsWith(`/${String(r.inputs.name)}`))!;
            const inline = joined.resources.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.name.startsWith(resource.name))!;
            return {
                arn: w.clusterRoleArn,
                trustPolicy: "{}",
                identityPolicies: [{ name: "assume", json: String(inline.inputs.policy) }],
                organization: organization ? { id: organization, path: `${organization}/r-ab12/` } : undefined,
            };
        };
        expect(assumeRoleAllowed(clusterRole("platform", ORG), pullRole("platform")).allowed).to.equal(true);
        expect(assumeRoleAllowed(clusterRole("platform", "o-zzzzzzzzzz"), pullRole("platform")).allowed).to.equal(false);
        const tags = podIdentityTags("arn:aws:eks:eu-west-1:777788889999:cluster/apps-b", "ml", "trainer");
        expect(assumeRoleAllowed(clusterRole("ml", ORG), pullRole("ml"), tags).allowed).to.equal(true);
        expect(assumeRoleAllowed(clusterRole("ml", ORG), pullRole("ml"), { ...tags, "aws:RequestTag/kubernetes-namespace": "ci" }).allowed).to.equal(false);
        const repository = (name: string) => {
            const policy = fleet.ecr.resources.find((r) => r.type === "aws:ecr/repositoryPolicy:RepositoryPolicy" && r.inputs.repository === name);
            return { name, arn: `arn:aws:ecr:eu-west-1:111122223333:repository/${name}`, policy: policy ? String(policy.inputs.policy) : undefined };
        };
        const node = (tags: Record<string, string>) => ({
            arn: NODE_ROLE_B,
            trustPolicy: "{}",
            identityPolicies: [{ name: "pull-only", json: MANAGED_POLICY_DOCUMENTS["arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly"] }],
            organization: { id: ORG, path: `${ORG}/r-ab12/` },
            instanceVpc: "vpc-0b1c2d3e",
            tags,
        });
        expect(pullAllowed(node({ "ecrpull.dev/node-pull/platform": "true" }), repository("platform/base")).allowed).to.equal(true);
        expect(pullAllowed(node({ "ecrpull.dev/node-pull/platform": "true" }), repository("payments/api")).allowed).to.equal(false);
        expect(pullAllowed(node({}), repository("platform/base")).allowed).to.equal(false);
    });

    it("the example's cluster that joins later (examples/organization-scope, eks-green) deploys alone once its node role is tagged", async () => {
        const { config } = effectiveStackConfig(path.resolve(__dirname, "../examples/organization-scope/Pulumi.eks-green.yaml"));
        const stack = (tags: Record<string, string>) => ({
            name: "acme/organization-scope/eks-green",
            config,
            accountId: "777788889999",
            region: "eu-west-1",
            existingClusters: { "apps-green": { issuerUrl: "https://oidc.eks.eu-west-1.amazonaws.com/id/6E6E6E6E6E6E6E6E6E6E6E6E6E6E6E6E" } },
            existingRoles: { "apps-green-nodes": { tags } },
        });
        const refused = await runEksStack(stack({})).then(
            () => "",
            (e: unknown) => (e as Error).message,
        );
        expect(refused).to.include("aws iam tag-role --role-name apps-green-nodes --tags Key=ecrpull.dev/node-pull/platform,Value=true");
        const run = await runEksStack(stack({ "ecrpull.dev/node-pull/platform": "true" }));
        const chained = roles(run.resources).map((r) => [r.inputs.path, String(r.inputs.name).replace(/-[0-9a-f]{6}$/, "")]);
        expect(chained).to.deep.equal([["/ecrpull/platform/", "ecr-chain-platform"]]);
        expect(run.outputs.nodePullGrants).to.deep.equal(["platform"]);
    });

    it("refuses a listed cluster whose role of a scoped grant is not at the grant's path (a stack without the definitions)", async () => {
        const workloads = [
            { namespace: "ci", serviceAccount: "image-builder", grant: "platform", path: "chaining" },
            { namespace: "payments", serviceAccount: "deployer", grant: "payments", path: "chaining" },
        ];
        const error = await runTwoStacks(
            [clusterA({ "ecrpull:workloads": workloads })],
            registry({ "ecrpull:clusterStacks": [STACK_A], "ecrpull:repositories": REPOSITORIES, "ecrpull:grants": GRANTS }),
        ).then(
            () => "",
            (e: unknown) => (e as Error).message,
        );
        expect(error, error).to.match(
            /reaches grant "platform" through the role "arn:aws:iam::444455556666:role\/ecr-chain-platform-[0-9a-f]{6}", but that grant has an organization scope, whose trust admits only roles at IAM path \/ecrpull\/platform\//,
        );
    });
});

describe("organization scope: the audit of deployed states", function () {
    this.timeout(60000);

    it("admits the scoped grants' workloads and nodes only with --org-path, and does not call a scoped grant unused", async () => {
        const run = await runProject({ ecrFile: path.resolve(__dirname, "../examples/organization-scope/Pulumi.ecr.yaml") });
        const asState = (r: ProgramRun<unknown>, stack: string) => parseStackExport(JSON.stringify(toStackExport(r, { stack })), stack);
        const states = { registry: asState(run.ecr.run, "ecr"), clusters: run.eks.map((e) => asState(e.run, e.name.split("/").pop()!)) };
        const pulls = (result: AuditResult) =>
            result.access.principals
                .filter((p) => p.access.length > 0)
                .map((p) => `${p.serviceAccount ?? "node"}: ${p.access.map((e) => e.repository).join(", ")}`)
                .sort();
        const blind = auditStates(states, states, DEFAULT_LIMITS);
        // Without --org-path only the exact-scope grant (mirrors: the service account and the node role) pulls.
        expect(pulls(blind)).to.deep.equal(["mirror: platform/base-images", "node: platform/base-images"]);
        const organization = organizationFromPaths(["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"]);
        const seen = auditStates(states, states, DEFAULT_LIMITS, { organization });
        expect(pulls(seen)).to.deep.equal([
            "image-builder: platform/base-images",
            "mirror: platform/base-images",
            "node: payments/api, platform/base-images",
            "release-deployer: payments/api",
        ]);
        // The Pod Identity grant is scoped to its OU: an account elsewhere in the organization gets nothing from it.
        const elsewhere = auditStates(states, states, DEFAULT_LIMITS, { organization: organizationFromPaths(["o-a1b2c3d4e5/r-ab12/ou-ab12-99999999/"]) });
        expect(pulls(elsewhere)).to.deep.equal(["image-builder: platform/base-images", "mirror: platform/base-images", "node: platform/base-images"]);
        expect(seen.findings.filter((f) => f.kind === "unused grant")).to.deep.equal([]);
        expect(() => organizationFromPaths(["ou-ab12-11111111"])).to.throw(/--org-path ou-ab12-11111111: give an account's path/);
    });

    /** The example project copied, its stacks run as the plan runs them and exported as `pulumi stack export` writes them. */
    async function deployedExample(change?: (ecrConfig: Record<string, unknown>) => void) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecrpull-org-audit-"));
        fs.cpSync(path.resolve(__dirname, "../examples/organization-scope"), dir, { recursive: true });
        if (change) {
            const file = path.join(dir, "Pulumi.ecr.yaml");
            const stack = yaml.load(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
            change(stack.config);
            fs.writeFileSync(file, yaml.dump(stack));
        }
        const run = await runProject({ ecrFile: path.join(dir, "Pulumi.ecr.yaml") });
        const write = (r: ProgramRun<unknown>, stack: string) => {
            const file = path.join(dir, `${stack}.json`);
            fs.writeFileSync(file, JSON.stringify(toStackExport(r, { stack, project: "organization-scope" })));
            return file;
        };
        const eksFiles = [...run.eks, ...run.joining].map((e) => write(e.run, e.name.split("/").pop()!));
        return { dir, ecrFile: write(run.ecr.run, "ecr"), eksFiles };
    }

    // Before, `ecrpull audit` refused the joining cluster's export ("not one the ecr stack references").
    it("ecrpull audit takes the export of a cluster that joined by scope, finds no drift, and shows what the scope gives it", async () => {
        const deployed = await deployedExample();
        try {
            expect(deployed.eksFiles.map((f) => path.basename(f))).to.deep.equal(["eks-blue.json", "eks-green.json"]);
            const result = await runAudit({ ...deployed, configDir: deployed.dir, orgPaths: ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"] });
            expect(result.findings).to.deep.equal([]);
            const green = result.access.principals.filter((p) => JSON.stringify(p).includes("apps-green"));
            expect(green.map((p) => `${p.serviceAccount ?? "node"}: ${p.access.map((a) => a.repository).join(", ")}`).sort()).to.deep.equal([
                "image-builder: platform/base-images",
                "node: platform/base-images",
            ]);
        } finally {
            fs.rmSync(deployed.dir, { recursive: true, force: true });
        }
    });

    // Before, --org-path refused paths of two organizations ("an account belongs to one").
    it("ecrpull audit places an account in another organization by its own --org-path, and the scope then admits nothing of it", async () => {
        const deployed = await deployedExample();
        try {
            const green = deployed.eksFiles.find((f) => f.endsWith("eks-green.json"))!;
            const greenAccount = String(
                JSON.parse(fs.readFileSync(green, "utf8")).deployment.resources.find((r: { outputs?: { accountId?: string } }) => r.outputs?.accountId)?.outputs
                    .accountId,
            );
            expect(greenAccount).to.match(/^\d{12}$/);
            const result = await runAudit({
                ...deployed,
                configDir: deployed.dir,
                orgPaths: ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/", `${greenAccount}=o-zzzzzzzzzz/r-zz99/`],
            });
            const pulls = result.access.principals
                .filter((p) => p.access.length > 0)
                .map((p) => `${JSON.stringify(p).includes("apps-green") ? "green" : "blue"} ${p.serviceAccount ?? "node"}`)
                .sort();
            expect(pulls).to.deep.equal(["blue image-builder", "blue mirror", "blue node", "blue release-deployer"]);
        } finally {
            fs.rmSync(deployed.dir, { recursive: true, force: true });
        }
    });

    // Before, regenerating it failed: its node role could not be read ("nodeRoleArns[0] ... was not found in this account").
    it("ecrpull audit regenerates a listed adopted cluster of a scoped grant, its node roles as tagged as its state says", async () => {
        const deployed = await deployedExample(
            (c) => (c["ecrpull:clusterStacks"] = [...(c["ecrpull:clusterStacks"] as string[]), "acme/organization-scope/eks-green"]),
        );
        try {
            const result = await runAudit({ ...deployed, configDir: deployed.dir, orgPaths: ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"] });
            expect(result.findings).to.deep.equal([]);
        } finally {
            fs.rmSync(deployed.dir, { recursive: true, force: true });
        }
    });
});
