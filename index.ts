/**
 * Entry point of the npm package and of the Pulumi plugin (`PulumiPlugin.yaml`):
 * everything public lives in `components/`.
 */
export * from "./components";
