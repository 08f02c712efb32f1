import { InvalidArgumentError } from "commander";

/** The collector URL used when neither `--url` nor `UMBRA_COLLECTOR_URL` is given. */
export const DEFAULT_COLLECTOR_URL = "http://127.0.0.1:7070";

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/** Parses `--url`: an http(s) URL. Commander names the flag in the error. */
export function parseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(
      "must be an http:// or https:// URL such as http://127.0.0.1:7070",
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidArgumentError(
      "must be an http:// or https:// URL such as http://127.0.0.1:7070",
    );
  }
  return value;
}

/** Parses an experiment or variant name: 1-64 of A-Z a-z 0-9 _ -. */
export function parseToken(value: string): string {
  if (!TOKEN.test(value)) {
    throw new InvalidArgumentError("must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'");
  }
  return value;
}

/** Parses `--segment attribute:value`. */
export function parseSegment(value: string): string {
  const at = value.indexOf(":");
  if (at <= 0 || at === value.length - 1 || !/^[A-Za-z0-9_.-]{1,64}$/.test(value.slice(0, at))) {
    throw new InvalidArgumentError("must be attribute:value, e.g. device:mobile");
  }
  return value;
}

/** Parses `--limit`: an integer from 1 to 1000. */
export function parseLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1_000) {
    throw new InvalidArgumentError("must be an integer from 1 to 1000");
  }
  return n;
}

/** Parses `--by`: who gives a command (the collector records `human:<by>`). */
export function parseActor(value: string): string {
  if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(value)) {
    throw new InvalidArgumentError(
      "must be 1-64 characters of A-Z, a-z, 0-9, '_', '.', '@' or '-'",
    );
  }
  return value;
}

/** Parses `--note`: at most 1024 characters. */
export function parseNote(value: string): string {
  if (value.length > 1_024) throw new InvalidArgumentError("must be at most 1024 characters");
  return value;
}

/** Parses `--decisions`: an integer from 1 to 10000. */
export function parseDecisionLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 10_000) {
    throw new InvalidArgumentError("must be an integer from 1 to 10000");
  }
  return n;
}
