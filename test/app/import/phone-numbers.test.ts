import { expect } from "chai";
import examples from "libphonenumber-js/examples.mobile.json";
import {
  getCountries,
  getCountryCallingCode,
  parsePhoneNumberFromString,
  type CountryCode,
} from "libphonenumber-js/max";
import { PhoneNormaliser, type PhoneRefusal } from "../../../app/src/import/phone-numbers";

/** The library's own verdict, as the import takes it: a valid number with an extension is refused, not shortened. */
function libraryVerdict(raw: string, country: string): string | PhoneRefusal {
  const parsed = parsePhoneNumberFromString(raw, country as CountryCode);
  if (!parsed?.isValid()) return { refused: "not valid" };
  return parsed.ext ? { refused: "extension", extension: parsed.ext } : parsed.number;
}

const shown = (verdict: string | PhoneRefusal): string =>
  typeof verdict === "string" ? verdict : JSON.stringify(verdict);

/** A seeded generator (mulberry32), so a failure names a sample that can be reproduced. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Numbers as files hold them: examples and near misses of every country, in every writing, and noise. */
function sample(country: CountryCode, random: () => number, count: number): string[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const digits = (length: number) => Array.from({ length }, () => Math.floor(random() * 10)).join("");
  const countries = getCountries();
  const own = examples[country] ?? digits(9);
  const mutate = (number: string): string => {
    const at = Math.floor(random() * number.length);
    switch (Math.floor(random() * 4)) {
      case 0:
        return number;
      case 1:
        return number.slice(0, at) + digits(1) + number.slice(at + 1);
      case 2:
        return number.slice(0, at) + number.slice(at + 1);
      default:
        return number.slice(0, at) + digits(1) + number.slice(at);
    }
  };
  const separate = (number: string): string => {
    switch (Math.floor(random() * 6)) {
      case 0:
      case 1:
        return number;
      case 2:
        return number.replace(/(\d{3})(?=\d)/g, "$1 ");
      case 3:
        return number.replace(/(\d{2})(?=\d)/g, `$1${pick([" ", "-"])}`);
      case 4:
        return number.replace(/^(\d{2,3})/, pick(["($1) ", "$1.", "$1  ", "$1--", "$1/"]));
      default:
        return pick([" ", "-", "(", "x", "ext. 12", "#", "a", "+", ".", ";ext=1", ",,9"]) + number;
    }
  };
  const samples: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const other = pick(countries);
    const national = mutate(random() < 0.7 ? own : (examples[other] ?? digits(8)));
    const callingCode = random() < 0.7 ? getCountryCallingCode(country) : getCountryCallingCode(other);
    const written = pick([
      national,
      `0${national}`,
      `${pick(["8", "1", "9", "00"])}${national}`,
      `+${callingCode}${national}`,
      `+${callingCode}0${national}`,
      `${callingCode}${national}`,
      `00${callingCode}${national}`,
      `011${callingCode}${national}`,
      `+${digits(1 + Math.floor(random() * 3))}${national}`,
      digits(1 + Math.floor(random() * 19)),
      `+${digits(1 + Math.floor(random() * 19))}`,
      `+0${national}`,
      `++${callingCode}${national}`,
    ]);
    samples.push(random() < 0.9 ? separate(written) : `${written}${pick(["x", " ", "-", "A", "#1"])}`);
  }
  return samples;
}

describe("E.164 normalisation", () => {
  it("accepts and rejects exactly the numbers libphonenumber-js's isValid() does, for every default country", () => {
    const random = seeded(15);
    let valid = 0;
    let invalid = 0;
    let extensions = 0;
    const mismatches: string[] = [];
    for (const country of getCountries()) {
      const normaliser = new PhoneNormaliser(country);
      for (const raw of sample(country, random, 400)) {
        const expected = shown(libraryVerdict(raw, country));
        const actual = shown(normaliser.normalise(raw));
        if (actual !== expected)
          mismatches.push(`${country} "${raw}": ${actual} where the library says ${expected}`);
        if (expected.startsWith("+")) valid += 1;
        else if (expected.includes("extension")) extensions += 1;
        else invalid += 1;
      }
    }
    expect(mismatches.slice(0, 20)).to.deep.equal([]);
    expect(valid, "valid numbers in the sample").to.be.greaterThan(10_000);
    expect(invalid, "invalid numbers in the sample").to.be.greaterThan(40_000);
    expect(extensions, "valid numbers with an extension in the sample").to.be.greaterThan(100);
  });

  it("answers for a default country the library does not know as the library does", () => {
    const normaliser = new PhoneNormaliser("ZZ");
    for (const raw of ["+353851234567", "0851234567", "+12015550123", "12", "+12015550123 x4"])
      expect(normaliser.normalise(raw), raw).to.deep.equal(libraryVerdict(raw, "ZZ"));
  });

  it("refuses a valid number written with an extension, in every writing the library knows, and gives the extension", () => {
    const normaliser = new PhoneNormaliser("IE");
    for (const raw of [
      "+353 1 234 5678 ext. 12",
      "+353 1 234 5678 ext 12",
      "+353 1 234 5678 extension 12",
      "01 234 5678 x12",
      "+353 1 234 5678 x 12",
      "+353 1 234 5678;ext=12",
      "tel:+353-1-234-5678;ext=12",
      "+353 1 234 5678 #12",
      "+353 1 234 5678,,12",
    ])
      expect(normaliser.normalise(raw), raw).to.deep.equal({ refused: "extension", extension: "12" });
    expect(normaliser.normalise("+353 1 234 5678")).to.equal("+35312345678");
    expect(normaliser.normalise("085 123 456 ext. 12")).to.deep.equal({ refused: "not valid" });
  });

  it("normalises the writings files use to the same E.164", () => {
    const normaliser = new PhoneNormaliser("IE");
    for (const raw of ["085 123 4567", "085-123-4567", "0851234567", "+353851234567", "+353 085 123 4567"])
      expect(normaliser.normalise(raw), raw).to.equal("+353851234567");
    expect(normaliser.normalise("+44 7911 123456")).to.equal("+447911123456");
    expect(normaliser.normalise("(085) 123 4567")).to.equal("+353851234567");
    expect(normaliser.normalise("085 123 456")).to.deep.equal({ refused: "not valid" });
  });
});
