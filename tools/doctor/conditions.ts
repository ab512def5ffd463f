/**
 * IAM condition evaluation for the doctor, one condition at a time, so that a
 * report can say which condition of which statement failed and against what.
 *
 * `access-evaluator.ts` decides whole documents (allowed or not) and throws on
 * anything this package does not write; the doctor reads trusts that may have
 * been edited by hand, so it evaluates more operators (IgnoreCase, Not...,
 * ...IfExists) and reports the ones it cannot evaluate instead of throwing.
 * Action names are matched with the evaluator's `globMatches`. Condition
 * values are matched with `like` below rather than `globMatches`: they are a
 * token's claims, which may hold any character, and IAM's `*` and `?` match
 * line breaks too, which the evaluator's patterns (compiled without the `s`
 * flag, for the ARNs and names of its own documents) do not.
 */
import { globMatches } from "../report/evaluator";
import { strings } from "./documents";
import { wildcardMatches } from "../../components/iam/wildcards";

/** IAM's StringLike: `*` any run of characters, `?` any one; case-sensitive. */
export function like(pattern: string, value: string): boolean {
    return wildcardMatches(pattern, value, "s");
}

/**
 * Whether a statement's Action covers `wanted`, a fixed action name such as
 * `sts:AssumeRole` (IAM compares action names without regard to case).
 */
export const actionMatches = (actions: unknown, wanted: string): boolean =>
    (strings(actions) ?? []).some((a) => globMatches(a.toLowerCase(), wanted.toLowerCase()));

/** One condition of a statement, what it expects and what the token gave; `ok` undefined when the doctor cannot tell. */
export type ConditionResult = {
    readonly operator: string;
    readonly key: string;
    readonly expected: readonly string[];
    readonly actual: readonly string[];
    readonly ok: boolean | undefined;
};

/**
 * One condition against the request's values (undefined: the key is absent).
 * `ok` is undefined for operators the doctor does not evaluate.
 */
export function evaluateCondition(operator: string, key: string, expectedRaw: unknown, actual: readonly string[] | undefined): ConditionResult {
    const expected = strings(expectedRaw) ?? [];
    const ifExists = operator.endsWith("IfExists");
    const base = ifExists ? operator.slice(0, -"IfExists".length) : operator;
    const values = actual ?? [];
    const result = (ok: boolean | undefined): ConditionResult => ({ operator, key, expected, actual: values, ok });
    if (actual === undefined && ifExists) {
        return result(true);
    }
    const anyOf = (test: (e: string, v: string) => boolean) => values.some((v) => expected.some((e) => test(e, v)));
    switch (base) {
        case "StringEquals":
            return result(anyOf((e, v) => e === v));
        case "StringEqualsIgnoreCase":
            return result(anyOf((e, v) => e.toLowerCase() === v.toLowerCase()));
        case "StringLike":
            return result(anyOf(like));
        case "StringNotEquals":
            return result(!anyOf((e, v) => e === v));
        case "StringNotLike":
            return result(!anyOf(like));
        default:
            return result(undefined);
    }
}
