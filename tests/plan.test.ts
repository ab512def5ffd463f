/**
 * The main job, `npm run plan`, for every supported shape of a project:
 * created and adopted clusters, several clusters in several accounts,
 * accounts the user gives, each stack running the program its file names.
 * It used to crash on an adopted cluster with "error serializing property
 * kubeconfig" and nothing else.
 */
import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { runProject } from "../tools/engine/project-run";
import { StackFileError } from "../tools/state/stack-file";

const ROOT = path.resolve(__dirname, "..");
const dirs: string[] = [];

/** Writes a project directory: the example's ECR stack file, changed, and EKS stack files. */
function project(ecr: (config: Record<string, unknown>) => void, eks: Record<string, Record<string, unknown>>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecrpull-plan-"));
    dirs.push(dir);
    const example = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.ecr.yaml"), "utf8")) as { config: Record<string, unknown> };
    ecr(example.config);
    fs.writeFileSync(path.join(dir, "Pulumi.ecr.yaml"), yaml.dump({ config: example.config }));
    for (const [stack, config] of Object.entries(eks)) {
        fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), yaml.dump({ config }));
    }
    return dir;
}

const exampleEks = () => (yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.eks.yaml"), "utf8")) as { config: Record<string, unknown> }).config;

function adopted(name: string, account: string): Record<string, unknown> {
    return {
        ...exampleEks(),
        "ecrpull:cluster": {
            name,
            create: false,
            nodeRoleArns: [`arn:aws:iam::${account}:role/${name}-nodes`],
            oidcProvider: "existing",
            podIdentityAgent: "present",
        },
        "ecrpull:createNamespaces": false,
    };
}

/** Two clusters in two accounts: the example's created one, and an adopted one. */
function twoClusters(): string {
    return project(
        (c) => {
            c["ecrpull:clusterStacks"] = ["acme/ecrpull/eks", "acme/ecrpull/eks-west"];
            c["ecrpull:grants"] = (c["ecrpull:grants"] as { clusters: string[] }[]).map((g) => ({
                ...g,
                clusters: ["acme/ecrpull/eks", "acme/ecrpull/eks-west"],
            }));
        },
        { eks: exampleEks(), "eks-west": adopted("apps-west", "210987654321") },
    );
}

describe("npm run plan on every supported shape of project", () => {
    after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

    it("plans an adopted cluster, saying what it made up in place of EKS", async () => {
        const dir = project((c) => (c["ecrpull:clusterStacks"] = ["acme/ecrpull/eks"]), { eks: adopted("apps-prod-euw1", "444455556666") });
        const run = await runProject({ ecrFile: path.join(dir, "Pulumi.ecr.yaml") });
        expect(run.eks.map((e) => [e.clusterName, e.adopted])).to.deep.equal([["apps-prod-euw1", true]]);
        expect(run.eks[0].run.resources.map((r) => r.type)).to.include("kubernetes:core/v1:ServiceAccount");
        expect(run.ecr.run.resources.filter((r) => r.type === "aws:iam/role:Role")).to.have.length(3);
        expect(run.notes.join("\n")).to.contain('the adopted cluster "apps-prod-euw1" stands for what EKS would report');
    });

    it("plans several clusters in several accounts, with the accounts the user gives", async () => {
        const dir = twoClusters();
        const run = await runProject({
            ecrFile: path.join(dir, "Pulumi.ecr.yaml"),
            accounts: { "eks-west": "210987654321", "acme/ecrpull/eks": "444455556666" },
        });
        expect(run.eks.map((e) => [e.name, e.accountId, e.accountGiven, e.adopted])).to.deep.equal([
            ["acme/ecrpull/eks", "444455556666", true, false],
            ["acme/ecrpull/eks-west", "210987654321", true, true],
        ]);
        // The registry trusts each cluster in its own account.
        const trusts = run.ecr.run.resources.filter((r) => r.type === "aws:iam/role:Role").map((r) => String(r.inputs.assumeRolePolicy));
        expect(trusts.join("\n")).to.contain("arn:aws:iam::210987654321:root");
        expect(trusts.join("\n")).to.contain("arn:aws:iam::444455556666:root");
        expect(run.notes.join("\n")).to.not.contain("is an example");
    });

    it("runs the program each stack file names, and refuses a cluster stack whose file names the other one", async () => {
        const dir = project((c) => (c["ecrpull:clusterStacks"] = ["acme/ecrpull/eks"]), { eks: { ...exampleEks(), "ecrpull:program": "ecr" } });
        let error: unknown;
        try {
            await runProject({ ecrFile: path.join(dir, "Pulumi.ecr.yaml") });
        } catch (e) {
            error = e;
        }
        expect(error).to.be.instanceOf(StackFileError);
        expect(String(error)).to.contain(
            'Pulumi.eks.yaml: ecrpull:program is "ecr", but Pulumi.ecr.yaml lists its stack acme/ecrpull/eks in ecrpull:clusterStacks: set ecrpull:program to "eks", or list another stack.',
        );
    });

    it("refuses an account for a stack the ECR stack does not list", async () => {
        const dir = twoClusters();
        let error: unknown;
        try {
            await runProject({ ecrFile: path.join(dir, "Pulumi.ecr.yaml"), accounts: { "eks-east": "210987654321" } });
        } catch (e) {
            error = e;
        }
        expect(String(error)).to.contain("--account names eks-east, which");
    });

    it("the command prints the adopted cluster's plan and the access report, and exits 0", () => {
        const dir = twoClusters();
        const result = spawnSync(
            "npx",
            ["ts-node", "--transpile-only", path.join(ROOT, "tools/cli/main.ts"), "plan", "--dir", dir, "--account", "eks-west=210987654321"],
            { cwd: ROOT, encoding: "utf8", timeout: 120000 },
        );
        expect(result.stderr).to.equal("");
        expect(result.status).to.equal(0);
        expect(result.stdout).to.contain("Cluster account 210987654321 - stack acme/ecrpull/eks-west - cluster apps-west (adopted)");
        expect(result.stdout).to.contain("Cluster account 444455556666 (example) - stack acme/ecrpull/eks - cluster apps-prod-euw1 (created)");
        expect(result.stdout).to.contain("| apps-prod-euw1, apps-west | ci/image-builder | federation | ecr-pull-ci-builders |");
    });
});

describe("npm run plan on organization scope", function () {
    this.timeout(120000);
    const EXAMPLE = path.join(ROOT, "examples/organization-scope");
    after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

    /** The example project, copied, with the ECR stack file's config changed. */
    function orgProject(change: (config: Record<string, unknown>) => void): string {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecrpull-plan-org-"));
        dirs.push(dir);
        fs.cpSync(EXAMPLE, dir, { recursive: true });
        const file = path.join(dir, "Pulumi.ecr.yaml");
        const stack = yaml.load(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
        change(stack.config);
        fs.writeFileSync(file, yaml.dump(stack));
        return dir;
    }

    // It refused before: the adopted node role could not be read ("was not found in this account").
    it("plans a listed adopted cluster of an organization-scoped grant, its node role taken to carry the grant's tag, and says so", async () => {
        const dir = orgProject((c) => (c["ecrpull:clusterStacks"] = [...(c["ecrpull:clusterStacks"] as string[]), "acme/organization-scope/eks-green"]));
        const run = await runProject({ ecrFile: path.join(dir, "Pulumi.ecr.yaml") });
        expect(run.eks.map((e) => [e.clusterName, e.adopted])).to.deep.equal([
            ["apps-blue", false],
            ["apps-green", true],
        ]);
        expect(run.joining).to.deep.equal([]);
        expect(run.notes).to.include(
            "acme/organization-scope/eks-green: the adopted node role apps-green-nodes is taken to carry ecrpull.dev/node-pull/platform=true; `pulumi up` reads it first and refuses, with the `aws iam tag-role` command, a role that lacks a tag.",
        );
        expect(run.eks[1].run.outputs.nodePullGrants).to.deep.equal(["platform"]);
    });

    it("runs the EKS stack files the registry does not list as clusters that join by scope, and shows what the scope gives them", async () => {
        const run = await runProject({ ecrFile: path.join(EXAMPLE, "Pulumi.ecr.yaml"), accounts: { "eks-green": "210987654321" } });
        expect(run.eks.map((e) => e.name)).to.deep.equal(["acme/organization-scope/eks-blue"]);
        expect(run.joining.map((e) => [e.name, e.clusterName, e.accountId, e.accountGiven])).to.deep.equal([["eks-green", "apps-green", "210987654321", true]]);
        // The registry did not read it: its stack references are the listed stack's only.
        const references = run.ecr.run.resources.filter((r) => r.type === "pulumi:pulumi:StackReference").map((r) => r.name);
        expect(references).to.deep.equal(["acme/organization-scope/eks-blue"]);

        const result = spawnSync("npx", ["ts-node", "--transpile-only", path.join(ROOT, "tools/cli/main.ts"), "plan", "--dir", EXAMPLE, "--json"], {
            cwd: ROOT,
            encoding: "utf8",
            timeout: 120000,
        });
        expect(result.status, result.stderr).to.equal(0);
        const json = JSON.parse(result.stdout) as {
            clusterStacks: { stack: string }[];
            joiningStacks: { stack: string; cluster: string }[];
            access: { principals: { cluster?: string; serviceAccount?: string; access: { repository: string }[] }[] };
        };
        expect(json.clusterStacks.map((s) => s.stack)).to.deep.equal(["acme/organization-scope/eks-blue"]);
        expect(json.joiningStacks.map((s) => [s.stack, s.cluster])).to.deep.equal([["eks-green", "apps-green"]]);
        // The joining cluster's workload and nodes pull the scoped grant's repository, and only that.
        const green = json.access.principals.filter((p) => JSON.stringify(p).includes("apps-green"));
        expect(green.map((p) => [p.serviceAccount ?? "node", p.access.map((a) => a.repository).sort()]).sort()).to.deep.equal([
            ["image-builder", ["platform/base-images"]],
            ["node", ["platform/base-images"]],
        ]);
    });

    it("runs no unlisted stack file when no grant is scoped", async () => {
        const dir = project((c) => (c["ecrpull:clusterStacks"] = ["acme/ecrpull/eks"]), {
            eks: exampleEks(),
            "eks-west": adopted("apps-west", "210987654321"),
        });
        const run = await runProject({ ecrFile: path.join(dir, "Pulumi.ecr.yaml") });
        expect(run.eks.map((e) => e.clusterName)).to.deep.equal(["apps-prod-euw1"]);
        expect(run.joining).to.deep.equal([]);
    });
});
