/**
 * The doctor's README example, reproducible on a machine without AWS: starts
 * the test OIDC issuer on 127.0.0.1, writes the two stacks' exports and a few
 * tokens into a directory, and runs the CLI's code on them, printing each
 * command line and its output.
 *
 *   npx ts-node --transpile-only tests/support/doctor-demo.ts [directory]
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { formatReport } from "../../tools/doctor/doctor";
import { parseArguments, runDoctor } from "../../tools/cli/doctor";
import { doctorStates, newSigningKey, serviceAccountClaims, startOidcIssuer } from "./oidc-issuer";

async function main(): Promise<void> {
    const dir = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), "doctor-demo-"));
    fs.mkdirSync(dir, { recursive: true });
    const issuer = await startOidcIssuer();
    try {
        const states = await doctorStates(issuer.issuerUrl, issuer.thumbprint);
        const now = new Date();
        const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);
        write("ecr.json", states.text.ecr);
        write("eks-b.json", states.text.eksB);
        write("ca.pem", issuer.caPem);
        const t = Math.floor(now.getTime() / 1000);
        const tokens: Record<string, string> = {
            "image-builder.token": issuer.sign(serviceAccountClaims(issuer.issuerUrl, "ci", "image-builder", now)),
            "other.token": issuer.sign(serviceAccountClaims(issuer.issuerUrl, "ci", "other", now)),
            "expired.token": issuer.sign({
                ...serviceAccountClaims(issuer.issuerUrl, "ci", "image-builder", now),
                iat: t - 90000,
                nbf: t - 90000,
                exp: t - 3600,
            }),
            "forged.token": issuer.sign(serviceAccountClaims(issuer.issuerUrl, "ci", "image-builder", now), {
                key: newSigningKey("forged"),
                kid: "doctor-key-1",
            }),
            "trainer.token": issuer.sign(serviceAccountClaims(issuer.issuerUrl, "ml", "trainer", now)),
        };
        for (const [name, token] of Object.entries(tokens)) {
            write(name, `${token}\n`);
        }
        for (const name of Object.keys(tokens)) {
            const argv = [
                "--token",
                name,
                "--ecr-state",
                "ecr.json",
                "--eks-state",
                "eks-b.json",
                "--ca",
                "ca.pem",
                "--connect-to",
                `127.0.0.1:${issuer.port}`,
            ];
            const cwd = process.cwd();
            process.chdir(dir);
            try {
                const started = process.hrtime.bigint();
                const report = await runDoctor(parseArguments(argv));
                const ms = Number(process.hrtime.bigint() - started) / 1e6;
                console.log(`$ npm run doctor -- ${argv.join(" ")}\n${formatReport(report)}\n(exit ${report.admitted ? 0 : 1}; ${ms.toFixed(0)} ms)\n`);
            } finally {
                process.chdir(cwd);
            }
        }
    } finally {
        await issuer.close();
    }
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
