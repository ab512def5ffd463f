/**
 * The Pulumi program: one project, two stacks. Also `ecrpull/stacks` for a
 * project of one's own: `import { main } from "ecrpull/stacks"; export = main();`. `ecrpull:program` chooses
 * which program a stack runs ("eks" in cluster accounts, "ecr" in the
 * registry account); without it, a stack named `eks` or `ecr` runs that one.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, pulumiConfigReader } from "./config";
import { ecrProgram } from "./ecr";
import { eksProgram } from "./eks";

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
    return program === "eks" ? eksProgram(config) : ecrProgram(config);
}
