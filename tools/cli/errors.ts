/**
 * The errors whose message is written for the person running a command: the
 * commands print them alone and exit 2; anything else is a bug of this
 * package, printed with its stack.
 */
import * as pulumi from "@pulumi/pulumi";
import { AccessReportError } from "../report/report";
import { StackExportError } from "../state/stack-export";
import { AuditError } from "../audit/audit";
import { StackFileError } from "../state/stack-file";

export function isUserFacingError(error: unknown): error is Error {
    return (
        error instanceof AuditError ||
        error instanceof StackExportError ||
        error instanceof StackFileError ||
        error instanceof AccessReportError ||
        pulumi.RunError.isInstance(error)
    );
}

/** How a command prints a failure: the message alone when it is the user's to fix, the stack otherwise. */
export function describeFailure(error: unknown): string {
    if (isUserFacingError(error)) {
        return error.message;
    }
    return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
