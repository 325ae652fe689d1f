import { Writable } from "node:stream";
import { createLogger } from "../../app/src/logging";

/** A real pino logger writing into memory, so a test can read every line the code logged. */
export function capturedLogger(level = "debug") {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(
        ...chunk
          .toString("utf8")
          .split("\n")
          .filter((line) => line !== ""),
      );
      callback();
    },
  });
  const logger = createLogger({ level, destination });
  return { logger, lines, text: () => lines.join("\n") };
}
