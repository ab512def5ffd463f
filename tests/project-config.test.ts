/**
 * The project's typed config (Pulumi.yaml `config:`), the example stack files
 * against it, and the ESC environments the stack files import: what the
 * Pulumi CLI would check before running either program.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { DECLARED_DEFAULTS } from "../stacks/config";
import { checkDeclarations, checkStackConfig, readProject, withDeclaredDefaults } from "../tools/state/project-config";
import { runEcrStack, runEksStack } from "../tools/engine/two-stacks";
import { REGISTRY_ACCOUNT } from "./support/fixtures";

const ROOT = path.resolve(__dirname, "..");
const project = readProject(path.join(ROOT, "Pulumi.yaml"));
const STACK_FILES = ["Pulumi.eks.yaml", "Pulumi.ecr.yaml"];

interface StackFile {
    readonly environment?: string[];
    readonly config: Record<string, unknown>;
}
const stackFile = (name: string) => yaml.load(fs.readFileSync(path.join(ROOT, name), "utf8")) as StackFile;

describe("typed project config and the example stack files", () => {
    it("declares valid types and defaults", () => {
        expect(checkDeclarations(project)).to.deep.equal([]);
        expect(Object.keys(project.config)).to.include.members(["program", "oidcThumbprint", "createNamespaces", "nodePullScope"]);
        for (const [key, declaration] of Object.entries(project.config)) {
            expect(declaration.description, `config.${key} has a description`).to.be.a("string").and.not.equal("");
        }
    });

    it("declares exactly the defaults the programs ignore when they reach the other account's stack", () => {
        const declared = Object.fromEntries(
            Object.entries(project.config)
                .filter(([, d]) => d.default !== undefined)
                .map(([k, d]) => [k, d.default]),
        );
        expect(declared).to.deep.equal(DECLARED_DEFAULTS);
    });

    for (const file of STACK_FILES) {
        it(`${file} conforms to the declarations`, () => {
            expect(checkStackConfig(project, stackFile(file).config, file)).to.deep.equal([]);
        });
    }

    it("reports a stack value of the wrong type and a required key that is missing, as the CLI would refuse them", () => {
        const config = { ...stackFile("Pulumi.eks.yaml").config, "ecrpull:createNamespaces": "yes" } as Record<string, unknown>;
        delete config["ecrpull:program"];
        expect(checkStackConfig(project, config, "Pulumi.eks.yaml")).to.deep.equal([
            "Pulumi.eks.yaml: ecrpull:program is missing: Pulumi.yaml declares it without a default, so every stack sets it.",
            'Pulumi.eks.yaml: ecrpull:createNamespaces is "yes", not a boolean.',
        ]);
        expect(
            checkDeclarations({ name: "ecrpull", config: { tags: { type: "object" }, limits: { type: "array" }, size: { type: "integer", default: "10" } } }),
        ).to.deep.equal([
            'config.tags: type "object" is not one of string, integer, boolean, array.',
            "config.limits.items: type undefined is not one of string, integer, boolean, array.",
            'config.size: default "10" is not a integer.',
        ]);
    });

    it("runs both example stacks with the declared defaults added, as the CLI hands them over", async () => {
        const eksConfig = withDeclaredDefaults(project, stackFile("Pulumi.eks.yaml").config);
        const ecrConfig = withDeclaredDefaults(project, stackFile("Pulumi.ecr.yaml").config);
        // The ECR stack receives the EKS-only keys with their defaults, and the other way round.
        expect(ecrConfig["ecrpull:oidcThumbprint"]).to.equal("fetch");
        expect(eksConfig["ecrpull:nodePullScope"]).to.equal("roles");
        const eks = await runEksStack({
            name: "acme/ecrpull/eks",
            config: eksConfig,
            accountId: "444455556666",
            region: "eu-west-1",
            fetchThumbprint: async () => "",
        });
        const ecr = await runEcrStack(
            { config: ecrConfig, accountId: REGISTRY_ACCOUNT, region: "eu-west-1" },
            { "acme/ecrpull/eks": eks.outputs as Record<string, unknown> },
        );
        expect(Object.keys(ecr.outputs.pullRoleArns ?? {})).to.include("ci-builders");
    });

    it("still rejects a key of the other program that is set to something other than its declared default", async () => {
        const ecrConfig = withDeclaredDefaults(project, { ...stackFile("Pulumi.ecr.yaml").config, "ecrpull:oidcThumbprint": "omit" });
        let message = "";
        try {
            const eks = await runEksStack({
                name: "acme/ecrpull/eks",
                config: stackFile("Pulumi.eks.yaml").config,
                accountId: "444455556666",
                region: "eu-west-1",
                fetchThumbprint: async () => "",
            });
            await runEcrStack(
                { config: ecrConfig, accountId: REGISTRY_ACCOUNT, region: "eu-west-1" },
                { "acme/ecrpull/eks": eks.outputs as Record<string, unknown> },
            );
        } catch (error) {
            message = (error as Error).message;
        }
        expect(message).to.contain("ecrpull:oidcThumbprint is not a setting of the ECR program");
    });
});

describe("credentials per account: ESC environments", () => {
    for (const file of STACK_FILES) {
        it(`${file} imports an ESC environment whose definition is in esc/, logging in with OIDC and exporting the AWS variables`, () => {
            const environments = stackFile(file).environment ?? [];
            expect(environments).to.have.length(1);
            const [, name] = environments[0].split("/");
            const definition = yaml.load(fs.readFileSync(path.join(ROOT, "esc", `${name}.yaml`), "utf8")) as {
                values: { aws: { login: Record<string, { oidc?: { roleArn: string; sessionName: string } }> }; environmentVariables: Record<string, string> };
            };
            const login = definition.values.aws.login["fn::open::aws-login"];
            expect(login.oidc?.roleArn).to.match(/^arn:aws:iam::\d{12}:role\//);
            expect(Object.keys(login)).to.deep.equal(["oidc"]);
            expect(definition.values.environmentVariables).to.deep.equal({
                AWS_ACCESS_KEY_ID: "${aws.login.accessKeyId}",
                AWS_SECRET_ACCESS_KEY: "${aws.login.secretAccessKey}",
                AWS_SESSION_TOKEN: "${aws.login.sessionToken}",
            });
        });
    }

    it("logs each stack in to its own account: the registry environment's role is in the registry account", () => {
        const account = (name: string) =>
            (yaml.load(fs.readFileSync(path.join(ROOT, "esc", `${name}.yaml`), "utf8")) as any).values.aws.login["fn::open::aws-login"].oidc.roleArn.split(
                ":",
            )[4];
        expect(account("registry-account")).to.equal(String(stackFile("Pulumi.eks.yaml").config["ecrpull:registryAccountId"]));
        expect(account("cluster-account")).not.to.equal(account("registry-account"));
    });
});
