import { badRequest, type Answer } from "./errors";

/**
 * `filterType` of Genesys' list queries (`GET /api/v2/outbound/contactlists`, `.../dnclists`)
 * that the simulator applies to `name`; Prefix is the default, as in Genesys' API description.
 */
const NAME_FILTERS: Record<string, (name: string, wanted: string) => boolean> = {
  Equals: (name, wanted) => name === wanted,
  Prefix: (name, wanted) => name.startsWith(wanted),
  BeginsWith: (name, wanted) => name.startsWith(wanted),
  EndsWith: (name, wanted) => name.endsWith(wanted),
  Contains: (name, wanted) => name.includes(wanted),
};

/**
 * One page of a Genesys EntityListing (ContactListEntityListing, DncListEntityListing) of
 * `items`: `entities`, `pageSize` (default 25, at most 100), `pageNumber`, `total`, `pageCount`
 * and the first, self, last, next and previous page URIs. `name` is matched by `filterType`
 * (case-sensitive here).
 */
export function entityListing<T>(
  url: URL,
  items: readonly T[],
  nameOf: (item: T) => string,
  render: (item: T) => unknown,
): Answer {
  const pageSize = Number(url.searchParams.get("pageSize") ?? 25);
  const pageNumber = Number(url.searchParams.get("pageNumber") ?? 1);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100)
    return badRequest("pageSize must be between 1 and 100");
  if (!Number.isInteger(pageNumber) || pageNumber < 1) return badRequest("pageNumber must be 1 or more");
  const filterType = url.searchParams.get("filterType") ?? "Prefix";
  const matches = NAME_FILTERS[filterType];
  if (!matches) return badRequest(`filterType ${filterType} is not supported here`);
  const wanted = url.searchParams.get("name");
  const found = items.filter((item) => wanted === null || matches(nameOf(item), wanted));
  const pageCount = Math.ceil(found.length / pageSize);
  const entities = found.slice((pageNumber - 1) * pageSize, pageNumber * pageSize).map(render);
  const page = (number: number) => {
    const query = new URLSearchParams(url.searchParams);
    query.set("pageSize", String(pageSize));
    query.set("pageNumber", String(number));
    return `${url.pathname}?${query.toString()}`;
  };
  return [
    200,
    {
      entities,
      pageSize,
      pageNumber,
      total: found.length,
      firstUri: page(1),
      selfUri: page(pageNumber),
      lastUri: page(Math.max(1, pageCount)),
      ...(pageNumber < pageCount ? { nextUri: page(pageNumber + 1) } : {}),
      ...(pageNumber > 1 ? { previousUri: page(pageNumber - 1) } : {}),
      pageCount,
    },
  ];
}
