import { Metadata } from "libphonenumber-js/core";
import { parsePhoneNumberFromString, type CountryCode } from "libphonenumber-js/max";
import maxMetadata from "libphonenumber-js/metadata.max.json";

/**
 * E.164 normalisation with exactly libphonenumber-js's verdict (`parsePhoneNumberFromString(raw,
 * country)?.isValid()` with the complete `max` metadata), at a fraction of its cost per number,
 * except that a valid number written with an extension is refused rather than shortened.
 *
 * libphonenumber-js rebuilds its metadata wrappers, spreads its options and compiles every pattern
 * again for each number: that was two thirds of the import's CPU. Here the numbers files are made
 * of (digits, an optional leading `+`, spaces or hyphens between digits) take a fast path that
 * performs the same steps as the library (calling code, national prefix, the library's length and
 * pattern checks, then the type patterns that `isValid()` tries) with patterns compiled once per
 * numbering plan; no number of that shape holds an extension. Everything else goes to the library
 * itself: letters, brackets, extensions, an international prefix such as 00, a national number
 * starting with its own calling code, calling codes several countries share (+1, +44, +7: the
 * country then depends on the number), non-geographic codes and plans with a prefix transform rule
 * (Argentina, Brazil, Mexico...). test/app/import/phone-numbers.test.ts holds the two to the same
 * answers on a large sample.
 */
export class PhoneNormaliser {
  private readonly plans = new Map<string, CompiledPlan | null>();
  private readonly defaultPlan: CompiledPlan | null;

  constructor(private readonly defaultCountry: string) {
    this.defaultPlan = defaultCountry in maxMetadata.countries ? this.planForCountry(defaultCountry) : null;
  }

  /**
   * The number in E.164, or why it cannot be dialled as written: not valid to libphonenumber-js,
   * or valid with an extension ("ext. 12", "x12", ";ext=12", "#12"), which E.164 has no room for:
   * the dialler would call the number without it, so the caller says so instead of dropping it.
   */
  normalise(raw: string): string | PhoneRefusal {
    const fast = raw.length <= MAX_INPUT_LENGTH && FAST_SHAPE.test(raw) ? this.fastPath(raw) : SLOW;
    if (fast !== SLOW) return fast ?? NOT_VALID;
    const parsed = parsePhoneNumberFromString(raw, this.defaultCountry as CountryCode);
    if (!parsed?.isValid()) return NOT_VALID;
    return parsed.ext ? { refused: "extension", extension: parsed.ext } : parsed.number;
  }

  /** The verdict on a number of the fast shape, or SLOW where the library's other branches apply. */
  private fastPath(raw: string): string | undefined | typeof SLOW {
    const international = raw.charCodeAt(0) === PLUS;
    const digits = stripSeparators(international ? raw.slice(1) : raw);
    // Fewer than three digits with separators is not a number to the library at all.
    if (digits.length < 3) return SLOW;
    let plan: CompiledPlan | null;
    let number: string;
    if (international) {
      if (digits.charCodeAt(0) === ZERO) return SLOW;
      plan = null;
      number = "";
      for (let length = 1; length <= MAX_CALLING_CODE_LENGTH && length < digits.length; length += 1) {
        const candidate = this.planForCallingCode(digits.slice(0, length));
        if (candidate === undefined) continue;
        plan = candidate;
        number = digits.slice(length);
        break;
      }
      if (!plan) return SLOW;
    } else {
      plan = this.defaultPlan;
      if (!plan || plan.iddPrefix.test(digits) || digits.startsWith(plan.callingCode)) return SLOW;
      number = digits;
    }
    const national = plan.extractNationalNumber(number);
    if (national.length < MIN_NATIONAL_LENGTH || national.length > MAX_NATIONAL_LENGTH) return SLOW;
    return plan.isValid(national) ? `+${plan.callingCode}${national}` : undefined;
  }

  /** The plan of a calling code: null where the fast path does not apply, undefined for no such code. */
  private planForCallingCode(callingCode: string): CompiledPlan | null | undefined {
    const countries = (maxMetadata.country_calling_codes as Record<string, string[] | undefined>)[
      callingCode
    ];
    if (!countries) return undefined;
    return countries[0] !== NON_GEOGRAPHIC ? this.planForCountry(countries[0]!) : null;
  }

  private planForCountry(country: string): CompiledPlan | null {
    let plan = this.plans.get(country);
    if (plan === undefined) {
      plan = compilePlan(country);
      this.plans.set(country, plan);
    }
    return plan;
  }
}

/** Why `normalise` gives no number. */
export type PhoneRefusal =
  { readonly refused: "not valid" } | { readonly refused: "extension"; readonly extension: string };

const NOT_VALID: PhoneRefusal = Object.freeze({ refused: "not valid" });
const SLOW = Symbol("slow path");
const PLUS = 0x2b;
const ZERO = 0x30;
const NON_GEOGRAPHIC = "001";
/** The library's limits (libphonenumber-js constants.js). */
const MAX_INPUT_LENGTH = 250;
const MAX_CALLING_CODE_LENGTH = 3;
const MIN_NATIONAL_LENGTH = 2;
const MAX_NATIONAL_LENGTH = 17;
/** Digits, optionally after a `+`, with single spaces or hyphens between groups. */
const FAST_SHAPE = /^\+?\d+(?:[ -]\d+)*$/;

function stripSeparators(text: string): string {
  return text.indexOf(" ") < 0 && text.indexOf("-") < 0 ? text : text.replace(/[ -]/g, "");
}

/** The parts of libphonenumber-js's Metadata class used here (its typings declare only the constructor). */
interface LibraryMetadata {
  selectNumberingPlan(country: string): void;
  readonly numberingPlan: LibraryNumberingPlan;
}
interface LibraryNumberingPlan {
  callingCode(): string;
  IDDPrefix(): string;
  nationalNumberPattern(): string;
  possibleLengths(): number[] | undefined;
  nationalPrefixForParsing(): string | undefined;
  nationalPrefixTransformRule(): string | undefined;
  hasTypes(): boolean;
  type(name: string): { pattern(): string; possibleLengths(): number[] | undefined } | undefined;
}

/**
 * The number types `isValid()` tries (libphonenumber-js getNumberType.js): any one makes a number
 * valid, so the order only changes the cost. Mobile first, as contact lists are mostly mobiles.
 */
const NUMBER_TYPES = [
  "MOBILE",
  "FIXED_LINE",
  "PREMIUM_RATE",
  "TOLL_FREE",
  "SHARED_COST",
  "VOIP",
  "PERSONAL_NUMBER",
  "PAGER",
  "UAN",
  "VOICEMAIL",
];

interface CompiledPlan {
  readonly callingCode: string;
  readonly iddPrefix: RegExp;
  extractNationalNumber(number: string): string;
  isValid(national: string): boolean;
}

function entirely(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

/** One country's plan with its patterns compiled, or null when the fast path cannot mirror it. */
function compilePlan(country: string): CompiledPlan | null {
  const metadata = new Metadata(maxMetadata) as unknown as LibraryMetadata;
  metadata.selectNumberingPlan(country);
  const plan = metadata.numberingPlan;
  const sharers = (maxMetadata.country_calling_codes as Record<string, string[] | undefined>)[
    plan.callingCode()
  ];
  if (sharers?.length !== 1 || plan.nationalPrefixTransformRule() || !plan.hasTypes()) return null;
  const nationalPattern = entirely(plan.nationalNumberPattern());
  const possibleLengths = plan.possibleLengths();
  const prefixSource = plan.nationalPrefixForParsing();
  const prefix = prefixSource ? new RegExp(`^(?:${prefixSource})`) : undefined;
  const types = NUMBER_TYPES.flatMap((name) => {
    const type = plan.type(name);
    if (!type || !type.pattern()) return [];
    return [{ pattern: entirely(type.pattern()), lengths: type.possibleLengths() }];
  });
  /** libphonenumber-js checkNumberLength.js: TOO_SHORT or INVALID_LENGTH make a number impossible. */
  const possibleLength = (length: number): boolean => {
    if (!possibleLengths) return true;
    const shortest = possibleLengths[0]!;
    if (length === shortest) return true;
    if (length < shortest) return false;
    if (possibleLengths[possibleLengths.length - 1]! < length) return true;
    return possibleLengths.indexOf(length, 1) >= 0;
  };
  return {
    callingCode: plan.callingCode(),
    iddPrefix: new RegExp(`^(?:${plan.IDDPrefix()})`),
    // libphonenumber-js extractNationalNumber.js, for a plan without a transform rule.
    extractNationalNumber(number) {
      const match = prefix?.exec(number);
      if (!match) return number;
      const national = number.slice(match[0].length);
      if (national === number) return number;
      if (nationalPattern.test(number) && !nationalPattern.test(national)) return number;
      if (possibleLengths && !possibleLength(national.length)) return number;
      return national;
    },
    // libphonenumber-js isValid.js and getNumberType.js.
    isValid(national) {
      if (!nationalPattern.test(national)) return false;
      for (const type of types) {
        if (type.lengths && type.lengths.indexOf(national.length) < 0) continue;
        if (type.pattern.test(national)) return true;
      }
      return false;
    },
  };
}
