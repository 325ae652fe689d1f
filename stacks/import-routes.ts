import { dataLayout, dncLaneLayout, dncLayout, routeLayout } from "../app/src/shared/layout";
import { DEFAULT_ROUTE, isDncRoute, type RouteSpec } from "../app/src/shared/routes";

/**
 * One contact-list route as the stack's `importRoutes` output shows it to the teams that write
 * the files: its name, its list, and its folders on the shared volume (relative to its root, laid
 * out as the service lays them out; bulk/, replace/ and remove/ sit below the inbox). No secrets.
 */
export interface ContactImportRoute {
  readonly name: string;
  /** The list, by id or by name, as declared. */
  readonly contactListId?: string;
  readonly contactListName?: string;
  readonly inbox: string;
  readonly archive: string;
  readonly rejects: string;
}

/**
 * One DNC route as the `importRoutes` output shows it: its DNC list, what its files hold (when
 * declared; else the service decides from the list's contact method), and its folders (dncLayout):
 * files to add in dnc/<route>/add/, to remove in dnc/<route>/remove/, archive and rejects below
 * archive/dnc/<route>/ and rejects/dnc/<route>/.
 */
export interface DncImportRoute {
  readonly name: string;
  /** The DNC list, by id or by name, as declared. */
  readonly dncListId?: string;
  readonly dncListName?: string;
  readonly dncEntries?: "phone" | "email";
  readonly add: string;
  readonly remove: string;
  readonly archive: string;
  readonly rejects: string;
}

export type ImportRoute = ContactImportRoute | DncImportRoute;

/** A DNC route's entry: its DNC list's fields and its folders below dnc/<route>/. */
function dncImportRoute(route: RouteSpec): DncImportRoute {
  const layout = dncLayout(dataLayout(""), route.name);
  return {
    name: route.name,
    ...(route.dncListId ? { dncListId: route.dncListId } : {}),
    ...(route.dncListName ? { dncListName: route.dncListName } : {}),
    ...(route.dncEntries ? { dncEntries: route.dncEntries } : {}),
    add: dncLaneLayout(layout, "add").inbox,
    remove: dncLaneLayout(layout, "remove").inbox,
    archive: layout.archive,
    rejects: layout.rejects,
  };
}

/** A contact-list route's entry (`undefined`: the default route, files directly in inbox/). */
function contactImportRoute(
  name: string | undefined,
): Pick<ContactImportRoute, "inbox" | "archive" | "rejects"> {
  const { inbox, archive, rejects } = routeLayout(dataLayout(""), name);
  return { inbox, archive, rejects };
}

/**
 * The default route (files directly in inbox/, the list of genesys.contactListId), then each
 * declared route: a contact-list route with its inbox, a DNC route with its add/ and remove/.
 */
export function importRoutes(
  routes: readonly RouteSpec[],
  defaultContactListId: string | undefined,
): ImportRoute[] {
  return [
    {
      name: DEFAULT_ROUTE,
      ...(defaultContactListId ? { contactListId: defaultContactListId } : {}),
      ...contactImportRoute(undefined),
    },
    ...routes.map((route) =>
      isDncRoute(route)
        ? dncImportRoute(route)
        : {
            name: route.name,
            ...(route.contactListId ? { contactListId: route.contactListId } : {}),
            ...(route.contactListName ? { contactListName: route.contactListName } : {}),
            ...contactImportRoute(route.name),
          },
    ),
  ];
}
