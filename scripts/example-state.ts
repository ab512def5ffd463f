/**
 * The example stack files run on the mock engine and written as the state
 * files `pulumi stack export --show-secrets` gives after `pulumi up` of each
 * stack: the input of the audit's README example and of its tests, since no
 * real deployment can be made on the machines this package is built on.
 *
 *   npx ts-node --transpile-only scripts/example-state.ts <dir> [--ecr Pulumi.ecr.yaml]
 *
 * writes <dir>/ecr.json and one <dir>/<stack>.json per EKS stack the ECR
 * stack lists, and prints their names.
 */
import * as fs from "fs";
import * as path from "path";
import { EcrProgramOutputs } from "../stacks/ecr";
import { EksProgramOutputs } from "../stacks/eks";
import { ProgramRun, Resolved } from "./mock-engine";
import { readStackConfig } from "./stack-file";
import { toStackExport } from "./stack-export";
import { runEcrStack, runEksStack } from "./two-stacks";

/** Accounts stand in for the credentials each `pulumi up` would run with. */
export const EXAMPLE_CLUSTER_ACCOUNTS = ["444455556666", "777788889999", "123456789012"];

export { readStackConfig } from "./stack-file";

export interface ExampleRuns {
    /** The EKS stacks by fully qualified name, in the order the ECR stack lists them. */
    readonly eks: readonly { readonly name: string; readonly accountId: string; readonly run: ProgramRun<Resolved<EksProgramOutputs>> }[];
    readonly ecr: ProgramRun<Resolved<EcrProgramOutputs>>;
}

/** Runs the EKS stacks the ECR stack file lists (`Pulumi.<last part>.yaml` beside it), then the ECR stack with their outputs. */
export async function runExampleStacks(ecrFile: string): Promise<ExampleRuns> {
    const ecrConfig = readStackConfig(ecrFile);
    const region = String(ecrConfig["aws:region"] ?? "us-east-1");
    const names = Array.isArray(ecrConfig["ecrpull:clusterStacks"]) ? (ecrConfig["ecrpull:clusterStacks"] as string[]) : [];
    const eks: { name: string; accountId: string; run: ProgramRun<Resolved<EksProgramOutputs>> }[] = [];
    let registryAccountId = "";
    for (const [i, name] of names.entries()) {
        const config = readStackConfig(path.join(path.dirname(ecrFile), `Pulumi.${name.split("/").pop()}.yaml`));
        registryAccountId ||= String(config["ecrpull:registryAccountId"] ?? "");
        const accountId = EXAMPLE_CLUSTER_ACCOUNTS[i % EXAMPLE_CLUSTER_ACCOUNTS.length];
        // No network: the thumbprint `pulumi up` would fetch is left empty.
        const run = await runEksStack({ name, config, accountId, region: String(config["aws:region"] ?? region), fetchThumbprint: async () => "" });
        eks.push({ name, accountId, run });
    }
    const references = Object.fromEntries(eks.map((e) => [e.name, e.run.outputs as Record<string, unknown>]));
    const ecr = await runEcrStack({ config: ecrConfig, accountId: registryAccountId || "111122223333", region }, references);
    return { eks, ecr };
}

/** Writes the example's state files into `dir`; returns their paths (ECR first). */
export async function writeExampleStates(dir: string, ecrFile: string): Promise<string[]> {
    const runs = await runExampleStacks(ecrFile);
    fs.mkdirSync(dir, { recursive: true });
    const files: string[] = [];
    const write = (stack: string, run: ProgramRun<unknown>) => {
        const file = path.join(dir, `${stack}.json`);
        fs.writeFileSync(file, `${JSON.stringify(toStackExport(run, { stack }), null, 2)}\n`);
        files.push(file);
    };
    write("ecr", runs.ecr);
    for (const e of runs.eks) {
        write(e.name.split("/").pop()!, e.run);
    }
    return files;
}

if (require.main === module) {
    const dir = process.argv[2];
    const i = process.argv.indexOf("--ecr");
    const ecrFile = path.resolve(path.resolve(__dirname, ".."), i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : "Pulumi.ecr.yaml");
    if (!dir || dir.startsWith("--")) {
        console.error("usage: ts-node scripts/example-state.ts <dir> [--ecr Pulumi.ecr.yaml]");
        process.exit(2);
    }
    writeExampleStates(dir, ecrFile).then(
        (files) => console.log(files.join("\n")),
        (error) => {
            console.error(error instanceof Error ? error.message : error);
            process.exit(1);
        },
    );
}
