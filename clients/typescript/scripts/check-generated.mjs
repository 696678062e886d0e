// Fails when src/generated/schema.ts is not what openapi/openapi.yaml generates now: the contract changed and the
// package was not regenerated (run `npm run generate`).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dir = mkdtempSync(join(tmpdir(), "smartapp-client-"));
try {
  const fresh = join(dir, "schema.ts");
  execFileSync(process.execPath, ["node_modules/openapi-typescript/bin/cli.js", "../../openapi/openapi.yaml", "--output", fresh], { stdio: "pipe" });
  if (readFileSync(fresh, "utf8") !== readFileSync("src/generated/schema.ts", "utf8")) {
    console.error("src/generated/schema.ts is out of date with openapi/openapi.yaml: run `npm run generate` in clients/typescript.");
    process.exit(1);
  }
  console.log("src/generated/schema.ts matches openapi/openapi.yaml");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
