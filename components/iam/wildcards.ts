/**
 * IAM's wildcards, as `StringLike`, `ArnLike` and action matching read them:
 * `*` any run of characters, `?` any one, everything else literal (IAM user
 * guide, "IAM JSON policy elements: Condition operators").
 */

/** The regular expression an IAM wildcard pattern stands for; `flags` as for `RegExp` (`i` for actions, case-insensitive). */
export function wildcardRegExp(pattern: string, flags = ""): RegExp {
    const expression = pattern
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".");
    return new RegExp(`^${expression}$`, flags);
}

/** Whether an IAM wildcard pattern matches a value. */
export function wildcardMatches(pattern: string, value: string, flags = ""): boolean {
    return wildcardRegExp(pattern, flags).test(value);
}
