/**
 * Writes a mock-engine run as the file `pulumi stack export --show-secrets`
 * would write after `pulumi up` of the same program: a version-3 checkpoint
 * with the root Stack resource (holding the stack outputs), each resource's
 * URN, parent, provider, inputs and the outputs the mock provider returned.
 *
 * The audit and doctor tests, and the README's example output, read these
 * files, since no real deployment can be made on the machines this package is
 * built on.
 */
import { ProgramRun, PROJECT } from "../engine/mock-engine";

export interface ExportOptions {
    readonly stack: string;
    readonly project?: string;
    /** Make values under these stack output keys secrets, as `pulumi.secret` would. */
    readonly secretOutputs?: readonly string[];
    /** Write secrets encrypted (as `pulumi stack export` without --show-secrets does). */
    readonly encryptSecrets?: boolean;
}

const SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export function toStackExport(run: ProgramRun<unknown>, options: ExportOptions): Record<string, unknown> {
    const project = options.project ?? PROJECT;
    const rootUrn = `urn:pulumi:${options.stack}::${project}::pulumi:pulumi:Stack::${project}-${options.stack}`;
    const secret = (value: unknown) =>
        options.encryptSecrets
            ? { [SECRET_SIGNATURE]: SECRET_VALUE, ciphertext: Buffer.from(JSON.stringify(value)).toString("base64") }
            : { [SECRET_SIGNATURE]: SECRET_VALUE, plaintext: JSON.stringify(value) };
    const stackOutputs = Object.fromEntries(
        Object.entries((run.outputs ?? {}) as Record<string, unknown>).map(([key, value]) => [
            key,
            options.secretOutputs?.includes(key) ? secret(value) : value,
        ]),
    );
    const resources: Record<string, unknown>[] = [{ urn: rootUrn, custom: false, type: "pulumi:pulumi:Stack", outputs: stackOutputs }];
    for (const r of run.resources) {
        // The mock engine's URNs leave the root stack implicit; state makes it the parent.
        const urn = r.urn.replace(/^urn:pulumi:[^:]+::[^:]+::/, `urn:pulumi:${options.stack}::${project}::`);
        const parent = r.parent === "" ? rootUrn : r.parent.replace(/^urn:pulumi:[^:]+::[^:]+::/, `urn:pulumi:${options.stack}::${project}::`);
        resources.push({
            urn,
            custom: r.custom,
            ...(r.custom ? { id: r.id } : {}),
            type: r.type,
            inputs: r.custom ? r.inputs : {},
            outputs: r.state,
            parent,
            ...(r.provider ? { provider: r.provider } : {}),
            ...(r.retainOnDelete ? { retainOnDelete: true } : {}),
            ...(r.protect ? { protect: true } : {}),
            dependencies: r.dependsOn,
        });
    }
    return {
        version: 3,
        deployment: {
            manifest: { time: "2026-11-22T00:00:00Z", magic: "", version: "v3.270.0" },
            secrets_providers: { type: "service" },
            resources,
        },
    };
}
