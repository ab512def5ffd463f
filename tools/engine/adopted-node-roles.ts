/**
 * What the tools tell an EKS program about an adopted cluster's node roles in
 * place of IAM. Kept out of the fake cloud itself, which the benchmark's
 * SDK-only processes load too and which should load nothing of the package's
 * planning code.
 */
import { nodePullTags } from "../../components/cluster/plan";
import { FakeCloud } from "./fake-cloud";

/**
 * An adopted cluster's node roles as IAM would describe them: at the path
 * their ARNs name, carrying the node-pull tags of `grants` (what the EKS
 * program reads before it deploys, and refuses without). Keyed by role name,
 * as `FakeCloud.existingRoles`.
 */
export function taggedNodeRoles(nodeRoleArns: readonly string[], grants: readonly string[]): NonNullable<FakeCloud["existingRoles"]> {
    const tags = nodePullTags(grants);
    const roles: Record<string, { path: string; tags: Record<string, string> }> = {};
    for (const arn of nodeRoleArns) {
        const match = /^arn:[^:]+:iam::\d{12}:role(\/(?:[^/]+\/)*)([^/]+)$/.exec(arn);
        if (match) {
            roles[match[2]] = { path: match[1], tags };
        }
    }
    return roles;
}
