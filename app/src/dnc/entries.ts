import type { DncEntryKind } from "../genesys/dnc-api";
import { PhoneNormaliser } from "../import/phone-numbers";

/**
 * What a DNC file's line becomes before it is sent: a phone number in E.164, normalised with the
 * route's default country exactly as a contact's phone columns are (import/phone-numbers.ts, an
 * extension refused), or an email address checked for a sane shape and lower-cased; and the
 * entry's expiry, from an ISO 8601 date-time with a zone to the minute Genesys keeps.
 */

/** The entry Genesys is sent, or why the line cannot be one (the words follow "line N "). */
export type EntryVerdict = { readonly entry: string } | { readonly problem: string };

/** Turns a file's values into entries of one kind. */
export class EntryNormaliser {
  private readonly phones: PhoneNormaliser | undefined;

  constructor(
    readonly kind: DncEntryKind,
    private readonly defaultCountry: string,
  ) {
    this.phones = kind === "phone" ? new PhoneNormaliser(defaultCountry) : undefined;
  }

  normalise(raw: string): EntryVerdict {
    const value = raw.trim();
    if (value === "")
      return {
        problem: `has no ${this.kind === "phone" ? "phone number" : "email address"}: fill it in, or take the line out`,
      };
    return this.phones ? this.phone(value) : email(value);
  }

  private phone(value: string): EntryVerdict {
    const e164 = this.phones!.normalise(value);
    if (typeof e164 === "string") return { entry: e164 };
    return {
      problem:
        e164.refused === "extension"
          ? `"${value}" has an extension (${e164.extension}): a DNC list holds numbers only, and Genesys compares the number it dials; drop the extension`
          : `"${value}" is not a valid phone number (default country ${this.defaultCountry}): write it in E.164 (+44...) or as a national number of ${this.defaultCountry}`,
    };
  }
}

/** RFC 5321's limits: 64 characters before the @, 254 in all. */
const MAX_LOCAL_PART = 64;
const MAX_ADDRESS = 254;
// eslint-disable-next-line no-control-regex -- control characters and spaces are what an address cannot hold
const SPACE_OR_CONTROL = /[\s\u0000-\u001f\u007f]/;
/** A domain of two or more labels of letters (any script), digits and inner hyphens; the last is letters, or punycode. */
const DOMAIN =
  /^(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+(?:\p{L}{2,63}|xn--[a-z0-9-]{1,59})$/iu;
/** The characters an address's local part may hold unquoted (RFC 5322 atext and dots), any script. */
const LOCAL_PART = /^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(?:\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*$/u;

/**
 * An email address as a DNC list keeps it: lower-cased (the CRM's `Jane.Doe@Example.com` and
 * `jane.doe@example.com` are one person to suppress), refused with the fix when it is not the
 * plain `local@domain.tld` form: a display name, `mailto:`, a list of addresses, spaces, a quoted
 * local part or an address literal.
 */
function email(value: string): EntryVerdict {
  const shown = JSON.stringify(value);
  if (/^mailto:/i.test(value)) return { problem: `${shown} starts with "mailto:": write the address alone` };
  if (/[<>]/.test(value))
    return {
      problem: `${shown} has a display name or angle brackets: write the address alone (name@example.com)`,
    };
  if (/[,;]/.test(value)) return { problem: `${shown} holds several addresses: write one a line` };
  if (SPACE_OR_CONTROL.test(value))
    return { problem: `${shown} holds a space or an invisible character: remove it` };
  const at = value.lastIndexOf("@");
  if (at <= 0 || at === value.length - 1 || value.indexOf("@") !== at)
    return { problem: `${shown} is not an email address (one @ between a name and a domain): correct it` };
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (value.length > MAX_ADDRESS || local.length > MAX_LOCAL_PART)
    return {
      problem: `${shown} is longer than an email address may be (${MAX_LOCAL_PART} characters before the @, ${MAX_ADDRESS} in all)`,
    };
  if (!LOCAL_PART.test(local))
    return {
      problem: `${shown} has characters, or dots, that an address's name part cannot hold unquoted: correct it`,
    };
  if (!DOMAIN.test(domain))
    return { problem: `${shown} has no valid domain after the @ (such as example.com): correct it` };
  return { entry: value.toLowerCase() };
}

/** A date-time with a zone: `2027-01-31T18:00Z`, `2027-01-31T18:00:00.000+01:00`; seconds optional. */
const DATE_TIME = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:\.\d{1,9})?)?(Z|[+-]\d\d:?\d\d)$/i;

/** The expiry of an entry, or why its value cannot be one (the words follow `line N `). */
export type ExpiryVerdict = { readonly expiry: string | undefined } | { readonly problem: string };

/**
 * The expiry an entry of dnc/<route>/add/ is sent with: undefined when the value is empty (never
 * expires), else the instant in UTC to the minute (`yyyy-MM-ddTHH:mmZ`, the form Genesys takes),
 * rounded up, so that an opt-out is never lifted before the time asked. Refused: a value that is no
 * date-time, one without a zone (whose instant depends on where it was written), and one not after
 * `nowMs` (the entry would never apply: drop it in remove/ to lift an opt-out).
 */
export function parseExpiry(raw: string, column: string, nowMs: number): ExpiryVerdict {
  const value = raw.trim();
  if (value === "") return { expiry: undefined };
  const shown = JSON.stringify(value);
  const match = DATE_TIME.exec(value);
  if (!match) {
    const zoneless = /^\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?)?$/.test(value);
    return {
      problem: zoneless
        ? `has ${column} ${shown} without a time zone: write it with one, such as ${value.length === 10 ? `${value}T23:59Z` : `${value}Z`} (UTC) or +01:00`
        : `has ${column} ${shown}, which is no ISO 8601 date-time: write it as 2027-01-31T18:00Z (or with an offset such as +01:00), or leave it empty for no expiry`,
    };
  }
  const ms = Date.parse(
    value
      .toUpperCase()
      .replace(" ", "T")
      .replace(/([+-]\d\d)(\d\d)$/, "$1:$2"),
  );
  if (Number.isNaN(ms) || !sameCalendarDate(match, ms))
    return { problem: `has ${column} ${shown}, which is no date that exists: correct it` };
  const minuteMs = Math.ceil(ms / 60_000) * 60_000;
  if (minuteMs <= nowMs)
    return {
      problem: `has ${column} ${shown}, which is already past: the entry would never apply. To take a number off the list, drop it in remove/; to add it, give a future expiry or none`,
    };
  return { expiry: `${new Date(minuteMs).toISOString().slice(0, 16)}Z` };
}

/** Date.parse rolls 2027-02-30 over into March; the written date must be the one parsed (in its own zone). */
function sameCalendarDate(match: RegExpExecArray, ms: number): boolean {
  const zone = match[7]!.toUpperCase();
  const offsetMinutes =
    zone === "Z"
      ? 0
      : (zone.startsWith("-") ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2)));
  const local = new Date(ms + offsetMinutes * 60_000);
  return (
    local.getUTCFullYear() === Number(match[1]) &&
    local.getUTCMonth() + 1 === Number(match[2]) &&
    local.getUTCDate() === Number(match[3]) &&
    Number(match[4]) < 24 &&
    Number(match[5]) < 60 &&
    Number(match[6] ?? 0) < 60
  );
}
