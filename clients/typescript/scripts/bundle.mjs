// The package as one browser module for the app's own web console (SmartApp.Functions/Console/wwwroot), which has no
// build step of its own: `npm run bundle` writes it; `npm run check-generated` fails when it is out of date.
import { build } from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";

export const consoleBundle = "../../SmartApp.Functions/Console/wwwroot/smartapp-client.js";

export async function bundle() {
  const result = await build({
    entryPoints: ["src/index.ts"],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    legalComments: "none",
    write: false,
    banner: { js: "// @smartapp/client, bundled for the console by `npm run bundle` in clients/typescript. Do not edit." },
  });
  return result.outputFiles[0].text;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop())) {
  writeFileSync(consoleBundle, await bundle());
  console.log(`wrote ${consoleBundle} (${readFileSync(consoleBundle).length} bytes)`);
}
