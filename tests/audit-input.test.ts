/**
 * The audit on files it cannot audit: every malformed export or stack file
 * gives a message that names the file and what is wrong, never a TypeError
 * or a parser's stack (issue 12, "the audit stops with a TypeError or a YAML
 * parser's stack").
 */
import { expect } from "chai";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import { runAudit } from "../tools/cli/audit";
import { toStackExport } from "../tools/state/from-run";
import { runTwoStacks } from "../tools/engine/two-stacks";
import { isUserFacingError } from "../tools/cli/errors";
import { clusterA, GRANTS, registry } from "./support/fixtures";

type Export = Record<string, any>;

describe("the audit refuses malformed files with a message, never a crash", () => {
    let dir: string;
    let good: { ecr: string; eks: string; ecrStack: string; eksStack: string };

    before(async () => {
        const eks = clusterA();
        const ecr = registry({ "ecrpull:clusterStacks": [eks.name], "ecrpull:grants": GRANTS.map((g) => ({ ...g, clusters: [eks.name] })) });
        const run = await runTwoStacks([eks], ecr);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ecrpull-audit-input-"));
        good = {
            ecr: JSON.stringify(toStackExport(run.ecr, { stack: "ecr" })),
            eks: JSON.stringify(toStackExport(run.eks[0], { stack: "eks-a" })),
            ecrStack: yaml.dump({ config: ecr.config }),
            eksStack: yaml.dump({ config: eks.config }),
        };
    });

    after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

    /** Writes the four files, each changed by its mutator, and audits them. */
    async function audit(change: Partial<Record<keyof typeof good, (text: string) => string>>): Promise<unknown> {
        const write = (name: string, key: keyof typeof good) => {
            const file = path.join(dir, name);
            fs.writeFileSync(file, (change[key] ?? ((t: string) => t))(good[key]));
            return file;
        };
        const ecrFile = write("ecr.json", "ecr");
        const eksFile = write("eks-a.json", "eks");
        write("Pulumi.ecr.yaml", "ecrStack");
        write("Pulumi.eks-a.yaml", "eksStack");
        try {
            await runAudit({ ecrFile, eksFiles: [eksFile], configDir: dir });
            return undefined;
        } catch (error) {
            return error;
        }
    }

    const json = (mutate: (e: Export) => void) => (text: string) => {
        const e = JSON.parse(text);
        mutate(e);
        return JSON.stringify(e);
    };
    const eksResource = (e: Export, type: string) => e.deployment.resources.find((r: Export) => r.type === type);

    const cases: [string, Partial<Record<keyof typeof good, (text: string) => string>>, RegExp][] = [
        ["an export that is not JSON", { ecr: () => "{ nope" }, /ecr\.json: not JSON/],
        ["an export whose resources are not a list", { eks: json((e) => (e.deployment.resources = {})) }, /eks-a\.json: has no \[deployment\.resources\]/],
        ["a resource that is null", { eks: json((e) => e.deployment.resources.push(null)) }, /eks-a\.json: resource #\d+ has no \[urn\] or \[type\]/],
        [
            "a secret whose plaintext is not JSON",
            {
                eks: json(
                    (e) =>
                        (eksResource(e, "pulumi:pulumi:Stack").outputs.region = {
                            "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                            plaintext: "{x",
                        }),
                ),
            },
            /eks-a\.json: .*secret.*not JSON/,
        ],
        ["stack outputs that are not a mapping", { eks: json((e) => (eksResource(e, "pulumi:pulumi:Stack").outputs = "x")) }, /eks-a\.json: .*outputs/],
        [
            "a cluster output of the wrong type",
            { eks: json((e) => (eksResource(e, "pulumi:pulumi:Stack").outputs.nodeRoleArns = "arn")) },
            /output nodeRoleArns "arn" is not a list/,
        ],
        [
            "resource outputs that are text",
            { ecr: json((e) => (eksResource(e, "aws:iam/role:Role").outputs = "x")) },
            /ecr\.json: urn:.* has \[outputs\] that are not a mapping/,
        ],
        [
            "a resource whose type is not a string",
            { eks: json((e) => (eksResource(e, "aws:iam/role:Role").type = 5)) },
            /eks-a\.json: resource #\d+ has no \[urn\] or \[type\]/,
        ],
        ["a policy that is a number", { ecr: json((e) => (eksResource(e, "aws:iam/role:Role").outputs.assumeRolePolicy = 7)) }, /ecr\.json/],
        ["a stack file that is not YAML", { eksStack: () => "config:\n  ecrpull:cluster: [unclosed\n" }, /Pulumi\.eks-a\.yaml: not YAML/],
        ["a stack file that is a list", { ecrStack: () => "- a\n- b\n" }, /Pulumi\.ecr\.yaml: .*mapping/],
        ["a stack file whose config is a list", { ecrStack: () => "config:\n  - a\n" }, /Pulumi\.ecr\.yaml: .*config/],
        ["a stack file with invalid config", { eksStack: (t) => t.replace("apps-a", "apps a") }, /ecrpull:cluster\.name "apps a" is not an EKS cluster name/],
    ];
    for (const [what, change, message] of cases) {
        it(`${what}`, async () => {
            const error = await audit(change);
            expect(error, "the audit must refuse it").to.be.instanceOf(Error);
            expect(isUserFacingError(error), `${(error as Error).name}: ${(error as Error).message}`).to.equal(true);
            expect((error as Error).message).to.match(message);
        });
    }

    it("audits the untouched files (the cases above are the only change)", async () => {
        expect(await audit({})).to.equal(undefined);
    });
});
