package io.ringraft.network;

/**
 * The answer to a {@link ReadIndexRequest}.
 *
 * @param from      the leader (or a node that is not the leader any more)
 * @param to        the follower
 * @param term      the sender's term
 * @param readId    the follower's id for the read
 * @param readIndex the index the read must observe, when {@code ok}
 * @param ok        true if the sender confirmed its leadership for this read
 * @param leaderId  when not ok: the leader the sender knows, or 0
 */
public record ReadIndexResponse(long from, long to, long term, long readId, long readIndex, boolean ok, long leaderId)
    implements RaftMessage
{
}
