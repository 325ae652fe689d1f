import Ajv from "ajv";
import { expect } from "chai";
import {
  isDncRoute,
  RESERVED_ROUTE_NAMES,
  routeJsonSchema,
  routeKind,
  routeSetProblems,
  type RouteSpec,
} from "../../../app/src/shared/routes";

/** The chart's schema item for one route, compiled as helm would apply it. */
const validRoute = new Ajv({ allErrors: true, strict: false }).compile(routeJsonSchema());

const OPT_OUTS: RouteSpec = { name: "opt-outs", dncListName: "Opt-outs", expiryColumn: "Until" };
const EMAILS: RouteSpec = { name: "email-opt-outs", dncListId: "d-2", dncEntries: "email" };
const CAMPAIGN: RouteSpec = { name: "spring", contactListId: "c-1", checkDnc: ["opt-outs"] };

/** routeSetProblems of these routes, checked to agree with the chart's schema on each route alone. */
function problems(routes: readonly unknown[]): string[] {
  return routeSetProblems(routes);
}

describe("DNC routes in the route declaration (shared/routes.ts)", () => {
  it("accepts a DNC route by id or by name, with its entries and expiry column, and a contact route that checks it", () => {
    expect(problems([OPT_OUTS, EMAILS, CAMPAIGN])).to.deep.equal([]);
    for (const route of [OPT_OUTS, EMAILS, CAMPAIGN])
      expect(validRoute(route), JSON.stringify(validRoute.errors)).to.equal(true);
    expect([OPT_OUTS, EMAILS, CAMPAIGN].map(routeKind)).to.deep.equal(["dnc", "dnc", "contact"]);
    expect(isDncRoute(OPT_OUTS)).to.equal(true);
    expect(isDncRoute(CAMPAIGN)).to.equal(false);
  });

  it("refuses a route naming two lists, of one kind or of both, and says to keep one or to declare two routes", () => {
    const both = { name: "x", dncListId: "d-1", dncListName: "D" };
    expect(problems([both])).to.deep.equal(["routes[0] gives both dncListId and dncListName: keep one"]);
    const mixed = { name: "y", contactListId: "c-1", dncListId: "d-1" };
    expect(problems([mixed])).to.deep.equal([
      "routes[0] gives both a contact list (contactListId) and a DNC list (dncListId): a route feeds one list; declare a route of each kind",
    ]);
    expect(validRoute(both)).to.equal(false);
    expect(validRoute(mixed)).to.equal(false);
  });

  it("refuses a DNC route without a list in DNC words, and keeps the contact route's words otherwise", () => {
    expect(problems([{ name: "z", dncEntries: "phone" }])).to.deep.equal([
      "routes[0] names no DNC list: set dncListId or dncListName",
    ]);
    expect(problems([{ name: "z" }])).to.deep.equal([
      "routes[0] names no contact list: set contactListId or contactListName",
    ]);
    expect(validRoute({ name: "z", dncEntries: "phone" })).to.equal(false);
  });

  it("refuses the fields of the other kind, each with the fix, in the service's words and the schema's", () => {
    const dncWithColumns = { ...OPT_OUTS, columns: { Phone: "phone" }, idColumn: "id", allowClear: true };
    const found = problems([dncWithColumns]);
    expect(found).to.have.length(3);
    expect(found[0]).to.equal(
      "routes[0].columns applies to contact-list routes only, and routes[0] is a DNC route (its files hold phone numbers or email addresses, see dncEntries and expiryColumn): remove columns",
    );
    const contactWithExpiry = {
      ...CAMPAIGN,
      checkDnc: undefined,
      expiryColumn: "Until",
      dncEntries: "email",
    };
    expect(problems([contactWithExpiry])).to.deep.equal([
      "routes[0].dncEntries applies to DNC routes only (dncListId or dncListName), and routes[0] is a contact-list route: remove dncEntries, or declare a DNC route of its own for the opt-outs",
      "routes[0].expiryColumn applies to DNC routes only (dncListId or dncListName), and routes[0] is a contact-list route: remove expiryColumn, or declare a DNC route of its own for the opt-outs",
    ]);
    expect(problems([{ ...OPT_OUTS, checkDnc: ["opt-outs"] }])[0]).to.contain(
      "routes[0].checkDnc applies to contact-list routes, and routes[0] is a DNC route",
    );
    expect(validRoute(dncWithColumns)).to.equal(false);
    expect(validRoute({ ...contactWithExpiry, checkDnc: ["a"] })).to.equal(false);
    expect(validRoute({ ...OPT_OUTS, checkDnc: ["a"] })).to.equal(false);
  });

  it("refuses a dncEntries other than phone or email", () => {
    expect(problems([{ ...OPT_OUTS, dncEntries: "whatsapp" }])).to.deep.equal([
      'routes[0].dncEntries is "whatsapp": use one of phone, email',
    ]);
    expect(validRoute({ ...OPT_OUTS, dncEntries: "whatsapp" })).to.equal(false);
  });

  it("checks that checkDnc names declared DNC routes of phone numbers", () => {
    const routes = [
      OPT_OUTS,
      EMAILS,
      { name: "renewals", contactListId: "c-2" },
      { ...CAMPAIGN, checkDnc: ["opt-outs", "nowhere", "renewals", "email-opt-outs"] },
    ];
    expect(problems(routes)).to.deep.equal([
      'routes[3].checkDnc names "nowhere", which is no route of this set: name a declared DNC route, or remove it',
      'routes[3].checkDnc names "renewals", a contact-list route: checkDnc names DNC routes (routes with dncListId or dncListName)',
      'routes[3].checkDnc names "email-opt-outs", whose files hold email addresses: the count looks up the contacts\' phone numbers, so name DNC routes of phone numbers',
    ]);
    expect(problems([{ ...CAMPAIGN, checkDnc: [] }])).to.deep.equal([
      "routes[0].checkDnc must be a non-empty list of route names",
    ]);
  });

  it("reserves dnc, the folder of the DNC routes, as a route name, and keeps the default route's words for the others", () => {
    expect(RESERVED_ROUTE_NAMES).to.include("dnc");
    expect(problems([{ name: "dnc", dncListId: "d-1" }])).to.deep.equal([
      'routes[0].name "dnc" is taken (dnc/ holds the DNC routes\' folders, dnc/<route>/add/ and dnc/<route>/remove/): choose another',
    ]);
    expect(problems([{ name: "bulk", contactListId: "c-1" }])).to.deep.equal([
      'routes[0].name "bulk" is taken (bulk, replace, remove, routes, default are the default route\'s own folders): choose another',
    ]);
    expect(validRoute({ name: "dnc", dncListId: "d-1" })).to.equal(false);
  });

  it("shares one namespace of names between the two kinds: a DNC route and a contact route may not share a name", () => {
    expect(problems([OPT_OUTS, { name: "opt-outs", contactListId: "c-1" }])).to.deep.equal([
      'routes[1].name "opt-outs" is also the name of routes[0]: route names are folders, one each',
    ]);
  });
});
