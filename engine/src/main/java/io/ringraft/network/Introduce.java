package io.ringraft.network;

/**
 * A leader tells a member that has not answered it for an election timeout where to reach it.
 * A member cut off while the membership changed may hold a configuration that does not name this
 * leader: a network that accepts only the members it knows drops the leader's AppendEntries and
 * has no address to answer to. An introduction is the one message such a network accepts from a
 * node it does not know (authenticated like any other, and rate-limited); the receiving node then
 * reaches the leader at {@code endpoint} and follows it as Raft says, until its log's membership
 * names the leader.
 * <p>
 * It only opens a channel: the receiver adopts the endpoint if the term is not older than its
 * own and no membership it holds names the sender; it changes no term, vote or log.
 *
 * @param from     the leader
 * @param to       the silent member
 * @param term     the leader's term
 * @param endpoint the leader's endpoint as its membership records it
 */
public record Introduce(long from, long to, long term, String endpoint) implements RaftMessage
{
}
