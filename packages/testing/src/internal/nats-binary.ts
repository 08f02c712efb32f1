import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { UmbraError, UmbraErrorCode } from "@umbra/protocol";

/** The environment variable that points the kit at a nats-server binary. */
export const NATS_SERVER_ENV = "UMBRA_NATS_SERVER";

/** Where Debian's `nats-server` package installs the binary (not always on a user's PATH). */
const DEBIAN_PATH = "/usr/sbin/nats-server";

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds the nats-server binary: `explicit`, else `$UMBRA_NATS_SERVER`, else `nats-server` on
 * PATH, else Debian's `/usr/sbin/nats-server`. Throws `unavailable` saying how to install it.
 */
export function resolveNatsBinary(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (explicit !== undefined) {
    if (isExecutable(explicit)) return explicit;
    throw new UmbraError(
      UmbraErrorCode.Unavailable,
      `binary: ${JSON.stringify(explicit)} is not an executable file`,
      { field: "binary" },
    );
  }
  const fromEnv = env[NATS_SERVER_ENV];
  if (fromEnv !== undefined && fromEnv !== "") {
    if (isExecutable(fromEnv)) return fromEnv;
    throw new UmbraError(
      UmbraErrorCode.Unavailable,
      `${NATS_SERVER_ENV}: ${JSON.stringify(fromEnv)} is not an executable file`,
      { field: NATS_SERVER_ENV },
    );
  }
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, "nats-server");
    if (isExecutable(candidate)) return candidate;
  }
  if (isExecutable(DEBIAN_PATH)) return DEBIAN_PATH;
  throw new UmbraError(
    UmbraErrorCode.Unavailable,
    `nats-server not found on PATH nor at ${DEBIAN_PATH}: install it with ` +
      `\`sudo apt-get install -y nats-server\` or set ${NATS_SERVER_ENV} to its path`,
  );
}
