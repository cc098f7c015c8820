package io.ringraft.client;

import io.ringraft.Membership;

import java.util.Map;

/**
 * One member's view of the cluster, as {@link RingraftClient#clusterStatus} and
 * {@link RingraftClient#memberStatus} report it.
 *
 * @param nodeId       the member that answered
 * @param role         its role's name (LEADER, FOLLOWER, CANDIDATE, LEARNER ...)
 * @param term         its term
 * @param leaderId     the leader it knows, or -1
 * @param commitIndex  its commit index
 * @param appliedIndex its applied index
 * @param membership   the membership in its log (voters, joint next voters, learners, endpoints), or null while it waits to join
 * @param matchIndex   on the leader, the log index each other member is known to hold; else empty
 */
public record MemberStatus(long nodeId, String role, long term, long leaderId, long commitIndex, long appliedIndex,
    Membership membership, Map<Long, Long> matchIndex)
{
    /** A copy of the match indexes, so the record is immutable. */
    public MemberStatus
    {
        matchIndex = Map.copyOf(matchIndex);
    }

    /** @return true if the member believes it leads */
    public boolean isLeader()
    {
        return "LEADER".equals(role);
    }

    /** @return true if the member has no membership yet: it was started to join and no leader has added it */
    public boolean isJoining()
    {
        return membership == null;
    }

    /**
     * @param node a member
     * @return true if this member leads and knows that {@code node} holds the log to within
     *         {@link AdminProtocol#CATCH_UP_SLACK} of the commit index (it could be promoted without waiting)
     */
    public boolean hasCaughtUp(final long node)
    {
        final Long matched = matchIndex.get(node);
        return isLeader() && matched != null && AdminProtocol.caughtUp(matched, commitIndex);
    }
}
