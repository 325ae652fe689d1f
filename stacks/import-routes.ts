import { dataLayout, routeLayout } from "../app/src/shared/layout";
import { DEFAULT_ROUTE, type RouteSpec } from "../app/src/shared/routes";

/**
 * One import route as the stack's `importRoutes` output shows it to the teams that write the
 * files: its name, its list, and its folders on the shared volume (relative to its root, laid out
 * as the service lays them out; bulk/, replace/ and remove/ sit below the inbox). No secrets.
 */
export interface ImportRoute {
  readonly name: string;
  /** The list, by id or by name, as declared. */
  readonly contactListId?: string;
  readonly contactListName?: string;
  readonly inbox: string;
  readonly archive: string;
  readonly rejects: string;
}

/** The default route (files directly in inbox/, the list of genesys.contactListId), then each declared route. */
export function importRoutes(
  routes: readonly RouteSpec[],
  defaultContactListId: string | undefined,
): ImportRoute[] {
  const volume = dataLayout("");
  const folders = (name: string | undefined) => {
    const { inbox, archive, rejects } = routeLayout(volume, name);
    return { inbox, archive, rejects };
  };
  return [
    {
      name: DEFAULT_ROUTE,
      ...(defaultContactListId ? { contactListId: defaultContactListId } : {}),
      ...folders(undefined),
    },
    ...routes.map((route) => ({
      name: route.name,
      ...(route.contactListId ? { contactListId: route.contactListId } : {}),
      ...(route.contactListName ? { contactListName: route.contactListName } : {}),
      ...folders(route.name),
    })),
  ];
}
