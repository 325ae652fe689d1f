/** One conversation's outcome, as the on-premises CRM reads it from the outbox. */
export interface ConversationOutcome {
  readonly conversationId: string;
  readonly contactId: string | undefined;
  readonly contactListId: string | undefined;
  readonly campaignId: string | undefined;
  readonly conversationStart: string;
  readonly conversationEnd: string | undefined;
  /** Wrap-up codes agents chose, in order. */
  readonly wrapUpCodes: readonly string[];
  /** How the customer's side ended (disconnectType of its last segment), such as "peer" or "client". */
  readonly disposition: string | undefined;
  readonly agentIds: readonly string[];
}

type Json = Record<string, unknown>;

/**
 * Reads what a CRM needs out of an analytics conversation detail record: dialer conversations
 * carry outboundContactListId, outboundContactId and outboundCampaignId on their sessions or
 * segments (genesys-cloud-facts.md, "Getting conversation data back out").
 */
export function outcomeOf(conversation: Json): ConversationOutcome {
  const wrapUpCodes: string[] = [];
  const agentIds: string[] = [];
  let contactId: string | undefined;
  let contactListId: string | undefined;
  let campaignId: string | undefined;
  let disposition: string | undefined;
  for (const participant of (conversation.participants as Json[] | undefined) ?? []) {
    const purpose = participant.purpose;
    if (purpose === "agent" && typeof participant.userId === "string") agentIds.push(participant.userId);
    for (const session of (participant.sessions as Json[] | undefined) ?? []) {
      contactId ??= str(session.outboundContactId);
      contactListId ??= str(session.outboundContactListId);
      campaignId ??= str(session.outboundCampaignId);
      for (const segment of (session.segments as Json[] | undefined) ?? []) {
        contactId ??= str(segment.outboundContactId);
        contactListId ??= str(segment.outboundContactListId);
        campaignId ??= str(segment.outboundCampaignId);
        const wrapUp = str(segment.wrapUpCode);
        if (wrapUp) wrapUpCodes.push(wrapUp);
        if (purpose === "customer" || purpose === "external")
          disposition = str(segment.disconnectType) ?? disposition;
      }
    }
  }
  return {
    conversationId: String(conversation.conversationId),
    contactId,
    contactListId,
    campaignId,
    conversationStart: String(conversation.conversationStart),
    conversationEnd: str(conversation.conversationEnd),
    wrapUpCodes,
    disposition,
    agentIds,
  };
}

/** The import route whose contact list this is (undefined: a list no route imports into). */
export type RouteOf = (contactListId: string) => string | undefined;

/**
 * `{ route }` for a record whose list an import route feeds, else nothing. Kept out of the outcome
 * itself: the re-read's fingerprints compare outcomes, and a route renamed in the config is not a
 * change to the conversation.
 */
export function routeField(
  outcome: Pick<ConversationOutcome, "contactListId">,
  routeOf: RouteOf | undefined,
): { readonly route?: string } {
  const route = outcome.contactListId === undefined ? undefined : routeOf?.(outcome.contactListId);
  return route === undefined ? {} : { route };
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}
