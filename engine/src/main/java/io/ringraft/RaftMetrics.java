package io.ringraft;

import io.ringraft.engine.InputDropReason;
import io.ringraft.engine.Role;

import java.util.Map;

/**
 * A snapshot of one node's state, as {@link Raft#metrics()} returns it.
 *
 * @param nodeId             the node
 * @param role               its role
 * @param term               its current term
 * @param leaderId           the known leader, or {@link Vote#NO_NODE}
 * @param lastLogIndex       the last index in its log
 * @param committedIndex     the commit index it knows
 * @param appliedIndex       the last index its state machine applied
 * @param membership         the effective membership, or null before initialization
 * @param matchIndex         on a leader, the index each follower is known to hold; else empty
 * @param ingressOccupancy   how many events wait in the ingress ring
 * @param backPressureEvents how many writes were refused because the ingress ring was full
 * @param sendsRetried       how many sends the network refused for back-pressure and were retried later
 * @param sendsDropped       how many protocol messages could not be sent (peer not connected, queue full)
 * @param vote               its persisted vote (term, voted for, committed)
 * @param lastLogTerm        the term of the last entry in its log, 0 for an empty log
 * @param flushedIndex       the last index its log storage reported durable
 * @param snapshotIndex      the last index covered by its latest snapshot, 0 if none
 * @param purgedIndex        the last index purged from its log behind a snapshot, 0 if none
 * @param droppedInput       how many messages from other nodes it dropped as impossible, by reason (every reason present)
 */
public record RaftMetrics(long nodeId, Role role, long term, long leaderId, long lastLogIndex, long committedIndex, long appliedIndex,
    Membership membership, Map<Long, Long> matchIndex, long ingressOccupancy, long backPressureEvents, long sendsRetried,
    long sendsDropped, Vote vote, long lastLogTerm, long flushedIndex, long snapshotIndex, long purgedIndex,
    Map<InputDropReason, Long> droppedInput)
{
    /** @return the id (term, index) of the last entry in the log */
    public LogId lastLogId()
    {
        return new LogId(lastLogTerm, lastLogIndex);
    }

    /** @return true if this node is the leader */
    public boolean isLeader()
    {
        return role == Role.LEADER;
    }
}
