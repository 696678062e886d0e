// Fails when what is generated from the sources is out of date: src/generated/schema.ts against openapi/openapi.yaml
// (the contract changed and the package was not regenerated: `npm run generate`), and the console's bundle of the
// package against src (`npm run bundle`).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundle, consoleBundle } from "./bundle.mjs";

let stale = false;
const dir = mkdtempSync(join(tmpdir(), "smartapp-client-"));
try {
  const fresh = join(dir, "schema.ts");
  execFileSync(process.execPath, ["node_modules/openapi-typescript/bin/cli.js", "../../openapi/openapi.yaml", "--output", fresh], { stdio: "pipe" });
  if (readFileSync(fresh, "utf8") !== readFileSync("src/generated/schema.ts", "utf8")) {
    console.error("src/generated/schema.ts is out of date with openapi/openapi.yaml: run `npm run generate` in clients/typescript.");
    stale = true;
  } else console.log("src/generated/schema.ts matches openapi/openapi.yaml");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if ((await bundle()) !== readFileSync(consoleBundle, "utf8")) {
  console.error(`${consoleBundle} is out of date with src: run \`npm run bundle\` in clients/typescript.`);
  stale = true;
} else console.log(`${consoleBundle} matches src`);
process.exit(stale ? 1 : 0);
