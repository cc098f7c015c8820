package io.ringraft.network;

/**
 * A follower asks the leader for a read index (Raft thesis §6.4, "reads from followers"): the
 * leader confirms it still leads, then answers with its commit index, which the follower waits
 * to apply before serving the read locally.
 *
 * @param from   the follower
 * @param to     the leader
 * @param term   the follower's term
 * @param readId the follower's id for the read, echoed
 */
public record ReadIndexRequest(long from, long to, long term, long readId) implements RaftMessage
{
}
