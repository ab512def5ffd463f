import * as pulumi from "@pulumi/pulumi";

/**
 * Until 0.2 the components' type tokens had modules (`ecrpull:registry:PullRole`).
 * `pulumi package add` serves a TypeScript component only under
 * `<package>:index:<Class>`, so the tokens moved there; this alias to the old
 * token keeps the URN of every deployed component, and the engine carries it
 * to their children, so an upgrade replaces nothing.
 */
export function withFormerType<T extends pulumi.ComponentResourceOptions>(opts: T | undefined, formerType: string): T {
    return pulumi.mergeOptions(opts, { aliases: [{ type: formerType }] }) as T;
}
