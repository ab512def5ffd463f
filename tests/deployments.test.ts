/**
 * The deployments program on the mock engine: which stack deploys on which
 * paths with which role, which webhooks chain the EKS stacks to the ECR
 * stack, and the messages for bad config. The example stack file must run
 * and must list the same EKS stacks the example ECR stack reads.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { DEFAULT_PATHS, DEFAULT_SESSION_DURATION, DEPLOYMENTS_NAMESPACE, deploymentsProgram, main, readDeploymentsConfig } from "../deployments/program";
import { RecordedResource, runProgram } from "../tools/engine/mock-engine";

const ROOT = path.resolve(__dirname, "..");
const ECR_ROLE = "arn:aws:iam::111122223333:role/pulumi-deployments";
const EKS_A_ROLE = "arn:aws:iam::444455556666:role/pulumi-deployments";
const EKS_B_ROLE = "arn:aws:iam::777788889999:role/pulumi-deployments";

/** A valid config with two EKS stacks in two accounts; tests change one key at a time. */
function base(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        organization: "acme",
        repository: "acme/platform-ecr",
        ecrStack: { name: "ecr", roleArn: ECR_ROLE },
        eksStacks: [
            { name: "eks-a", roleArn: EKS_A_ROLE },
            { name: "eks-b", roleArn: EKS_B_ROLE },
        ],
        ...overrides,
    };
}

async function run(values: Record<string, unknown>) {
    return runProgram(async () => deploymentsProgram(readDeploymentsConfig(values)), {
        stack: "deployments",
        project: DEPLOYMENTS_NAMESPACE,
        config: {},
        accountId: "000000000000",
        region: "us-east-1",
    });
}

const byType = (resources: readonly RecordedResource[], type: string) => resources.filter((r) => r.type === type);
const SETTINGS = "pulumiservice:index:DeploymentSettings";
const WEBHOOK = "pulumiservice:index:Webhook";

describe("deployments program", () => {
    describe("settings and webhooks for two EKS stacks and the ECR stack", () => {
        let resources: readonly RecordedResource[];
        let outputs: Awaited<ReturnType<typeof run>>["outputs"];
        const settingsOf = (stack: string) => {
            const found = byType(resources, SETTINGS).filter((r) => r.inputs.stack === stack);
            expect(found, `settings of ${stack}`).to.have.length(1);
            return found[0].inputs;
        };

        before(async () => {
            ({ resources, outputs } = await run(base()));
        });

        it("creates one DeploymentSettings per stack and one Webhook per EKS stack, nothing else", () => {
            expect(resources.map((r) => r.type).sort()).to.deep.equal([SETTINGS, SETTINGS, SETTINGS, WEBHOOK, WEBHOOK]);
            expect(
                byType(resources, SETTINGS)
                    .map((r) => r.inputs.stack)
                    .sort(),
            ).to.deep.equal(["ecr", "eks-a", "eks-b"]);
        });

        it("every stack deploys on merge to main and previews pull requests, from the repository's root", () => {
            for (const stack of ["ecr", "eks-a", "eks-b"]) {
                const settings = settingsOf(stack);
                expect(settings.organization).to.equal("acme");
                expect(settings.project).to.equal("ecrpull");
                expect(settings.sourceContext).to.deep.equal({ git: { branch: "main" } });
                expect(settings.github.repository).to.equal("acme/platform-ecr");
                expect(settings.github.deployCommits).to.equal(true);
                expect(settings.github.previewPullRequests).to.equal(true);
                expect(settings.operationContext.options).to.deep.equal({ skipIntermediateDeployments: true });
            }
        });

        it("each stack assumes the role of its own account with OIDC", () => {
            expect(settingsOf("ecr").operationContext.oidc.aws).to.deep.equal({ roleARN: ECR_ROLE, sessionName: "pulumi-deployments-ecr", duration: "1h0m0s" });
            expect(settingsOf("eks-a").operationContext.oidc.aws.roleARN).to.equal(EKS_A_ROLE);
            expect(settingsOf("eks-b").operationContext.oidc.aws.roleARN).to.equal(EKS_B_ROLE);
            expect(settingsOf("eks-b").operationContext.oidc.aws.sessionName).to.equal("pulumi-deployments-eks-b");
        });

        it("each stack's path filters are the program's files and its own stack file, not another stack's", () => {
            expect(settingsOf("eks-a").github.paths).to.deep.equal([...DEFAULT_PATHS, "Pulumi.eks-a.yaml"]);
            expect(settingsOf("eks-b").github.paths).to.deep.equal([...DEFAULT_PATHS, "Pulumi.eks-b.yaml"]);
            expect(settingsOf("ecr").github.paths).to.deep.equal([...DEFAULT_PATHS, "Pulumi.ecr.yaml"]);
            expect(DEFAULT_PATHS).to.include.members(["components/**", "stacks/**", "Pulumi.yaml", "package.json", "package-lock.json"]);
        });

        it("each EKS stack has a webhook that redeploys the ECR stack after a successful update", () => {
            const hooks = byType(resources, WEBHOOK).map((r) => r.inputs);
            expect(hooks.map((h) => h.stackName).sort()).to.deep.equal(["eks-a", "eks-b"]);
            for (const hook of hooks) {
                expect(hook).to.deep.include({
                    organizationName: "acme",
                    projectName: "ecrpull",
                    format: "pulumi_deployments",
                    payloadUrl: "ecrpull/ecr",
                    filters: ["update_succeeded"],
                    active: true,
                });
                expect(hook.displayName).to.equal(`Redeploy ecrpull/ecr after ecrpull/${hook.stackName} succeeds`);
            }
        });

        it("the ECR stack itself has no webhook (it would redeploy itself) and each webhook waits for the ECR stack's settings", () => {
            const hooks = byType(resources, WEBHOOK);
            expect(hooks.some((h) => h.inputs.stackName === "ecr")).to.equal(false);
            const ecrSettings = byType(resources, SETTINGS).find((r) => r.inputs.stack === "ecr")!;
            for (const hook of hooks) {
                expect(hook.dependsOn).to.include(ecrSettings.urn);
            }
        });

        it("exports the settings and the chain", () => {
            expect(outputs.webhooks).to.deep.equal([
                { on: "ecrpull/eks-a", redeploys: "ecrpull/ecr" },
                { on: "ecrpull/eks-b", redeploys: "ecrpull/ecr" },
            ]);
            expect(Object.keys(outputs.settings).sort()).to.deep.equal(["ecr", "eks-a", "eks-b"]);
            expect(outputs.settings["eks-a"].roleArn).to.equal(EKS_A_ROLE);
        });
    });

    describe("options", () => {
        it("a project in a subdirectory: repoDir set and every path filter prefixed with it (GitHub matches from the root)", async () => {
            const { resources } = await run(base({ repoDir: "infra/ecrpull/", paths: ["components/**", "stacks/**"] }));
            const eks = byType(resources, SETTINGS).find((r) => r.inputs.stack === "eks-a")!.inputs;
            expect(eks.sourceContext).to.deep.equal({ git: { branch: "main", repoDir: "infra/ecrpull" } });
            expect(eks.github.paths).to.deep.equal(["infra/ecrpull/components/**", "infra/ecrpull/stacks/**", "infra/ecrpull/Pulumi.eks-a.yaml"]);
        });

        it("another project, branch and session duration", async () => {
            const { resources } = await run(base({ project: "registry", branch: "release/v2", sessionDuration: "3h" }));
            const ecr = byType(resources, SETTINGS).find((r) => r.inputs.stack === "ecr")!.inputs;
            expect(ecr.project).to.equal("registry");
            expect(ecr.sourceContext.git.branch).to.equal("release/v2");
            expect(ecr.operationContext.oidc.aws.duration).to.equal("3h");
            expect(byType(resources, WEBHOOK).map((r) => r.inputs.payloadUrl)).to.deep.equal(["registry/ecr", "registry/ecr"]);
        });

        it("defaults: project ecrpull, branch main, the root, the default paths, a one-hour session", () => {
            const config = readDeploymentsConfig(base());
            expect(config).to.deep.include({ project: "ecrpull", branch: "main", repoDir: "", sessionDuration: DEFAULT_SESSION_DURATION });
            expect(config.paths).to.deep.equal(DEFAULT_PATHS);
            expect(readDeploymentsConfig(base({ repoDir: "." })).repoDir).to.equal("");
        });
    });

    describe("invalid config: exact messages, nothing created", () => {
        const key = (k: string) => `${DEPLOYMENTS_NAMESPACE}:${k}`;
        const cases: { name: string; values: Record<string, unknown>; message: string }[] = [
            {
                name: "organization missing",
                values: base({ organization: undefined }),
                message: `${key("organization")} is missing: set it to the Pulumi Cloud organization that owns the stacks (e.g. "acme").`,
            },
            {
                name: "organization with a space",
                values: base({ organization: "acme corp" }),
                message: `${key("organization")} "acme corp" is not a Pulumi organization name: use letters, digits, '-', '_' and '.' (e.g. "acme").`,
            },
            {
                name: "project with a slash",
                values: base({ project: "acme/ecrpull" }),
                message: `${key("project")} "acme/ecrpull" is not a Pulumi project name: use letters, digits, '-', '_' and '.' (e.g. "ecrpull").`,
            },
            {
                name: "repository missing",
                values: base({ repository: undefined }),
                message: `${key("repository")} is missing: set it to the GitHub repository that holds the project, as "owner/repo" (e.g. "acme/platform-ecr").`,
            },
            {
                name: "repository as a URL",
                values: base({ repository: "https://github.com/acme/platform-ecr" }),
                message: `${key("repository")} "https://github.com/acme/platform-ecr" is not a GitHub repository: use "owner/repo" (e.g. "acme/platform-ecr").`,
            },
            {
                name: "branch as a ref",
                values: base({ branch: "refs/heads/main.lock" }),
                message: `${key("branch")} "refs/heads/main.lock" is not a git branch name: use the branch merges land on, without "refs/heads/" (e.g. "main").`,
            },
            {
                name: "branch with two dots",
                values: base({ branch: "release..1" }),
                message: `${key("branch")} "release..1" is not a git branch name: use the branch merges land on, without "refs/heads/" (e.g. "main").`,
            },
            {
                name: "repoDir outside the repository",
                values: base({ repoDir: "../other" }),
                message: `${key("repoDir")} "../other" is not a directory inside the repository: use a relative path without ".." (e.g. "infra/ecrpull"), or "." for the root.`,
            },
            {
                name: "repoDir absolute",
                values: base({ repoDir: "/infra" }),
                message: `${key("repoDir")} "/infra" is not a directory inside the repository: use a relative path without ".." (e.g. "infra/ecrpull"), or "." for the root.`,
            },
            {
                name: "paths not a list",
                values: base({ paths: "components/**" }),
                message: `${key("paths")} "components/**" is not a list: use a YAML list of path filters relative to the project directory (e.g. "components/**").`,
            },
            {
                name: "paths empty",
                values: base({ paths: [] }),
                message: `${key("paths")} [] is empty: list at least one path filter, or leave the key out for the defaults.`,
            },
            {
                name: "a path filter from the root",
                values: base({ paths: ["components/**", "/stacks/**"] }),
                message: `${key("paths[1]")} "/stacks/**" is not a path filter: use a glob relative to the project directory, without a leading '/' or ".." (e.g. "components/**").`,
            },
            {
                name: "a path filter leaving the project",
                values: base({ paths: ["../shared/**"] }),
                message: `${key("paths[0]")} "../shared/**" is not a path filter: use a glob relative to the project directory, without a leading '/' or ".." (e.g. "components/**").`,
            },
            {
                name: "session duration in seconds",
                values: base({ sessionDuration: 3600 }),
                message: `${key("sessionDuration")} 3600 is not a session duration from 15 minutes to 12 hours: use hours, minutes and seconds as "2h0m0s" (e.g. "1h30m0s").`,
            },
            {
                name: "session duration too long",
                values: base({ sessionDuration: "13h" }),
                message: `${key("sessionDuration")} "13h" is not a session duration from 15 minutes to 12 hours: use hours, minutes and seconds as "2h0m0s" (e.g. "1h30m0s").`,
            },
            {
                name: "session duration too short",
                values: base({ sessionDuration: "10m" }),
                message: `${key("sessionDuration")} "10m" is not a session duration from 15 minutes to 12 hours: use hours, minutes and seconds as "2h0m0s" (e.g. "1h30m0s").`,
            },
            {
                name: "ecrStack missing",
                values: base({ ecrStack: undefined }),
                message: `${key("ecrStack")} is missing: set { name, roleArn } of the registry-account stack (e.g. name: ecr).`,
            },
            {
                name: "ecrStack as a name",
                values: base({ ecrStack: "ecr" }),
                message: `${key("ecrStack")} "ecr" is not an object: use a YAML mapping with name and roleArn.`,
            },
            {
                name: "ecrStack role missing",
                values: base({ ecrStack: { name: "ecr" } }),
                message: `${key("ecrStack.roleArn")} is missing: set it to the role Pulumi Deployments assumes in the stack's account (e.g. "arn:aws:iam::111122223333:role/pulumi-deployments").`,
            },
            {
                name: "ecrStack role as an account ID",
                values: base({ ecrStack: { name: "ecr", roleArn: "111122223333" } }),
                message: `${key("ecrStack.roleArn")} "111122223333" is not an IAM role ARN: use "arn:aws:iam::<12-digit account>:role/<name>".`,
            },
            {
                name: "ecrStack with a fully qualified name",
                values: base({ ecrStack: { name: "acme/ecrpull/ecr", roleArn: ECR_ROLE } }),
                message: `${key("ecrStack.name")} "acme/ecrpull/ecr" is not a Pulumi stack name: use letters, digits, '-', '_' and '.' (e.g. "ecr").`,
            },
            {
                name: "ecrStack with a typo",
                values: base({ ecrStack: { name: "ecr", roleArn: ECR_ROLE, rolearn: ECR_ROLE } }),
                message: `${key("ecrStack.rolearn")} is not a known setting: use one of name, roleArn.`,
            },
            {
                name: "eksStacks missing",
                values: base({ eksStacks: undefined }),
                message: `${key("eksStacks")} is missing: set it to a YAML list of { name, roleArn } of each cluster-account stack.`,
            },
            {
                name: "eksStacks empty",
                values: base({ eksStacks: [] }),
                message: `${key("eksStacks")} is empty: list every cluster-account stack the ECR stack reads (e.g. - { name: eks, roleArn: ... }).`,
            },
            {
                name: "an EKS stack twice",
                values: base({
                    eksStacks: [
                        { name: "eks", roleArn: EKS_A_ROLE },
                        { name: "eks", roleArn: EKS_B_ROLE },
                    ],
                }),
                message: `${key("eksStacks[1]")} "eks" is the same stack as ${key("eksStacks[0]")}: list each stack once.`,
            },
            {
                name: "the ECR stack listed as an EKS stack",
                values: base({ eksStacks: [{ name: "ecr", roleArn: EKS_A_ROLE }] }),
                message: `${key("eksStacks[0].name")} "ecr" is also ${key("ecrStack.name")}: the ECR stack and the EKS stacks are different stacks.`,
            },
            {
                name: "an unknown key",
                values: base({ brnach: "main" }),
                message: `${key("brnach")} is not a known setting: use one of organization, project, repository, branch, repoDir, paths, sessionDuration, ecrStack, eksStacks.`,
            },
        ];

        for (const c of cases) {
            it(c.name, async () => {
                const values = Object.fromEntries(Object.entries(c.values).filter(([, v]) => v !== undefined));
                let error: unknown;
                try {
                    await run(values);
                } catch (e) {
                    error = e;
                }
                expect(error, "the run must fail").to.be.instanceOf(Error);
                expect((error as Error).message).to.equal(`Stack "deployments" (deployments program): ${c.message}`);
                expect((error as { recordedResources?: unknown[] }).recordedResources, "nothing created").to.deep.equal([]);
            });
        }

        it("reports every problem at once", () => {
            expect(() => readDeploymentsConfig({ organization: "acme" })).to.throw(
                `Stack "deployments" (deployments program): 3 problems:\n` +
                    `  - ${key("repository")} is missing: set it to the GitHub repository that holds the project, as "owner/repo" (e.g. "acme/platform-ecr").\n` +
                    `  - ${key("ecrStack")} is missing: set { name, roleArn } of the registry-account stack (e.g. name: ecr).\n` +
                    `  - ${key("eksStacks")} is missing: set it to a YAML list of { name, roleArn } of each cluster-account stack.`,
            );
        });
    });

    describe("the example stack file deployments/Pulumi.deployments.yaml", () => {
        const read = (file: string) => (yaml.load(fs.readFileSync(path.join(ROOT, file), "utf8")) as { config: Record<string, unknown> }).config;

        it("runs as `pulumi up` would run it (config handed over as the CLI does)", async () => {
            const { resources, outputs } = await runProgram(async () => main(), {
                stack: "deployments",
                project: DEPLOYMENTS_NAMESPACE,
                config: read("deployments/Pulumi.deployments.yaml"),
                accountId: "000000000000",
                region: "us-east-1",
            });
            expect(
                byType(resources, SETTINGS)
                    .map((r) => r.inputs.stack)
                    .sort(),
            ).to.deep.equal(["ecr", "eks"]);
            expect(outputs.webhooks).to.deep.equal([{ on: "ecrpull/eks", redeploys: "ecrpull/ecr" }]);
            for (const settings of byType(resources, SETTINGS)) {
                for (const filter of settings.inputs.github.paths as string[]) {
                    // Every filter names something that exists in this repository, so no stack waits on a file that is never there.
                    const fixed = filter.replace(/\/\*\*$/, "");
                    expect(fs.existsSync(path.join(ROOT, fixed)), filter).to.equal(true);
                }
            }
        });

        it("lists exactly the EKS stacks the example ECR stack reads, in its organization and project", () => {
            const deployments = read("deployments/Pulumi.deployments.yaml");
            const ecr = read("Pulumi.ecr.yaml");
            const config = readDeploymentsConfig(
                Object.fromEntries(Object.entries(deployments).map(([k, v]) => [k.replace(`${DEPLOYMENTS_NAMESPACE}:`, ""), v])),
            );
            const names = config.eksStacks.map((s) => `${config.organization}/${config.project}/${s.name}`);
            expect(names.sort()).to.deep.equal([...(ecr["ecrpull:clusterStacks"] as string[])].sort());
            expect(config.ecrStack.name).to.equal("ecr");
        });

        it("declares in Pulumi.yaml the defaults the program uses", () => {
            const project = yaml.load(fs.readFileSync(path.join(ROOT, "deployments/Pulumi.yaml"), "utf8")) as {
                name: string;
                config: Record<string, { default?: unknown }>;
            };
            expect(project.name).to.equal(DEPLOYMENTS_NAMESPACE);
            const config = readDeploymentsConfig(base());
            expect(project.config.project.default).to.equal(config.project);
            expect(project.config.branch.default).to.equal(config.branch);
            expect(project.config.sessionDuration.default).to.equal(config.sessionDuration);
            expect(readDeploymentsConfig(base({ repoDir: project.config.repoDir.default })).repoDir).to.equal(config.repoDir);
        });
    });
});
