/**
 * Grants written once: the EKS stacks read the same `ecrpull:grants` the ECR
 * stack reads (in practice imported from one Pulumi ESC environment), and a
 * workload names only its namespace, service account and grant.
 *
 * - The registered resources are the same as with each workload restating
 *   its grant's path and shards (release 0.2's form), which keeps working
 *   with a notice; a restated value that disagrees is refused.
 * - `ecrpull plan` resolves the stack files' `environment:` imports from the
 *   definitions in `esc/`, as the Pulumi CLI does before it runs a program.
 */
import { expect } from "chai";
import { warningsOf } from "./support/warnings";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ValidationError } from "../components/validation";
import { RecordedResource } from "../tools/engine/mock-engine";
import { runEksStack, runTwoStacks } from "../tools/engine/two-stacks";
import { clusterA, clusterB, GRANTS, registry } from "./support/fixtures";
import { runCli } from "../tools/cli/main";
import { effectiveStackConfig } from "../tools/state/esc";
import { StackFileError } from "../tools/state/stack-file";

const ROOT = path.resolve(__dirname, "..");

/** The fixtures' workloads as a user of grants written once writes them: no path, no shards. */
const bare = (workloads: unknown) => (workloads as Record<string, unknown>[]).map(({ path: _path, shards: _shards, ...rest }) => rest);
/** Each resource's URN and inputs as JSON (inputs may hold resource references, which differ by object between runs). */
const identities = (resources: readonly RecordedResource[]) => resources.map((r) => `${r.urn} ${JSON.stringify(r.inputs)}`).sort();

describe("grants written once", function () {
    this.timeout(60000);

    it("an EKS stack that reads ecrpull:grants registers what the workloads restating path and shards registered", async () => {
        const explicit = await runEksStack(clusterA());
        const workloads = bare(clusterA().config["ecrpull:workloads"]);
        const { result: once, warnings } = await warningsOf(() => runEksStack(clusterA({ "ecrpull:workloads": workloads, "ecrpull:grants": GRANTS })));
        expect(identities(once.resources)).to.deep.equal(identities(explicit.resources));
        expect(once.outputs.workloads).to.deep.equal(explicit.outputs.workloads);
        expect(warnings).to.deep.equal([]);
    });

    it("both stacks from one definition: the registry accepts the workloads and the access is the same", async () => {
        const eks = (c: typeof clusterA) => c({ "ecrpull:workloads": bare(c().config["ecrpull:workloads"]), "ecrpull:grants": GRANTS });
        const once = await runTwoStacks([eks(clusterA), eks(clusterB)], registry());
        const explicit = await runTwoStacks([clusterA(), clusterB()], registry());
        expect(identities(once.ecr.resources)).to.deep.equal(identities(explicit.ecr.resources));
    });

    it("release 0.2's workloads, restating path and shards that agree, keep working and say how to move", async () => {
        const { result, warnings } = await warningsOf(() => runEksStack(clusterA({ "ecrpull:grants": GRANTS })));
        expect(identities(result.resources)).to.deep.equal(identities((await runEksStack(clusterA())).resources));
        expect(warnings).to.deep.equal([
            'ecrpull:workloads[1] restates path of grant "payments", which this stack now reads from ecrpull:grants: remove path from the workload (release 0.2\'s form; it keeps working while the two agree).',
            'ecrpull:workloads[2] restates path of grant "ml", which this stack now reads from ecrpull:grants: remove path from the workload (release 0.2\'s form; it keeps working while the two agree).',
        ]);
    });

    it("refuses a restated path that disagrees with the definition, and a grant the definitions lack, before registering anything", async () => {
        const workloads = [
            { namespace: "ci", serviceAccount: "image-builder", grant: "ci-builders", path: "chaining" },
            { namespace: "ops", serviceAccount: "mirror", grant: "mirrors" },
        ];
        const error = await runEksStack(clusterA({ "ecrpull:workloads": workloads, "ecrpull:grants": GRANTS })).then(
            () => undefined,
            (e: unknown) => e as ValidationError,
        );
        expect(error).to.be.instanceOf(ValidationError);
        expect(error!.problems).to.deep.equal([
            'ecrpull:workloads[0].path "chaining" differs from grant "ci-builders"\'s path "federation" in ecrpull:grants, which the registry\'s pull roles are written for: remove path from the workload, and change the grant\'s definition if "chaining" is meant.',
            'ecrpull:workloads[1].grant "mirrors" is not defined in ecrpull:grants, which this stack reads: use one of the grants defined there ("ci-builders", "ml", "payments").',
        ]);
    });

    it("refuses a definition the cluster side cannot use", async () => {
        const error = await runEksStack(clusterA({ "ecrpull:grants": [{ name: "ci-builders", path: "irsa" }, { name: "Bad Name" }] })).then(
            () => undefined,
            (e: unknown) => e as ValidationError,
        );
        expect(error!.problems).to.deep.equal([
            'ecrpull:grants[0].path "irsa" is not one of "federation", "chaining", "podIdentity".',
            `ecrpull:grants[1].name "Bad Name" is not a valid grant name: use lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. "team-a").`,
        ]);
    });
});

describe("stack files' ESC environments, resolved from esc/ as the CLI would", function () {
    this.timeout(60000);
    const dirs: string[] = [];
    after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
    /** A project directory with the given files. */
    const project = (files: Record<string, string>) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecrpull-esc-"));
        dirs.push(dir);
        for (const [name, text] of Object.entries(files)) {
            fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
            fs.writeFileSync(path.join(dir, name), text);
        }
        return dir;
    };

    it("takes pulumiConfig from each environment and its imports, under the stack file's own config", () => {
        const dir = project({
            "esc/base.yaml": "values:\n  pulumiConfig:\n    ecrpull:tags: { owner: platform }\n    limits: { roles: 2000 }\n",
            "esc/grants.yaml": "imports: [ecrpull/base]\nvalues:\n  pulumiConfig:\n    ecrpull:tags: { owner: grants }\n    ecrpull:grants: [{ name: ci }]\n",
            "Pulumi.ecr.yaml": "environment: [ecrpull/grants, ecrpull/credentials]\nconfig:\n  ecrpull:limits: { roles: 3000 }\n",
        });
        expect(effectiveStackConfig(path.join(dir, "Pulumi.ecr.yaml"))).to.deep.equal({
            config: { "ecrpull:tags": { owner: "grants" }, "ecrpull:limits": { roles: 3000 }, "ecrpull:grants": [{ name: "ci" }] },
            unresolved: ["ecrpull/credentials"],
        });
    });

    it("refuses what only ESC can evaluate, naming the file and the key", () => {
        for (const [value, what] of [
            ["{ fn::open::aws-secrets: { login: x } }", "the call fn::open::aws-secrets"],
            ['"${grants.list}"', 'the reference "${grants.list}"'],
        ]) {
            const dir = project({
                "esc/grants.yaml": `values:\n  pulumiConfig:\n    ecrpull:grants: ${value}\n`,
                "Pulumi.ecr.yaml": "environment: [ecrpull/grants]\n",
            });
            expect(() => effectiveStackConfig(path.join(dir, "Pulumi.ecr.yaml"))).to.throw(
                StackFileError,
                `${path.join(dir, "esc/grants.yaml")}: values.pulumiConfig.ecrpull:grants holds ${what}, which only Pulumi ESC can evaluate`,
            );
        }
    });

    it("`ecrpull plan` of a project whose grants are written once: the eks stacks take each grant's path from them", async () => {
        let out = "";
        const code = await runCli(["plan", "--dir", path.join(ROOT, "examples/grants-once")], {
            cwd: ROOT,
            out: (text) => (out += text),
            err: () => undefined,
        });
        expect(code).to.equal(0);
        expect(out).to.contain("payments/release-deployer  grant payments, chaining");
        expect(out).to.contain("| apps-prod | payments/release-deployer | chaining | ecr-chain-payments-");
    });
});
