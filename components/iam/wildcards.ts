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

/**
 * Whether an IAM wildcard pattern matches at least one string that starts
 * with `prefix`: the pattern is run as an automaton over the prefix, and any
 * state still alive afterwards can be completed.
 */
export function wildcardMayMatchPrefix(pattern: string, prefix: string): boolean {
    const closure = (states: Set<number>): Set<number> => {
        const out = new Set(states);
        for (const s of out) {
            if (pattern[s] === "*") {
                out.add(s + 1); // `*` may match nothing
            }
        }
        return out;
    };
    let states = closure(new Set([0]));
    for (const c of prefix) {
        const next = new Set<number>();
        for (const s of states) {
            if (pattern[s] === "*") {
                next.add(s);
            } else if (s < pattern.length && (pattern[s] === "?" || pattern[s] === c)) {
                next.add(s + 1);
            }
        }
        states = closure(next);
    }
    return states.size > 0;
}
