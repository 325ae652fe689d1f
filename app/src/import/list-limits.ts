/**
 * What Genesys Cloud enforces on a contact list (facts: "Contact-list limits"). A module of its own
 * because both the row checks (rows.ts) and the list checks (contact-list.ts) read it.
 */
export const LIST_LIMITS = Object.freeze({
  columns: 50,
  columnNameChars: 128,
  valueChars: 512,
  contactsPerList: 1_000_000,
});
