package io.ringraft.testkit.sim;

import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.engine.Role;

import java.util.Map;

/**
 * A snapshot of one simulated node's state, as {@code Raft.metrics()} reports it for a real node.
 *
 * @param nodeId      the node
 * @param up          false while crashed (the other fields then describe its durable state)
 * @param role        its role, or null while crashed
 * @param term        its current term
 * @param vote        its vote
 * @param leaderId    the leader it knows, or {@link Vote#NO_NODE}
 * @param lastLogId   its last log id
 * @param flushedLogId its last durable log id
 * @param committed   its commit index
 * @param applied     its applied index
 * @param membership  the membership in force, or null while crashed
 * @param lastPurged  the last log id purged behind a snapshot
 * @param snapshot    the last id the latest snapshot covers, or null if none
 * @param matched     for a leader, the matched index of each follower; else empty
 */
public record NodeMetrics(long nodeId, boolean up, Role role, long term, Vote vote, long leaderId, LogId lastLogId,
    LogId flushedLogId, long committed, long applied, Membership membership, LogId lastPurged, LogId snapshot,
    Map<Long, Long> matched)
{
    @Override
    public String toString()
    {
        if (!up)
        {
            return "N" + nodeId + " DOWN vote=" + vote + " durableLast=" + flushedLogId + " snapshot=" + snapshot;
        }
        return "N" + nodeId + " " + role + " term=" + term + " vote=" + vote + " leader=" + leaderId + " last=" + lastLogId +
            " flushed=" + flushedLogId + " committed=" + committed + " applied=" + applied + " purged=" + lastPurged +
            " snapshot=" + snapshot + " " + membership +
            (matched.isEmpty() ? "" : " matched=" + matched);
    }
}
