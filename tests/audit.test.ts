/**
 * The audit (tools/audit/audit.ts, tools/cli/audit.ts): deployed states
 * are written from mock runs of the fixtures with toStackExport, then
 * tampered with (a widened trust, a repository policy with an extra action,
 * a removed resource, an unused grant...), and the findings are asserted.
 * The CLI is run end to end on files in a temp dir.
 */
import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { issuerHostPath } from "../components/iam/names";
import { policySize, sidSuffix } from "../components/iam/policies";
import { DEFAULT_LIMITS } from "../components/iam/quotas";
import { parseStackExport, StackExport } from "../tools/state/stack-export";
import { AuditError, auditStates, canonical, differences, Finding, StateSet } from "../tools/audit/audit";
import { runAudit } from "../tools/cli/audit";
import { ProgramRun } from "../tools/engine/mock-engine";
import { toStackExport } from "../tools/state/from-run";
import { EcrStackRun, EksStackRun, runTwoStacks } from "../tools/engine/two-stacks";
import { ACCOUNT_B, clusterA, clusterB, clusterUs, GRANTS, NODE_ROLE_B, registry, replicatedRegistry } from "./support/fixtures";

const ROOT = path.resolve(__dirname, "..");

type Export = Record<string, any>;

interface Deployment {
    readonly dir: string;
    readonly files: { ecr: string; eks: string[] };
    readonly exports: { ecr: Export; eks: Export[] };
}

const short = (name: string) => name.split("/").pop()!;

/** Temp dirs of this run, removed at the end. */
const dirs: string[] = [];

/** Runs the stacks, writes their exports and stack files into a fresh temp dir. */
async function deploy(eks: EksStackRun[], ecr: EcrStackRun, exportOptions: { encryptSecrets?: boolean; secretOutputs?: string[] } = {}): Promise<Deployment> {
    const run = await runTwoStacks(eks, ecr);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecrpull-audit-"));
    dirs.push(dir);
    const write = (stack: string, r: ProgramRun<unknown>, config: Record<string, unknown>) => {
        fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), yaml.dump({ config }));
        const exported = toStackExport(r, { stack, ...exportOptions });
        fs.writeFileSync(path.join(dir, `${stack}.json`), JSON.stringify(exported));
        return exported;
    };
    const exports = { ecr: write("ecr", run.ecr, ecr.config), eks: eks.map((e, i) => write(short(e.name), run.eks[i], e.config)) };
    return { dir, exports, files: { ecr: path.join(dir, "ecr.json"), eks: eks.map((e) => path.join(dir, `${short(e.name)}.json`)) } };
}

/** Rewrites one export file through `change`. */
function tamper(file: string, change: (exported: Export) => void): void {
    const exported = JSON.parse(fs.readFileSync(file, "utf8"));
    change(exported);
    fs.writeFileSync(file, JSON.stringify(exported));
}

const resource = (exported: Export, urnEnd: string) => {
    const found = exported.deployment.resources.find((r: { urn: string }) => r.urn.endsWith(urnEnd));
    expect(found, urnEnd).to.exist;
    return found;
};

/** Changes a JSON document field in both inputs and outputs, as a console edit followed by `pulumi refresh` would. */
function editDocument(exported: Export, urnEnd: string, key: string, change: (document: any) => void): void {
    const r = resource(exported, urnEnd);
    const document = JSON.parse(r.inputs[key]);
    change(document);
    r.outputs[key] = JSON.stringify(document);
}

const audit = (d: Deployment) => runAudit({ ecrFile: d.files.ecr, eksFiles: d.files.eks, configDir: d.dir });
const summary = (findings: readonly Finding[]) => findings.map((x) => `${x.severity} ${x.kind} ${x.stack}: ${x.message}`);

describe("audit of deployed stacks", function () {
    this.timeout(120000);
    after(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

    it("finds nothing in stacks deployed by the current code, having compared every resource", async () => {
        const d = await deploy([clusterA(), clusterB()], registry());
        const result = await audit(d);
        expect(summary(result.findings)).to.deep.equal([]);
        expect(result.compared).to.be.greaterThan(50);
        expect(result.measured).to.be.greaterThan(20);
        // The access report comes from the deployed documents.
        expect(result.access.totals).to.deep.equal({ federation: 4, chaining: 2, podIdentity: 2, node: 7 });
    });

    it("refuses the export of a stack the registry does not list (no grant is scoped), naming the file", async () => {
        const d = await deploy([clusterA(), clusterB()], registry());
        const extra = path.join(d.dir, "eks-extra.json");
        // Another cluster's export: clusterB's, its URNs moved to a stack the registry does not list.
        const text = fs.readFileSync(d.files.eks[1], "utf8");
        fs.writeFileSync(extra, text.split(`urn:pulumi:${short(clusterB().name)}::`).join("urn:pulumi:eks-extra::"));
        let error: unknown;
        try {
            await runAudit({ ecrFile: d.files.ecr, eksFiles: [...d.files.eks, extra], configDir: d.dir });
        } catch (e) {
            error = e;
        }
        expect(String(error)).to.contain(`${extra}: the stack eks-extra is not one the ecr stack references`);
    });

    it("reports a widened trust policy as drift, with the path of each difference", async () => {
        const d = await deploy([clusterA(), clusterB()], registry());
        const issuer = issuerHostPath(String(d.exports.eks[1].deployment.resources[0].outputs.oidcIssuerUrl));
        tamper(d.files.ecr, (e) =>
            editDocument(e, "aws:iam/role:Role::registry-ci-builders-role", "assumeRolePolicy", (doc) => {
                for (const statement of doc.Statement.filter((s: any) => s.Condition.StringEquals[`${issuer}:sub`])) {
                    delete statement.Condition.StringEquals[`${issuer}:sub`];
                    statement.Condition.StringLike = { [`${issuer}:sub`]: "system:serviceaccount:*" };
                }
            }),
        );
        const result = await audit(d);
        expect(summary(result.findings)).to.deep.equal([
            "error drift ecr: aws:iam/role:Role registry-ci-builders-role: [assumeRolePolicy] differs from what the current code generates.",
        ]);
        const sid = JSON.parse(resource(d.exports.ecr, "registry-ci-builders-role").inputs.assumeRolePolicy).Statement.find(
            (s: any) => s.Condition.StringEquals[`${issuer}:sub`],
        ).Sid;
        expect(result.findings[0].details).to.deep.equal([
            `assumeRolePolicy.Statement[${sid}].Condition.StringEquals.${issuer}:sub: deployed (absent), generated "system:serviceaccount:ci:image-builder"`,
            `assumeRolePolicy.Statement[${sid}].Condition.StringLike: deployed {"${issuer}:sub":"system:serviceaccount:*"}, generated (absent)`,
        ]);
    });

    it("audits replicas per region: a replica's policy that admits another region's node role is drift of that replica", async () => {
        const d = await deploy([clusterA(), clusterB(), clusterUs()], replicatedRegistry());
        expect(summary((await audit(d)).findings).filter((f) => !f.includes("unused grant"))).to.deep.equal([]);
        tamper(d.files.ecr, (e) =>
            editDocument(e, "aws:ecr/repositoryPolicy:RepositoryPolicy::registry-platform/base@us-east-1-policy", "policy", (doc) => {
                const nodes = doc.Statement.find((s: any) => s.Sid === "PullByNodeRoles");
                nodes.Principal.AWS = [nodes.Principal.AWS, `arn:aws:iam::${ACCOUNT_B}:root`].flat();
                nodes.Condition.ArnEquals["aws:PrincipalArn"] = [nodes.Condition.ArnEquals["aws:PrincipalArn"], NODE_ROLE_B].flat();
            }),
        );
        const result = await audit(d);
        expect(summary(result.findings).filter((f) => !f.includes("unused grant"))).to.deep.equal([
            "error drift ecr: aws:ecr/repositoryPolicy:RepositoryPolicy registry-platform/base@us-east-1-policy: [policy] differs from what the current code generates.",
        ]);
        // And the access report of the deployed documents shows what that drift lets in.
        const b = result.access.principals.find((p) => p.cluster === "eks-b" && p.kind === "node")!;
        expect(b.access.map((a) => a.repository)).to.include("platform/base (us-east-1)");
    });

    it("reports a repository policy with an extra action, and a removed resource", async () => {
        const d = await deploy([clusterA(), clusterB()], registry());
        tamper(d.files.ecr, (e) => {
            editDocument(e, "registry-ci/cache-policy", "policy", (doc) => doc.Statement[0].Action.push("ecr:PutImage"));
            e.deployment.resources = e.deployment.resources.filter((r: { urn: string }) => !r.urn.endsWith("registry-ml/models-policy"));
        });
        const result = await audit(d);
        expect(summary(result.findings)).to.deep.equal([
            "error drift ecr: aws:ecr/repositoryPolicy:RepositoryPolicy registry-ci/cache-policy: [policy] differs from what the current code generates.",
            "error missing ecr: aws:ecr/repositoryPolicy:RepositoryPolicy registry-ml/models-policy is not deployed; the current code would create it.",
        ]);
        expect(result.findings[0].details).to.deep.equal(['policy.Statement[PullByGrantRoles].Action: deployed also has "ecr:PutImage"']);
        // The report reads the deployed documents: without its policy, node roles of other accounts cannot pull ml/models;
        // the pull role, in the repository's own account, still can by its identity policy alone.
        const pulling = (repository: string) => result.access.principals.filter((p) => p.access.some((e) => e.repository === repository)).map((p) => p.kind);
        expect(pulling("ml/models")).to.deep.equal(["serviceAccount", "serviceAccount"]);
        expect(pulling("ci/cache")).to.include("node");
    });

    it("reports a resource the code no longer declares, and a ServiceAccount annotated with another role", async () => {
        const d = await deploy([clusterA(), clusterB()], registry());
        tamper(d.files.eks[0], (e) => {
            const sa = resource(e, "ServiceAccount::workloads-ci/image-builder");
            sa.outputs.metadata.annotations["eks.amazonaws.com/role-arn"] = "arn:aws:iam::111122223333:role/ecr-pull-payments";
            const copy = JSON.parse(JSON.stringify(resource(e, "ConfigMap::workloads-payments/ecr-pull-payments")));
            copy.urn = copy.urn.replace("workloads-payments/ecr-pull-payments", "workloads-payments/left-over");
            e.deployment.resources.push(copy);
        });
        const result = await audit(d);
        expect(summary(result.findings)).to.deep.equal([
            'error drift eks-a: kubernetes:core/v1:ServiceAccount workloads-ci/image-builder: [metadata.annotations["eks.amazonaws.com/role-arn"]] differs from what the current code generates.',
            "error extra eks-a: kubernetes:core/v1:ConfigMap workloads-payments/left-over is deployed but the current code does not declare it; the next `pulumi up` would delete it.",
        ]);
    });

    it("does not count key order, list order or a single value against a one-element list as drift", async () => {
        const d = await deploy([clusterA(), clusterB()], registry());
        tamper(d.files.ecr, (e) =>
            editDocument(e, "registry-payments-pull", "policy", (doc) => {
                doc.Statement.reverse();
                for (const s of doc.Statement) {
                    s.Action = Array.isArray(s.Action) ? [...s.Action].reverse() : [s.Action];
                }
                const reordered = Object.fromEntries(Object.entries(doc).reverse());
                Object.keys(doc).forEach((k) => delete doc[k]);
                Object.assign(doc, reordered);
            }),
        );
        expect(summary((await audit(d)).findings)).to.deep.equal([]);
    });

    it("takes what only a provider computes from the state: a created cluster's issuer is not drift", async () => {
        const d = await deploy([clusterA(), clusterB()], registry());
        const generated = issuerHostPath(String(d.exports.eks[0].deployment.resources[0].outputs.oidcIssuerUrl));
        const real = "oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF";
        const nodeRole = String(d.exports.eks[0].deployment.resources[0].outputs.nodeRoleArns[0]).split("/").pop()!;
        // As if EKS had given the cluster another issuer (every document of both stacks names it, and the Sids derived from it)
        // and IAM had auto-named the node role differently.
        for (const file of [d.files.ecr, d.files.eks[0]]) {
            const text = fs.readFileSync(file, "utf8");
            fs.writeFileSync(
                file,
                text.split(generated).join(real).split(sidSuffix(generated)).join(sidSuffix(real)).split(nodeRole).join("cluster-node-role-realaws"),
            );
        }
        const result = await audit(d);
        expect(summary(result.findings)).to.deep.equal([]);
        expect(JSON.stringify(result.access)).to.include(real);
        expect(result.access.principals.find((p) => p.kind === "node" && p.cluster === "eks-a")!.nodeRoleArn).to.equal(
            `arn:aws:iam::${"444455556666"}:role/cluster-node-role-realaws`,
        );
    });

    it("warns about a grant no workload uses, saying whether node roles still reach its repositories", async () => {
        const grants = [
            ...GRANTS,
            {
                name: "archive",
                clusters: ["acme/ecrpull/eks-a"],
                serviceAccounts: [{ namespace: "archive", name: "reader" }],
                repositories: ["archive/legacy"],
            },
        ];
        const d = await deploy([clusterA(), clusterB()], registry({ "ecrpull:grants": grants }));
        const result = await audit(d);
        const node = String(d.exports.eks[0].deployment.resources[0].outputs.nodeRoleArns[0]).split("/").pop();
        expect(summary(result.findings)).to.deep.equal([
            `warning unused grant ecr: grant "archive": no workload of eks-a, eks-b uses its pull role ecr-pull-archive; node roles (${node}) still pull its repositories (archive/legacy) through the repository policies it adds them to.`,
        ]);
        expect(result.findings[0].severity).to.equal("warning");
    });

    describe("on states given directly (the pure module)", () => {
        let states: StateSet;
        before(async () => {
            const run = await runTwoStacks([clusterA(), clusterB()], registry());
            const state = (r: ProgramRun<unknown>, stack: string): StackExport =>
                parseStackExport(JSON.stringify(toStackExport(r, { stack })), `${stack}.json`);
            states = { registry: state(run.ecr, "ecr"), clusters: [state(run.eks[0], "eks-a"), state(run.eks[1], "eks-b")] };
        });

        it("flags documents within 10% of their quota, and over it, against the limits it is given", () => {
            const trust = states.registry.resources.find((r) => r.urn.endsWith("registry-ci-builders-role"))!;
            const size = policySize(String(trust.inputs.assumeRolePolicy));
            const near = auditStates(states, states, { ...DEFAULT_LIMITS, trustPolicy: size + 1 });
            const percent = Math.round((size / (size + 1)) * 100);
            expect(summary(near.findings)).to.include(
                `warning near quota ecr: the trust policy of ecr-pull-ci-builders is ${size} characters of ${(size + 1).toLocaleString("en-US")} (${percent}%), within 10% of its quota.`,
            );
            const over = auditStates(states, states, { ...DEFAULT_LIMITS, trustPolicy: size - 1 });
            expect(summary(over.findings)).to.include(
                `error over quota ecr: the trust policy of ecr-pull-ci-builders is ${size} characters; the quota is ${(size - 1).toLocaleString("en-US")} (${Math.round((size / (size - 1)) * 100)}%).`,
            );
            const counted = auditStates(states, states, { ...DEFAULT_LIMITS, oidcProviders: 2 });
            expect(summary(counted.findings)).to.include(
                "warning near quota ecr: the registry account's IAM OIDC providers (this stack's) is 2 providers of 2 (100%), within 10% of its quota.",
            );
            expect(summary(auditStates(states, states, DEFAULT_LIMITS).findings)).to.deep.equal([]);
        });

        it("reports a workload whose pull role the registry does not have", () => {
            const outputs = states.clusters[1].outputs as { workloads: { roleArn: string }[] };
            const workloads = outputs.workloads.map((w, i) => (i === 0 ? { ...w, roleArn: "arn:aws:iam::111122223333:role/ecr-pull-gone" } : w));
            const broken = { ...states.clusters[1], outputs: { ...outputs, workloads } };
            const result = auditStates({ ...states, clusters: [states.clusters[0], broken] }, states, DEFAULT_LIMITS);
            expect(summary(result.findings)).to.deep.equal([
                "error dangling role eks-b: workload ci/image-builder reaches for arn:aws:iam::111122223333:role/ecr-pull-gone, which the registry stack ecr does not have: its pods get AccessDenied.",
            ]);
        });

        it("compares canonically and names each difference by its path", () => {
            expect(canonical({ b: ["y", "x", "x"], a: ["z"] })).to.deep.equal({ a: "z", b: ["x", "y"] });
            expect(differences(canonical({ Action: ["a", "b"] }), canonical({ Action: "a" }))).to.deep.equal(['Action: deployed also has "b"']);
            expect(
                differences(canonical({ Statement: [{ Sid: "S", Effect: "Allow" }] }), canonical({ Statement: [{ Sid: "S", Effect: "Deny" }] })),
            ).to.deep.equal(['Statement[S].Effect: deployed "Allow", generated "Deny"']);
        });
    });

    describe("refuses input it cannot audit, naming the file", () => {
        it("an export with encrypted secrets", async () => {
            const d = await deploy([clusterA(), clusterB()], registry(), { encryptSecrets: true, secretOutputs: ["nodeRoleArns"] });
            let error: unknown;
            await audit(d).catch((e) => (error = e));
            expect(error).to.be.instanceOf(AuditError);
            expect((error as Error).message).to.equal(
                `${d.files.eks[0]}: 1 value(s) are encrypted (urn:pulumi:eks-a::ecrpull::pulumi:pulumi:Stack::ecrpull-eks-a outputs.nodeRoleArns); export the stack with \`pulumi stack export --show-secrets --file <file>\` so the audit can read them.`,
            );
        });

        it("a referenced stack without its export, and a stack without its stack file", async () => {
            const d = await deploy([clusterA(), clusterB()], registry());
            let error: unknown;
            await runAudit({ ecrFile: d.files.ecr, eksFiles: [d.files.eks[0]], configDir: d.dir }).catch((e) => (error = e));
            expect((error as Error).message).to.equal(
                `${d.files.ecr}: the ecr stack references acme/ecrpull/eks-b, but no --eks export is of the stack eks-b (given: eks-a).`,
            );
            fs.rmSync(path.join(d.dir, "Pulumi.eks-b.yaml"));
            await audit(d).catch((e) => (error = e));
            expect((error as Error).message).to.equal(
                `${d.files.eks[1]}: the stack eks-b has no stack file ${path.join(d.dir, "Pulumi.eks-b.yaml")} (config is not in the state); give --config-dir with the project's Pulumi.<stack>.yaml files.`,
            );
        });
    });

    describe("the CLI", () => {
        const cli = (args: string[]) =>
            spawnSync("npx", ["ts-node", "--transpile-only", path.join(ROOT, "tools/cli/main.ts"), "audit", ...args], {
                cwd: ROOT,
                encoding: "utf8",
                timeout: 120000,
            });

        it("exits 0 on clean stacks, 1 on drift (printing it), with --json valid JSON, and 2 on a file it cannot read", async () => {
            const d = await deploy([clusterA(), clusterB()], registry());
            const args = ["--ecr", d.files.ecr, "--eks", d.files.eks[0], "--eks", d.files.eks[1], "--config-dir", d.dir];
            const clean = cli(args);
            expect(clean.status, clean.stderr).to.equal(0);
            expect(clean.stdout).to.include("0 error(s), 0 warning(s).");
            expect(clean.stdout).to.include("| apps-a, apps-b | ci/image-builder | federation | ecr-pull-ci-builders | ci/cache, platform/base |");
            expect(clean.stdout).to.include("flowchart LR");

            tamper(d.files.ecr, (e) => editDocument(e, "registry-ci/cache-policy", "policy", (doc) => doc.Statement[0].Action.push("ecr:PutImage")));
            const drift = cli(args);
            expect(drift.status).to.equal(1);
            expect(drift.stdout).to.include("1 error(s), 0 warning(s).");
            expect(drift.stdout).to.include(
                '- ERROR drift (stack ecr): aws:ecr/repositoryPolicy:RepositoryPolicy registry-ci/cache-policy: [policy] differs from what the current code generates.\n    policy.Statement[PullByGrantRoles].Action: deployed also has "ecr:PutImage"',
            );

            const json = cli([...args, "--json"]);
            expect(json.status).to.equal(1);
            const parsed = JSON.parse(json.stdout);
            expect(parsed.ok).to.equal(false);
            expect(parsed.findings.map((x: Finding) => x.kind)).to.deep.equal(["drift"]);
            expect(parsed.access.principals).to.have.length(7);

            const missing = cli(["--ecr", path.join(d.dir, "nope.json"), "--eks", d.files.eks[0]]);
            expect(missing.status).to.equal(2);
            expect(missing.stderr.trim().split("\n").pop()).to.equal(`${path.join(d.dir, "nope.json")}: cannot be read (ENOENT).`);
            const usage = cli(["--eks", d.files.eks[0], "--verbose"]);
            expect(usage.status).to.equal(2);
            expect(usage.stderr).to.include(
                'ecrpull audit: unknown argument "--verbose"; the options are --ecr, --eks, --config-dir, --org-path, --json, --help.\nusage: ecrpull audit --ecr <ecr export> --eks <eks export>',
            );
        });
    });
});
