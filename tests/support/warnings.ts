/**
 * What a program run said with `pulumi.log.warn`, caught instead of printed:
 * the preview's warnings are part of what the tests check.
 */
import * as pulumi from "@pulumi/pulumi";

export async function warningsOf<T>(run: () => Promise<T>): Promise<{ result: T; warnings: string[] }> {
    const warnings: string[] = [];
    const warn = pulumi.log.warn;
    (pulumi.log as { warn: typeof pulumi.log.warn }).warn = async (message: string) => {
        warnings.push(message);
    };
    try {
        return { result: await run(), warnings };
    } finally {
        (pulumi.log as { warn: typeof pulumi.log.warn }).warn = warn;
    }
}
