/**
 * The `ecrpull` command (tools/cli/): each subcommand's --help, wrong
 * arguments, and the plan's three forms (concise by default, --documents,
 * --json) on the example project, run in-process through `runCli` as the
 * bin runs it. The packed and installed command is tests/package.test.ts's.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { COMMANDS, runCli } from "../tools/cli/main";

const ROOT = path.resolve(__dirname, "..");

async function cli(argv: string[], cwd = ROOT): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    const code = await runCli(argv, { out: (t) => (out += t), err: (t) => (err += t), cwd });
    return { code, out, err };
}

describe("the ecrpull command", function () {
    this.timeout(120_000);

    it("lists its commands with --help, and exits 2 with them when none is given", async () => {
        const help = await cli(["--help"]);
        expect(help.code).to.equal(0);
        for (const name of ["plan", "audit", "doctor"]) {
            expect(help.out).to.match(new RegExp(`^  ${name} +\\S`, "m"));
        }
        const none = await cli([]);
        expect(none.code).to.equal(2);
        expect(none.err).to.contain("usage: ecrpull <command> [options]");
        const unknown = await cli(["deploy"]);
        expect(unknown.code).to.equal(2);
        expect(unknown.err).to.contain('ecrpull: unknown command "deploy"; the commands are plan, audit, doctor.');
    });

    for (const command of COMMANDS) {
        it(`ecrpull ${command.name} --help prints its usage and every option, and runs nothing`, async () => {
            const help = await cli([command.name, "--help"], os.tmpdir());
            expect(help.code).to.equal(0);
            expect(help.out.split("\n")[0]).to.match(new RegExp(`^usage: ecrpull ${command.name} `));
            for (const option of Object.keys(command.options)) {
                expect(help.out, `--${option} is described`).to.contain(`--${option}`);
            }
            expect(help.out).to.match(/Exit code: 0 /);
        });
    }

    it("prints the version of package.json", async () => {
        const version = await cli(["--version"]);
        expect(version.out.trim()).to.equal(JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version);
    });

    describe("plan on the example project", () => {
        it("is concise by default: per account what is created and the workloads, who can pull what by cluster name, sizes near their limits", async () => {
            const plan = await cli(["plan"]);
            expect(plan.code, plan.err).to.equal(0);
            expect(plan.err).to.equal("");
            const lines = plan.out.split("\n");
            expect(lines.length, "lines").to.be.lessThan(60);
            expect(plan.out).to.contain("Cluster account 444455556666 (example) - stack acme/ecrpull/eks - cluster apps-prod-euw1 (created)");
            expect(plan.out).to.match(/^ {2}creates \d+ resources: .*1 Cluster/m);
            expect(plan.out).to.contain("payments/release-deployer  grant payments, chaining: its pods need the chained pod settings");
            expect(plan.out).to.contain("Registry account 111122223333 - stack ecr");
            expect(plan.out).to.contain("| apps-prod-euw1 | payments/release-deployer | chaining | ecr-chain-payments-e5ba6f -> ecr-pull-payments |");
            expect(plan.out).to.contain(
                "No document is near its limit; the largest is the trust policy of ecr-pull-ci-builders: 543 of 2048 characters (27%).",
            );
            expect(plan.out).to.not.contain('"Statement"');
        });

        it("--documents adds every document, the chained pod settings, the size table and the diagram", async () => {
            const plan = await cli(["plan", "--documents"]);
            expect(plan.code).to.equal(0);
            expect(plan.out).to.contain("pod settings of payments/release-deployer (add them to its pod spec):");
            expect(plan.out).to.contain("mountPath: /var/run/secrets/eks.amazonaws.com/serviceaccount");
            expect(plan.out).to.contain('"Statement"');
            expect(plan.out).to.contain("Policy sizes against their AWS limits");
            expect(plan.out).to.contain("flowchart");
        });

        it("--json is one JSON document with the stacks, the access report, every document's size and what was assumed", async () => {
            const plan = await cli(["plan", "--json"]);
            const parsed = JSON.parse(plan.out);
            expect(parsed.clusterStacks.map((s: { cluster: string }) => s.cluster)).to.deep.equal(["apps-prod-euw1"]);
            expect(parsed.access.principals.length).to.be.greaterThan(0);
            expect(
                parsed.documents.find((d: { owner: string; kind: string }) => d.owner === "ecr-pull-ci-builders" && d.kind === "trust policy").size,
            ).to.equal(543);
            expect(parsed.assumed.join("\n")).to.contain("is an example");
        });

        it("shows progress on stderr for a fleet of ten clusters or more, and keeps stdout the plan", async () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecrpull-cli-"));
            try {
                const stacks = Array.from({ length: 12 }, (_, i) => `acme/ecrpull/eks-${i}`);
                const ecr = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.ecr.yaml"), "utf8")) as { config: Record<string, unknown> };
                ecr.config["ecrpull:clusterStacks"] = stacks;
                ecr.config["ecrpull:grants"] = [
                    // Chained: one short trust statement for all twelve clusters.
                    {
                        name: "ci",
                        path: "chaining",
                        clusters: stacks,
                        serviceAccounts: [{ namespace: "ci", name: "builder" }],
                        repositories: ["platform/base-images"],
                    },
                ];
                fs.writeFileSync(path.join(dir, "Pulumi.ecr.yaml"), yaml.dump(ecr));
                stacks.forEach((_stack, i) => {
                    const config = {
                        "ecrpull:program": "eks",
                        "ecrpull:registryAccountId": "111122223333",
                        "ecrpull:cluster": { name: `apps-${i}`, create: false, nodeRoleArns: [] },
                        "ecrpull:oidcThumbprint": "omit",
                        "ecrpull:workloads": [{ namespace: "ci", serviceAccount: "builder", grant: "ci", path: "chaining" }],
                    };
                    fs.writeFileSync(path.join(dir, `Pulumi.eks-${i}.yaml`), yaml.dump({ config }));
                });
                const accounts = stacks.map((s, i) => `--account=${s.split("/").pop()}=${String(210000000000 + i)}`);
                const plan = await cli(["plan", "--dir", dir, ...accounts]);
                expect(plan.code, plan.err).to.equal(0);
                const progress = plan.err.trim().split("\n");
                expect(progress[0]).to.equal("ecrpull plan: cluster stack 1 of 12 (acme/ecrpull/eks-0)");
                expect(progress[progress.length - 1]).to.equal("ecrpull plan: cluster stack 12 of 12 (acme/ecrpull/eks-11)");
                expect(plan.out).to.not.contain("cluster stack 1 of 12");
                expect(plan.out).to.contain("12 clusters in 12 accounts");
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });

        it("writes the import file of an adopted registry: the one committed beside the example, and says how to use it", async () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecrpull-import-"));
            try {
                const file = path.join(dir, "import.json");
                const plan = await cli(["plan", "--dir", "examples/adopted-registry", "--import-file", file]);
                expect(plan.code, plan.err).to.equal(0);
                expect(plan.out).to.contain(
                    "  adopts OIDC provider https://oidc.eks.eu-west-1.amazonaws.com/id/72BEF45F68B3A71EBED87BB564DA546D, repository shop/api, repository shop/web",
                );
                expect(plan.out).to.contain(`--file ${path.relative(ROOT, file)} --generate-code=false --protect=false --yes`);
                expect(JSON.parse(fs.readFileSync(file, "utf8"))).to.deep.equal(
                    JSON.parse(fs.readFileSync(path.join(ROOT, "examples/adopted-registry/ecrpull-import.json"), "utf8")),
                );
                // Without adoption there is nothing to import, and no file.
                const none = path.join(dir, "none.json");
                const nothing = await cli(["plan", "--import-file", none]);
                expect(nothing.code).to.equal(0);
                expect(nothing.out).to.contain("  --import-file: ecrpull:adopt names nothing, so there is nothing to import and no file was written.");
                expect(fs.existsSync(none)).to.equal(false);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });

        it("refuses arguments it does not know, and a directory without an ECR stack file, with exit 2", async () => {
            const bad = await cli(["plan", "--acount", "eks=1"]);
            expect(bad.code).to.equal(2);
            expect(bad.err).to.contain(
                'ecrpull plan: unknown argument "--acount"; the options are --dir, --stack, --account, --documents, --json, --import-file, --help.',
            );
            const account = await cli(["plan", "--account", "eks=1"]);
            expect(account.err).to.contain('--account "eks=1" is not <eks stack>=<12-digit account> (e.g. eks=444455556666).');
            const empty = fs.mkdtempSync(path.join(os.tmpdir(), "ecrpull-cli-"));
            try {
                const none = await cli(["plan"], empty);
                expect(none.code).to.equal(2);
                expect(none.err).to.contain("no stack file runs the ECR program (ecrpull:program: ecr)");
            } finally {
                fs.rmSync(empty, { recursive: true, force: true });
            }
        });

        it("exits 1 with the program's message when a program refuses the config, as `pulumi up` would fail", async () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecrpull-cli-"));
            try {
                for (const file of ["Pulumi.yaml", "Pulumi.ecr.yaml"]) {
                    fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
                }
                const eks = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.eks.yaml"), "utf8")) as { config: Record<string, unknown> };
                eks.config["ecrpull:createNamespaces"] = "yes";
                fs.writeFileSync(path.join(dir, "Pulumi.eks.yaml"), yaml.dump(eks));
                const plan = await cli(["plan", "--dir", dir]);
                expect(plan.code).to.equal(2);
                // The CLI's own check of Pulumi.yaml's typed config comes first, as under `pulumi up`.
                expect(plan.err).to.contain('ecrpull:createNamespaces is "yes", not a boolean.');
                eks.config["ecrpull:createNamespaces"] = true;
                eks.config["ecrpull:workloads"] = [{ namespace: "Bad_NS", serviceAccount: "x", grant: "ci-builders" }];
                fs.writeFileSync(path.join(dir, "Pulumi.eks.yaml"), yaml.dump(eks));
                const refused = await cli(["plan", "--dir", dir]);
                expect(refused.code).to.equal(1);
                expect(refused.err).to.contain('Stack "eks" (EKS program): ecrpull:workloads[0].namespace "Bad_NS" is not a valid namespace');
                expect(refused.err).to.not.match(/\n\s+at /);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });
});
