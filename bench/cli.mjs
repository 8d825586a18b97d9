// Command-line options for the bench scripts: `node:util`'s parseArgs, plus `--help` (prints the
// script's header comment, which is its documentation) and a clear error for a wrong option
// (the message and where to read the usage, exit status 2; not a stack trace).
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** The leading `//` comment of the script at `url` (`import.meta.url`), as text. */
export function header(url) {
  const lines = fs.readFileSync(fileURLToPath(url), "utf8").split("\n");
  const start = lines[0].startsWith("#!") ? 1 : 0;
  const out = [];
  for (const line of lines.slice(start)) {
    if (!line.startsWith("//")) break;
    out.push(line.replace(/^\/\/ ?/, ""));
  }
  return out.join("\n");
}

/** `parseArgs({options})`'s values for the script at `url`; `--help` prints its header and exits. */
export function cli(url, options) {
  try {
    const { values } = parseArgs({ options: { ...options, help: { type: "boolean", short: "h", default: false } } });
    if (values.help) {
      console.log(header(url));
      process.exit(0);
    }
    return values;
  } catch (e) {
    refuse(e.message);
  }
}

/**
 * Ends the script on a wrong option value, as on an unknown option: `message`, where to read
 * the usage, exit status 2 (not a stack trace). Only for checks made before anything starts.
 */
export function refuse(message) {
  console.error(`${message}\n(--help prints the usage)`);
  process.exit(2);
}
