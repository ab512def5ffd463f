/**
 * Reading what exists before registering anything (the preflights) must
 * tell "it does not exist" from "it could not be read": a deployer without
 * `iam:GetRole` is not told that the role is missing and that the stack
 * will create it, but which permission it lacks.
 *
 * The provider functions fail with the AWS provider's own texts: a missing
 * resource reads "couldn't find resource" (terraform-provider-aws,
 * tfresource.NotFound), or names the service's not-found error
 * (`NoSuchEntity`, `RepositoryNotFoundException`, `ResourceNotFoundException`)
 * or "no matching ... found" for a filtered lookup; anything else
 * (AccessDenied, throttling, a network error) is a failed read.
 */

const NOT_FOUND = /couldn't find resource|NoSuchEntity|NotFoundException|no matching .* found|: not found/i;

/**
 * A read: the value, `undefined` when AWS says it does not exist, or an
 * `UnreadableError` (returned, not thrown, so that a batch of reads reports
 * every failure at once).
 */
export async function readIfExists<T>(call: Promise<T>, what: string, permission: string): Promise<T | undefined | UnreadableError> {
    try {
        return await call;
    } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return NOT_FOUND.test(message) ? undefined : new UnreadableError(what, permission, message);
    }
}

/** A read that failed for another reason than absence; its message is a whole sentence, without the subject. */
export class UnreadableError extends Error {
    constructor(what: string, permission: string, cause: string) {
        super(
            `${what} could not be read, so whether it exists is not known (${firstLine(cause)}): the deploying role needs ${permission}; nothing was created.`,
        );
        this.name = "UnreadableError";
    }
}

/** The first line that says something: the SDK puts the provider's message after a line of its own. */
const firstLine = (text: string) =>
    text
        .split("\n")
        .map((line) => line.trim())
        .find((line) => line !== "") ?? "";
