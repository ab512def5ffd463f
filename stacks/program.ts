/**
 * The Pulumi program: one project, two stacks. Also `ecrpull/stacks` for a
 * project of one's own: `import { main } from "ecrpull/stacks"; export = main();`. `ecrpull:program` chooses
 * which program a stack runs ("eks" in cluster accounts, "ecr" in the
 * registry account); without it, a stack named `eks` or `ecr` runs that one.
 *
 * Each program is loaded only when the stack runs it: the EKS program's modules
 * bring `@pulumi/kubernetes` and `@pulumi/eks`, which the registry account's
 * stack never uses (bench/process.ts measures the ECR stack's whole process).
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, pulumiConfigReader } from "./config";

export function selectProgram(configured: string | undefined, stack: string): "eks" | "ecr" {
    const choice = configured ?? stack;
    if (choice === "eks" || choice === "ecr") {
        return choice;
    }
    const where =
        configured === undefined ? `stack "${stack}" has no ${CONFIG_NAMESPACE}:program` : `${CONFIG_NAMESPACE}:program is ${JSON.stringify(configured)}`;
    throw new pulumi.RunError(`${where}: set ${CONFIG_NAMESPACE}:program to "eks" (cluster account) or "ecr" (registry account).`);
}

export async function main(): Promise<Record<string, unknown>> {
    const config = pulumiConfigReader();
    const program = selectProgram(new pulumi.Config(CONFIG_NAMESPACE).get("program"), pulumi.getStack());
    // `require`, not `import()`: under `pulumi up` ts-node compiles with `module: nodenext`, which keeps an
    // `import()` as Node's ESM import, and that does not resolve "./eks" to eks.ts (the langhost tests run it so).
    if (program === "eks") {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only by the stacks that run it
        const { eksProgram } = require("./eks") as typeof import("./eks");
        return eksProgram(config);
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only by the stacks that run it
    const { ecrProgram } = require("./ecr") as typeof import("./ecr");
    return ecrProgram(config);
}
