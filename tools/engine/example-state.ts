/**
 * The example stack files run on the mock engine and written as the state
 * files `pulumi stack export --show-secrets` gives after `pulumi up` of each
 * stack: the input of the audit's README example and of its tests, since no
 * real deployment can be made on the machines this package is built on.
 *
 *   npx ts-node --transpile-only tools/engine/example-state.ts <dir> [--ecr Pulumi.ecr.yaml]
 *
 * writes <dir>/ecr.json and one <dir>/<stack>.json per EKS stack the ECR
 * stack lists, and prints their names.
 */
import * as fs from "fs";
import * as path from "path";
import { EcrProgramOutputs } from "../../stacks/ecr";
import { EksProgramOutputs } from "../../stacks/eks";
import { ProgramRun, Resolved } from "./mock-engine";
import { runProject } from "./project-run";
import { toStackExport } from "../state/from-run";
import { describeFailure } from "../cli/errors";

export { EXAMPLE_CLUSTER_ACCOUNTS } from "./project-run";

export interface ExampleRuns {
    /** The EKS stacks by fully qualified name, in the order the ECR stack lists them. */
    readonly eks: readonly { readonly name: string; readonly accountId: string; readonly run: ProgramRun<Resolved<EksProgramOutputs>> }[];
    readonly ecr: ProgramRun<Resolved<EcrProgramOutputs>>;
}

/** Runs the EKS stacks the ECR stack file lists (`Pulumi.<last part>.yaml` beside it), then the ECR stack with their outputs. */
export async function runExampleStacks(ecrFile: string): Promise<ExampleRuns> {
    const project = await runProject({ ecrFile });
    return { eks: project.eks, ecr: project.ecr.run };
}

/** Writes the example's state files into `dir`, clusters that join by organization scope included; returns their paths (ECR first). */
export async function writeExampleStates(dir: string, ecrFile: string): Promise<string[]> {
    const project = await runProject({ ecrFile });
    const runs = { ecr: project.ecr.run, eks: [...project.eks, ...project.joining] };
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
    const ecrFile = path.resolve(process.cwd(), i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : "Pulumi.ecr.yaml");
    if (!dir || dir.startsWith("--")) {
        console.error("usage: ts-node tools/engine/example-state.ts <dir> [--ecr Pulumi.ecr.yaml]");
        process.exit(2);
    }
    writeExampleStates(dir, ecrFile).then(
        (files) => console.log(files.join("\n")),
        (error) => {
            console.error(describeFailure(error));
            process.exit(1);
        },
    );
}
