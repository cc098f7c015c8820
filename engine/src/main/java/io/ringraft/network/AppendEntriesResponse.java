package io.ringraft.network;

/**
 * The answer to an {@link AppendEntriesRequest}.
 * <p>
 * On success, {@code matchIndex} is the last index the follower now holds identical to the
 * leader's log and has made durable. On a mismatch, {@code conflictTerm} and
 * {@code conflictIndex} are the fast back-off hint of Raft §5.3 (the paragraph "If desired, the
 * protocol can be optimized"): the follower's term at the mismatching index and the first index
 * it holds of that term; when the follower's log is too short, {@code conflictTerm} is 0 and
 * {@code conflictIndex} is its last index + 1.
 *
 * @param from          the follower
 * @param to            the leader
 * @param term          the follower's term
 * @param success       whether the consistency check passed
 * @param matchIndex    the last matching durable index on success
 * @param conflictTerm  on a mismatch: the follower's term at the leader's prevLogIndex, or 0
 * @param conflictIndex on a mismatch: where the leader should look next
 * @param seq           the request's broadcast round
 */
public record AppendEntriesResponse(long from, long to, long term, boolean success, long matchIndex,
    long conflictTerm, long conflictIndex, long seq) implements RaftMessage
{
}
